import type { ClientSession, Collection, Db, Filter, MongoClient } from 'mongodb';
import { DocumentFailure } from './documents';
import { MigrationError, MigrationErrorCode } from './errors';
import {
  describeHolder,
  LeaseLock,
  LeaseLostError,
  LockHeldError,
  supportsTransactions,
} from '@odtp/database';
import type { LeaseHandle, LeaseOptions } from '@odtp/database';
import { appContract, effectConflicts, lowestSafeLevel } from '@odtp/schema';
import type { AppContract } from '@odtp/schema';
import type { AppLevel } from '@odtp/config';
import type { Changes, MigrationContext, MigrationModule } from './migration';
import { BrokenMigrationError, migrationBase, MigrationFiles } from './migration-files';
import { Checkpoints } from './checkpoints';
import type { CheckpointProgress } from './checkpoints';
import { MigrationReport } from './report';
import type { ReportSummary } from './report';

/**
 * `held`: pending, but unsafe for the application that runs on the database (see `heldBecause`); `broken`: the file
 * cannot be loaded (see `error`), so nothing runs until it is fixed.
 */
export const MIGRATION_STATES = ['applied', 'pending', 'held', 'changed', 'missing', 'broken'] as const;
export type MigrationState = (typeof MIGRATION_STATES)[number];

/** migrate-mongo's changelog entry (`useFileHash: true` shape), plus what odtp-db records about the run. */
export interface ChangelogEntry {
  fileName: string;
  fileHash?: string;
  appliedAt: Date;
  migrationBlock?: number;
  durationMs?: number;
  changes?: Changes;
  report?: ReportSummary;
  previousHashes?: string[];
  /** The application level it ran under (references it created are in that application's form). */
  app?: AppLevel;
}

export interface MigrationStatus {
  name: string;
  state: MigrationState;
  appliedAt?: Date;
  /** sha256 of the file now (of the recorded file when it is missing). */
  checksum: string;
  /** The checksum recorded when it was applied, when it differs from the file's. */
  appliedChecksum?: string;
  irreversible?: string;
  changes?: Changes;
  /** In a plan: what the migration would leave alone or decide (note kind -> count), e.g. values that are not ids. */
  notes?: Record<string, number>;
  /** The application level the state was computed for (ODTP_APP or --app). */
  app: AppLevel;
  /** The oldest application level the migration is safe for (from what it declares it affects). */
  requires: AppLevel;
  /** Why it is held: what the configured application writes or queries that the migration would change. */
  heldBecause?: string[];
  /** Why a broken file cannot be loaded (a syntax error with its line, a missing export). */
  error?: string;
  /** How far an online run got that has not finished (stopped or still running): its last checkpoint. */
  progress?: CheckpointProgress;
}

export interface AppliedMigration {
  name: string;
  changes: Changes;
  durationMs: number;
  transaction: boolean;
  report: ReportSummary;
}

export interface RunResult {
  /** The migrations run (up or down), in the order they ran; for a dry run, what would run. */
  migrations: AppliedMigration[];
  dryRun: boolean;
  /** The application level the run respected. */
  app: AppLevel;
  /** Pending migrations not run because the application cannot live with them yet, with the reasons. */
  held: { name: string; requires: AppLevel; heldBecause: string[] }[];
  /**
   * The run was stopped (UpOptions.signal: Ctrl-C, SIGTERM, a shutdown) before it finished: the migration it
   * stopped in, with nothing of it half-written (a transaction rolled back; an online one's batches done, its
   * checkpoint kept), and how far that one got (no migration: stopped while waiting for the lock, nothing ran).
   * The next `up` resumes there.
   */
  interrupted?: { migration?: string; progress?: CheckpointProgress };
}

export interface MigratorOptions {
  /** Folder of the migration files (`*.ts`). */
  dir: string;
  /** Where compiled migrations are when no TypeScript loader is active (default: dist/migrations). */
  compiledDir?: string;
  changelogCollection?: string;
  lock?: LeaseOptions;
  batchSize?: number;
  /** Use transactions when the server supports them (default true). */
  transactions?: boolean;
  onProgress?: (migration: string, collection: string, processed: number) => void;
  log?: (line: string) => void;
  /** The application that runs on the database (default: target, the documented schema). */
  app?: AppLevel;
  /** Online migrations: documents per second of a main pass, at most (default: no limit). */
  maxRate?: number;
  /** UPGRADE_WRITER_WINDOW_S, for the end of an upgrade (default a day). */
  upgradeWriterWindowS?: number;
}

