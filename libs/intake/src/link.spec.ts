import { isAbsoluteHttpUrl } from './link';

describe('isAbsoluteHttpUrl (docs/contract.md §4.1: the event link)', () => {
  it.each([
    'https://example.com/issues/42',
    'http://localhost:3000/a(b)?x=[1]#c',
    'https://例子.测试/路径',
    'HTTPS://EXAMPLE.COM/',
    'https://user@example.com:8443/p;q',
  ])('accepts %s', (link) => expect(isAbsoluteHttpUrl(link)).toBe(true));

  it.each([
    'https://ok|x> <!channel> <https://phish|Reset password',
    '/projects/payments/issues/42',
    'example.com/issues/42',
    'javascript:alert(1)',
    'data:text/html,<b>',
    'ftp://files.example.com/a',
    'mailto:a@example.com',
    'https://',
    'https:///path',
    'http:/example.com',
    'https://example.com/a b',
    'https://example.com/a\tb',
    'https://example.com/\u2028',
    'https://example.com/"quoted"',
    'https://example.com/{x}',
    'https://example.com/a\\b',
    `https://example.com/${'a'.repeat(2048)}`,
  ])('refuses %j', (link) => expect(isAbsoluteHttpUrl(link)).toBe(false));
});
