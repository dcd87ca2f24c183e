import { PassThrough } from 'node:stream';
import { createLogger } from './logging';

/** What a log line looks like on a terminal (`npm start`) and anywhere else. */
function capture(isTTY: boolean): { out: PassThrough & { isTTY?: boolean }; text: () => string } {
  const out = Object.assign(new PassThrough(), { isTTY });
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  return { out, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('log lines', () => {
  const request = { reqId: 'r1', req: { method: 'POST', url: '/v1/projects/demo/events' }, res: { statusCode: 202 }, responseTime: 12 };

  it('are readable lines on a terminal, with the app, the request and no JSON', () => {
    const { out, text } = capture(true);
    const logger = createLogger('info', 'ingestion', out);
    logger.info(request, 'request completed');
    logger.warn({ context: 'Readiness' }, 'not ready: postgres');
    const lines = text().trim().split('\n');
    expect(lines).toHaveLength(2);
    // eslint-disable-next-line no-control-regex -- colours are part of a terminal line
    const plain = lines.map((l) => l.replace(/\u001b\[\d+m/g, ''));
    expect(plain[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: ingestion request completed POST \/v1\/projects\/demo\/events -> 202 in 12 ms$/);
    expect(plain[1]).toMatch(/WARN: ingestion \[Readiness\] not ready: postgres$/);
    for (const line of lines) expect(() => JSON.parse(line)).toThrow();
  });

  it('are JSON lines anywhere else, credentials redacted', () => {
    const { out, text } = capture(false);
    createLogger('info', 'ingestion', out).info({ ...request, req: { ...request.req, headers: { authorization: 'Bearer hk_secret' } } }, 'request completed');
    const entry = JSON.parse(text());
    expect(entry).toMatchObject({ level: 30, app: 'ingestion', msg: 'request completed', reqId: 'r1', req: { headers: { authorization: '***' } } });
  });
});
