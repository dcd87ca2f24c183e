import { deliverJobChain, deliverJobId } from './queues';

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
