import request from 'supertest';
import { IntegritySchedule, IntegrityService, REPORTS_COLLECTION } from '@odtp/integrity';
import { loadLarge } from '@odtp/seeding';
import { createTestApp } from './support/app';
import type { TestApp } from './support/app';
import { startTestMongo } from './support/mongo';
import type { TestMongo } from './support/mongo';
import { waitFor } from './support/processes';

/* Audits and repairs are jobs stored in the database: every instance behind a load balancer sees the same runs. */

let mongo: TestMongo;
beforeAll(async () => (mongo = await startTestMongo()));
afterAll(() => mongo.close());

interface Run {
  id: string;
  status: string;
  instance: { id: string; host: string; pid: number };
  heartbeatAt: string;
  progress: { collection?: string; scanned: number };
  cancelRequestedAt?: string;
  error?: string;
}

describe('audit runs across instances', () => {
  let a: TestApp;
  let b: TestApp;
  afterAll(async () => {
    await a?.app.close();
    await b?.app.close();
  });

  it('a run started on one instance is visible (status, progress, instance) from the other, which is refused a second run and can cancel it', async () => {
    const db = mongo.db();
    await loadLarge(db, { scale: 20_000, seed: 21 });
    const env = { MONGODB_URI: mongo.uri, ODTP_DB_NAME: db.databaseName };
    a = await createTestApp({ env });
    b = await createTestApp({ env });
    const started = await request(a.app.getHttpServer())
      .post('/audits')
      .set('authorization', a.admin)
      .send({ batchSize: 1 })
      .expect(202);
    const id = started.body.id as string;
    const seen = await waitFor(async () => {
      const r = await request(b.app.getHttpServer()).get(`/audits/${id}`).set('authorization', b.viewer);
      const run = r.body as Run;
      return run.status === 'running' && run.progress.scanned > 0 ? run : undefined;
    });
    expect(seen).toMatchObject({
      id,
      status: 'running',
      instance: { id: a.app.get(IntegrityService).jobs.instance.id },
    });
    expect(seen!.instance.id).not.toBe(b.app.get(IntegrityService).jobs.instance.id);
    const listed = await request(b.app.getHttpServer())
      .get('/audits?status=running')
      .set('authorization', b.viewer)
      .expect(200);
    expect(listed.body.items.map((r: Run) => r.id)).toEqual([id]);
    const busy = await request(b.app.getHttpServer())
      .post('/audits')
      .set('authorization', b.admin)
      .send({})
      .expect(409);
    expect(busy.body.details).toEqual([{ code: 'AUDIT_RUNNING', running: id }]);
    const cancel = await request(b.app.getHttpServer())
      .delete(`/audits/${id}`)
      .set('authorization', b.admin)
      .expect(202);
    expect([cancel.body.status, typeof cancel.body.cancelRequestedAt]).toEqual(['running', 'string']);
    // instance A stops at its next heartbeat
    const ended = await waitFor(async () => {
      const r = await request(b.app.getHttpServer()).get(`/audits/${id}`).set('authorization', b.viewer);
      return (r.body as Run).status !== 'running' ? (r.body as Run) : undefined;
    });
    expect([ended?.status, ended?.error]).toEqual(['cancelled', 'the audit was cancelled']);
    await a.app.get(IntegrityService).idle();
    expect(await db.collection('integrity_lock').countDocuments()).toBe(0);
  });
});

describe('job memory', () => {
  // an upper bound for hangs: about 40 ms a tick here, machines differ 3-4x
  it('1,000 scheduled ticks leave the runner holding nothing per run, and the stored runs bounded by AUDIT_RETENTION', async () => {
    const db = mongo.db();
    const t = await createTestApp({
      env: { MONGODB_URI: mongo.uri, ODTP_DB_NAME: db.databaseName, AUDIT_RETENTION: '5' },
    });
    try {
      const schedule = t.app.get(IntegritySchedule);
      const integrity = t.app.get(IntegrityService);
      const memory = () => integrity.jobs.memory();
      await schedule.tick();
      await integrity.idle();
      const first = memory();
      for (let i = 1; i < 1000; i++) {
        await schedule.tick();
        await integrity.idle();
      }
      expect(memory()).toEqual(first);
      expect(first).toEqual({ running: 0, starting: 0, listeners: 1 });
      expect(schedule.skippedRuns).toBe(0);
      const runs = await db.collection(REPORTS_COLLECTION).find({}).toArray();
      expect(runs.map((r) => [r.status, r.trigger])).toEqual(
        Array.from({ length: 5 }, () => ['done', 'schedule']),
      );
    } finally {
      await t.app.close();
    }
  }, 600_000);
});
