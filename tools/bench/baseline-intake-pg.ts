import Fastify from 'fastify';
import { Pool } from 'pg';
import { v7 } from 'uuid';

/**
 * Baseline (c): the same durable work as ingestion's with nothing else — a bare Fastify server that
 * validates a small JSON body (Fastify's compiled JSON schema, as baseline (a)) and answers 202 only
 * once the event and its outbox row are committed to Postgres. Same schema, same statement as
 * ingestion's insert (one data-modifying CTE over `jsonb_to_recordset`, a named prepared statement),
 * and group commit as ingestion does it (MicroBatcher): the requests of one turn of the event loop
 * go out together at its end when fewer than 4 writes are in flight, otherwise with the next
 * write, together with every request that arrived meanwhile (up to 200 rows). No authentication, no project lookup, no Nest, no logging.
 * Run by tools/bench/run.ts as a child process: `node baseline-intake-pg.js <port> <databaseUrl> <projectId> <poolSize>`.
 */
const [port, databaseUrl, projectId, poolSize = '20'] = process.argv.slice(2);
const pool = new Pool({ connectionString: databaseUrl, max: Number(poolSize) });

const INSERT_EVENTS_SQL = `
  WITH input AS (
    SELECT * FROM jsonb_to_recordset($1::jsonb)
      AS x(id uuid, project_id integer, type text, level text, title text, source text, body jsonb, occurred_at timestamptz)
  ), inserted AS (
    INSERT INTO events (id, project_id, type, level, title, source, body, occurred_at)
    SELECT id, project_id, type, level, title, source, body, occurred_at FROM input
    RETURNING id
  )
  INSERT INTO outbox (kind, ref) SELECT 'event', id FROM inserted`;

interface Waiting {
  row: Record<string, unknown>;
  done: (err?: unknown) => void;
}
const queue: Waiting[] = [];
let inFlight = 0;

function pump(): void {
  while (inFlight < 4 && queue.length > 0) {
    const batch = queue.splice(0, 200);
    inFlight++;
    pool
      .query({ name: 'baseline_insert_events', text: INSERT_EVENTS_SQL, values: [JSON.stringify(batch.map((w) => w.row))] })
      .then(
        () => batch.forEach((w) => w.done()),
        (err: unknown) => batch.forEach((w) => w.done(err)),
      )
      .finally(() => {
        inFlight--;
        pump();
      });
  }
}

let scheduled = false;
function commit(row: Record<string, unknown>): Promise<void> {
  return new Promise((resolve, reject) => {
    queue.push({ row, done: (err) => (err ? reject(err) : resolve()) });
    if (!scheduled) {
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        pump();
      });
    }
  });
}

const app = Fastify({ logger: false });
app.post(
  '/events',
  {
    schema: {
      body: {
        type: 'object',
        required: ['type'],
        additionalProperties: false,
        properties: { type: { type: 'string', maxLength: 100 }, title: { type: 'string', maxLength: 1000 }, issue: { type: 'object' } },
      },
    },
  },
  async (request, reply) => {
    const { type, title, ...rest } = request.body as { type: string; title?: string; issue?: object };
    const id = v7();
    await commit({
      id,
      project_id: Number(projectId),
      type,
      level: 'ERROR',
      title: title ?? type,
      source: 'api',
      body: rest,
      occurred_at: new Date().toISOString(),
    });
    return reply.code(202).send({ id });
  },
);

app.listen({ port: Number(port), host: '127.0.0.1' }).then(() => process.send?.('ready'));
