import { DatabaseService } from '@odtp/database';
import { DumpService } from '@odtp/dump';
import { Command, Option } from 'nest-commander';
import { CliError } from '../cli-support';
import { DatabaseCommand, print } from '../database-command';
import type { DatabaseOptions } from '../database-command';

interface ImportFlags extends DatabaseOptions {
  drop?: boolean;
  legacyJson?: boolean;
}

@Command({
  name: 'import',
  arguments: '<path>',
  description:
    'Load a dump: one {"<collection>": [docs]} file or a folder of <collection>.json (Extended JSON; --legacy-json for ids and dates as strings)',
})
export class ImportCommand extends DatabaseCommand<ImportFlags> {
  constructor(
    database: DatabaseService,
    private readonly dumps: DumpService,
  ) {
    super(database);
  }

  protected async execute([target]: string[], options: ImportFlags): Promise<void> {
    if (!target) throw new CliError('import needs a PATH', 2);
    const result = await this.dumps.import(target, { drop: options.drop, legacyJson: options.legacyJson });
    print(
      Object.entries(result.inserted)
        .map(([c, n]) => `${c}: ${n} document(s)`)
        .join('\n'),
    );
  }

  @Option({ flags: '--drop', description: 'empty each imported collection first' })
  drop(): boolean {
    return true;
  }

  @Option({
    flags: '--legacy-json',
    description:
      'plain JSON as ODTP writes it: 24-hex ids in _id and reference fields become ObjectIds (except where the application, ODTP_APP or --app, writes them as strings), date strings Dates',
  })
  legacyJson(): boolean {
    return true;
  }
}

@Command({
  name: 'export',
  arguments: '<path>',
  description: 'Write every collection to one file, {"<collection>": [docs]} in relaxed Extended JSON',
})
export class ExportCommand extends DatabaseCommand {
  constructor(
    database: DatabaseService,
    private readonly dumps: DumpService,
  ) {
    super(database);
  }

  protected async execute([target]: string[]): Promise<void> {
    if (!target) throw new CliError('export needs a PATH', 2);
    await this.dumps.export(target);
    print(`wrote ${target}`);
  }
}
