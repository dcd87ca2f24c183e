import {
  ArgumentsHost,
  BadRequestException,
  Catch,
  ExceptionFilter,
  HttpException,
  HttpStatus,
  Logger,
  ValidationPipe,
  type ArgumentMetadata,
  type ValidationError,
} from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { Conflict, DomainError, Forbidden, NotFound, ValidationFailed, type FieldProblem } from '@herald/domain';
import { TooManyAttempts } from './auth-defense';
import { compiledCheck, type Target } from './compiled-validation';

/** An error whose cause is a dependency (Postgres, Redis) being unreachable: answer 503. */
export class DependencyUnavailable extends Error {
  constructor(
    readonly dependency: 'postgres' | 'redis' | 'ingestion',
    cause?: unknown,
  ) {
    super(`${dependency} is unavailable`, { cause });
    this.name = 'DependencyUnavailable';
  }
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'EAI_AGAIN']);
// SQLSTATE 08xxx connection exceptions, 57P0x shutdown/cannot connect now, 53300 too many
// connections, 57014 a statement cancelled (HERALD_DATABASE_STATEMENT_TIMEOUT_MS: Postgres did not
// answer in time, and the statement's work was rolled back).
const PG_UNAVAILABLE = /^(08...|57P0[1-3]|57014|53300)$/;
const UNAVAILABLE_MESSAGES = [
  /Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /Client has encountered a connection error/i,
  /the database system is (starting up|shutting down)/i,
  /Connection is closed/i,
  /Stream isn't writeable/i,
  /Reached the max retries per request limit/i,
];

/** True when `err` (or what it wraps) says a dependency could not be reached. */
export function isDependencyDown(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 4) return false;
  if (err instanceof DependencyUnavailable) return true;
  const e = err as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && (CONNECTION_CODES.has(e.code) || PG_UNAVAILABLE.test(e.code))) return true;
  if (typeof e.message === 'string' && UNAVAILABLE_MESSAGES.some((re) => re.test(e.message as string))) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => isDependencyDown(inner, depth + 1))) return true;
  return isDependencyDown(e.driverError, depth + 1) || isDependencyDown(e.cause, depth + 1);
}

export interface ErrorBody {
  status: number;
  error: string;
  message: string;
  details?: FieldProblem[];
  retryAfterSeconds?: number;
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? (status >= 500 ? 'Server Error' : 'Client Error');
}

/** Maps any thrown value to an HTTP error. Only unknown errors become 500. */
export function toErrorBody(err: unknown): ErrorBody {
  if (err instanceof ValidationFailed) {
    return { status: 400, error: reasonPhrase(400), message: err.message, details: err.details };
  }
  if (err instanceof NotFound) return { status: 404, error: reasonPhrase(404), message: err.message };
  if (err instanceof Conflict) return { status: 409, error: reasonPhrase(409), message: err.message };
  if (err instanceof Forbidden) return { status: 403, error: reasonPhrase(403), message: err.message };
  if (err instanceof DomainError) return { status: 400, error: reasonPhrase(400), message: err.message };
  if (err instanceof TooManyAttempts) return { status: 429, error: reasonPhrase(429), message: err.message, retryAfterSeconds: err.retryAfterSeconds };
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const response = err.getResponse() as string | { message?: unknown; details?: FieldProblem[] };
    const message =
      typeof response === 'string' ? response : Array.isArray(response.message) ? response.message.join('; ') : String(response.message ?? err.message);
    const details = typeof response === 'object' ? response.details : undefined;
    return { status, error: reasonPhrase(status), message, ...(details ? { details } : {}) };
  }
  if (isDependencyDown(err)) {
    const dep = err instanceof DependencyUnavailable ? err.dependency : 'a dependency';
    return {
      status: 503,
      error: reasonPhrase(503),
      message: `${dep === 'a dependency' ? 'the database or queue' : dep} is unavailable; nothing was accepted, retry later`,
      retryAfterSeconds: 5,
    };
  }
  // Fastify's own errors (body too large, malformed JSON, unsupported media type) carry a 4xx code.
  const e = err as { statusCode?: unknown; message?: unknown; code?: unknown; name?: unknown };
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const message = String(e.message ?? '');
    return {
      status: e.statusCode,
      error: reasonPhrase(e.statusCode),
      message: e.name === 'SyntaxError' ? `body: malformed JSON (${message})` : fastifyMessage(e.code, message),
    };
  }
  return { status: 500, error: reasonPhrase(500), message: 'internal error; see the server log for the request id' };
}

