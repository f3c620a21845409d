import { Injectable } from '@nestjs/common';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EJSON } from 'bson';
import type { AppLevel } from '@odtp/config';
import { DatabaseService } from '@odtp/database';
import { graphToMermaid, graphToTable, referenceGraph, SchemaService } from '@odtp/schema';
import { VALIDATION_ACTIONS, VALIDATION_LEVELS } from '@odtp/schema';
import type { CollectionPlan, ValidationAction, ValidationLevel } from '@odtp/schema';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { parseAppLevel } from '../cli-config';
import { CliError, parseChoice, CommandGroup } from '../cli-support';
import { JsonDatabaseCommand, print } from '../database-command';
import type { DatabaseOptions } from '../database-command';

interface RulesFlags extends DatabaseOptions {
  rules?: AppLevel;
}

/** A schema command whose validators are derived for an application level: --rules (default: the application's). */
// Injectable: emits the constructor's parameter types, which the commands extending it inherit.
@Injectable()
abstract class RulesCommand<O extends RulesFlags> extends JsonDatabaseCommand<O> {
  constructor(
    database: DatabaseService,
    protected readonly schema: SchemaService,
  ) {
    super(database);
  }

  @Option({
    flags: '--rules <level>',
    description:
      'derive the validators for this application level (default: the application, ODTP_APP or --app); rules the application would break are refused unless --force',
  })
  parseRules(v: string): AppLevel {
    return parseAppLevel(v, '--rules');
  }
}

function planTable(plan: CollectionPlan[]): string {
  const rows = plan.map((p) => [
    p.collection,
    p.exists ? p.validator : 'no collection',
    `${p.level ?? '-'}/${p.action ?? '-'}`,
    String(p.violations),
    p.missingIndexes.join(',') || '-',
    p.extraIndexes.join(',') || '-',
    String(p.duplicates.length),
  ]);
  const header = [
    'collection',
    'validator',
    'level/action',
    'violations',
    'missing indexes',
    'extra indexes',
    'duplicate keys',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const conflicts = plan.flatMap((p) => p.conflicts);
  return [
    `validators derived for: ${plan[0]?.app ?? '-'}`,
    line(header),
    ...rows.map(line),
    ...(conflicts.length
      ? [
          '',
          `rules the application would break (apply refuses them unless --force):`,
          ...conflicts.map((c) => `  ${c}`),
        ]
      : []),
  ].join('\n');
}

@SubCommand({ name: 'graph', description: 'Print the reference graph (table, --json, or --mermaid)' })
export class SchemaGraphCommand extends CommandRunner {
  async run(_p: string[], options: { json?: boolean; mermaid?: boolean }): Promise<void> {
    const edges = referenceGraph();
    print(
      options.json
        ? JSON.stringify(edges, null, 2)
        : options.mermaid
          ? graphToMermaid(edges)
          : graphToTable(edges),
    );
  }

  @Option({ flags: '--json', description: 'JSON array of edges' })
  json(): boolean {
    return true;
  }

  @Option({ flags: '--mermaid', description: 'Mermaid flowchart' })
  mermaid(): boolean {
    return true;
  }
}

@SubCommand({
  name: 'plan',
  description: 'Compare the database with the derived validators and indexes (read-only)',
})
export class SchemaPlanCommand extends RulesCommand<RulesFlags> {
  protected async execute(_p: string[], options: RulesFlags): Promise<void> {
    const plan = await this.schema.plan(options.rules);
    print(options.json ? EJSON.stringify(plan, undefined, 2, { relaxed: true }) : planTable(plan));
  }
}

interface ApplyFlags extends RulesFlags {
  level?: ValidationLevel;
  action?: ValidationAction;
  force?: boolean;
  prune?: boolean;
  json?: boolean;
}

@SubCommand({
  name: 'apply',
  description:
    'Apply the validators and indexes derived for the application (exit 0 applied or nothing to do, 2 refused: violations, duplicates or rules the application would break; 1 failure)',
})
export class SchemaApplyCommand extends RulesCommand<ApplyFlags> {
  protected async execute(_p: string[], options: ApplyFlags): Promise<void> {
    const result = await this.schema.apply({
      rules: options.rules,
      level: options.level,
      action: options.action,
      force: options.force,
      prune: options.prune,
    });
    if (options.json)
      print(
        EJSON.stringify(
          { status: result.status, changes: result.changes, problems: result.problems },
          undefined,
          2,
          { relaxed: true },
        ),
      );
    else if (result.status === 'unchanged')
      print('nothing to do: validators and indexes already match the schema');
    else if (result.status === 'applied')
      print([...result.changes, ...result.problems.map((p) => `forced past: ${p}`)].join('\n'));
  }

  @Option({ flags: '--level <level>', description: 'validationLevel: strict (default) or moderate' })
  level(v: string): ValidationLevel {
    return parseChoice(v, VALIDATION_LEVELS, '--level');
  }

  @Option({ flags: '--action <action>', description: 'validationAction: error (default) or warn' })
  action(v: string): ValidationAction {
    return parseChoice(v, VALIDATION_ACTIONS, '--action');
  }

  @Option({
    flags: '--force',
    description:
      'apply despite violations, duplicates or rules the application would break (blocked unique indexes are still not created)',
  })
  force(): boolean {
    return true;
  }

  @Option({ flags: '--prune', description: 'drop indexes the schema does not declare' })
  prune(): boolean {
    return true;
  }
}

@SubCommand({
  name: 'export',
  description: 'Write <collection>.schema.json for every collection into --out DIR',
})
export class SchemaExportCommand extends CommandRunner {
  constructor(private readonly schema: SchemaService) {
    super();
  }

  async run(_p: string[], options: { out?: string; app?: AppLevel }): Promise<void> {
    if (!options.out) throw new CliError('--out DIR is required', 2);
    fs.mkdirSync(options.out, { recursive: true });
    const schemas = this.schema.overview().schemas;
    for (const [name, schema] of Object.entries(schemas)) {
      fs.writeFileSync(
        path.join(options.out, `${name}.schema.json`),
        EJSON.stringify(schema, undefined, 2, { relaxed: true }) + '\n',
      );
    }
    print(`wrote ${Object.keys(schemas).length} schemas to ${options.out}`);
  }

  @Option({ flags: '--out <dir>', description: 'output folder' })
  out(v: string): string {
    return v;
  }

  @Option({
    flags: '--app <level>',
    description: 'the application level to derive the schemas for (default: ODTP_APP, else odtp-0.5)',
  })
  parseApp(v: string): AppLevel {
    return parseAppLevel(v);
  }
}

@Command({
  name: 'schema',
  description: 'Schemas, reference graph, validators and indexes',
  subCommands: [SchemaGraphCommand, SchemaPlanCommand, SchemaApplyCommand, SchemaExportCommand],
})
export class SchemaCommand extends CommandGroup {}
