import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/**
 * `npm run receiver -- [--port 9000] [--secret whsec_...]`: a webhook receiver for trying Herald on
 * one machine (README, "Try it"). It prints every request it gets and checks its Standard Webhooks
 * signature with the webhook's secret, the way a real receiver should: a request that does not
 * verify gets 401 (Herald then records the attempt as failed), one that does gets 204.
 */
export interface ReceiverOptions {
  port: number;
  host?: string;
  /** The webhook's signing secret (`whsec_…`); without it signatures are shown but not checked. */
  secret?: string;
  print: (text: string) => void;
}

const SIGNATURE_HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;

export async function startReceiver(options: ReceiverOptions): Promise<{ server: Server; url: string }> {
  const verifier = options.secret ? new Webhook(options.secret) : null;
  let count = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const verdict = verify(verifier, body, req.headers);
      options.print(describe(++count, req.method ?? '?', req.url ?? '/', req.headers, body, verdict));
      res
        .writeHead(verdict.ok === false ? 401 : 204, verdict.ok === false ? { 'content-type': 'text/plain' } : {})
        .end(verdict.ok === false ? verdict.text : undefined);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  return { server, url: `http://${address}:${port}` };
}

type Verdict = { ok: true | false | null; text: string };

function verify(verifier: Webhook | null, body: string, headers: IncomingHttpHeaders): Verdict {
  if (!SIGNATURE_HEADERS.every((h) => typeof headers[h] === 'string'))
    return { ok: false, text: 'not signed: no webhook-id, webhook-timestamp and webhook-signature headers' };
  if (!verifier) return { ok: null, text: "not checked: start the receiver with --secret whsec_… (the webhook's secret) to verify it" };
  try {
    verifier.verify(body, headers as Record<string, string>);
    return { ok: true, text: 'verified with the webhook secret (Standard Webhooks)' };
  } catch (err) {
    return { ok: false, text: `does not verify: ${(err as Error).message}` };
  }
}

function describe(n: number, method: string, url: string, headers: IncomingHttpHeaders, body: string, verdict: Verdict): string {
  let shown = body;
  try {
    shown = JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    // not JSON: shown as received
  }
  const mark = verdict.ok === true ? '✓' : verdict.ok === false ? '✗' : '?';
  return [
    `── delivery ${n} · ${new Date().toISOString()} · ${method} ${url}`,
    ...SIGNATURE_HEADERS.map((h) => `${h.padEnd(18)} ${headers[h] ?? '(missing)'}`),
    `${'signature'.padEnd(18)} ${mark} ${verdict.text}`,
    shown,
    '',
  ].join('\n');
}

function parseArgs(argv: string[]): { port: number; secret?: string } {
  const args = { port: Number(process.env.RECEIVER_PORT ?? 9000), secret: process.env.HERALD_WEBHOOK_SECRET };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--port') args.port = Number(argv[++i]);
    else if (argv[i] === '--secret') args.secret = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}: use --port <port> and --secret <whsec_…>`);
  }
  if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535) throw new Error('--port must be a TCP port');
  if (args.secret !== undefined && !/^whsec_[A-Za-z0-9+/]+=*$/.test(args.secret))
    throw new Error('--secret must be the webhook secret Herald answered, whsec_ followed by base64');
  return args;
}

if (require.main === module) {
  (async () => {
    const args = parseArgs(process.argv.slice(2));
    const { url } = await startReceiver({ ...args, print: (text) => process.stdout.write(`${text}\n`) });
    process.stdout.write(
      `receiving webhooks at ${url}/ (any path); ${args.secret ? 'signatures are verified' : 'signatures are not verified: pass --secret whsec_…'}. Ctrl-C stops.\n`,
    );
    process.once('SIGINT', () => process.exit(0));
    process.once('SIGTERM', () => process.exit(0));
  })().catch((err: unknown) => {
    process.stderr.write(`receiver: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
