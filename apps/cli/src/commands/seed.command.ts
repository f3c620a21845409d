import * as fs from 'node:fs';
import { dropSeeded, loadLarge, loadSeed, productionReason } from '@odtp/seeding';
import type { LoadResult, PlantedDefect } from '@odtp/seeding';
import { Command, Option } from 'nest-commander';
import { demoSeed } from '../../../../seeds/demo';
import { CliError, parsePositiveInt } from '../cli-support';
import { JsonDatabaseCommand } from '../database-command';
import { print, withDatabase } from '../database-access';
import type { DatabaseOptions } from '../database-access';

interface SeedFlags extends DatabaseOptions {
  profile?: string;
  scale?: number;
  seed?: number;
  defects?: number;
  defectsFile?: string;
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
    'Load seed data as the application (ODTP_APP or --app) writes it: the demo profile (idempotent upserts by natural key) or the large one; refuses production-looking targets unless --force',
})
export class SeedCommand extends JsonDatabaseCommand {
  async run(_p: string[], options: SeedFlags): Promise<void> {
    const profile = options.profile ?? 'demo';
    if (profile !== 'demo' && profile !== 'large')
      throw new CliError(`unknown profile "${profile}" (available: demo, large)`, 2);
    if (profile === 'demo' && (options.scale || options.defects))
      throw new CliError('--scale and --defects apply to --profile large only', 2);
    await withDatabase(options, async (db, config) => {
      const reason = productionReason(config.mongodbUri!, config.nodeEnv);
      if (reason && !options.force)
        throw new CliError(
          `refusing to seed: ${reason} (use --force if this really is a development database)`,
          2,
        );
      if (options.drop) print(`dropped ${await dropSeeded(db)} document(s) from the seeded collections`);
      let result: LoadResult;
      if (profile === 'large') {
        const defects: PlantedDefect[] = [];
        const progress = process.stderr.isTTY
          ? (n: number) => process.stderr.write(`\rseeding: ${n.toLocaleString('en-US')} documents`)
          : undefined;
        result = await loadLarge(db, {
          scale: options.scale ?? 100_000,
          seed: options.seed ?? 1,
          defects: options.defects ?? 0,
          onDefect: (d) => defects.push(d),
          onProgress: progress,
          app: config.app,
        });
        if (progress) process.stderr.write('\n');
        if (options.defectsFile) {
          fs.writeFileSync(options.defectsFile, JSON.stringify(defects, null, 2) + '\n');
          print(`planted ${defects.length} defect(s), listed in ${options.defectsFile}`);
        } else if (defects.length)
          print(`planted ${defects.length} defect(s) (use --defects-file to keep the list)`);
      } else result = await loadSeed(db, demoSeed, { app: config.app });
      print(options.json ? JSON.stringify(result, null, 2) : summary(result));
    });
  }

  @Option({ flags: '--profile <profile>', description: 'demo (default) or large' })
  profile(v: string): string {
    return v;
  }

  @Option({
    flags: '--scale <n>',
    description: 'approximate number of documents of the large profile (default 100000)',
  })
  scale(v: string): number {
    return parsePositiveInt(v, '--scale');
  }

  @Option({ flags: '--seed <n>', description: 'generator seed of the large profile (default 1)' })
  seedValue(v: string): number {
    if (!/^\d+$/.test(v)) throw new CliError(`--seed must be a non-negative integer (got "${v}")`, 2);
    return Number(v);
  }

  @Option({
    flags: '--defects <rate>',
    description: 'fraction of references to plant as defects (large profile), e.g. 0.001',
  })
  defects(v: string): number {
    const n = Number(v);
    if (!/^\d*\.?\d+$/.test(v) || n < 0 || n > 1)
      throw new CliError(`--defects must be a rate between 0 and 1 (got "${v}")`, 2);
    return n;
  }

  @Option({ flags: '--defects-file <path>', description: 'write the planted defects as JSON to this file' })
  defectsFile(v: string): string {
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
}
