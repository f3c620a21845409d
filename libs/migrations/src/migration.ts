import type { ClientSession, Db, MongoClient } from 'mongodb';
import { appContract } from '@odtp/schema';
import type { AppContract, SchemaEffect } from '@odtp/schema';
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
  /** The application that runs on the database: references a step creates are written in its usual form. */
  app: AppContract;
  onProgress?: (collection: string, processed: number) => void;
  /** Set when the migration runs online, beside applications that keep writing (see OnlineRun). */
  online?: OnlineRun;
  /** The index of the running step (keys its checkpoints). */
  step?: number;
  /** How far back the end of an upgrade looks for an older release's writes (UPGRADE_WRITER_WINDOW_S). */
  upgradeWriterWindowS?: number;
}

/**
 * A migration that changes what applications write runs online: in batches, each its own write, no transaction
 * around it, while the applications go on. Each batch passed is a checkpoint (a crash or Ctrl-C resumes after it),
 * a write only lands where the document is still as it was read (a change an application made meanwhile wins), and
 * final passes convert what was written in the old shape after its batch passed.
 */
export interface OnlineRun {
  /** The `_id` a step's pass over a collection had reached when the last run stopped, if it did. */
  resumeAfter(key: string): unknown;
  /** Record a batch passed (the checkpoint) and wait as long as the rate limit asks. */
  passed(key: string, lastId: unknown, processed: number): Promise<void>;
  /** Passes over what is still in the old shape once the main pass is done (bounded: writers may never stop). */
  finalPasses: number;
}

/** One tested unit of a migration: `run` changes documents, idempotently; `plan` counts what it would change. */
export interface Step {
  readonly title: string;
  run(ctx: MigrationContext): Promise<Changes>;
}

export interface MigrationDefinition {
  description: string;
  /**
   * What the migration changes that an application may write or query (references turned into ObjectIds, fields
   * renamed or removed). The runner holds the migration while the configured application's contract has a fact on
   * one of these paths; the lowest level it is safe for follows from the contracts. Empty: safe for every level.
   */
  affects?: SchemaEffect[];
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
  affects?: SchemaEffect[];
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
    app: appContract('target'),
    ...partial,
  };
}

export function addChanges(into: Changes, from: Changes): Changes {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  return into;
}

async function runSteps(steps: Step[], ctx: MigrationContext): Promise<Changes> {
  const total: Changes = {};
  for (const [i, step] of steps.entries()) addChanges(total, await step.run({ ...ctx, step: i }));
  for (const k of Object.keys(total)) if (total[k] === 0) delete total[k];
  return total;
}

/**
 * Build a migration module from steps. A migration file is then a few lines:
 * `export const { description, transactional, affects, irreversible, up, down, plan } = defineMigration({...})`.
 */
export function defineMigration(def: MigrationDefinition): MigrationModule {
  const down = def.down;
  return {
    description: def.description,
    transactional: def.transactional ?? true,
    affects: def.affects ?? [],
    irreversible: Array.isArray(down) ? undefined : down.irreversible,
    up: (db, _client, ctx) => runSteps(def.up, contextFor(db, ctx)),
    down: async (db, _client, ctx) => {
      if (!Array.isArray(down)) throw new Error(`irreversible: ${down.irreversible}`);
      return runSteps(down, contextFor(db, ctx));
    },
    plan: (db, ctx) => runSteps(def.up, contextFor(db, { ...ctx, dryRun: true })),
  };
}
