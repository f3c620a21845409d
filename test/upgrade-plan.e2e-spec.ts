import { ObjectId } from 'bson';
import { runCli } from './support/processes';
import { startTestMongo } from './support/mongo';
import type { TestMongo } from './support/mongo';

jest.setTimeout(180_000);

/* odtp-db upgrade plan: the steps in order, each checked against the database. */

let mongo: TestMongo;
beforeAll(async () => (mongo = await startTestMongo()));
afterAll(() => mongo.close());

interface Plan {
  app: string;
  steps: { step: number; title: string; state: string; found: string[] }[];
  backlog: { collection: string; path: string; form: string; documents: number }[];
  legacyWriters: { collection: string; path: string; count: number }[];
}

async function plan(dbName: string, app: string): Promise<Plan> {
  const r = await runCli(['upgrade', 'plan', '--to', 'target', '--json'], {
    MONGODB_URI: mongo.uri,
    ODTP_DB_NAME: dbName,
    ODTP_APP: app,
  });
  expect([r.code, r.stderr]).toEqual([0, '']);
  return JSON.parse(r.stdout) as Plan;
}

describe('odtp-db upgrade plan', () => {
  it('lists the steps on a fresh database: deploy, convert, retire ODTP 0.5, end, validators', async () => {
    const p = await plan(mongo.db().databaseName, 'odtp-0.5');
    expect(p.steps.map((s) => [s.step, s.state, s.title])).toEqual([
      [1, 'ready', 'Deploy an ODTP transition release to every client (GUI, CLI, component images)'],
      [2, 'blocked', 'Convert the data online, beside the running applications'],
      [3, 'done', 'Retire every ODTP 0.5 client'],
      [4, 'blocked', 'End the upgrade: the target shapes'],
      [5, 'blocked', 'Apply the target validators and indexes'],
    ]);
    expect(p.backlog).toEqual([]);
  });

  it('refuses the end of the upgrade while an ODTP 0.5 writer is seen, naming what gives it away; the backlog counts per path', async () => {
    const db = mongo.db();
    const env = { MONGODB_URI: mongo.uri, ODTP_DB_NAME: db.databaseName };
    // the online conversion under the transition, then an ODTP 0.5 component client writes a log
    expect((await runCli(['migrate', 'up', '--app', 'transition'], env)).code).toBe(0);
    const step = new ObjectId();
    await db.collection('logs').insertMany([
      { stepRef: step.toHexString(), logstring: 'written by an ODTP 0.5 component client just now' },
      { stepRef: [step, step.toHexString()], logstring: 'written by a transition release' },
    ]);
    const p = await plan(db.databaseName, 'transition');
    expect(p.steps.map((s) => [s.step, s.state])).toEqual([
      [1, 'done'],
      [2, 'done'],
      [3, 'waiting'],
      [4, 'blocked'],
      [5, 'blocked'],
    ]);
    expect(p.steps[2].found[0]).toMatch(
      /^an ODTP 0\.5 client is still running: 1 document\(s\) with a string stepRef in logs \(newest \S+\) inserted in the last 86400 s/,
    );
    expect(p.steps[3].found).toContain('refused while an ODTP 0.5 client is still running (step 3)');
    expect(p.legacyWriters.map((w) => [w.collection, w.path, w.count])).toEqual([['logs', 'stepRef', 1]]);
    expect(p.backlog).toEqual([
      { collection: 'logs', path: 'stepRef', form: 'string', documents: 1 },
      { collection: 'logs', path: 'stepRef', form: 'both', documents: 1 },
    ]);
    // and the migration itself refuses, exit 2, once the rest is done
    const up = await runCli(['migrate', 'up', '--app', 'target'], {
      MONGODB_URI: mongo.uri,
      ODTP_DB_NAME: db.databaseName,
    });
    expect(up.code).toBe(2);
    expect(up.stderr).toMatch(
      /20261204120000-finish-target-shapes\.ts stopped: an ODTP 0\.5 client is still running: 1 document\(s\) with a string stepRef in logs/,
    );
  });
});
