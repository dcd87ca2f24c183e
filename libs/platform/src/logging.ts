import { type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { HeraldConfig } from './config';

let root: Logger | undefined;

/**
 * The process's logger: JSON lines on stdout, or readable lines when stdout is a terminal (as
 * under `npm start`). Credentials are redacted wherever they appear under these paths.
 */
export function rootLogger(config?: HeraldConfig, app = 'herald'): Logger {
  root ??= createLogger(config?.logLevel ?? 'info', app, process.stdout);
  return root;
}

export function createLogger(level: string, app: string, out: NodeJS.WritableStream & { isTTY?: boolean }): Logger {
  const options = {
    level,
    base: { app },
    messageKey: 'msg',
    redact: { paths: ['headers.authorization', 'req.headers.authorization', 'req.headers.cookie', 'req.headers["idempotency-key"]'], censor: '***' },
  };
  return pino(options, (out.isTTY && readableLines(out)) || (out === process.stdout ? stdoutLines() : (out as DestinationStream)));
}

/**
 * Standard output written asynchronously (pino's SonicBoom): while one write is under way, the
 * lines logged meanwhile wait and go out together in the next, so a busy app does not make a
 * system call per line (at log level info every request logs one: docs/benchmarks.md measures
 * intake through the gateway at that level). A lone line is written at once; pino flushes what is left when the process
 * exits (a kill -9 can lose the lines of the write under way).
 */
function stdoutLines(): DestinationStream {
  return pino.destination({ dest: 1, sync: false });
}

/**
 * pino-pretty writing to `out`, one line per entry, or null when it is not installed (it is a
 * development dependency: the image always logs JSON).
 */
function readableLines(out: NodeJS.WritableStream): DestinationStream | null {
  let pretty: typeof import('pino-pretty');
  try {
    // Required here, not imported: it is optional at run time.
    pretty = require('pino-pretty');
  } catch {
    return null;
  }
  return pretty.build({
    destination: out,
    sync: true,
    colorize: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,app,context,reqId,req,res,responseTime',
    messageFormat: '{app}{if context} [{context}]{end} {msg}{if req} {req.method} {req.url} -> {res.statusCode} in {responseTime} ms{end}',
  });
}

/**
 * Nest's logger backed by the root pino logger (nestjs-pino). Request lines are written by a
 * Fastify hook (see http-app.ts) rather than pino-http's middleware: one line per request with
 * `reqId`, at a fraction of the cost on the intake hot path. The worker's lines carry `eventId`
 * and `deliveryId`.
 */
export function loggingModule(config: HeraldConfig, app: string): DynamicModule {
  return LoggerModule.forRoot({ pinoHttp: { logger: rootLogger(config, app) }, forRoutes: [] });
}
