import { Injectable } from '@nestjs/common';
import { DatabaseService } from '@odtp/database';
import { MigrationsService } from '@odtp/migrations';
import type { MigrationRunOptions, MigrationStatus, RunResult } from '@odtp/migrations';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { CliError, CommandGroup, parsePositiveInt } from '../cli-support';
import { json, JsonDatabaseCommand, print } from '../database-command';
import type { DatabaseOptions } from '../database-command';

interface MigrateFlags extends DatabaseOptions {
  dir?: string;
  to?: string;
  dryRun?: boolean;
  acceptChanged?: boolean;
  allowMissing?: boolean;
  wait?: number;
  batchSize?: number;
  maxRate?: number;
}

/** The `--json` shape of status and plan: [{name, state, app, requires, heldBecause?, error?, appliedAt?, checksum, changes?}]. */
export function statusJson(rows: MigrationStatus[]): object[] {
  return rows.map((r) => ({
    name: r.name,
    state: r.state,
    app: r.app,
    requires: r.requires,
    ...(r.heldBecause ? { heldBecause: r.heldBecause } : {}),
    ...(r.error ? { error: r.error } : {}),
    ...(r.progress ? { progress: { ...r.progress, at: r.progress.at.toISOString() } } : {}),
    ...(r.appliedAt ? { appliedAt: r.appliedAt.toISOString() } : {}),
    checksum: r.checksum,
    ...(r.appliedChecksum ? { appliedChecksum: r.appliedChecksum } : {}),
    ...(r.irreversible ? { irreversible: r.irreversible } : {}),
    ...(r.changes ? { changes: r.changes } : {}),
    ...(r.notes ? { notes: r.notes } : {}),
  }));
}

function heldText(held: RunResult['held']): string[] {
  return held.map((h) => `held ${h.name} (needs ODTP_APP=${h.requires}): ${h.heldBecause.join('; ')}`);
}

function changesText(changes: Record<string, number> | undefined): string {
  const entries = Object.entries(changes ?? {});
  return entries.length ? entries.map(([c, n]) => `${c} ${n}`).join(', ') : 'no documents';
}

function interruptedText(result: RunResult): string[] {
  const i = result.interrupted;
  if (!i) return [];
  if (!i.migration) return ['interrupted while waiting for the migrations lock: nothing ran'];
  const where = i.progress
    ? ` after ${i.progress.processed.toLocaleString('en-US')} documents of ${i.progress.collection}`
    : '';
  return [`interrupted in ${i.migration}${where}: nothing half-written; \`migrate up\` resumes it`];
}

function runText(result: RunResult, verb: string): string {
  if (!result.migrations.length)
    return [
      result.interrupted ? 'nothing applied' : result.dryRun ? 'nothing to apply' : `nothing to ${verb}`,
      ...interruptedText(result),
      ...heldText(result.held),
    ].join('\n');
  const lines: string[] = [];
  for (const m of result.migrations) {
    lines.push(
      result.dryRun
        ? `would apply ${m.name}: ${changesText(m.changes)}`
        : `${verb === 'apply' ? 'applied' : 'rolled back'} ${m.name}: ${changesText(m.changes)} (${m.durationMs} ms${m.transaction ? ', in a transaction' : ''})`,
    );
    for (const [kind, n] of Object.entries(m.report.counts)) lines.push(`  note: ${kind} (${n})`);
  }
  return [...lines, ...interruptedText(result), ...heldText(result.held)].join('\n');
}

// Injectable: emits the constructor's parameter types, which the commands extending it inherit.
@Injectable()
abstract class MigratorCommand extends JsonDatabaseCommand<MigrateFlags> {
  constructor(
    database: DatabaseService,
    protected readonly migrations: MigrationsService,
  ) {
    super(database);
  }

