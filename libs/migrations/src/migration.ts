import type { ClientSession, Db, MongoClient } from 'mongodb';
import { MigrationReport } from './report';

/** Documents changed (or, in a plan, to be changed) per collection. */
export type Changes = Record<string, number>;

/** What a migration's steps get from the runner. */
export interface MigrationContext {
  db: Db;
  /** Set when the runner wraps the migration in a transaction: every read and write must pass it. */
  session?: ClientSession;
  /** Documents per batch (reads and bulk writes). */
  batchSize: number;
  report: MigrationReport;
  /** Aborted when the run must stop (lock lost, cancelled); steps check it between batches. */
  signal: AbortSignal;
  /** Counts only, writes nothing (plan / --dry-run). */
  dryRun: boolean;
  onProgress?: (collection: string, processed: number) => void;
}

/** One tested unit of a migration: `run` changes documents, idempotently; `plan` counts what it would change. */
export interface Step {
  readonly title: string;
  run(ctx: MigrationContext): Promise<Changes>;
}

export interface MigrationDefinition {
  description: string;
  up: Step[];
  /** The steps that undo `up`, or the reason it cannot be undone. */
  down: Step[] | { irreversible: string };
  /**
   * Whether the runner may wrap the migration in a transaction (when the server supports them). Steps that
   * rename collections, build indexes or move unbounded data say false; they are idempotent batches instead.
   */
  transactional?: boolean;
}

/** The module shape of a migration file (migrate-mongo's `up(db, client)` / `down(db, client)`, plus `plan`). */
export interface MigrationModule {
  description: string;
  transactional: boolean;
  irreversible?: string;
  up(db: Db, client?: MongoClient, ctx?: Partial<MigrationContext>): Promise<Changes>;
  down(db: Db, client?: MongoClient, ctx?: Partial<MigrationContext>): Promise<Changes>;
  plan(db: Db, ctx?: Partial<MigrationContext>): Promise<Changes>;
}

export function contextFor(db: Db, partial: Partial<MigrationContext> = {}): MigrationContext {
  return {
    db,
    batchSize: 1000,
    report: new MigrationReport(),
    signal: new AbortController().signal,
    dryRun: false,
    ...partial,
  };
}

export function addChanges(into: Changes, from: Changes): Changes {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  return into;
}

async function runSteps(steps: Step[], ctx: MigrationContext): Promise<Changes> {
  const total: Changes = {};
  for (const step of steps) addChanges(total, await step.run(ctx));
  for (const k of Object.keys(total)) if (total[k] === 0) delete total[k];
  return total;
}

/**
 * Build a migration module from steps. A migration file is then a few lines:
 * `export const { description, transactional, irreversible, up, down, plan } = defineMigration({...})`.
 */
export function defineMigration(def: MigrationDefinition): MigrationModule {
  const down = def.down;
  return {
    description: def.description,
    transactional: def.transactional ?? true,
    irreversible: Array.isArray(down) ? undefined : down.irreversible,
    up: (db, _client, ctx) => runSteps(def.up, contextFor(db, ctx)),
    down: async (db, _client, ctx) => {
      if (!Array.isArray(down)) throw new Error(`irreversible: ${down.irreversible}`);
      return runSteps(down, contextFor(db, ctx));
    },
    plan: (db, ctx) => runSteps(def.up, contextFor(db, { ...ctx, dryRun: true })),
  };
}
