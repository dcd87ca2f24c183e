/**
 * Groups concurrent calls into batches without adding latency: a call starts a flush at once when
 * fewer than `maxConcurrent` flushes are running; otherwise it waits and goes out with the next
 * flush, together with every call that arrived meanwhile (up to `maxBatch`). Under light load each
 * call is flushed alone; under heavy load statements and commits are shared ("group commit").
 */
export class MicroBatcher<I, O> {
  private readonly queue: Array<{ item: I; resolve: (o: O) => void; reject: (e: unknown) => void }> = [];
  private inFlight = 0;

  /** `flush` answers each item in order, with a value or an Error for that item alone. */
  constructor(
    private readonly flush: (items: I[]) => Promise<Array<O | Error>>,
    private readonly options: { maxBatch: number; maxConcurrent: number },
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.inFlight < this.options.maxConcurrent && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.inFlight++;
      this.flush(batch.map((b) => b.item))
        .then(
          (results) =>
            batch.forEach((b, i) => {
              const result = results[i];
              if (result instanceof Error) b.reject(result);
              else b.resolve(result);
            }),
          (err: unknown) => batch.forEach((b) => b.reject(err)),
        )
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
  }
}
