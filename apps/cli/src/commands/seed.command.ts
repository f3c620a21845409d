import * as fs from 'node:fs';
import { DatabaseService } from '@odtp/database';
import { SEED_PROFILES, SeedingService } from '@odtp/seeding';
import type { LoadResult, PlantedDefect, SeedProfile } from '@odtp/seeding';
import { Command, Option } from 'nest-commander';
import { CliError, parseChoice, parsePositiveInt } from '../cli-support';
import { JsonDatabaseCommand, print } from '../database-command';
import type { DatabaseOptions } from '../database-command';

interface SeedFlags extends DatabaseOptions {
  profile?: SeedProfile;
  scale?: number;
  seed?: number;
  defects?: number;
  defectsFile?: string;
  drop?: boolean;
  force?: boolean;
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
export class SeedCommand extends JsonDatabaseCommand<SeedFlags> {
  constructor(
    database: DatabaseService,
    private readonly seeding: SeedingService,
  ) {
    super(database);
  }

  protected async execute(_p: string[], options: SeedFlags): Promise<void> {
    const profile = options.profile ?? 'demo';
    const defects: PlantedDefect[] = [];
    const progress =
      profile === 'large' && process.stderr.isTTY
        ? (n: number) => process.stderr.write(`\rseeding: ${n.toLocaleString('en-US')} documents`)
        : undefined;
    const { dropped, result } = await this.seeding.seed({
      profile,
      scale: options.scale,
      seed: options.seed,
      defects: options.defects,
      drop: options.drop,
      force: options.force,
      onDefect: (d) => defects.push(d),
      onProgress: progress,
    });
    if (progress) process.stderr.write('\n');
    if (dropped !== undefined) print(`dropped ${dropped} document(s) from the seeded collections`);
    if (options.defectsFile) {
      fs.writeFileSync(options.defectsFile, JSON.stringify(defects, null, 2) + '\n');
      print(`planted ${defects.length} defect(s), listed in ${options.defectsFile}`);
    } else if (defects.length)
      print(`planted ${defects.length} defect(s) (use --defects-file to keep the list)`);
    print(options.json ? JSON.stringify(result, null, 2) : summary(result));
  }

  @Option({ flags: '--profile <profile>', description: `${SEED_PROFILES.join(' or ')} (default demo)` })
  profile(v: string): SeedProfile {
    return parseChoice(v, SEED_PROFILES, '--profile');
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
