import { readRfc3339 } from './rfc3339';

describe('readRfc3339', () => {
  it.each([
    ['2024-01-01T00:00:00Z', '2024-01-01T00:00:00.000Z'],
    ['2024-01-01T00:00:00.123456789z', '2024-01-01T00:00:00.123Z'],
    ['2024-04-01T00:00:00-05:00', '2024-04-01T05:00:00.000Z'],
    ['0050-03-01T00:30:00+01:00', '0050-02-28T23:30:00.000Z'],
    ['2024-02-29T23:59:59+00:00', '2024-02-29T23:59:59.000Z'],
  ])('reads %s as %s', (text, iso) => expect((readRfc3339(text) as Date).toISOString()).toBe(iso));

  it.each(['2024-03-31T23:59:59-05:00', '2024-03-04T00:00:00.123456+05:30', '9999-12-31T23:59:59+23:59'])('accepts %s', (text) =>
    expect(readRfc3339(text)).toBeInstanceOf(Date),
  );

  it.each([
    '2024-03-04', // a bare date: read in the server's zone
    '2024-03-04T00:00:00', // no offset: the same
    '2024-03-04 00:00:00Z',
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
    '1',
    '',
    null,
    1704067200,
  ])('refuses %p', (text) => expect(readRfc3339(text)).toBe('unreadable'));

  it('refuses instants the offset moves outside the years 0001-9999 in UTC', () => {
    expect(readRfc3339('9999-12-31T23:59:59-05:00')).toBe('out of range');
    expect(readRfc3339('0001-01-01T00:00:00+01:00')).toBe('out of range');
    expect(readRfc3339('9999-12-31T23:59:59Z')).toBeInstanceOf(Date);
  });
});
