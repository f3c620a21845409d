import * as fs from 'node:fs';
import { exportDump, importDump, readDump } from '@odtp/dump';
import { appContract, idForm } from '@odtp/schema';
import { Command, Option } from 'nest-commander';
import { CliError } from '../cli-support';
import { DatabaseCommand } from '../database-command';
import { commandConfig, print, withDatabase } from '../database-access';
import type { DatabaseOptions } from '../database-access';

@Command({
  name: 'import',
  arguments: '<path>',
  description:
    'Load a dump: one {"<collection>": [docs]} file or a folder of <collection>.json (Extended JSON; --legacy-json for ids and dates as strings)',
})
export class ImportCommand extends DatabaseCommand {
  async run(
    [target]: string[],
    options: DatabaseOptions & { drop?: boolean; legacyJson?: boolean },
  ): Promise<void> {
    if (!target) throw new CliError('import needs a PATH', 2);
    const contract = appContract(commandConfig(options).app);
    const dump = readDump(target, {
      legacyJson: options.legacyJson,
      keepStringIds: (collection, path) => idForm(contract, collection, path) === 'string',
    });
    const result = await withDatabase(options, (db) =>
      importDump(db, dump, { drop: options.drop, file: target }),
    );
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
  async run([target]: string[], options: DatabaseOptions): Promise<void> {
    if (!target) throw new CliError('export needs a PATH', 2);
    const text = await withDatabase(options, (db) => exportDump(db));
    fs.writeFileSync(target, text);
    print(`wrote ${target}`);
  }
}