export interface UpOptions {
  to?: string;
  dryRun?: boolean;
  acceptChanged?: boolean;
  allowMissing?: boolean;
  /** How long to wait for another runner's lock (ms; default 0: fail fast). */
  waitMs?: number;
  /** Stops the run after the current batch (see RunResult.interrupted). */
  signal?: AbortSignal;
}

/** The stop asked for through UpOptions.signal, caught where the run ends. */
class RunInterrupted extends Error {}

export interface DownOptions {
  to?: string;
  waitMs?: number;
}

/** Runs the migrations of a folder against one database, with the lease lock, checksums and plans. */
export class Migrator {
  private readonly changelog: Collection<ChangelogEntry>;
  private readonly lock: LeaseLock;
  private readonly log: (line: string) => void;
  private readonly app: AppContract;
  private readonly migrationFiles: MigrationFiles;
  private readonly checkpoints: Checkpoints;

  constructor(
    private readonly db: Db,
    private readonly client: MongoClient,
    private readonly options: MigratorOptions,
  ) {
    this.changelog = db.collection<ChangelogEntry>(options.changelogCollection ?? 'changelog');
    this.lock = new LeaseLock(db, options.lock);
    this.log = options.log ?? (() => undefined);
    this.app = appContract(options.app ?? 'target');
    this.migrationFiles = new MigrationFiles(options.dir, options.compiledDir);
    this.checkpoints = new Checkpoints(db, options.changelogCollection ?? 'changelog');
  }

  /** Migration file names in order (the timestamp prefix orders them). */
  files(): string[] {
    return this.migrationFiles.list();
  }

  private async entries(): Promise<ChangelogEntry[]> {
    return this.changelog
      .find({ checkpoint: { $ne: true } } as Filter<ChangelogEntry>, {
        sort: { appliedAt: 1, migrationBlock: 1, _id: 1 },
      })
      .toArray();
  }

  async status(): Promise<MigrationStatus[]> {
    const entries = await this.entries();
    const app = this.app.level;
    const out: MigrationStatus[] = [];
    const files = this.files();
    for (const name of files) {
      const checksum = this.migrationFiles.checksum(name);
      const entry = entries.find((e) => MigrationFiles.same(e.fileName, name));
      let mod: MigrationModule | undefined;
      let error: string | undefined;
      try {
        mod = await this.migrationFiles.load(name);
      } catch (e) {
        if (!(e instanceof BrokenMigrationError)) throw e;
        error = e.reason;
      }
      const affects = mod?.affects ?? [];
      const requires = lowestSafeLevel(affects);
      const base = { name, checksum, irreversible: mod?.irreversible, app, requires };
      if (error !== undefined) {
        out.push({ ...base, state: 'broken', error, ...(entry ? { appliedAt: entry.appliedAt } : {}) });
      } else if (!entry) {
        const heldBecause = effectConflicts(this.app, affects);
        const progress = await this.checkpoints.progressOf(name);
        out.push({
          ...base,
          state: heldBecause.length ? 'held' : 'pending',
          ...(heldBecause.length ? { heldBecause } : {}),
          ...(progress ? { progress } : {}),
        });
      } else {
        const changed = entry.fileHash !== undefined && entry.fileHash !== checksum;
        out.push({
          ...base,
          state: changed ? 'changed' : 'applied',
          appliedAt: entry.appliedAt,
          ...(changed ? { appliedChecksum: entry.fileHash } : {}),
          ...(entry.changes ? { changes: entry.changes } : {}),
        });
      }
    }
    for (const e of entries)
      if (!files.some((f) => MigrationFiles.same(f, e.fileName)))
        out.push({
          name: e.fileName,
          state: 'missing',
          appliedAt: e.appliedAt,
          checksum: e.fileHash ?? '',
          app,
          requires: e.app ?? 'target',
        });
    return out;
  }

