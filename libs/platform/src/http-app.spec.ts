import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { drainRequest, findUnstorable, isStopping, mayHoldUnstorable, stopAccepting } from './http-app';

describe('bodies Postgres or the object mapper cannot take', () => {
  it('names the first string or key that holds NUL, which Postgres cannot store', () => {
    expect(findUnstorable(JSON.parse('{"title":"ok","issue":{"name":"a\\u0000b"}}'), 'body')).toBe(
      'body.issue.name: text must not contain the NUL character (\\u0000)',
    );
    expect(findUnstorable(JSON.parse('[{"type":"x"},{"mentions":[{"email":"\\u0000"}]}]'), 'body')).toBe(
      'body[1].mentions[0].email: text must not contain the NUL character (\\u0000)',
    );
    expect(findUnstorable(JSON.parse('{"a\\u0000":1}'), 'body')).toBe('body: keys must not contain the NUL character (\\u0000)');
  });

  it('refuses constructor and prototype keys at any depth (class-transformer crashes on them)', () => {
    expect(findUnstorable(JSON.parse('[{"type":"x","issue":{"constructor":1}}]'), 'body')).toBe(
      'body[0].issue.constructor: "constructor" is not an accepted key',
    );
    expect(findUnstorable({ prototype: 'x' }, 'body')).toBe('body.prototype: "prototype" is not an accepted key');
  });

  it('finds nothing in clean bodies, including an escaped backslash followed by u0000', () => {
    expect(findUnstorable(JSON.parse('{"title":"\\\\u0000 is fine, and so is the word constructor","n":1,"x":null}'), 'body')).toBeNull();
  });

  it('names a lone surrogate in a string or key (jsonb refuses it: 22P02), but lets a pair through', () => {
    expect(findUnstorable(JSON.parse('{"title":"\\ud800"}'), 'body')).toBe(
      'body.title: text must not contain a lone UTF-16 surrogate (\\ud800-\\udfff without its pair)',
    );
    expect(findUnstorable(JSON.parse('{"issue":{"type":"x\\udfff"}}'), 'body')).toMatch(/^body\.issue\.type: /);
    expect(findUnstorable(JSON.parse('[1,{"a":["\\udc00\\ud800"]}]'), 'body')).toMatch(/^body\[1\]\.a\[0\]: /);
    expect(findUnstorable(JSON.parse('{"\\ud800":1}'), 'body')).toBe('body: keys must not contain a lone UTF-16 surrogate (\\ud800-\\udfff without its pair)');
    expect(findUnstorable(JSON.parse('{"title":"\\ud83d\\ude00 😀"}'), 'body')).toBeNull();
  });

  it('scans only text that may hold what it refuses', () => {
    expect(mayHoldUnstorable('{"title":"\\ud800"}')).toBe(true);
    expect(mayHoldUnstorable('{"title":"\\uDBFF"}')).toBe(true);
    expect(mayHoldUnstorable('{"title":"\\\\ud800 is a backslash and text"}')).toBe(false);
    expect(mayHoldUnstorable('{"title":"\\u00e9 😀"}')).toBe(false);
  });
});

