import type { Collection, Db } from 'mongodb';
import type { OnlineRun } from './migration';

/** The checkpoint of an online migration: the step, the collection, the last `_id` passed, documents read. */
export interface CheckpointProgress {
  step: number;
  collection: string;
  processed: number;
  at: Date;
}

/** Where an online migration's checkpoints are kept: a changelog entry of its own, beside migrate-mongo's. */
const checkpointName = (file: string): string => `${file}#checkpoint`;

interface CheckpointEntry {
  fileName: string;
  checkpoint: true;
  passes: Record<string, { lastId: unknown; processed: number; at: Date }>;
  current?: string;
  at: Date;
}

/** Wait `ms`, or less when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * The checkpoints of online migrations, in the changelog collection (entries with `checkpoint: true` and no
 * `appliedAt`, which migrate-mongo and the runner's changelog reads skip).
 */
export class Checkpoints {
  private readonly entries: Collection<CheckpointEntry>;

  constructor(db: Db, changelogCollection: string) {
    this.entries = db.collection<CheckpointEntry>(changelogCollection);
  }

  /** The progress of an online run of `file` that did not finish, from its checkpoint. */
  async progressOf(file: string): Promise<CheckpointProgress | undefined> {
    const c = await this.entries.findOne({ fileName: checkpointName(file), checkpoint: true });
    const current = c?.current ? c.passes[c.current] : undefined;
    if (!c || !c.current || !current) return undefined;
    const [step, ...collection] = c.current.split(':');
    return { step: Number(step), collection: collection.join(':'), processed: current.processed, at: c.at };
  }

  /** Forget the checkpoint of `file` (its migration is applied). */
  async clear(file: string): Promise<void> {
    await this.entries.deleteOne({ fileName: checkpointName(file), checkpoint: true });
  }

  /**
   * The online run of one migration: it resumes after the checkpoints of a run that stopped, records one after
   * every batch, and keeps to `maxRate` documents per second (a wait `signal` cuts short).
   */
  async onlineRun(file: string, maxRate: number | undefined, signal: AbortSignal): Promise<OnlineRun> {
    const name = checkpointName(file);
    const saved = await this.entries.findOne({ fileName: name, checkpoint: true });
    const passes = saved?.passes ?? {};
    const started = Date.now();
    // documents read by this run, per pass (a pass's count restarts with each of its runs)
    const seen = new Map<string, number>();
    return {
      finalPasses: 3,
      resumeAfter: (key) => passes[key]?.lastId,
      passed: async (key, lastId, processed) => {
        const before = passes[key]?.processed ?? 0;
        const total = (seen.has(key) ? before - seen.get(key)! : before) + processed;
        seen.set(key, processed);
        const at = new Date();
        passes[key] = { lastId, processed: total, at };
        await this.entries.updateOne(
          { fileName: name, checkpoint: true },
          { $set: { [`passes.${key}`]: passes[key], current: key, at } },
          { upsert: true },
        );
        if (!maxRate) return;
        const read = [...seen.values()].reduce((n, x) => n + x, 0);
        const wait = started + (read / maxRate) * 1000 - Date.now();
        if (wait > 0) await pause(wait, signal);
      },
    };
  }
}
