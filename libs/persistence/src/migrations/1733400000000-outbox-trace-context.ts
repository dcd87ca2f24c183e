import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `outbox.traceparent`: the W3C trace context of the request that wrote the row, so the relay's
 * fan-out and the delivery attempts join that request's trace (docs/operations.md#tracing). NULL
 * while tracing is off. A nullable column without a default: adding it rewrites nothing.
 */
export class OutboxTraceContext1733400000000 implements MigrationInterface {
  name = 'OutboxTraceContext1733400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE outbox ADD COLUMN traceparent text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE outbox DROP COLUMN traceparent`);
  }
}