describe('drainRequest: a lingering close for an answer sent before the body was read', () => {
  /** A server that answers 413 at once, without reading the body, and drains it with `limits`. */
  async function server(limits: { bytes: number; ms: number }) {
    const received: number[] = [];
    const srv = createServer((req, res) => {
      drainRequest(req, limits);
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.socket.once('close', () => received.push(n));
      res.writeHead(413, { connection: 'close', 'content-length': '2' }).end('no');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    return { port: (srv.address() as AddressInfo).port, received, close: () => new Promise((r) => srv.close(r)) };
  }

  /** Sends `size` bytes in 64 KiB writes on a fresh connection; resolves with the status or the error code. */
  const upload = (port: number, size: number) =>
    new Promise<string>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', agent: false, headers: { 'content-length': String(size) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(String(res.statusCode)));
      });
      req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      const chunk = Buffer.alloc(65_536, 'x');
      let sent = 0;
      const write = (): void => {
        while (sent < size) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', write);
        }
        req.end();
      };
      write();
    });

  it('reads the rest of the body, so the client gets the answer instead of a reset', async () => {
    const s = await server({ bytes: 8 * 1024 * 1024, ms: 10_000 });
    try {
      const outcomes = await Promise.all(Array.from({ length: 20 }, () => upload(s.port, 2 * 1024 * 1024)));
      expect(new Set(outcomes)).toEqual(new Set(['413']));
    } finally {
      await s.close();
    }
  });

  it('cuts off a client that sends more than the bound', async () => {
    const s = await server({ bytes: 256 * 1024, ms: 10_000 });
    try {
      await upload(s.port, 16 * 1024 * 1024);
      await new Promise((r) => setTimeout(r, 100));
      expect(s.received).toHaveLength(1);
      expect(s.received[0]).toBeLessThan(4 * 1024 * 1024);
    } finally {
      await s.close();
    }
  });
});

describe('stopAccepting: the first step of a graceful stop', () => {
  /** Answers after 20 ms, with `Connection: close` once stopping (as the apps' onSend hook does). */
  async function server() {
    const srv = createServer((req, res) => {
      req.resume();
      req.on('end', () =>
        setTimeout(() => {
          res.writeHead(200, isStopping(srv) ? { connection: 'close' } : {});
          res.end('ok');
        }, 20),
      );
    });
    srv.keepAliveTimeout = 65_000;
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    return srv;
  }

  it('refuses new connections, answers on the open ones with Connection: close, and resets nothing', async () => {
    const srv = await server();
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    const pool = new Pool(url, { connections: 16 });
    const outcomes = new Map<string, number>();
    const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
    let stopAt = Infinity;
    const one = async () => {
      try {
        const res = await pool.request({ path: '/', method: 'POST', body: 'x' });
        await res.body.text();
        count(`${res.statusCode}${Date.now() > stopAt ? ' after' : ''}${res.headers.connection === 'close' ? ' close' : ''}`);
      } catch (err) {
        count((err as { code?: string }).code ?? 'error');
      }
    };
    let running = true;
    const load = (async () => {
      while (running) {
        for (let i = 0; i < 8; i++) void one();
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    try {
      await new Promise((r) => setTimeout(r, 300));
      stopAt = Date.now();
      await stopAccepting(srv, 1000);
      const tookMs = Date.now() - stopAt;
      await new Promise((r) => setTimeout(r, 100));
      running = false;
      await load;
      await new Promise((r) => setTimeout(r, 100));
      const kinds = [...outcomes.keys()];
      // Before the stop: kept-alive answers (some read after it). At the stop: answers with close. After: refused connects only.
      expect(kinds.filter((k) => !['200', '200 after', '200 close', '200 after close', 'ECONNREFUSED'].includes(k))).toEqual([]);
      expect(outcomes.get('ECONNREFUSED')).toBeGreaterThan(0);
      expect((outcomes.get('200 close') ?? 0) + (outcomes.get('200 after close') ?? 0)).toBeGreaterThan(0);
      expect(tookMs).toBeLessThan(1500);
    } finally {
      running = false;
      await pool.destroy();
      srv.closeAllConnections();
    }
  });

  it('closes a connection that stays idle once the drain time is up', async () => {
    const srv = await server();
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    const pool = new Pool(url, { connections: 1 });
    try {
      await (await pool.request({ path: '/', method: 'GET' })).body.text();
      const closed = new Promise<number>((resolve) => pool.once('disconnect', () => resolve(Date.now())));
      const started = Date.now();
      await stopAccepting(srv, 300);
      expect(Date.now() - started).toBeGreaterThanOrEqual(280);
      expect((await closed) - started).toBeLessThan(1000);
    } finally {
      await pool.destroy();
    }
  });
});
