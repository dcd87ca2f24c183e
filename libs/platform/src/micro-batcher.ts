/**
 * Groups concurrent calls into batches without adding latency: calls made in one turn of the event
 * loop go out together at its end (`setImmediate`: the requests Node parsed from one read of its
 * sockets share a flush) when fewer than `maxConcurrent` flushes are running; otherwise they wait
 * and go out with the next flush, together with every call that arrived meanwhile (up to
 * `maxBatch`). Under light load each call is flushed alone, a few microseconds after it was made;
 * under heavy load statements and commits are shared ("group commit").
 */
export class MicroBatcher<I, O> {
  private readonly queue: Array<{ item: I; resolve: (o: O) => void; reject: (e: unknown) => void }> = [];
  private inFlight = 0;
  private scheduled = false;

  /** `flush` answers each item in order, with a value or an Error for that item alone. */
  constructor(
    private readonly flush: (items: I[]) => Promise<Array<O | Error>>,
    private readonly options: { maxBatch: number; maxConcurrent: number },
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.scheduled && this.inFlight < this.options.maxConcurrent) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
      }
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
