import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ObjectId } from 'bson';
import type { Db } from 'mongodb';
import { importDump, readDump } from '@odtp/dump';
import { defaultMigrationsDir, MigrationFiles } from '@odtp/migrations';
import { startTestMongo } from './support/mongo';
import type { TestMongo } from './support/mongo';
import { tempDir } from './support/temp-dirs';

// Process tests spawn programs: the timeout is an upper bound for hangs, never a verdict on speed.
jest.setTimeout(180_000);

/* `odtp-db migrate` as deploy pipelines run it: several processes at once, and a process killed midway. */

const root = path.join(__dirname, '..');
const fixture = path.join(root, 'libs', 'migrations', 'test', 'fixtures', 'gen1-2023-12.json');

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function migrate(
  db: Db,
  uri: string,
  args: string[],
  extra: NodeJS.ProcessEnv = {},
): { done: Promise<Exit>; kill(signal?: NodeJS.Signals): void } {
  const env: NodeJS.ProcessEnv = { ...process.env, ODTP_DB_NAME: db.databaseName, ...extra };
  delete env.MONGODB_URI;
  const child = spawn(
    process.execPath,
    [path.join(root, 'bin', 'odtp-db.js'), 'migrate', ...args, '--uri', uri],
    { cwd: root, env },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  return {
    done: new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr }))),
    kill: (signal = 'SIGKILL') => child.kill(signal),
  };
}

let mongo: TestMongo;
beforeAll(async () => (mongo = await startTestMongo()));
afterAll(() => mongo.close());

async function changelogNames(db: Db): Promise<string[]> {
  return (await db.collection('changelog').find({}).toArray()).map((e) => e.fileName as string).sort();
}