  /**
   * The pending migrations (up to `to`) and the documents each would change, per collection, and the held ones
   * (with why) in file order. Read-only.
   */
  async plan(to?: string): Promise<MigrationStatus[]> {
    const status = await this.status();
    const pending = this.pendingUpTo(status, to);
    for (const p of pending) {
      const mod = await this.migrationFiles.load(p.name);
      const report = new MigrationReport();
      p.changes = await mod.plan(this.db, {
        batchSize: this.options.batchSize ?? 1000,
        report,
        app: this.app,
        upgradeWriterWindowS: this.options.upgradeWriterWindowS,
      });
      const notes = report.summary().counts;
      if (Object.keys(notes).length) p.notes = notes;
    }
    const held = new Set(this.held(status, to).map((h) => h.name));
    return status.filter((s) => held.has(s.name) || pending.includes(s) || s.state === 'broken');
  }

  /** The pending migrations up to `to` (held ones are left out; `to` naming a held one is refused). */
  private pendingUpTo(status: MigrationStatus[], to?: string): MigrationStatus[] {
    if (to !== undefined) {
      const target = status.find((s) => MigrationFiles.same(s.name, to));
      if (!target || target.state === 'missing')
        throw new MigrationError(
          MigrationErrorCode.Refused,
          `unknown migration "${to}" (see migrate status)`,
        );
      if (target.state === 'held')
        throw new MigrationError(
          MigrationErrorCode.Refused,
          `${target.name} is held while the application is ${this.app.level}: ${target.heldBecause!.join('; ')} (it needs ${target.requires}; see docs/app-compatibility.md)`,
          { held: target.name },
        );
      return status.filter((s) => s.state === 'pending' && s.name <= target.name);
    }
    return status.filter((s) => s.state === 'pending');
  }

  private held(status: MigrationStatus[], to?: string): RunResult['held'] {
    const limit = to === undefined ? undefined : migrationBase(to);
    return status
      .filter((s) => s.state === 'held' && (limit === undefined || migrationBase(s.name) <= limit))
      .map((s) => ({ name: s.name, requires: s.requires, heldBecause: s.heldBecause ?? [] }));
  }

  private refuseUnsafe(status: MigrationStatus[], options: UpOptions): void {
    const broken = status.filter((s) => s.state === 'broken');
    if (broken.length)
      throw new MigrationError(
        MigrationErrorCode.Broken,
        `refusing: migration file(s) cannot be loaded, nothing ran: ${broken.map((b) => `${b.name} (${b.error})`).join('; ')}`,
        { broken: broken.map((b) => ({ name: b.name, error: b.error })) },
      );
    const changed = status.filter((s) => s.state === 'changed');
    if (changed.length && !options.acceptChanged)
      throw new MigrationError(
        MigrationErrorCode.ChangedFiles,
        `refusing: applied migration(s) were edited after they ran: ${changed.map((c) => c.name).join(', ')} (restore them, or use --accept-changed to record the new checksums; nothing runs twice)`,
        { changed: changed.map((c) => c.name) },
      );
    const missing = status.filter((s) => s.state === 'missing');
    if (missing.length && !options.allowMissing)
      throw new MigrationError(
        MigrationErrorCode.Refused,
        `refusing: applied migration(s) have no file here (is this an older release?): ${missing.map((m) => m.name).join(', ')} (use --allow-missing to go on)`,
        { missing: missing.map((m) => m.name) },
      );
  }

  /** Apply the pending migrations in file order (up to `to`), each with its changelog entry. */
  async up(options: UpOptions = {}): Promise<RunResult> {
    if (options.dryRun) {
      const status = await this.status();
      this.refuseUnsafe(status, options);
      const planned = await this.plan(options.to);
      return {
        dryRun: true,
        app: this.app.level,
        held: this.held(status, options.to),
        migrations: planned
          .filter((p) => p.state === 'pending')
          .map((p) => ({
            name: p.name,
            changes: p.changes ?? {},
            durationMs: 0,
            transaction: false,
            report: { counts: p.notes ?? {}, notes: [], truncated: false },
          })),
      };
    }
    const run = this.locked(options.waitMs, (lease) => this.upLocked(options, lease), options.signal);
    return run.catch((e: unknown) => {
      if (!(e instanceof RunInterrupted)) throw e;
      return this.interrupted([], []); // while waiting for the lock: nothing ran
    });
  }

