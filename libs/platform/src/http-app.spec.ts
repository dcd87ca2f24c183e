import { findUnstorable } from './http-app';

describe('bodies Postgres or the object mapper cannot take', () => {
  it('names the first string or key that holds NUL, which Postgres cannot store', () => {
    expect(findUnstorable(JSON.parse('{"title":"ok","issue":{"name":"a\\u0000b"}}'), 'body')).toBe('body.issue.name: text must not contain the NUL character (\\u0000)');
    expect(findUnstorable(JSON.parse('[{"type":"x"},{"mentions":[{"email":"\\u0000"}]}]'), 'body')).toBe('body[1].mentions[0].email: text must not contain the NUL character (\\u0000)');
    expect(findUnstorable(JSON.parse('{"a\\u0000":1}'), 'body')).toBe('body: keys must not contain the NUL character (\\u0000)');
  });

  it('refuses constructor and prototype keys at any depth (class-transformer crashes on them)', () => {
    expect(findUnstorable(JSON.parse('[{"type":"x","issue":{"constructor":1}}]'), 'body')).toBe('body[0].issue.constructor: "constructor" is not an accepted key');
    expect(findUnstorable({ prototype: 'x' }, 'body')).toBe('body.prototype: "prototype" is not an accepted key');
  });

  it('finds nothing in clean bodies, including an escaped backslash followed by u0000', () => {
    expect(findUnstorable(JSON.parse('{"title":"\\\\u0000 is fine, and so is the word constructor","n":1,"x":null}'), 'body')).toBeNull();
  });
});
