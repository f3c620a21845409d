import * as v8 from 'node:v8';
import * as vm from 'node:vm';

/** What an audit lets its old generation grow by, over what the last major collection left, by default. */
export const DEFAULT_HEAP_BUDGET = 8 * 1024 * 1024;

/** Start a major collection; resolves once it ended. */
export type MajorCollector = () => Promise<void>;

/** Bytes the old generation holds (live objects and garbage not yet collected). */
export function oldSpaceUsed(): number {
  let used = 0;
  for (const s of v8.getHeapSpaceStatistics())
    if (s.space_name === 'old_space' || s.space_name === 'large_object_space') used += s.space_used_size;
  return used;
}

type GcFunction = (options?: {
  type: 'major' | 'minor';
  execution: 'sync' | 'async';
}) => Promise<void> | void;

let exposed: GcFunction | null | undefined;

/**
 * V8's own `gc` (the process's if it runs with --expose-gc, else from a fresh context once the flag is set, as
 * jest's leak detector does), asked for an incremental major collection that runs beside the audit; null when the
 * runtime refuses.
 */
export function majorCollector(): MajorCollector | null {
  if (exposed === undefined) {
    const own = (globalThis as { gc?: unknown }).gc;
    if (typeof own === 'function') exposed = own as GcFunction;
    else
      try {
        v8.setFlagsFromString('--expose-gc');
        const fresh: unknown = vm.runInNewContext('gc');
        exposed = typeof fresh === 'function' ? (fresh as GcFunction) : null;
      } catch {
        exposed = null;
      }
  }
  const gc = exposed;
  return gc ? async () => void (await gc({ type: 'major', execution: 'async' })) : null;
}

/**
 * Garbage bound of a long scan. An audit's live data is bounded (packed batches, pooled arrays, a sample per
 * finding) and the same at 1 and 10 million documents; what grows with the database is garbage: objects that lived
 * through two scavenges (a reply in flight, a batch being resolved) reach the old generation, and V8 lets it grow to
 * several times what is live before it collects, so the longer the scan the higher the peak. `tick()`, called
 * between reply batches, starts an incremental major collection when the old generation grew by more than the
 * budget since the last one ended; the next collection is measured from what that one left, so live data that
 * really grows moves the mark instead of collecting again and again.
 */
export class HeapBudget {
  private mark: number;
  private running = false;
  /** Collections started. */
  collections = 0;

  constructor(
    private readonly budget: number,
    private readonly collect: MajorCollector,
    private readonly used: () => number = oldSpaceUsed,
  ) {
    this.mark = used();
  }

  /** The budget's collector, or none when the budget is 0 or the runtime has no collector to call. */
  static forAudit(budget: number | undefined): HeapBudget | undefined {
    const bytes = budget ?? DEFAULT_HEAP_BUDGET;
    if (!Number.isFinite(bytes) || bytes < 0)
      throw new Error(`heapBudget must be a number of bytes >= 0, not ${budget}`);
    const collect = bytes > 0 ? majorCollector() : null;
    return collect ? new HeapBudget(bytes, collect) : undefined;
  }

  /** Start a collection if the old generation grew past the budget (never two at once; never awaited here). */
  tick(): void {
    if (this.running || this.used() - this.mark <= this.budget) return;
    this.running = true;
    this.collections++;
    this.collect().then(
      () => this.settle(),
      () => this.settle(),
    );
  }

  private settle(): void {
    this.running = false;
    this.mark = this.used();
  }
}
