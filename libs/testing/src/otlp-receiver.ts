import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** A span as an OTLP exporter sent it (the fields the tests look at). */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, string | number | boolean>;
  /** OTLP's StatusCode: 0 unset, 1 ok, 2 error. */
  status: { code: number; message: string };
}

export const OTLP_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

/**
 * An OTLP/HTTP collector for tests: point an app's OTEL_EXPORTER_OTLP_ENDPOINT at `url` and it
 * records every span the app's real exporter sends, in protobuf (the default protocol) or JSON.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Requests that were not a trace export this receiver could read (the tests expect none). */
  readonly refused: string[] = [];
  private server?: Server;

  static async start(): Promise<OtlpReceiver> {
    const receiver = new OtlpReceiver();
    receiver.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          if (req.method !== 'POST' || req.url !== '/v1/traces') throw new Error(`${req.method} ${req.url}`);
          let body = Buffer.concat(chunks);
          if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
          const json = /json/.test(req.headers['content-type'] ?? '');
          receiver.spans.push(...(json ? fromJson(JSON.parse(body.toString('utf8'))) : fromProtobuf(body)));
          res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' }).end(json ? '{}' : '');
        } catch (err) {
          receiver.refused.push((err as Error).message);
          res.writeHead(400).end();
        }
      });
    });
    await new Promise<void>((resolve) => receiver.server?.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server?.address() as AddressInfo).port}`;
  }

  inTrace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

// --- protobuf: the few messages of opentelemetry/proto/collector/trace/v1 that carry spans ---

interface Field {
  no: number;
  wire: number;
  /** varint and fixed values */
  int?: bigint;
  bytes?: Buffer;
}

function* fields(buf: Buffer): Generator<Field> {
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[pos++];
      if (b === undefined) throw new Error('truncated varint');
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return result;
      shift += 7n;
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const no = key >> 3;
    const wire = key & 7;
    if (wire === 0) yield { no, wire, int: varint() };
    else if (wire === 1) {
      yield { no, wire, int: buf.readBigUInt64LE(pos), bytes: buf.subarray(pos, pos + 8) };
      pos += 8;
    } else if (wire === 2) {
      const len = Number(varint());
      yield { no, wire, bytes: buf.subarray(pos, pos + len) };
      pos += len;
    } else if (wire === 5) {
      yield { no, wire, int: BigInt(buf.readUInt32LE(pos)) };
      pos += 4;
    } else throw new Error(`unsupported wire type ${wire}`);
  }
}

function anyValue(buf: Buffer): string | number | boolean {
  for (const f of fields(buf)) {
    if (f.no === 1) return (f.bytes as Buffer).toString('utf8');
    if (f.no === 2) return f.int === 1n;
    if (f.no === 3) return Number(BigInt.asIntN(64, f.int as bigint));
    if (f.no === 4) return (f.bytes as Buffer).readDoubleLE(0);
  }
  return '';
}

function keyValues(list: Buffer[]): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const kv of list) {
    let key = '';
    let value: string | number | boolean = '';
    for (const f of fields(kv)) {
      if (f.no === 1) key = (f.bytes as Buffer).toString('utf8');
      if (f.no === 2) value = anyValue(f.bytes as Buffer);
    }
    out[key] = value;
  }
  return out;
}

function span(buf: Buffer, service: string): ReceivedSpan {
  const s: ReceivedSpan = {
    service,
    traceId: '',
    spanId: '',
    parentSpanId: '',
    name: '',
    kind: 0,
    startNs: 0n,
    endNs: 0n,
    attributes: {},
    status: { code: 0, message: '' },
  };
  const attributes: Buffer[] = [];
  for (const f of fields(buf)) {
    if (f.no === 1) s.traceId = (f.bytes as Buffer).toString('hex');
    else if (f.no === 2) s.spanId = (f.bytes as Buffer).toString('hex');
    else if (f.no === 4) s.parentSpanId = (f.bytes as Buffer).toString('hex');
    else if (f.no === 5) s.name = (f.bytes as Buffer).toString('utf8');
    else if (f.no === 6) s.kind = Number(f.int);
    else if (f.no === 7) s.startNs = f.int as bigint;
    else if (f.no === 8) s.endNs = f.int as bigint;
    else if (f.no === 9) attributes.push(f.bytes as Buffer);
    else if (f.no === 15) {
      for (const g of fields(f.bytes as Buffer)) {
        if (g.no === 2) s.status.message = (g.bytes as Buffer).toString('utf8');
        if (g.no === 3) s.status.code = Number(g.int);
      }
    }
  }
  s.attributes = keyValues(attributes);
  return s;
}

/** ExportTraceServiceRequest → ResourceSpans (1) → Resource (1) / ScopeSpans (2) → Span (2). */
function fromProtobuf(buf: Buffer): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of fields(buf)) {
    if (rs.no !== 1) continue;
    let service = '';
    const scopes: Buffer[] = [];
    for (const f of fields(rs.bytes as Buffer)) {
      if (f.no === 1) service = String(keyValues([...fields(f.bytes as Buffer)].filter((a) => a.no === 1).map((a) => a.bytes as Buffer))['service.name'] ?? '');
      if (f.no === 2) scopes.push(f.bytes as Buffer);
    }
    for (const scope of scopes) for (const f of fields(scope)) if (f.no === 2) out.push(span(f.bytes as Buffer, service));
  }
  return out;
}

interface JsonKeyValue {
  key: string;
  value: { stringValue?: string; boolValue?: boolean; intValue?: string | number; doubleValue?: number };
}

function jsonAttributes(list: JsonKeyValue[] = []): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list)
    out[key] = value.stringValue ?? value.boolValue ?? (value.intValue !== undefined ? Number(value.intValue) : (value.doubleValue ?? ''));
  return out;
}

/** The same request in OTLP/JSON (ids in hex, as the specification's JSON mapping has them). */
function fromJson(body: {
  resourceSpans?: Array<{
    resource?: { attributes?: JsonKeyValue[] };
    scopeSpans?: Array<{ spans?: Array<Record<string, unknown> & { attributes?: JsonKeyValue[]; status?: { code?: number; message?: string } }> }>;
  }>;
}): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const service = String(jsonAttributes(rs.resource?.attributes)['service.name'] ?? '');
    for (const scope of rs.scopeSpans ?? []) {
      for (const s of scope.spans ?? []) {
        out.push({
          service,
          traceId: String(s.traceId ?? ''),
          spanId: String(s.spanId ?? ''),
          parentSpanId: String(s.parentSpanId ?? ''),
          name: String(s.name ?? ''),
          kind: Number(s.kind ?? 0),
          startNs: BigInt(String(s.startTimeUnixNano ?? 0)),
          endNs: BigInt(String(s.endTimeUnixNano ?? 0)),
          attributes: jsonAttributes(s.attributes),
          status: { code: Number(s.status?.code ?? 0), message: String(s.status?.message ?? '') },
        });
      }
    }
  }
  return out;
}
