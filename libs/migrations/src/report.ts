import { EJSON } from 'bson';

/** One thing a migration left alone or decided, for the operator to read (never guessed silently). */
export interface ReportNote {
  collection: string;
  id: unknown;
  path: string;
  message: string;
}

export interface ReportSummary {
  /** Number of notes per kind (`collection.path: message`), however many were sampled. */
  counts: Record<string, number>;
  /** The first notes, capped. */
  notes: ReportNote[];
  truncated: boolean;
}

/** Collects notes with a cap on the samples kept (a migration over millions of documents stays bounded). */
export class MigrationReport {
  private readonly notes: ReportNote[] = [];
  private readonly counts = new Map<string, number>();
  private total = 0;

  constructor(private readonly cap = 200) {}

  note(collection: string, id: unknown, path: string, message: string): void {
    const kind = `${collection}.${path}: ${message}`;
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    this.total++;
    if (this.notes.length < this.cap) this.notes.push({ collection, id, path, message });
  }

  get size(): number {
    return this.total;
  }

  summary(): ReportSummary {
    return {
      counts: Object.fromEntries(this.counts),
      notes: this.notes.map((n) => ({ ...n, id: EJSON.serialize({ id: n.id }).id as unknown })),
      truncated: this.total > this.notes.length,
    };
  }
}
