import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Db } from 'mongodb';
import { LeaseLock } from '@odtp/database';
import { defectsFixture, fixtureId } from './fixtures/defects';
import { startTestMongo } from './support/mongo';
import type { TestMongo } from './support/mongo';
import { tempDir } from './support/temp-dirs';

// Process tests spawn programs: the timeout is an upper bound for hangs, never a verdict on speed.
jest.setTimeout(180_000);

/* odtp-db audit and repair as CI jobs and operators run them: exit codes, JSON on stdout, JUnit files. */

const root = path.join(__dirname, '..');

function cli(
  db: Db,
  uri: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, ODTP_DB_NAME: db.databaseName };
  delete env.MONGODB_URI;
  const child = spawn(process.execPath, [path.join(root, 'bin', 'odtp-db.js'), ...args, '--uri', uri], {
    cwd: root,
    env,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

let mongo: TestMongo;
beforeAll(async () => (mongo = await startTestMongo()));
afterAll(() => mongo.close());

describe('odtp-db audit and repair', () => {
  it('exits 3 on errors with only JSON on stdout, writes JUnit, and repair apply --yes then undo round-trips', async () => {
    const db = mongo.db();
    for (const [c, docs] of Object.entries(defectsFixture())) await db.collection(c).insertMany(docs);
    const junit = path.join(tempDir('odtp-audit-'), 'audit.xml');
    const html = path.join(path.dirname(junit), 'audit.html');
    const audit = await cli(db, mongo.uri, ['audit', '--json', '--junit', junit, '--html', html]);
    expect([audit.code, audit.stderr]).toEqual([3, '']);
    const report = JSON.parse(audit.stdout) as {
      id: string;
      app: string;
      summary: object;
      findings: unknown[];
    };
    // the default application is ODTP 0.5: its id strings are the upgrade backlog, the ObjectIds it cannot find are errors
    expect([report.app, report.summary]).toEqual(['odtp-0.5', { errors: 26, warnings: 5, scanned: 28 }]);
    expect(fs.readFileSync(junit, 'utf8').match(/<failure /g)).toHaveLength(24);
    const page = fs.readFileSync(html, 'utf8');
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page).toContain(`<dt>report id</dt><dd><code>${report.id}</code></dd>`);
    expect(page.match(/<details class="finding /g)).toHaveLength(24);
    const noFolder = await cli(db, mongo.uri, ['audit', '--html', '/no/such/folder/a.html']);
    expect([noFolder.code, noFolder.stderr.trim()]).toEqual([
      2,
      'odtp-db: --html: the folder /no/such/folder does not exist',
    ]);
    const target = await cli(db, mongo.uri, ['audit', '--json', '--app', 'target']);
    expect(JSON.parse(target.stdout)).toMatchObject({
      app: 'target',
      summary: { errors: 23, warnings: 5, scanned: 28 },
    });
    const badApp = await cli(db, mongo.uri, ['audit', '--app', 'odtp-9']);
    expect([badApp.code, badApp.stderr.trim()]).toEqual([
      2,
      'odtp-db: --app must be odtp-0.5, transition or target (got "odtp-9")',
    ]);

    const warnOnly = await cli(db, mongo.uri, ['audit', '--checks', 'orphan']);
    expect(warnOnly.code).toBe(0);
    // only the collections an orphan check reads: versions 5, steps 4, outputs 4, logs 3
    expect(warnOnly.stdout).toMatch(
      /: 0 error\(s\), 5 warning\(s\) in 16 document\(s\); 4 findings, 4 with violations\n$/,
    );
    expect((await cli(db, mongo.uri, ['audit', '--checks', 'orphan', '--fail-on', 'warning'])).code).toBe(3);
    const bad = await cli(db, mongo.uri, ['audit', '--checks', 'dangling']);
    expect([bad.code, bad.stderr.trim()]).toEqual([
      2,
      'odtp-db: unknown check(s) "dangling" in --checks (available: dangling-reference, type-drift, query-mismatch, broken-inverse, orphan, duplicate, schema-violation)',
    ]);

    const plan = await cli(db, mongo.uri, ['repair', 'apply', '--report', report.id]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/dry run: nothing changed \(apply with --yes\)\n$/);
    const applied = await cli(db, mongo.uri, ['repair', 'apply', '--report', report.id, '--yes', '--json']);
    expect(applied.code).toBe(0);
    const run = JSON.parse(applied.stdout) as { runId: string; remainingErrors: number };
    expect(run.remainingErrors).toBe(0);
    expect((await cli(db, mongo.uri, ['audit'])).code).toBe(0);
    const undo = await cli(db, mongo.uri, ['repair', 'undo', run.runId]);
    expect(undo.code).toBe(0);
    expect(await db.collection('users').findOne({ _id: fixtureId('u3') })).toMatchObject({
      displayName: 'Ada',
    });
    expect((await cli(db, mongo.uri, ['audit'])).code).toBe(3);
    // The CLI takes the lease the API's and the schedule's audits take: while one runs, audit and repair refuse.
    const held = await new LeaseLock(db, { collection: 'integrity_lock', id: 'audit' }).acquire(
      0,
      'api-audit-1',
    );
    try {
      for (const args of [['audit'], ['repair', 'apply', '--report', report.id, '--yes']]) {
        const refused = await cli(db, mongo.uri, args);
        expect([refused.code, refused.stderr.trim()]).toEqual([
          2,
          `odtp-db: an audit or repair is running: api-audit-1 (on ${os.hostname()})`,
        ]);
      }
    } finally {
      await held.release();
    }
    const unknown = await cli(db, mongo.uri, ['repair', 'undo', 'nope']);
    expect([unknown.code, unknown.stderr.trim()]).toEqual([
      2,
      'odtp-db: unknown repair run "nope" (nothing in repairJournal)',
    ]);
  }, 120_000);
});
