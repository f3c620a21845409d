import { ObjectId } from 'bson';
import { MongoClient } from 'mongodb';
import request from 'supertest';
import { createTestApp } from './support/app';
import type { TestApp } from './support/app';

// The API boots a database and a watch: the timeout is an upper bound for hangs, never a verdict on speed.
jest.setTimeout(120_000);

/** Poll until `done` holds (no fixed sleeps). */
async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the live watch in the admin API (AUDIT_WATCH=true)', () => {
  let t: TestApp;
  let client: MongoClient;
  const server = () => t.app.getHttpServer();

  beforeAll(async () => {
    t = await createTestApp({ env: { AUDIT_WATCH: 'true', ODTP_APP: 'target' } });
    client = await MongoClient.connect(t.database.uri);
  });
  afterAll(async () => {
    await client.close();
    // the watch stops first (after its batch in hand), then the connection closes: no error from closing
    await t.app.close();
    await t.database.stop();
  });

  it('records a dangling reference, shows it in GET /audits/live, /audits/latest and the metrics, and resolves it', async () => {
    const db = client.db(t.database.dbName);
    const watched = () =>
      request(server())
        .get('/audits/live')
        .set('authorization', t.viewer)
        .expect(200)
        .then((r) => r.body);
    await until(watched, (b) => b.watch !== undefined, 'the watch to start');
    const missingStep = new ObjectId();
    const log = await db
      .collection('logs')
      .insertOne({ stepRef: missingStep, timestamp: new Date(), logstring: 'x' });
    const live = await until(watched, (b) => b.open >= 1, 'the finding');
    const mine = live.recent.filter((f: { docId: string }) => f.docId === log.insertedId.toHexString());
    expect(mine.map((f: { check: string; path: string }) => `${f.check} ${f.path}`).sort()).toEqual([
      'dangling-reference stepRef',
      'orphan stepRef',
    ]);
    const metrics = await request(server()).get('/metrics').set('authorization', t.viewer).expect(200);
    expect(metrics.text).toContain('odtp_integrity_live_findings{check="dangling-reference"} 1');
    // an audit report carries the live section
    const started = await request(server())
      .post('/audits')
      .set('authorization', t.admin)
      .send({})
      .expect(202);
    await until(
      () =>
        request(server())
          .get(`/audits/${started.body.id}`)
          .set('authorization', t.viewer)
          .then((r) => r.body.status),
      (s) => s === 'done',
      'the audit',
    );
    const latest = await request(server()).get('/audits/latest').set('authorization', t.viewer).expect(200);
    expect(latest.body.live.byCheck['dangling-reference']).toBe(1);
    // fixed: the log deleted, the finding resolved
    await db.collection('logs').deleteOne({ _id: log.insertedId });
    const after = await until(watched, (b) => b.open === 0, 'the finding to resolve');
    expect([after.open, after.recent]).toEqual([0, []]);
  });

  it('a viewer cannot start or steer the watch: the live section is read-only', async () => {
    await request(server()).post('/audits/live').set('authorization', t.viewer).send({}).expect(404);
    await request(server()).get('/audits/live').expect(401);
  });
});
