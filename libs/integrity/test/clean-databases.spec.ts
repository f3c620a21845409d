import * as path from 'node:path';
import { importDump, readDump } from '@odtp/dump';
import { runAudit } from '@odtp/integrity';
import { defaultMigrationsDir, Migrator } from '@odtp/migrations';
import { applySchema } from '@odtp/schema';
import { loadSeed } from '@odtp/seeding';
import { demoSeed } from '@odtp/seeds';
import { startTestMongo } from '../../../test/support/mongo';
import type { TestMongo } from '../../../test/support/mongo';

let mongo: TestMongo;
beforeAll(async () => (mongo = await startTestMongo()));
afterAll(() => mongo.close());

const dec2023 = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'odtp-mock-2023-12.json');

describe('databases that must audit clean', () => {
  it('the seeded demo database: 0 errors (its 6 older outputs that no step points at any more are orphan warnings)', async () => {
    const db = mongo.db();
    await applySchema(db);
    await loadSeed(db, demoSeed);
    const report = await runAudit(db);
    expect(report.summary).toEqual({ errors: 0, warnings: 6, scanned: 122 });
    expect(
      report.findings.filter((f) => f.violations).map((f) => [f.check, f.collection, f.violations]),
    ).toEqual([['orphan', 'outputs', 6]]);
  });

  it('the December 2023 dump after import and migrate up: 0 errors (2 outputs no step links: gen1 steps had no output field)', async () => {
    const db = mongo.db();
    await importDump(db, readDump(dec2023, { legacyJson: true }));
    await new Migrator(db, mongo.client, { dir: defaultMigrationsDir() }).up();
    const report = await runAudit(db);
    expect(report.summary).toEqual({ errors: 0, warnings: 2, scanned: 40 });
  });
});
