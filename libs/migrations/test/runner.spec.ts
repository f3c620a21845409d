import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { Db } from 'mongodb';
import { LeaseLock } from '@odtp/database';
import { MigrationError, MigrationErrorCode, Migrator } from '@odtp/migrations';
import { startTestMongo } from '../../../test/support/mongo';
import type { TestMongo } from '../../../test/support/mongo';
import { tempDir } from '../../../test/support/temp-dirs';

/* The runner against a folder of small migrations that record themselves in a `journal` document. */

let mongo: TestMongo;
beforeAll(async () => (mongo = await startTestMongo()));
afterAll(() => mongo.close());

function source(
  label: string,
  options: { irreversible?: boolean; failOnId?: number; affects?: string } = {},
): string {
  return `import { defineMigration } from '@odtp/migrations';
import type { Step } from '@odtp/migrations';

const record: Step = {
  title: 'record ${label}',
  async run(ctx) {
    ${
      options.failOnId !== undefined
        ? `const bad = await ctx.db.collection('items').findOne({ n: ${options.failOnId} }, { session: ctx.session });
    await ctx.db.collection('items').updateMany({}, { $set: { touched: true } }, { session: ctx.session });
    if (bad) throw new (require('@odtp/migrations').DocumentFailure)('items', bad._id, new Error('cannot convert n'));`
        : ''
    }
    if (ctx.dryRun) return { journal: 1 };
    await ctx.db.collection('journal').updateOne({ _id: 'runs' as never }, { $push: { up: '${label}' } as never }, { upsert: true, session: ctx.session });
    return { journal: 1 };
  },
};
const undo: Step = {
  title: 'undo ${label}',
  async run(ctx) {
    await ctx.db.collection('journal').updateOne({ _id: 'runs' as never }, { $push: { down: '${label}' } as never }, { session: ctx.session });
    return { journal: 1 };
  },
};

export const { description, transactional, affects, irreversible, up, down, plan } = defineMigration({
  description: '${label}',
  affects: ${options.affects ?? '[]'},
  up: [record],
  down: ${options.irreversible ? `{ irreversible: 'cannot undo ${label}' }` : '[undo]'},
});
`;
}

interface Fixture {
  dir: string;
  db: Db;
  migrator: Migrator;
  write(name: string, options?: Parameters<typeof source>[1]): string;
  journal(): Promise<{ up?: string[]; down?: string[] } | null>;
}

function fixture(names: string[] = []): Fixture {
  const dir = tempDir('odtp-migrations-');
  const db = mongo.db();
  const f: Fixture = {
    dir,
    db,
    migrator: new Migrator(db, mongo.client, { dir, lock: { ttlMs: 2000 } }),
    write(name, options) {
      fs.writeFileSync(path.join(dir, name), source(name.replace(/\.ts$/, ''), options));
      return name;
    },
    journal: () =>
      db.collection<{ _id: string; up?: string[]; down?: string[] }>('journal').findOne({ _id: 'runs' }),
  };
  for (const n of names) f.write(n);
  return f;
}

async function failure(p: Promise<unknown>): Promise<MigrationError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(MigrationError);
  return e as MigrationError;
}

const A = '20260101000000-a.ts';
const B = '20260102000000-b.ts';
const C = '20260103000000-c.ts';

