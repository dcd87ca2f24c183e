import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Projects, API keys, webhooks, events, idempotency keys, the outbox, deliveries and attempts. */
export class InitialSchema1732300000000 implements MigrationInterface {
  name = 'InitialSchema1732300000000';

  async up(q: QueryRunner): Promise<void> {
    // Time-ordered UUIDs (v7): new rows land at the right edge of every index, and keyset
    // pagination by id lists newest first. Postgres 15 has no built-in v7 generator.
    await q.query(`
      CREATE OR REPLACE FUNCTION herald_uuid_v7() RETURNS uuid AS $$
        SELECT encode(
          set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid())
                    placing substring(int8send((extract(epoch from clock_timestamp()) * 1000)::bigint) from 3)
                    from 1 for 6),
            52, 1), 53, 1),
          'hex')::uuid
      $$ LANGUAGE sql VOLATILE`);

    await q.query(`
      CREATE TABLE projects (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        key text NOT NULL,
        name text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT projects_key UNIQUE (key)
      )`);

    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT herald_uuid_v7(),
        project_id integer NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        name text NOT NULL,
        key_hash text NOT NULL,
        key_hint text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT api_keys_key_hash UNIQUE (key_hash)
      )`);
    await q.query(`CREATE INDEX api_keys_project ON api_keys (project_id)`);

    await q.query(`
      CREATE TABLE webhooks (
        id uuid PRIMARY KEY DEFAULT herald_uuid_v7(),
        project_id integer NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        name text NOT NULL,
        type text NOT NULL,
        url_encrypted text NOT NULL,
        url_masked text NOT NULL,
        events text[] NOT NULL,
        direct_message boolean NOT NULL DEFAULT false,
        locale text,
        secret_encrypted text,
        previous_secret_encrypted text,
        previous_secret_expires_at timestamptz,
        rate_limit_count integer,
        rate_limit_per_seconds integer,
        enabled boolean NOT NULL DEFAULT true,
        disabled_reason text,
        disabled_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX webhooks_project_name ON webhooks (project_id, name)`);

    await q.query(`
      CREATE TABLE events (
        id uuid PRIMARY KEY DEFAULT herald_uuid_v7(),
        project_id integer NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        type text NOT NULL,
        level text NOT NULL,
        title text NOT NULL,
        source text NOT NULL,
        body jsonb NOT NULL,
        occurred_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX events_project ON events (project_id, id)`);
    await q.query(`CREATE INDEX events_project_type ON events (project_id, type, id)`);

    await q.query(`
      CREATE TABLE idempotency_keys (
        project_id integer NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        key text NOT NULL,
        response jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (project_id, key)
      )`);
    await q.query(`CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at)`);

    await q.query(`
      CREATE TABLE outbox (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind text NOT NULL,
        ref uuid NOT NULL,
        replay integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);

    await q.query(`
      CREATE TABLE deliveries (
        id uuid PRIMARY KEY DEFAULT herald_uuid_v7(),
        project_id integer NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
        event_id uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
        webhook_id uuid NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
        event_type text NOT NULL,
        status text NOT NULL DEFAULT 'pending',
        attempt_count integer NOT NULL DEFAULT 0,
        replay integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        delivered_at timestamptz,
        CONSTRAINT deliveries_event_webhook UNIQUE (event_id, webhook_id)
      )`);
    await q.query(`CREATE INDEX deliveries_project ON deliveries (project_id, id)`);
    await q.query(`CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id)`);
    await q.query(`CREATE INDEX deliveries_project_status ON deliveries (project_id, status, id)`);

    await q.query(`
      CREATE TABLE delivery_attempts (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        delivery_id uuid NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
        number integer NOT NULL,
        started_at timestamptz NOT NULL,
        duration_ms integer NOT NULL,
        status_code integer,
        outcome text NOT NULL,
        error text,
        response_body text
      )`);
    await q.query(`CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, number)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['delivery_attempts', 'deliveries', 'outbox', 'idempotency_keys', 'events', 'webhooks', 'api_keys', 'projects']) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
    await q.query(`DROP FUNCTION IF EXISTS herald_uuid_v7()`);
  }
}
