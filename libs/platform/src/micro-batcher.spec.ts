import { MicroBatcher } from './micro-batcher';

describe('MicroBatcher', () => {
  it('flushes a lone call at once', async () => {
    const flushes: number[][] = [];
    const batcher = new MicroBatcher<number, number>(async (items) => (flushes.push(items), items.map((i) => i * 2)), { maxBatch: 10, maxConcurrent: 1 });
    await expect(batcher.submit(21)).resolves.toBe(42);
    expect(flushes).toEqual([[21]]);
  });

  it('flushes the calls of one turn together, and groups calls that arrive while a flush is running; answers keep their order', async () => {
    const flushes: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const batcher = new MicroBatcher<number, number>(
      async (items) => {
        flushes.push(items);
        if (flushes.length === 1) await gate;
        return items.map((i) => i + 100);
      },
      { maxBatch: 3, maxConcurrent: 1 },
    );
    const first = [1, 2].map((n) => batcher.submit(n));
    await new Promise((r) => setImmediate(r));
    const later = [3, 4, 5, 6, 7].map((n) => batcher.submit(n));
    release();
    await expect(Promise.all([...first, ...later])).resolves.toEqual([101, 102, 103, 104, 105, 106, 107]);
    expect(flushes).toEqual([
      [1, 2],
      [3, 4, 5],
      [6, 7],
    ]);
  });

  it('fails only the items the flush says failed, or all when the flush throws', async () => {
    const batcher = new MicroBatcher<number, number>(
      async (items) => {
        if (items.includes(0)) throw new Error('down');
        return items.map((i) => (i < 0 ? new Error(`bad ${i}`) : i));
      },
      { maxBatch: 10, maxConcurrent: 1 },
    );
    await expect(batcher.submit(-1)).rejects.toThrow('bad -1');
    await expect(batcher.submit(0)).rejects.toThrow('down');
    await expect(batcher.submit(5)).resolves.toBe(5);
  });
});