function fastifyMessage(code: unknown, message: string): string {
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'request body is larger than HERALD_MAX_BODY_BYTES';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'unsupported Content-Type: send application/json';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'body: expected a JSON document, got an empty body';
    default:
      return message;
  }
}

interface ReplyLike {
  status(code: number): ReplyLike;
  header(name: string, value: string): ReplyLike;
  send(body: unknown): void;
}

/**
 * Routes that differ from the API's conventions, declared by the feature that serves them (the
 * DevLake-compatible routes, in libs/intake) and handed to the HTTP app: their errors take the
 * feature's envelope, and their bodies may be read as JSON whatever the Content-Type.
 */
export interface RouteDialect {
  readonly name: string;
  /** Whether a request path (without its query) is one of these routes. */
  matches(path: string): boolean;
  /** The error answer for these routes, instead of {@link apiEnvelope}. */
  envelope(body: ErrorBody): unknown;
  /** Any body is JSON whatever its Content-Type, and an empty one is `{}`. */
  readonly anyContentTypeIsJson?: boolean;
}

/** The dialect `url`'s path belongs to, if any. */
export function dialectOf(url: string, dialects: readonly RouteDialect[]): RouteDialect | undefined {
  if (!dialects.length) return undefined;
  const path = url.split('?')[0];
  return dialects.find((d) => d.matches(path));
}

/** The error answer for `url`: its dialect's envelope, or the API's. */
export function errorEnvelope(url: string, body: ErrorBody, dialects: readonly RouteDialect[]): unknown {
  return (dialectOf(url, dialects)?.envelope ?? apiEnvelope)(body);
}

@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrorFilter');

  constructor(private readonly dialects: readonly RouteDialect[] = []) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const reply = http.getResponse<ReplyLike>();
    const request = http.getRequest<{ url?: string; id?: string }>();
    const body = toErrorBody(exception);
    if (body.status >= 500) {
      this.logger.error({ err: exception, reqId: request.id, url: request.url }, body.status === 503 ? 'dependency unavailable' : 'unhandled error');
    }
    if (body.retryAfterSeconds) reply.header('Retry-After', String(body.retryAfterSeconds));
    reply.status(body.status).send(errorEnvelope(request.url ?? '', body, this.dialects));
  }
}

export function apiEnvelope(body: ErrorBody) {
  return { statusCode: body.status, error: body.error, message: body.message, ...(body.details ? { details: body.details } : {}) };
}

/** Flattens class-validator's tree into `{field, message}` pairs with dotted paths. */
export function fieldProblems(errors: ValidationError[], prefix = ''): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const error of errors) {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    for (const message of Object.values(error.constraints ?? {})) out.push({ field, message });
    if (error.children?.length) out.push(...fieldProblems(error.children, field));
  }
  return out;
}

/**
 * Nest's ValidationPipe with a shorter path for JSON bodies. Before validating, Nest's pipe closes
 * array gaps, strips prototype keys and looks for binary values — none of which a body parsed from
 * JSON by our parser can hold (it refuses `__proto__`, `constructor` and `prototype` keys) — which
 * took almost half of the pipe's time on the intake path (about 18 of 40 µs per event). A JSON
 * object body is transformed and validated with the same options, errors and exception factory;
 * everything else (queries, params, arrays, primitives) goes through Nest's pipe unchanged.
 * The pipe's options are what compiledCheck assumes; change them together.
 */
class HeraldValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type !== 'body' || !isPlainObject(value) || !metadata.metatype || !this.toValidate(metadata)) return super.transform(value, metadata);
    const entity = plainToInstance(metadata.metatype, value, this.transformOptions) as object;
    // The DTO's rules compiled into one check (compiled-validation.ts): a body that passes them
    // needs no `validate`; any other is validated in full, which names each problem.
    if (compiledCheck(metadata.metatype as Target)?.(value)) return entity;
    const errors = await validate(entity, this.validatorOptions);
    if (errors.length > 0) throw await this.exceptionFactory(errors);
    return entity;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The validation pipe every HTTP app uses: unknown fields are rejected and every bad field named. */
export function createValidationPipe(): ValidationPipe {
  return new HeraldValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    forbidUnknownValues: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => {
      const details = fieldProblems(errors);
      return new BadRequestException({ message: details.map((d) => `${d.field}: ${d.message}`).join('; ') || 'invalid body', details });
    },
  });
}

export { HttpStatus };
