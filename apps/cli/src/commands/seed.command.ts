import { dropSeeded, loadSeed, productionReason } from '@odtp/seeding';
import type { LoadResult } from '@odtp/seeding';
import { Command, CommandRunner, Option } from 'nest-commander';
import { demoSeed } from '../../../../seeds/demo';
import { CliError } from '../cli-support';
import { print, withDatabase } from '../database-access';
import type { DatabaseOptions } from '../database-access';

interface SeedFlags extends DatabaseOptions {
  profile?: string;
  drop?: boolean;
  force?: boolean;
  json?: boolean;
}

export function summary(r: LoadResult): string {
  const rows = Object.entries(r.perCollection).map(
    ([c, s]) => `  ${c.padEnd(13)} inserted ${s.inserted}, modified ${s.modified}, unchanged ${s.unchanged}`,
  );
  return [`seeded: ${r.inserted} inserted, ${r.modified} modified, ${r.unchanged} unchanged`, ...rows].join(
    '\n',
  );
}

@Command({
  name: 'seed',
  description:
    'Load seed data: the demo profile (idempotent upserts by natural key); refuses production-looking targets unless --force',
})
export class SeedCommand extends CommandRunner {
  async run(_p: string[], options: SeedFlags): Promise<void> {
    const profile = options.profile ?? 'demo';
    if (profile !== 'demo') throw new CliError(`unknown profile "${profile}" (available: demo)`, 2);
    await withDatabase(options, async (db, config) => {
      const reason = productionReason(config.mongodbUri!, config.nodeEnv);
      if (reason && !options.force)
        throw new CliError(
          `refusing to seed: ${reason} (use --force if this really is a development database)`,
          2,
        );
      if (options.drop) print(`dropped ${await dropSeeded(db)} document(s) from the seeded collections`);
      const result = await loadSeed(db, demoSeed);
      print(options.json ? JSON.stringify(result, null, 2) : summary(result));
    });
  }

  @Option({ flags: '--profile <profile>', description: 'demo (default)' })
  profile(v: string): string {
    return v;
  }

  @Option({
    flags: '--drop',
    description: 'empty the seeded collections first (after the same production check)',
  })
  drop(): boolean {
    return true;
  }

  @Option({ flags: '--force', description: 'seed even when NODE_ENV=production or the host is not local' })
  force(): boolean {
    return true;
  }

  @Option({ flags: '--json', description: 'JSON output' })
  json(): boolean {
    return true;
  }

  @Option({ flags: '--uri <uri>', description: 'MongoDB connection string (default: MONGODB_URI)' })
  uri(v: string): string {
    return v;
  }
}
