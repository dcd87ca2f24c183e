import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 16 items 1 and 3: digests and ordered delivery per subject (docs/architecture.md, "Digests"
 * and "Ordered delivery"; docs/decisions.md).
 *
 * - `webhooks.ordering` (`none` | `subject`) and `webhooks.digest` (`{afterQueued, maxItems}` or
 *   NULL): the two options.
 * - `deliveries.subject`: what the delivery is about (`issue:<id>`, `deployment:<id>`,
 *   `rollout:<id>`; `herald_event_subject`), set only for webhooks that order by subject. A claim
 *   refuses a delivery while an earlier unfinished one of the same webhook and subject exists.
 * - `deliveries.digestible`: the delivery may be merged into a digest (its webhook has one, and it
 *   is not a direct-message event of a webhook that sends DMs).
 * - Both are filled by a BEFORE INSERT trigger from the webhook's settings at fan-out, so every
 *   path that creates deliveries (the relay's statement, the filtered fan-out) gets them without
 *   knowing about them; PATCH recomputes them for the webhook's pending deliveries
 *   (`herald_apply_lanes`). A webhook with neither option costs the trigger one primary-key probe
 *   of `webhooks` per delivery (about 7 µs a row, docs/decisions.md) and writes nothing more.
 * - Two partial indexes hold only pending deliveries of such webhooks, so the ordering check and
 *   the digest's batch claim are index ranges, and webhooks without the options add no entries.
 * - `delivery_attempts.digest_*`: the digest an attempt was part of (its leading delivery, that
 *   delivery's attempt number, how many deliveries the message carried).
 *
 * Constant defaults and nullable columns: nothing is rewritten. The indexes are built while the
 * migration lock is held (not CONCURRENTLY, as in earlier migrations); both are empty at creation.
 */
export class DigestsAndOrdering1733700000000 implements MigrationInterface {
  name = 'DigestsAndOrdering1733700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE webhooks ADD COLUMN ordering text NOT NULL DEFAULT 'none' CONSTRAINT webhooks_ordering CHECK (ordering IN ('none', 'subject'))`);
    await q.query(`
      ALTER TABLE webhooks ADD COLUMN digest jsonb CONSTRAINT webhooks_digest CHECK (
        digest IS NULL OR (jsonb_typeof(digest -> 'afterQueued') = 'number' AND jsonb_typeof(digest -> 'maxItems') = 'number'))`);
    await q.query(`ALTER TABLE deliveries ADD COLUMN subject text`);
    await q.query(`ALTER TABLE deliveries ADD COLUMN digestible boolean NOT NULL DEFAULT false`);
    await q.query(`ALTER TABLE delivery_attempts ADD COLUMN digest_delivery_id uuid`);
    await q.query(`ALTER TABLE delivery_attempts ADD COLUMN digest_attempt integer`);
    await q.query(`ALTER TABLE delivery_attempts ADD COLUMN digest_items integer`);

    // The subject of an event: one issue (incidents are issues), one deployment, one rollout.
    // Blank ids count as none; ids longer than 200 characters are hashed (an index entry stays small).
    await q.query(`
      CREATE FUNCTION herald_event_subject(event_type text, body jsonb) RETURNS text
      LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
      DECLARE
        s text;
      BEGIN
        -- plpgsql, not sql: a SQL function with a FROM clause is not inlined, and the trigger below
        -- would plan it again for every row (measured: 35 times slower at fan-out).
        IF event_type = 'deployment.create' THEN
          s := coalesce(nullif(btrim(body #>> '{deployment,id}'), ''), nullif(btrim(body #>> '{rollout,id}'), ''));
          IF s IS NOT NULL THEN s := 'deployment:' || s; END IF;
        END IF;
        IF s IS NULL THEN
          s := coalesce(nullif(btrim(body #>> '{issue,id}'), ''), nullif(btrim(body #>> '{issue,key}'), ''));
          IF s IS NOT NULL THEN s := 'issue:' || s; END IF;
        END IF;
        IF s IS NULL THEN
          s := nullif(btrim(body #>> '{rollout,id}'), '');
          IF s IS NOT NULL THEN s := 'rollout:' || s; END IF;
        END IF;
        IF s IS NULL THEN
          s := nullif(btrim(body #>> '{deployment,id}'), '');
          IF s IS NOT NULL THEN s := 'deployment:' || s; END IF;
        END IF;
        IF length(s) > 200 THEN s := split_part(s, ':', 1) || ':md5:' || md5(s); END IF;
        RETURN s;
      END $$`);
    // Direct-message event types (the catalogue's, DIRECT_MESSAGE_TYPES in libs/domain) are sent one
    // by one on a webhook with directMessage, so DMs are never merged across users.
    await q.query(`
      CREATE FUNCTION herald_digestible(digest jsonb, direct_message boolean, event_type text) RETURNS boolean
      LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT digest IS NOT NULL AND NOT (direct_message AND event_type IN
          ('bb.issue.approval.notify', 'bb.notify.issue.approved', 'bb.notify.pipeline.rollout', 'bb.issue.sent_back'))
      $$`);
    await q.query(`
      CREATE FUNCTION herald_delivery_lanes() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        w record;
      BEGIN
        SELECT ordering, digest, direct_message INTO w FROM webhooks
         WHERE id = NEW.webhook_id AND (ordering = 'subject' OR digest IS NOT NULL);
        IF NOT FOUND THEN
          RETURN NEW;
        END IF;
        IF w.ordering = 'subject' THEN
          SELECT herald_event_subject(e.type, e.body) INTO NEW.subject FROM events e WHERE e.id = NEW.event_id;
        END IF;
        NEW.digestible := herald_digestible(w.digest, w.direct_message, NEW.event_type);
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER deliveries_lanes BEFORE INSERT ON deliveries FOR EACH ROW EXECUTE FUNCTION herald_delivery_lanes()`);
    // After a PATCH of ordering, digest or directMessage: the webhook's pending deliveries follow
    // the new settings (found through the reconciler's partial index of pending deliveries).
    await q.query(`
      CREATE FUNCTION herald_apply_lanes(p_project integer, p_webhook uuid) RETURNS integer LANGUAGE sql AS $$
        WITH changed AS (
          UPDATE deliveries d
             SET subject = CASE WHEN w.ordering = 'subject' THEN herald_event_subject(e.type, e.body) END,
                 digestible = herald_digestible(w.digest, w.direct_message, d.event_type)
            FROM webhooks w, events e
           WHERE d.project_id = p_project AND d.status = 'pending' AND d.webhook_id = p_webhook
             AND w.id = d.webhook_id AND e.id = d.event_id
             AND (d.subject IS DISTINCT FROM CASE WHEN w.ordering = 'subject' THEN herald_event_subject(e.type, e.body) END
                  OR d.digestible IS DISTINCT FROM herald_digestible(w.digest, w.direct_message, d.event_type))
          RETURNING 1
        )
        SELECT count(*)::integer FROM changed
      $$`);
    await q.query(`CREATE INDEX deliveries_subject_queue ON deliveries (webhook_id, subject, event_id) WHERE status = 'pending' AND subject IS NOT NULL`);
    await q.query(`CREATE INDEX deliveries_digest_queue ON deliveries (webhook_id, event_id) WHERE status = 'pending' AND digestible`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS deliveries_digest_queue`);
    await q.query(`DROP INDEX IF EXISTS deliveries_subject_queue`);
    await q.query(`DROP FUNCTION IF EXISTS herald_apply_lanes(integer, uuid)`);
    await q.query(`DROP TRIGGER IF EXISTS deliveries_lanes ON deliveries`);
    await q.query(`DROP FUNCTION IF EXISTS herald_delivery_lanes()`);
    await q.query(`DROP FUNCTION IF EXISTS herald_digestible(jsonb, boolean, text)`);
    await q.query(`DROP FUNCTION IF EXISTS herald_event_subject(text, jsonb)`);
    await q.query(`ALTER TABLE delivery_attempts DROP COLUMN digest_items`);
    await q.query(`ALTER TABLE delivery_attempts DROP COLUMN digest_attempt`);
    await q.query(`ALTER TABLE delivery_attempts DROP COLUMN digest_delivery_id`);
    await q.query(`ALTER TABLE deliveries DROP COLUMN digestible`);
    await q.query(`ALTER TABLE deliveries DROP COLUMN subject`);
    await q.query(`ALTER TABLE webhooks DROP COLUMN digest`);
    await q.query(`ALTER TABLE webhooks DROP COLUMN ordering`);
  }
}