  /** --dir, and the runner's lines and progress on stderr unless --json. */
  protected runOptions(options: MigrateFlags): MigrationRunOptions {
    const progress = process.stderr.isTTY && !options.json;
    return {
      dir: options.dir,
      log: options.json ? undefined : (line) => process.stderr.write(`${line}\n`),
      onProgress: progress
        ? (_name, collection, n) =>
            process.stderr.write(`\r  ${collection}: ${n.toLocaleString('en-US')} documents`)
        : undefined,
    };
  }

  @Option({
    flags: '--dir <dir>',
    description: 'migrations folder (default: ODTP_MIGRATIONS_DIR or ./migrations)',
  })
  parseDir(v: string): string {
    return v;
  }
}

/** A migrate command that takes the lock: --wait. */
@Injectable()
abstract class LockingMigratorCommand extends MigratorCommand {
  @Option({
    flags: '--wait <seconds>',
    description: 'wait this long for another runner to release the lock (default: fail fast)',
  })
  parseWait(v: string): number {
    if (!/^\d+(\.\d+)?$/.test(v)) throw new CliError(`--wait must be a number of seconds (got "${v}")`, 2);
    return Number(v);
  }
}

@SubCommand({
  name: 'status',
  description:
    'Each migration as applied, pending, held (the application, ODTP_APP or --app, relies on what it changes), changed (edited after it ran), missing (applied, file gone) or broken (the file cannot be loaded)',
})
export class MigrateStatusCommand extends MigratorCommand {
  protected async execute(_p: string[], options: MigrateFlags): Promise<void> {
    const rows = await this.migrations.status(this.runOptions(options));
    if (options.json) return print(json(statusJson(rows)));
    if (!rows.length) return print('no migrations');
    const width = Math.max(...rows.map((r) => r.name.length));
    print(
      [
        `application: ${rows[0].app} (ODTP_APP or --app)`,
        ...rows.flatMap((r) => [
          `${r.name.padEnd(width)}  ${r.state.padEnd(7)}  ${r.appliedAt ? r.appliedAt.toISOString() : ''}`.trimEnd(),
          ...(r.heldBecause ?? []).map((why) => `  held (needs ${r.requires}): ${why}`),
          ...(r.error ? [`  broken: ${r.error} (nothing runs until it is fixed)`] : []),
          ...(r.progress
            ? [
                `  stopped online at step ${r.progress.step + 1}, ${r.progress.collection}: ${r.progress.processed.toLocaleString('en-US')} documents passed (${r.progress.at.toISOString()}); up resumes there`,
              ]
            : []),
        ]),
      ].join('\n'),
    );
  }
}

@SubCommand({
  name: 'plan',
  description:
    'The pending migrations in order and the documents each would change, per collection, and the held ones with why (read-only)',
})
export class MigratePlanCommand extends MigratorCommand {
  protected async execute(_p: string[], options: MigrateFlags): Promise<void> {
    const rows = await this.migrations.plan(options.to, this.runOptions(options));
    if (options.json) return print(json(statusJson(rows)));
    print(
      rows.length
        ? rows
            .flatMap((r) =>
              r.state === 'held'
                ? heldText([{ name: r.name, requires: r.requires, heldBecause: r.heldBecause ?? [] }])
                : r.state === 'broken'
                  ? [`broken ${r.name}: ${r.error ?? ''}`]
                  : [
                      `${r.name}: ${changesText(r.changes)}`,
                      ...Object.entries(r.notes ?? {}).map(([kind, n]) => `  note: ${kind} (${n})`),
                    ],
            )
            .join('\n')
        : 'nothing to apply',
    );
  }

  @Option({ flags: '--to <name>', description: 'plan up to and including this migration' })
  parseTo(v: string): string {
    return v;
  }
}

@SubCommand({
  name: 'up',
  description:
    'Apply pending migrations under the lease lock, holding those the application (ODTP_APP or --app) cannot live with yet (exit 0 done, also when some were held; 2 refused: lock held or changed/missing files; 1 a migration failed; Ctrl-C or SIGTERM stops after the current batch, nothing half-written, exit 0, and the next up resumes)',
})
export class MigrateUpCommand extends LockingMigratorCommand {
  private readonly stop = new AbortController();

