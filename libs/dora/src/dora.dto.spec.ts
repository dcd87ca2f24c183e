import { isRfc3339 } from './dora.dto';

describe('DORA from/to (isRfc3339)', () => {
  it.each(['2024-03-04T00:00:00Z', '2024-03-31T23:59:59-05:00', '2024-03-04T00:00:00.123456+05:30', '2024-02-29T12:00:00Z', '0050-06-01T00:00:00+01:00', '9999-12-31T23:59:59+23:59'])(
    'accepts %s',
    (text) => expect(isRfc3339(text)).toBe(true),
  );

  it.each([
    '2024-03-04', // a bare date: read in the server's zone
    '2024-03-04T00:00:00', // no offset: the same
    '2024-03-04T00:00Z', // RFC 3339 wants seconds
    '2024-03-04T00:00:00+0100',
    '2024-03-04T00:00:00 01:00', // a + sent unencoded in a query string
    '2023-02-29T00:00:00Z',
    '2024-04-31T00:00:00Z',
    '2024-13-01T00:00:00Z',
    '2024-01-01T24:00:00Z',
    '2024-01-01T23:59:60Z',
    '2024-01-01T00:00:00+24:00',
    '2024-W01-1T00:00:00Z',
    1704067200,
  ])('refuses %s', (text) => expect(isRfc3339(text)).toBe(false));
});