describe('Migrator', () => {
  it('applies pending migrations in file order, records migrate-mongo changelog entries with sha256 checksums, and is idempotent', async () => {
    const f = fixture([B, A]);
    expect((await f.migrator.status()).map((s) => [s.name, s.state])).toEqual([
      [A, 'pending'],
      [B, 'pending'],
    ]);
    const run = await f.migrator.up();
    expect(run.migrations.map((m) => [m.name, m.changes])).toEqual([
      [A, { journal: 1 }],
      [B, { journal: 1 }],
    ]);
    expect(await f.journal()).toEqual({ _id: 'runs', up: ['20260101000000-a', '20260102000000-b'] });
    const entries = await f.db
      .collection('changelog')
      .find({}, { sort: { appliedAt: 1 } })
      .toArray();
    expect(entries.map((e) => Object.keys(e).slice(0, 5))).toEqual([
      ['_id', 'fileName', 'fileHash', 'appliedAt', 'migrationBlock'],
      ['_id', 'fileName', 'fileHash', 'appliedAt', 'migrationBlock'],
    ]);
    expect(entries[0].fileHash).toBe(
      createHash('sha256')
        .update(fs.readFileSync(path.join(f.dir, A)))
        .digest('hex'),
    );
    expect(entries[0].migrationBlock).toBe(entries[1].migrationBlock);
    expect((await f.migrator.up()).migrations).toEqual([]);
    expect((await f.migrator.status()).map((s) => s.state)).toEqual(['applied', 'applied']);
  });

  it('plan and --dry-run count the changes of each pending migration and write nothing', async () => {
    const f = fixture([A, B]);
    await f.migrator.up({ to: A });
    expect((await f.migrator.plan()).map((p) => [p.name, p.state, p.changes])).toEqual([
      [B, 'pending', { journal: 1 }],
    ]);
    const dry = await f.migrator.up({ dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, migrations: [{ name: B, changes: { journal: 1 } }] });
    expect(await f.journal()).toEqual({ _id: 'runs', up: ['20260101000000-a'] });
    expect(await f.db.collection('changelog').countDocuments()).toBe(1);
  });

  it('up --to stops at the named migration; an unknown name is refused (exit 2)', async () => {
    const f = fixture([A, B, C]);
    expect((await f.migrator.up({ to: '20260102000000-b' })).migrations.map((m) => m.name)).toEqual([A, B]);
    const e = await failure(f.migrator.up({ to: 'nope' }));
    expect([e.code, e.exitCode, e.message]).toEqual([
      MigrationErrorCode.Refused,
      2,
      'unknown migration "nope" (see migrate status)',
    ]);
  });

  it('reports an edited applied migration as changed and refuses up (exit 2) until --accept-changed, which runs nothing twice', async () => {
    const f = fixture([A]);
    await f.migrator.up();
    fs.appendFileSync(path.join(f.dir, A), '// edited\n');
    f.write(B);
    const status = await f.migrator.status();
    expect(status.map((s) => [s.name, s.state])).toEqual([
      [A, 'changed'],
      [B, 'pending'],
    ]);
    expect(status[0].appliedChecksum).not.toBe(status[0].checksum);
    const e = await failure(f.migrator.up());
    expect(e.exitCode).toBe(2);
    expect(e.message).toBe(
      `refusing: applied migration(s) were edited after they ran: ${A} (restore them, or use --accept-changed to record the new checksums; nothing runs twice)`,
    );
    expect(await f.journal()).toEqual({ _id: 'runs', up: ['20260101000000-a'] });
    expect((await f.migrator.up({ acceptChanged: true })).migrations.map((m) => m.name)).toEqual([B]);
    expect(await f.journal()).toEqual({ _id: 'runs', up: ['20260101000000-a', '20260102000000-b'] });
    const entry = await f.db.collection('changelog').findOne({ fileName: A });
    expect(entry!.fileHash).toBe(status[0].checksum);
    expect(entry!.previousHashes).toEqual([status[0].appliedChecksum]);
  });

  it('reports an applied migration whose file is gone as missing and refuses up unless --allow-missing', async () => {
    const f = fixture([A, B]);
    await f.migrator.up();
    fs.unlinkSync(path.join(f.dir, A));
    f.write(C);
    expect((await f.migrator.status()).map((s) => [s.name, s.state])).toEqual([
      [B, 'applied'],
      [C, 'pending'],
      [A, 'missing'],
    ]);
    const e = await failure(f.migrator.up());
    expect([e.exitCode, e.message]).toEqual([
      2,
      `refusing: applied migration(s) have no file here (is this an older release?): ${A} (use --allow-missing to go on)`,
    ]);
    expect((await f.migrator.up({ allowMissing: true })).migrations.map((m) => m.name)).toEqual([C]);
  });

  it('down rolls back by applied order, not file order; down --to rolls back everything applied after the target', async () => {
    const f = fixture([A, C]);
    await f.migrator.up();
    f.write(B); // merged later, applied last
    await f.migrator.up();
    expect((await f.migrator.down()).migrations.map((m) => m.name)).toEqual([B]);
    expect((await f.migrator.status()).map((s) => [s.name, s.state])).toEqual([
      [A, 'applied'],
      [B, 'pending'],
      [C, 'applied'],
    ]);
    await f.migrator.up();
    expect((await f.migrator.down({ to: '20260101000000-a' })).migrations.map((m) => m.name)).toEqual([B, C]);
    expect((await f.journal())!.down).toEqual(['20260102000000-b', '20260102000000-b', '20260103000000-c']);
    expect((await f.migrator.status()).map((s) => s.state)).toEqual(['applied', 'pending', 'pending']);
  });

  it('refuses to roll back an irreversible migration, rolling back nothing', async () => {
    const f = fixture([A]);
    f.write(B, { irreversible: true });
    await f.migrator.up();
    const e = await failure(f.migrator.down({ to: '20260101000000-a' }));
    expect([e.exitCode, e.message]).toEqual([
      2,
      `refusing: ${B} is irreversible (cannot undo 20260102000000-b); nothing was rolled back`,
    ]);
    expect(await f.db.collection('changelog').countDocuments()).toBe(2);
  });

  it('a failing migration is named with the document _id it failed on (exit 1); its writes and changelog entry are not committed', async () => {
    const f = fixture([A]);
    f.write(B, { failOnId: 2 });
    await f.db.collection('items').insertMany([{ n: 1 }, { n: 2 }]);
    const bad = await f.db.collection('items').findOne({ n: 2 });
    const e = await failure(f.migrator.up());
    expect([e.code, e.exitCode]).toEqual([MigrationErrorCode.Failed, 1]);
    expect(e.message).toBe(
      `migration ${B} failed on items document {"$oid":"${bad!._id.toHexString()}"}: cannot convert n`,
    );
    expect(e.details).toMatchObject({ migration: B, collection: 'items' });
    expect((await f.migrator.status()).map((s) => s.state)).toEqual(['applied', 'pending']);
    // In a transaction (replica set, sharded cluster, the embedded server) the failed migration's writes are rolled
    // back; on a standalone mongod (no transactions) what it wrote before failing stays, and its re-run is idempotent.
    const hello = await f.db.admin().command({ hello: 1 });
    const transactions = typeof hello.setName === 'string' || hello.msg === 'isdbgrid';
    expect(await f.db.collection('items').countDocuments({ touched: true })).toBe(transactions ? 0 : 2);
    expect(await f.db.collection('migrations_lock').countDocuments()).toBe(0);
  });

  it('create writes a TypeScript migration from the template, which loads and runs', async () => {
    const f = fixture();
    const file = f.migrator.create('add-step-index', new Date('2026-11-26T08:30:05Z'));
    expect(path.basename(file)).toBe('20261126083005-add-step-index.ts');
    expect(fs.readFileSync(file, 'utf8')).toContain("description: 'add-step-index'");
    expect((await f.migrator.up()).migrations.map((m) => [m.name, m.changes])).toEqual([
      [path.basename(file), {}],
    ]);
    const e = await failure(Promise.resolve().then(() => f.migrator.create('Bad Name')));
    expect(e.message).toBe(
      'invalid migration name "Bad Name": use lower-case letters, digits and dashes (e.g. rename-step-fields)',
    );
  });

  it('migrate-mongo itself reads the changelog: its status lists every migration applied with the same hash', async () => {
    const f = fixture([A, B]);
    await f.migrator.up();
    const config = path.join(f.dir, 'migrate-mongo-config.js');
    fs.writeFileSync(
      config,
      `module.exports = { mongodb: { url: ${JSON.stringify(mongo.uri)}, databaseName: ${JSON.stringify(f.db.databaseName)} }, migrationsDir: ${JSON.stringify(f.dir)}, changelogCollectionName: 'changelog', migrationFileExtension: '.ts', useFileHash: true, moduleSystem: 'commonjs' };\n`,
    );
    const bin = path.join(
      __dirname,
      '..',
      '..',
      '..',
      'node_modules',
      'migrate-mongo',
      'bin',
      'migrate-mongo.js',
    );
    const { stdout } = await promisify(execFile)(process.execPath, [bin, 'status', '-f', config], {
      cwd: f.dir,
    });
    const rows = stdout.split('\n').filter((l) => l.includes('.ts'));
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).not.toContain('PENDING');
  });
});