  /** The result of a run stopped in (or before) `migration`, with how far an online one got. */
  private async interrupted(
    done: AppliedMigration[],
    held: RunResult['held'],
    migration?: string,
  ): Promise<RunResult> {
    const progress = migration ? await this.checkpoints.progressOf(migration) : undefined;
    return {
      dryRun: false,
      app: this.app.level,
      held,
      migrations: done,
      interrupted: { ...(migration ? { migration } : {}), ...(progress ? { progress } : {}) },
    };
  }

  private async upLocked(options: UpOptions, lease: LeaseHandle): Promise<RunResult> {
    await this.changelog
      .createIndex({ fileName: 1 }, { unique: true, name: 'fileName_1' })
      .catch(() => undefined);
    const status = await this.status();
    this.refuseUnsafe(status, options);
    if (options.acceptChanged)
      for (const c of status.filter((s) => s.state === 'changed')) {
        await this.changelog.updateOne(
          { fileName: c.name },
          { $set: { fileHash: c.checksum }, $push: { previousHashes: c.appliedChecksum! } },
        );
        this.log(`${c.name}: new checksum recorded (--accept-changed); not run again`);
      }
    const pending = this.pendingUpTo(status, options.to);
    for (const p of pending) await this.migrationFiles.load(p.name); // every file loads before anything runs
    const migrationBlock = Date.now();
    const done: AppliedMigration[] = [];
    const held = this.held(status, options.to);
    const stop = options.signal;
    const signal = stop ? AbortSignal.any([lease.signal, stop]) : lease.signal;
    for (const p of pending) {
      if (stop?.aborted) return this.interrupted(done, held, p.name);
      if (await this.changelog.findOne({ fileName: p.name })) continue;
      const mod = await this.migrationFiles.load(p.name);
      let applied: AppliedMigration;
      try {
        applied = await this.runOne(
          p.name,
          mod,
          'up',
          signal,
          async (session, changes, report, durationMs) => {
            await this.changelog.insertOne(
              {
                fileName: p.name,
                fileHash: p.checksum,
                appliedAt: new Date(),
                migrationBlock,
                durationMs: durationMs(),
                changes,
                report: report.summary(),
                app: this.app.level,
              },
              { session },
            );
          },
        );
      } catch (e) {
        if (!(e instanceof RunInterrupted)) throw e;
        return this.interrupted(done, held, p.name);
      }
      done.push(applied);
    }
    for (const h of held) this.log(`held ${h.name} (needs ${h.requires}): ${h.heldBecause.join('; ')}`);
    return { dryRun: false, app: this.app.level, held, migrations: done };
  }

  /** Roll back the last applied migration (by applied order), or every one applied after `to`. */
  async down(options: DownOptions = {}): Promise<RunResult> {
    return this.locked(options.waitMs, async (lease) => {
      const status = await this.status();
      this.refuseUnsafe(status, {});
      const applied = (await this.entries()).reverse();
      let targets: ChangelogEntry[];
      if (options.to === undefined) targets = applied.slice(0, 1);
      else {
        const to = options.to;
        const index = applied.findIndex((e) => MigrationFiles.same(e.fileName, to));
        if (index < 0)
          throw new MigrationError(
            MigrationErrorCode.Refused,
            `"${options.to}" is not an applied migration (see migrate status)`,
          );
        targets = applied.slice(0, index);
      }
      const modules: MigrationModule[] = [];
      for (const t of targets) {
        const file = this.migrationFiles.resolve(t.fileName);
        if (!file)
          throw new MigrationError(
            MigrationErrorCode.Refused,
            `refusing: ${t.fileName} has no file here, so it cannot be rolled back; nothing was rolled back`,
          );
        const mod = await this.migrationFiles.load(file);
        if (mod.irreversible)
          throw new MigrationError(
            MigrationErrorCode.Refused,
            `refusing: ${t.fileName} is irreversible (${mod.irreversible}); nothing was rolled back`,
          );
        modules.push(mod);
      }
      const done: AppliedMigration[] = [];
      for (const [i, t] of targets.entries()) {
        done.push(
          await this.runOne(t.fileName, modules[i], 'down', lease.signal, async (session) => {
            await this.changelog.deleteOne({ fileName: t.fileName }, { session });
          }),
        );
      }
      return { dryRun: false, app: this.app.level, held: [], migrations: done };
    });
  }