  /** Ctrl-C / SIGTERM: the run stops after the current batch, releases the lock and exits 0 (see interrupted). */
  protected override interrupt(): Promise<void> {
    this.stop.abort();
    return Promise.resolve();
  }

  protected async execute(_p: string[], options: MigrateFlags): Promise<void> {
    const result = await this.migrations.up(
      {
        to: options.to,
        dryRun: options.dryRun,
        acceptChanged: options.acceptChanged,
        allowMissing: options.allowMissing,
        waitMs: (options.wait ?? 0) * 1000,
        signal: this.stop.signal,
      },
      { ...this.runOptions(options), batchSize: options.batchSize, maxRate: options.maxRate },
    );
    if (process.stderr.isTTY && !options.json) process.stderr.write('\n');
    print(options.json ? json(result) : runText(result, 'apply'));
  }

  @Option({
    flags: '--batch-size <n>',
    description: 'documents per batch (reads, writes, checkpoints of online migrations; default 1000)',
  })
  parseBatchSize(v: string): number {
    return parsePositiveInt(v, '--batch-size');
  }

  @Option({
    flags: '--max-rate <docs-per-second>',
    description:
      'online migrations (those that change what applications write) read at most this many documents per second',
  })
  parseMaxRate(v: string): number {
    return parsePositiveInt(v, '--max-rate');
  }

  @Option({ flags: '--to <name>', description: 'apply up to and including this migration' })
  parseTo(v: string): string {
    return v;
  }

  @Option({
    flags: '--dry-run',
    description: 'print what would run and the documents it would change; write nothing',
  })
  parseDryRun(): boolean {
    return true;
  }

  @Option({
    flags: '--accept-changed',
    description: 'record the new checksums of edited applied migrations (runs nothing twice)',
  })
  parseAcceptChanged(): boolean {
    return true;
  }

  @Option({ flags: '--allow-missing', description: 'go on although applied migrations have no file here' })
  parseAllowMissing(): boolean {
    return true;
  }
}

@SubCommand({
  name: 'down',
  description:
    'Roll back the last applied migration (by applied order), or every one applied after --to NAME',
})
export class MigrateDownCommand extends LockingMigratorCommand {
  protected async execute(_p: string[], options: MigrateFlags): Promise<void> {
    const result = await this.migrations.down(
      { to: options.to, waitMs: (options.wait ?? 0) * 1000 },
      this.runOptions(options),
    );
    print(options.json ? json(result) : runText(result, 'roll back'));
  }

  @Option({
    flags: '--to <name>',
    description: 'roll back every migration applied after this one (it stays applied)',
  })
  parseTo(v: string): string {
    return v;
  }
}

@SubCommand({
  name: 'create',
  arguments: '<name>',
  description: 'Write migrations/<timestamp>-<name>.ts from the template (up, down, plan)',
})
export class MigrateCreateCommand extends CommandRunner {
  constructor(private readonly migrations: MigrationsService) {
    super();
  }

  async run([name]: string[], options: { dir?: string }): Promise<void> {
    // create touches no database: it only writes the file.
    print(`created ${this.migrations.create(name, options.dir)}`);
  }

  @Option({
    flags: '--dir <dir>',
    description: 'migrations folder (default: ODTP_MIGRATIONS_DIR or ./migrations)',
  })
  parseDir(v: string): string {
    return v;
  }
}

@Command({
  name: 'migrate',
  description: 'Versioned migrations (migrate-mongo changelog, lease lock, checksums, plans)',
  subCommands: [
    MigrateStatusCommand,
    MigratePlanCommand,
    MigrateUpCommand,
    MigrateDownCommand,
    MigrateCreateCommand,
  ],
})
export class MigrateCommand extends CommandGroup {}
