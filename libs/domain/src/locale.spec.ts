import { effectiveLocale, isLocale } from './locale';

describe('effectiveLocale', () => {
  it("keeps a webhook's own language", () => {
    expect(effectiveLocale('zh', 'en')).toBe('zh');
    expect(effectiveLocale('en', 'zh')).toBe('en');
  });

  it("falls back to the channel's default for none or an unknown one", () => {
    expect(effectiveLocale(null, 'zh')).toBe('zh');
    expect(effectiveLocale(undefined, 'en')).toBe('en');
    expect(effectiveLocale('fr', 'en')).toBe('en');
    expect(effectiveLocale('ZH', 'en')).toBe('en');
  });

  it('knows exactly en and zh', () => {
    expect(['en', 'zh', 'fr', '', null, 1].map(isLocale)).toEqual([true, true, false, false, false, false]);
  });
});
