import { isUuid, newId } from './ids';

describe('ids', () => {
  it('makes time-ordered UUIDv7 ids', () => {
    const [a, b] = [newId(), newId()];
    expect(isUuid(a)).toBe(true);
    expect(a[14]).toBe('7');
    expect(a < b).toBe(true);
  });

  it('accepts a canonical UUID of any version and case, and nothing else', () => {
    expect(isUuid('0190d5b0-0000-7000-8000-000000000001')).toBe(true);
    expect(isUuid('0190D5B0-ABCD-4000-8000-00000000000F')).toBe(true);
    expect(isUuid('00000000-0000-0000-0000-000000000000')).toBe(true);
    for (const bad of [
      '',
      'abc',
      '0190d5b0000070008000000000000001',
      '0190d5b0-0000-7000-8000-00000000000',
      '0190d5b0-0000-7000-8000-0000000000011',
      '0190d5b0-0000-7000-8000-00000000000g',
      ' 0190d5b0-0000-7000-8000-000000000001',
      '{0190d5b0-0000-7000-8000-000000000001}',
    ]) {
      expect([bad, isUuid(bad)]).toEqual([bad, false]);
    }
  });
});
