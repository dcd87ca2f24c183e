import { maskUrl } from './url-mask';

describe('maskUrl', () => {
  it('keeps scheme, host and the last four characters only', () => {
    const masked = maskUrl('https://hooks.slack.com/services/T000/B000/XXXXsecretTOKEN1234');
    expect(masked).toBe('https://hooks.slack.com/…1234');
    expect(masked).not.toContain('secret');
  });

  it('never throws on garbage', () => {
    expect(maskUrl('not a url')).toBe('…');
  });
});
