/** A bounded set of concurrent resolutions; the first failure is rethrown. */
export class Inflight {
  private readonly running = new Set<Promise<void>>();
  private failure: unknown;

  constructor(private readonly limit: number) {}

  async add(work: () => Promise<void>): Promise<void> {
    this.check();
    while (this.running.size >= this.limit) await Promise.race(this.running);
    this.check();
    const p: Promise<void> = work()
      .catch((e: unknown) => {
        this.failure ??= e;
      })
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }

  /** Wait until nothing runs, whatever failed (the failure is kept for drain). */
  async settle(): Promise<void> {
    await Promise.all(this.running);
  }

  async drain(): Promise<void> {
    await Promise.all(this.running);
    this.check();
  }

  private check(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