  /** Write a new migration file from the template of the folder's form (.ts or .js); returns its path. */
  create(name: string, now = new Date()): string {
    return this.migrationFiles.create(name, now);
  }

  private async supportsTransactions(): Promise<boolean> {
    if (this.options.transactions === false) return false;
    return supportsTransactions(this.db);
  }

  private async runOne(
    name: string,
    mod: MigrationModule,
    direction: 'up' | 'down',
    signal: AbortSignal,
    record: (
      session: ClientSession | undefined,
      changes: Changes,
      report: MigrationReport,
      durationMs: () => number,
    ) => Promise<void>,
  ): Promise<AppliedMigration> {
    const started = Date.now();
    const durationMs = (): number => Date.now() - started;
    // A migration that changes what applications write or query runs online, beside them (see OnlineRun).
    const online =
      direction === 'up' && (mod.affects?.length ?? 0) > 0
        ? await this.checkpoints.onlineRun(name, this.options.maxRate, signal)
        : undefined;
    const transaction = !online && mod.transactional && (await this.supportsTransactions());
    let report = new MigrationReport();
    let changes: Changes = {};
    const context = (session?: ClientSession): Partial<MigrationContext> => ({
      session,
      report,
      signal,
      app: this.app,
      batchSize: this.options.batchSize ?? 1000,
      online,
      upgradeWriterWindowS: this.options.upgradeWriterWindowS,
      onProgress: this.options.onProgress ? (c, n) => this.options.onProgress!(name, c, n) : undefined,
    });
    this.log(
      `${direction === 'up' ? 'applying' : 'rolling back'} ${name}${transaction ? ' (in a transaction)' : online ? ' (online, in batches)' : ''}`,
    );
    try {
      if (transaction) {
        const session = this.client.startSession();
        try {
          await session.withTransaction(async () => {
            report = new MigrationReport();
            changes = await mod[direction](this.db, this.client, context(session));
            await record(session, changes, report, durationMs);
          });
        } finally {
          await session.endSession();
        }
      } else {
        changes = await mod[direction](this.db, this.client, context());
        await record(undefined, changes, report, durationMs);
        if (online) await this.checkpoints.clear(name);
      }
    } catch (e) {
      if (signal.aborted && !(signal.reason instanceof LeaseLostError)) throw new RunInterrupted();
      if (e instanceof LeaseLostError)
        throw new MigrationError(
          MigrationErrorCode.Failed,
          `migration ${name} stopped: the migrations lock was lost (lease expired and taken over)`,
          { migration: name },
        );
      if (e instanceof MigrationError)
        throw new MigrationError(
          e.code,
          `migration ${name} ${direction === 'up' ? 'stopped' : 'rollback stopped'}: ${e.message}`,
          {
            ...e.details,
            migration: name,
          },
        );
      if (e instanceof DocumentFailure)
        throw new MigrationError(MigrationErrorCode.Failed, `migration ${name} failed on ${e.message}`, {
          migration: name,
          collection: e.collection,
          documentId: e.documentId,
        });
      throw new MigrationError(
        MigrationErrorCode.Failed,
        `migration ${name} failed: ${e instanceof Error ? e.message : String(e)}`,
        { migration: name },
      );
    }
    return { name, changes, durationMs: durationMs(), transaction, report: report.summary() };
  }

  private async locked<T>(
    waitMs: number | undefined,
    work: (lease: LeaseHandle) => Promise<T>,
    signal?: AbortSignal,
  ): Promise<T> {
    let lease: LeaseHandle;
    try {
      lease = await this.lock.acquire(waitMs ?? 0, undefined, {}, signal);
    } catch (e) {
      if (!(e instanceof LockHeldError)) throw e;
      if (signal?.aborted) throw new RunInterrupted();
      throw new MigrationError(
        MigrationErrorCode.LockHeld,
        `migrations are locked by ${describeHolder(e.holder)}${e.waitedMs ? ` (waited ${Math.round(e.waitedMs / 1000)} s)` : ''}; use --wait SECONDS to wait for it`,
        { holder: e.holder },
      );
    }
    try {
      return await work(lease);
    } finally {
      await lease.release();
    }
  }
}
