import { type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import pino, { type Logger } from 'pino';
import type { HeraldConfig } from './config';

let root: Logger | undefined;

/**
 * The process's JSON logger (one line per entry, on stdout). Credentials are redacted wherever
 * they appear under these paths.
 */
export function rootLogger(config?: HeraldConfig, app = 'herald'): Logger {
  root ??= pino({
    level: config?.logLevel ?? 'info',
    base: { app },
    messageKey: 'msg',
    redact: { paths: ['headers.authorization', 'req.headers.authorization', 'req.headers.cookie', 'req.headers["idempotency-key"]'], censor: '***' },
  });
  return root;
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
