import { ObjectId } from 'bson';
import type { Db } from 'mongodb';
import { IntegrityWatcher, LIVE_COLLECTION, liveKey, LiveStore, runAudit } from '@odtp/integrity';
import type { LiveFinding, Violation, WatchEnd } from '@odtp/integrity';
import { startTestMongo } from './support/mongo';
import type { TestMongo } from './support/mongo';
import { OdtpClient } from '../tools/odtp-replay/odtp-client';
import { replayLifecycle } from '../tools/odtp-replay/replay';
import { finished, spawnCli } from './support/processes';

// Process tests spawn programs: the timeout is an upper bound for hangs, never a verdict on speed.
jest.setTimeout(240_000);

/** Poll `read` until `done` holds (no fixed sleeps: the verdict never depends on the machine's speed). */
async function until<T>(
  read: () => Promise<T>,
  done: (v: T) => boolean,
  what: string,
  ms = 120_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Watch {
  /** Resolves once the watch follows the change stream (or stands by: see `standBy`). */
  ready: Promise<void>;
  stop(): Promise<WatchEnd>;
}

function startWatch(mongo: TestMongo, db: Db): Watch {
  const controller = new AbortController();
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const run = new IntegrityWatcher(mongo.client, db, {
    app: 'odtp-0.5',
    signal: controller.signal,
    awaitMs: 100,
    onReady,
  }).run();
  return {
    ready: Promise.race([ready, run.then(() => undefined)]),
    stop: async () => {
      controller.abort();
      return run;
    },
  };
}

/** An execution as ODTP 0.5 writes it (its client, in its dialect): a user, a component, a twin, steps with logs and outputs. */
async function odtpExecution(client: OdtpClient, tag: string): Promise<{ stepIds: string[] }> {
  const user = await client.addUser(`${tag} user`, `${tag}-gh`, `${tag}@odtp.example.org`);
  const { versionId } = await client.addComponentVersion({
    name: `${tag}-component`,
    repo: `https://github.com/odtp-org/${tag}-component`,
    type: 'ephemeral',
    tag: 'v1.0.0',
    commit: 'a3f9c2d5e8b14f7a9c0d2e4f6a8b0c1d3e5f7a9b',
    ports: null,
    parameters: { MAX: '10' },
  });
  const workflow = await client.getOrCreateWorkflow([versionId], `${tag} workflow`);
  const twin = await client.addDigitalTwin(user, `${tag} twin`);
  const { stepIds } = await client.addExecution(
    twin,
    `${tag} execution`,
    workflow.id,
    [{ MAX: '10' }],
    [null],
  );
  for (const step of stepIds) {
    await client.componentLogs(step, ['started', 'done']);
    await client.componentOutput(step, user);
  }
  return { stepIds };
}

/** Events the watch has recorded (with its resume token). */
const recordedEvents = async (store: LiveStore): Promise<number> => (await store.state())?.events ?? 0;

/** Steps that reference a missing execution: one change event and one dangling finding each. */
function stepWriter(db: Db): { write(n: number): Promise<void>; count(): number } {
  let written = 0;
  return {
    count: () => written,
    async write(n) {
      for (let i = 0; i < n; i++, written++)
        await db
          .collection('steps')
          .insertOne({ _id: new ObjectId(), executionRef: new ObjectId(), name: `s${written}` });
    },
  };
}

const openKeys = async (db: Db): Promise<string[]> =>
  (await db.collection<LiveFinding>(LIVE_COLLECTION).find({ status: 'open' }).toArray())
    .map((f) => f._id)
    .sort();

async function fullAuditKeys(db: Db): Promise<string[]> {
  const all: Violation[] = [];
  await runAudit(db, { app: 'odtp-0.5', onViolation: (v) => all.push(v) });
  return [...new Set(all.map(liveKey))].sort();
}

describe('live integrity watch', () => {
  let mongo: TestMongo;

  beforeAll(async () => {
    mongo = await startTestMongo();
  });
  afterAll(async () => {
    await mongo.close();
  });

  it("finds what an ODTP 0.5 delete leaves dangling, and its open findings are exactly the full audit's", async () => {
    const db = mongo.db();
    const watch = startWatch(mongo, db);
    try {
      await watch.ready;
      const client = new OdtpClient(db, 'odtp-0.5');
      // ODTP 0.5's own life cycle first (it leaves a consistent database), then a run of its component client
      expect((await replayLifecycle(client)).filter((r) => !r.ok)).toEqual([]);
      const { stepIds } = await odtpExecution(client, 'watch');
      // odtp db delete-document --collection steps: no cascade, the step's logs and output stay behind
      expect(await client.deleteDocument('steps', stepIds[0])).toBe(1);
      const expected = await fullAuditKeys(db);
      expect(expected.filter((k) => k.startsWith('dangling-reference|logs|stepRef|')).length).toBe(1);
      expect(expected.filter((k) => k.startsWith('dangling-reference|outputs|stepRef|')).length).toBe(1);
      await until(
        () => openKeys(db),
        (keys) => keys.join() === expected.join(),
        'the live findings',
      );
      // A finding the watch saw open and resolved during ODTP's own life cycle (a cascade read between two of its
      // deletes, which a slower machine does) is no part of what follows.
      const resolvedBefore = new Set(
        (await db.collection<LiveFinding>(LIVE_COLLECTION).find({ status: 'resolved' }).toArray()).map(
          (f) => f._id,
        ),
      );
      // fixed by hand (the leftovers deleted): the watch resolves their findings
      const left = await db
        .collection<LiveFinding>(LIVE_COLLECTION)
        .find({ status: 'open', check: 'dangling-reference', collection: { $in: ['logs', 'outputs'] } })
        .toArray();
      for (const f of left) await db.collection(f.collection).deleteOne({ _id: f.docId as ObjectId });
      const after = await fullAuditKeys(db);
      await until(
        () => openKeys(db),
        (keys) => keys.join() === after.join(),
        'findings resolved by the fix',
      );
      const resolved = await db
        .collection<LiveFinding>(LIVE_COLLECTION)
        .find({ status: 'resolved', resolution: 'deleted', check: 'dangling-reference' })
        .toArray();
      expect(
        resolved
          .map((f) => f._id)
          .filter((id) => !resolvedBefore.has(id))
          .sort(),
      ).toEqual(left.map((f) => f._id).sort());
    } finally {
      await watch.stop();
    }
  });

  it('resumes after a stop with no event missed or repeated (events counted with the resume token, in one transaction)', async () => {
    const db = mongo.db();
    const store = new LiveStore(db);
    let watch = startWatch(mongo, db);
    await watch.ready;
    const writer = stepWriter(db);
    const write = writer.write;
    await write(30);
    await until(
      () => recordedEvents(store),
      (n) => n > 0,
      'a first recorded batch',
    );
    await watch.stop();
    await write(25); // while nobody watches
    watch = startWatch(mongo, db);
    await watch.ready;
    await until(
      () => recordedEvents(store),
      (n) => n >= writer.count(),
      'every event recorded',
    );
    // one more write: a watch that had read an event twice would now count past it
    await write(1);
    const events = await until(
      () => recordedEvents(store),
      (n) => n >= writer.count(),
      'the last event',
    );
    expect(events).toBe(writer.count());
    // every step references a missing execution: one dangling finding each, none lost in the stop
    const open = await db.collection<LiveFinding>(LIVE_COLLECTION).countDocuments({
      status: 'open',
      check: 'dangling-reference',
      collection: 'steps',
    });
    expect(open).toBe(writer.count());
    await watch.stop();
  });

  it('one instance watches a database; a second one stands by and takes over when the first stops', async () => {
    const db = mongo.db();
    const store = new LiveStore(db);
    const first = startWatch(mongo, db);
    await first.ready;
    await until(
      async () => (await db.collection('integrity_lock').findOne({ _id: 'watch' as never }))?.owner,
      Boolean,
      'the lease',
    );
    const second = startWatch(mongo, db);
    await db.collection('outputs').insertOne({ _id: new ObjectId(), stepRef: new ObjectId() });
    await until(
      () => recordedEvents(store),
      (n) => n === 1,
      'the first event',
    );
    const holder = (await store.state())?.instance?.runId;
    await first.stop();
    await db.collection('outputs').insertOne({ _id: new ObjectId(), stepRef: new ObjectId() });
    const state = await until(
      async () => store.state(),
      (s) => (s?.events ?? 0) === 2,
      'the second event',
    );
    expect(state?.instance?.runId).not.toBe(holder);
    await second.stop();
  });

  it('odtp-db watch: kill -9 in the middle, a restart resumes with no event missed or repeated; SIGTERM exits 0 and frees the lease', async () => {
    const db = mongo.db();
    const store = new LiveStore(db);
    const env = { ODTP_DB_NAME: db.databaseName, JOB_LEASE_TTL_MS: '2000' };
    const args = ['watch', '--uri', mongo.uri, '--app', 'odtp-0.5'];
    const writer = stepWriter(db);
    const write = writer.write;
    let child = spawnCli(args, env);
    let exit = finished(child);
    await until(async () => (await store.state())?.token, Boolean, 'the watch to start');
    await write(40);
    await until(
      () => recordedEvents(store),
      (n) => n > 0,
      'a first recorded batch',
    );
    child.kill('SIGKILL');
    expect((await exit).code).toBe(null);
    await write(20); // while nobody watches
    child = spawnCli(args, env);
    exit = finished(child);
    await until(
      () => recordedEvents(store),
      (n) => n >= writer.count(),
      'every event recorded',
    );
    await write(1);
    const events = await until(
      () => recordedEvents(store),
      (n) => n >= writer.count(),
      'the last one',
    );
    expect(events).toBe(writer.count());
    expect(
      await db
        .collection(LIVE_COLLECTION)
        .countDocuments({ status: 'open', check: 'dangling-reference', collection: 'steps' }),
    ).toBe(writer.count());
    child.kill('SIGTERM');
    const stopped = await exit;
    expect([stopped.code, stopped.stderr.includes('SIGTERM: stopping after the current batch')]).toEqual([
      0,
      true,
    ]);
    expect(stopped.stdout).toContain('watch stopped: ');
    expect(await db.collection('integrity_lock').countDocuments({ _id: 'watch' as never })).toBe(0);
  });
});