describe('LeaseLock', () => {
  it('a second runner fails fast naming the holder (exit 2), waits with --wait, and takes over an expired lease', async () => {
    const f = fixture([A]);
    const lock = new LeaseLock(f.db, { ttlMs: 2000 });
    const held = await lock.acquire();
    const e = await failure(f.migrator.up());
    expect([e.code, e.exitCode]).toEqual([MigrationErrorCode.LockHeld, 2]);
    expect(e.message).toMatch(
      new RegExp(
        `^migrations are locked by ${os.hostname()} pid ${process.pid} \\(run ${held.owner.runId}\\) since .+, lease until .+; use --wait SECONDS to wait for it$`,
      ),
    );
    setTimeout(() => void held.release(), 300);
    expect((await f.migrator.up({ waitMs: 60_000 })).migrations.map((m) => m.name)).toEqual([A]);

    // A lease that is not renewed expires: the next runner waits (polling) and takes it over.
    const short = new LeaseLock(f.db, { ttlMs: 200, heartbeatMs: 60_000 });
    const stale = await short.acquire();
    const next = await new LeaseLock(f.db).acquire(60_000);
    expect((await lock.holder())!.owner.runId).toBe(next.owner.runId);
    await stale.release(); // releasing a lease that was taken over leaves the new holder alone
    expect((await lock.holder())!.owner.runId).toBe(next.owner.runId);
    await next.release();
    expect(await lock.holder()).toBeNull();
  });

  it('the heartbeat keeps a lease alive past its TTL; losing the lease aborts the holder', async () => {
    const db = mongo.db();
    const lock = new LeaseLock(db, { ttlMs: 1500, heartbeatMs: 50 });
    const held = await lock.acquire();
    // Twice the TTL: without the heartbeat the lease would have expired and been taken over.
    await new Promise((r) => setTimeout(r, 3000));
    await expect(new LeaseLock(db, { ttlMs: 1500 }).acquire()).rejects.toThrow(/^locked by /);
    expect(held.signal.aborted).toBe(false);
    await db.collection('migrations_lock').updateOne({}, { $set: { 'owner.runId': 'someone-else' } });
    // The next heartbeat (every 50 ms) notices; polled up to 10 s so a busy machine cannot flip the result.
    for (let i = 0; i < 200 && !held.signal.aborted; i++) await new Promise((r) => setTimeout(r, 50));
    expect(held.signal.aborted).toBe(true);
    expect((held.signal.reason as Error).message).toBe('the lock was lost (lease expired and taken over)');
    await held.release();
  });
});