describe('odtp-db migrate in processes', () => {
  const all = new MigrationFiles(defaultMigrationsDir()).list();
  // Under the default ODTP_APP (odtp-0.5) the migrations that change what ODTP 0.5 reads are held.
  const held = [
    '20261126081600-rename-camelcase-timestamps.ts',
    '20261126081700-application-references-to-objectid.ts',
    '20261126081800-fold-dt-id.ts',
    '20261204120000-finish-target-shapes.ts',
  ];
  const files = all.filter((f) => !held.includes(f));

  it('five `migrate up --wait` processes started together: all exit 0 and every migration is applied exactly once', async () => {
    const db = mongo.db();
    await importDump(db, readDump(fixture));
    const runs = Array.from({ length: 5 }, () => migrate(db, mongo.uri, ['up', '--wait', '120', '--json']));
    const exits = await Promise.all(runs.map((r) => r.done));
    expect(exits.map((e) => [e.code, e.stderr])).toEqual(exits.map(() => [0, '']));
    const results = exits.map(
      (e) => JSON.parse(e.stdout) as { migrations: unknown[]; held: { name: string }[] },
    );
    const applied = results.map((r) => r.migrations.length);
    expect(applied.sort((a, b) => b - a)).toEqual([files.length, 0, 0, 0, 0]);
    expect(results.map((r) => r.held.map((h) => h.name))).toEqual(results.map(() => held));
    expect(await changelogNames(db)).toEqual(files);
    // The data too: the embedded logs were moved once, not five times.
    expect(await db.collection('logs').countDocuments()).toBe(2);
    expect(await db.collection('migrations_lock').countDocuments()).toBe(0);
  }, 120_000);

  it('without --wait, the processes that find the lock held exit 2 naming the holder; the data is migrated once', async () => {
    const db = mongo.db();
    await importDump(db, readDump(fixture));
    const exits = await Promise.all(Array.from({ length: 5 }, () => migrate(db, mongo.uri, ['up']).done));
    for (const e of exits) {
      expect([0, 2]).toContain(e.code);
      if (e.code === 2)
        expect(e.stderr).toMatch(
          /^odtp-db: migrations are locked by \S+ pid \d+ \(run [0-9a-f-]{36}\) since /m,
        );
    }
    expect(exits.filter((e) => e.code === 0).length).toBeGreaterThanOrEqual(1);
    const final = await migrate(db, mongo.uri, ['up', '--wait', '60']).done;
    expect(final.code).toBe(0);
    expect(await changelogNames(db)).toEqual(files);
    expect(await db.collection('logs').countDocuments()).toBe(2);
  }, 120_000);

  it('ODTP_MIGRATIONS_DIR names a folder of .js migrations: the built CLI loads and checksums exactly those files; a .ts one there is refused', async () => {
    const db = mongo.db();
    const dir = tempDir('odtp-own-migrations-');
    const file = path.join(dir, '20270101000000-mark.js');
    fs.writeFileSync(
      file,
      `const { defineMigration } = require('${path.join(root, 'dist', 'libs', 'migrations', 'src')}');
module.exports = defineMigration({
  description: 'mark',
  up: [{ title: 'mark', run: async (ctx) => (ctx.dryRun ? { marks: 1 } : (await ctx.db.collection('marks').insertOne({ _id: 'm' }), { marks: 1 })) }],
  down: { irreversible: 'test' },
});
`,
    );
    const env = { ODTP_MIGRATIONS_DIR: dir };
    const up = await migrate(db, mongo.uri, ['up', '--json'], env).done;
    expect([up.code, up.stderr]).toEqual([0, '']);
    expect(
      (JSON.parse(up.stdout) as { migrations: { name: string }[] }).migrations.map((m) => m.name),
    ).toEqual(['20270101000000-mark.js']);
    const entry = await db.collection('changelog').findOne({ fileName: '20270101000000-mark.js' });
    expect(entry!.fileHash).toBe(createHash('sha256').update(fs.readFileSync(file)).digest('hex'));
    expect(await db.collection('marks').countDocuments()).toBe(1);
    fs.writeFileSync(path.join(dir, '20270101000100-typed.ts'), 'export {};\n');
    const refused = await migrate(db, mongo.uri, ['up'], env).done;
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('20270101000100-typed.ts is TypeScript, which this build cannot load');
  });

  it('a .js migrations folder: down --to by name with and without extension, create writes .js, a file with a syntax error is broken and up exits 2 naming it', async () => {
    const db = mongo.db();
    const dir = tempDir('odtp-js-migrations-');
    const library = JSON.stringify(path.join(root, 'dist', 'libs', 'migrations', 'src'));
    const mark = (label: string): string => `const { defineMigration } = require(${library});
module.exports = defineMigration({
  description: '${label}',
  up: [{ title: 'mark', run: async (ctx) => (ctx.dryRun ? { marks: 1 } : (await ctx.db.collection('marks').insertOne({ _id: '${label}' }), { marks: 1 })) }],
  down: [{ title: 'unmark', run: async (ctx) => (await ctx.db.collection('marks').deleteOne({ _id: '${label}' }), { marks: 1 }) }],
});
`;
    const names = ['20270101000000-a', '20270101000100-b', '20270101000200-c'];
    for (const n of names) fs.writeFileSync(path.join(dir, `${n}.js`), mark(n));
    const env = { ODTP_MIGRATIONS_DIR: dir };
    const marks = async (): Promise<string[]> =>
      (await db.collection('marks').find({}).sort({ _id: 1 }).toArray()).map((m) => String(m._id));
    expect((await migrate(db, mongo.uri, ['up'], env).done).code).toBe(0);
    expect(await marks()).toEqual(names);
    for (const to of [names[0], `${names[0]}.js`]) {
      const down = await migrate(db, mongo.uri, ['down', '--to', to], env).done;
      expect([to, down.code]).toEqual([to, 0]);
      expect(down.stderr).toMatch(/^rolling back 20270101000200-c\.js.*\nrolling back 20270101000100-b\.js/);
      expect(await marks()).toEqual([names[0]]);
      expect(await changelogNames(db)).toEqual([`${names[0]}.js`]);
      expect((await migrate(db, mongo.uri, ['up'], env).done).code).toBe(0);
      expect(await marks()).toEqual(names);
    }
    new MigrationFiles(dir).create('next-step');
    const made = fs.readdirSync(dir).filter((f) => f.includes('next-step'));
    expect(made).toHaveLength(1);
    expect(made[0]).toMatch(/^\d{14}-next-step\.js$/);
    expect(fs.readFileSync(path.join(dir, made[0]), 'utf8')).toMatch(
      /^const \{ defineMigration \} = require\(".*migrations.*"\);$/m,
    );
    fs.rmSync(path.join(dir, made[0]));
    const broken = '20270101000300-broken.js';
    fs.writeFileSync(path.join(dir, broken), 'module.exports = {\n  up: (,\n};\n');
    const status = await migrate(db, mongo.uri, ['status', '--json'], env).done;
    expect(status.code).toBe(0);
    const rows = JSON.parse(status.stdout) as { name: string; state: string; error?: string }[];
    expect(rows.map((r) => [r.name, r.state])).toEqual([
      ...names.map((n) => [`${n}.js`, 'applied']),
      [broken, 'broken'],
    ]);
    expect(rows[3].error).toMatch(/^Unexpected token .*\(20270101000300-broken\.js:2\)$/);
    const up = await migrate(db, mongo.uri, ['up'], env).done;
    expect(up.code).toBe(2);
    expect(up.stderr).toContain(`cannot be loaded, nothing ran: ${broken} (Unexpected token`);
    expect(await changelogNames(db)).toEqual(names.map((n) => `${n}.js`));
  });

  it('Ctrl-C during an online migration: exit 0 naming where it stopped, the lock released, nothing half-written; the next run resumes and finishes', async () => {
    const db = mongo.db();
    const dir = tempDir('odtp-online-migrations-');
    const library = JSON.stringify(path.join(root, 'dist', 'libs', 'migrations', 'src'));
    const name = '20270101000000-outputs-steprefs.js';
    fs.writeFileSync(
      path.join(dir, name),
      `const { defineMigration, referencesToObjectId } = require(${library});
module.exports = defineMigration({
  description: 'outputs.stepRef id strings -> ObjectId',
  affects: [{ collection: 'outputs', path: 'stepRef', change: 'reference-to-objectid' }],
  up: [referencesToObjectId('outputs', ['stepRef'])],
  down: { irreversible: 'test' },
});
`,
    );
    const count = 3000;
    await db
      .collection('outputs')
      .insertMany(Array.from({ length: count }, () => ({ stepRef: new ObjectId().toHexString() })));
    const env = { ODTP_MIGRATIONS_DIR: dir };
    // at most 500 documents a second: the run lasts seconds, long enough to be stopped in the middle
    const run = migrate(
      db,
      mongo.uri,
      ['up', '--app', 'target', '--batch-size', '50', '--max-rate', '500', '--json'],
      env,
    );
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !(await db.collection('changelog').findOne({ checkpoint: true })))
      await new Promise((r) => setTimeout(r, 20));
    run.kill('SIGINT');
    const stopped = await run.done;
    expect([stopped.code, stopped.stderr]).toEqual([
      0,
      'odtp-db: SIGINT: stopping after the current batch (again to stop at once)\n',
    ]);
    const result = JSON.parse(stopped.stdout) as {
      migrations: unknown[];
      interrupted: { migration: string; progress: { collection: string; processed: number } };
    };
    expect(result.migrations).toEqual([]);
    expect([result.interrupted.migration, result.interrupted.progress.collection]).toEqual([name, 'outputs']);
    const converted = await db.collection('outputs').countDocuments({ stepRef: { $type: 'objectId' } });
    // batches are whole: what was converted is what the checkpoint says was passed
    expect(result.interrupted.progress.processed).toBe(converted);
    expect(converted % 50).toBe(0);
    expect(converted).toBeLessThan(count);
    expect(await db.collection('migrations_lock').countDocuments()).toBe(0);
    expect(await changelogNames(db)).toEqual([`${name}#checkpoint`]);
    // no --wait: the lock is free at once
    const resumed = await migrate(db, mongo.uri, ['up', '--app', 'target', '--json'], env).done;
    expect(resumed.code).toBe(0);
    const finished = JSON.parse(resumed.stdout) as { migrations: { name: string; changes: object }[] };
    expect(finished.migrations.map((m) => [m.name, m.changes])).toEqual([
      [name, { outputs: count - converted }],
    ]);
    expect(await db.collection('outputs').countDocuments({ stepRef: { $type: 'string' } })).toBe(0);
    expect(await changelogNames(db)).toEqual([name]);
  });

  it('a run killed midway through moving embedded logs is finished by the next run, without duplicating anything', async () => {
    const db = mongo.db();
    const steps = 400;
    const perStep = 250;
    const at = new Date('2024-03-01T00:00:00Z');
    for (let s = 0; s < steps; s += 50) {
      await db.collection('steps').insertMany(
        Array.from({ length: 50 }, (_, i) => ({
          _id: new ObjectId(),
          executionRef: new ObjectId(),
          component_version: new ObjectId(),
          timestamp: at,
          logs: Array.from({ length: perStep }, (_, j) => ({
            timestamp: at,
            type: 'INFO',
            logstring: `step ${s + i} line ${j}`,
          })),
        })),
      );
    }
    const run = migrate(db, mongo.uri, ['up']);
    const logs = db.collection('logs');
    let seen = 0;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      seen = await logs.estimatedDocumentCount();
      if (seen > 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    run.kill();
    const killed = await run.done;
    expect(killed.code).toBeNull(); // killed, not finished
    const midway = await logs.countDocuments();
    expect(midway).toBeGreaterThan(0);
    expect(midway).toBeLessThan(steps * perStep);
    expect(await changelogNames(db)).not.toContain('20261126081200-move-step-logs.ts');
    // The dead runner's lease is still there; the next run waits for it to expire (60 s TTL) unless taken over.
    await db.collection('migrations_lock').updateOne({}, { $set: { expiresAt: new Date(0) } });
    const rerun = await migrate(db, mongo.uri, ['up']).done;
    expect([rerun.code, rerun.stderr.split('\n').filter((l) => l.startsWith('odtp-db:'))]).toEqual([0, []]);
    expect(await logs.countDocuments()).toBe(steps * perStep);
    expect((await logs.distinct('logstring')).length).toBe(steps * perStep);
    expect(await db.collection('steps').countDocuments({ 'logs.0': { $exists: true } })).toBe(0);
    expect(await changelogNames(db)).toEqual(files);
  }, 180_000);
});
