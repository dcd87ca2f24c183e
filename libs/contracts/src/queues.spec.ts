import { deliverJobChain, deliverJobId, parseDeliverJob, type DeliverJobV1 } from './queues';

describe('delivery job ids and their attempt chain', () => {
  const id = '0190d5b0-0000-7000-8000-000000000001';

  it('reads back the chain of every id deliverJobId makes', () => {
    for (const replay of [0, 1, 9, 10, 123_456]) expect(deliverJobChain(deliverJobId(id, replay), id)).toBe(replay);
  });

  it('refuses ids Herald does not make, or of another delivery', () => {
    for (const jobId of [undefined, '', `${id}.r0`, `${id}.r01`, `${id}.rx`, `${id}.r`, `${id}.r1.r2`, '0190d5b0-0000-7000-8000-000000000002', `x${id}`]) {
      expect(deliverJobChain(jobId, id)).toBeNull();
    }
  });
});

describe('delivery job payloads across releases', () => {
  const deliveryId = '0190d5b0-0000-7000-8000-000000000001';
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  /** The parser of the release before trace contexts, verbatim: a worker still running it during a rolling upgrade. */
  function previousReleaseParse(data: unknown): { v: 1; deliveryId: string } {
    const d = data as { v?: number; deliveryId?: string } | null;
    if (!d || d.v !== 1 || typeof d.deliveryId !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(d.deliveryId)) {
      throw new Error('malformed deliver job payload');
    }
    return { v: 1, deliveryId: d.deliveryId };
  }

  it('accepts a job queued before trace contexts (no traceparent)', () => {
    expect(parseDeliverJob({ v: 1, deliveryId })).toEqual({ v: 1, deliveryId });
  });

  it('keeps a valid traceparent', () => {
    expect(parseDeliverJob({ v: 1, deliveryId, traceparent })).toEqual({ v: 1, deliveryId, traceparent });
  });

  it('a job carrying a traceparent is still valid for the previous release', () => {
    const job: DeliverJobV1 = { v: 1, deliveryId, traceparent };
    expect(previousReleaseParse(JSON.parse(JSON.stringify(job)))).toEqual({ v: 1, deliveryId });
  });

  it('drops a malformed trace context instead of failing the delivery', () => {
    for (const bad of ['', 'nonsense', `01-${traceparent.slice(3)}`, traceparent.toUpperCase(), `${traceparent}-extra`, 42, null, { traceparent }]) {
      expect(parseDeliverJob({ v: 1, deliveryId, traceparent: bad })).toEqual({ v: 1, deliveryId });
    }
  });

  it('still refuses a job that is not a delivery job', () => {
    for (const bad of [null, {}, { v: 2, deliveryId }, { v: 1, deliveryId: 'x' }, { v: 1 }]) expect(() => parseDeliverJob(bad)).toThrow(/malformed/);
  });
});