describe('migrations an application cannot live with yet are held', () => {
  const stepRef = "[{ collection: 'outputs', path: 'stepRef', change: 'reference-to-objectid' }]";

  it('under ODTP 0.5: status says held and why, up applies the rest (also later ones) and reports what it held', async () => {
    const f = fixture(['20240101000000-a.ts']);
    f.write('20240101000100-b.ts', { affects: stepRef });
    f.write('20240101000200-c.ts');
    const migrator = new Migrator(f.db, mongo.client, { dir: f.dir, app: 'odtp-0.5' });
    const status = await migrator.status();
    expect(status.map((s) => [s.name, s.state, s.requires, s.app])).toEqual([
      ['20240101000000-a.ts', 'pending', 'odtp-0.5', 'odtp-0.5'],
      ['20240101000100-b.ts', 'held', 'transition', 'odtp-0.5'],
      ['20240101000200-c.ts', 'pending', 'odtp-0.5', 'odtp-0.5'],
    ]);
    const reasons = [
      'ODTP 0.5 queries outputs.stepRef as a string (S3 clean-up (get_all_outputs_s3_keys): outputs.find({stepRef: str(step_id)}))',
      'ODTP 0.5 queries outputs.stepRef as a string (delete execution cascade (delete_execution): outputs.find({stepRef: str(step_id)}), then delete_one by _id)',
      'ODTP 0.5 writes outputs.stepRef as a string',
    ];
    expect(status[1].heldBecause).toEqual(reasons);
    expect((await migrator.plan()).map((p) => [p.name, p.state, p.changes])).toEqual([
      ['20240101000000-a.ts', 'pending', { journal: 1 }],
      ['20240101000100-b.ts', 'held', undefined],
      ['20240101000200-c.ts', 'pending', { journal: 1 }],
    ]);
    const run = await migrator.up();
    expect(run.migrations.map((m) => m.name)).toEqual(['20240101000000-a.ts', '20240101000200-c.ts']);
    expect(run.held).toEqual([{ name: '20240101000100-b.ts', requires: 'transition', heldBecause: reasons }]);
    expect(run.app).toBe('odtp-0.5');
    expect((await f.journal())!.up).toEqual(['20240101000000-a', '20240101000200-c']);
    expect(await f.db.collection('changelog').findOne({ fileName: '20240101000000-a.ts' })).toMatchObject({
      app: 'odtp-0.5',
    });
    const e = await failure(migrator.up({ to: '20240101000100-b' }));
    expect([e.code, e.message]).toEqual([
      MigrationErrorCode.Refused,
      `20240101000100-b.ts is held while the application is odtp-0.5: ${reasons.join('; ')} (it needs transition; see docs/app-compatibility.md)`,
    ]);
    // Moving to the target application: the held migration runs, in order, and nothing runs twice.
    const target = new Migrator(f.db, mongo.client, { dir: f.dir, app: 'target' });
    expect((await target.up()).migrations.map((m) => m.name)).toEqual(['20240101000100-b.ts']);
    expect((await f.journal())!.up).toEqual(['20240101000000-a', '20240101000200-c', '20240101000100-b']);
    expect((await target.status()).map((s) => s.state)).toEqual(['applied', 'applied', 'applied']);
  });
});
