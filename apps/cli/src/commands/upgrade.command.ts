import { DatabaseService } from '@odtp/database';
import { MigrationsService } from '@odtp/migrations';
import type { UpgradePlan } from '@odtp/migrations';
import { Command, Option, SubCommand } from 'nest-commander';
import { CliError, CommandGroup } from '../cli-support';
import { json, JsonDatabaseCommand, print } from '../database-command';
import type { DatabaseOptions } from '../database-command';

interface UpgradeFlags extends DatabaseOptions {
  to?: string;
}

function planText(plan: UpgradePlan): string {
  const lines = [`upgrade from ODTP 0.5 to the target schema (ODTP_APP is ${plan.app})`];
  for (const s of plan.steps) {
    lines.push(`${s.step}. [${s.state}] ${s.title}`, `   ${s.how}`);
    for (const f of s.found) lines.push(`   - ${f}`);
  }
  if (plan.backlog.length) {
    lines.push('backlog (documents not yet in the target shape):');
    for (const b of plan.backlog)
      lines.push(
        `   ${b.collection}.${b.path}: ${b.documents} ${b.form === 'both' ? 'both-forms pairs' : b.form === 'string' ? 'id strings' : 'documents with the field'}`,
      );
  } else lines.push('backlog: none (every document is in the target shape)');
  return lines.join('\n');
}

@SubCommand({
  name: 'plan',
  description:
    'The upgrade from ODTP 0.5 to the target schema, step by step, each with its precondition checked against the database (ODTP 0.5 clients seen writing, the online conversion, validators) and the backlog per path; read-only',
})
export class UpgradePlanCommand extends JsonDatabaseCommand<UpgradeFlags> {
  constructor(
    database: DatabaseService,
    private readonly migrations: MigrationsService,
  ) {
    super(database);
  }

  protected async execute(_p: string[], options: UpgradeFlags): Promise<void> {
    const plan = await this.migrations.upgradePlan();
    print(options.json ? json(plan) : planText(plan));
  }

  @Option({ flags: '--to <level>', description: 'where to: target (the only end there is)' })
  parseTo(v: string): string {
    if (v !== 'target') throw new CliError(`--to must be target (got "${v}")`, 2);
    return v;
  }
}

@Command({
  name: 'upgrade',
  description: 'The upgrade of a database from ODTP 0.5 to the target schema (see docs/app-compatibility.md)',
  subCommands: [UpgradePlanCommand],
})
export class UpgradeCommand extends CommandGroup {}
