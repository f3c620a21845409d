import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { DatabaseService } from '@odtp/database';
import { IntegritySchedule, IntegrityService } from '@odtp/integrity';
import type { AuditReport } from '@odtp/integrity';
import { loadLarge } from '@odtp/seeding';
import { defectsFixture } from './fixtures/defects';
import { createTestApp } from './support/app';
import type { TestApp } from './support/app';
import { startTestMongo } from './support/mongo';
import type { TestMongo } from './support/mongo';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('audit and repair endpoints', () => {
  let t: TestApp;
  const server = () => t.app.getHttpServer();

  beforeAll(async () => {
    t = await createTestApp();
    const db = t.app.get(DatabaseService).db();
    for (const [c, docs] of Object.entries(defectsFixture())) await db.collection(c).insertMany(docs);
  });
  afterAll(async () => {
    await t.app.close();
  });

  it('POST /audits starts a job (202), a second start while it runs is 409 with the running id, and the report is stored', async () => {
    await request(server()).post('/audits').set('authorization', t.viewer).send({}).expect(403);
    const bad = await request(server())
      .post('/audits')
      .set('authorization', t.admin)
      .send({ checks: ['dangling', 'orphan'] })
      .expect(400);
    expect(bad.body.details).toEqual([
      'each value in checks must be one of the following values: dangling-reference, type-drift, query-mismatch, broken-inverse, orphan, duplicate, schema-violation',
    ]);
    const started = await request(server())
      .post('/audits')
      .set('authorization', t.admin)
      .send({})
      .expect(202);
    expect(started.body).toMatchObject({ status: 'running', trigger: 'api', progress: { scanned: 0 } });
    const second = await request(server()).post('/audits').set('authorization', t.admin).send({}).expect(409);
    expect(second.body.details).toEqual([{ code: 'AUDIT_RUNNING', running: started.body.id }]);
    await t.app.get(IntegrityService).idle();
    const report = await request(server())
      .get(`/audits/${started.body.id}`)
      .set('authorization', t.viewer)
      .expect(200);
    expect(report.body.id).toBe(started.body.id);
    // under the default application, ODTP 0.5 (see libs/integrity/test/auditor.spec.ts for the findings)
    expect([report.body.app, report.body.summary]).toEqual([
      'odtp-0.5',
      { errors: 26, warnings: 5, scanned: 28 },
    ]);
    expect(report.body.findings).toHaveLength(71);
    const latest = await request(server()).get('/audits/latest').set('authorization', t.viewer).expect(200);
    expect(latest.body.id).toBe(started.body.id);
    const metrics = await request(server()).get('/metrics').set('authorization', t.viewer).expect(200);
    expect(metrics.text).toContain('odtp_audit_runs_total{trigger="api",status="done"} 1');
    expect(metrics.text).toContain('odtp_audit_violations{severity="error"} 26');
  });

  it('DELETE /audits/:id cancels a running audit (202), which ends cancelled and stores no report; 409 once it is over', async () => {
    const service = t.app.get(IntegrityService);
    const job = await service.start({ batchSize: 1 });
    const res = await request(server()).delete(`/audits/${job.id}`).set('authorization', t.admin).expect(202);
    expect([res.body.id, res.body.status, typeof res.body.cancelRequestedAt]).toEqual([
      job.id,
      'running',
      'string',
    ]);
    await service.idle();
    const ended = await request(server()).get(`/audits/${job.id}`).set('authorization', t.viewer).expect(200);
    expect(ended.body).toMatchObject({
      id: job.id,
      status: 'cancelled',
      error: 'the audit was cancelled',
      trigger: 'api',
    });
    expect(ended.body.findings).toBeUndefined();
    await request(server()).get(`/audits/${job.id}/findings`).set('authorization', t.viewer).expect(404);
    const again = await request(server())
      .delete(`/audits/${job.id}`)
      .set('authorization', t.admin)
      .expect(409);
    expect(again.body.details).toEqual([{ code: 'NOT_RUNNING' }]);
    const unknown = await request(server()).delete('/audits/nope').set('authorization', t.admin).expect(404);
    expect(unknown.body.details).toEqual([{ code: 'UNKNOWN_AUDIT' }]);
  });

  it('GET /audits pages the runs (reports and the cancelled one) and GET /audits/:id/findings pages and filters findings', async () => {
    const second = await request(server())
      .post('/audits')
      .set('authorization', t.admin)
      .send({ checks: ['orphan'] })
      .expect(202);
    await t.app.get(IntegrityService).idle();
    const list = await request(server())
      .get('/audits?page=1&pageSize=1')
      .set('authorization', t.viewer)
      .expect(200);
    expect(list.body).toMatchObject({ page: 1, pageSize: 1, total: 3 });
    expect(list.body.items.map((r: AuditReport) => r.id)).toEqual([second.body.id]);
    expect(list.body.items[0].findings).toBeUndefined();
    expect(list.body.items[0]).toMatchObject({
      status: 'done',
      trigger: 'api',
      request: { checks: ['orphan'] },
    });
    const cancelled = await request(server())
      .get('/audits?status=cancelled')
      .set('authorization', t.viewer)
      .expect(200);
    expect(cancelled.body.items.map((r: { status: string }) => r.status)).toEqual(['cancelled']);
    await request(server()).get('/audits?status=sleeping').set('authorization', t.viewer).expect(400);
    const page = await request(server())
      .get(`/audits/${second.body.id}/findings?check=orphan&collection=outputs`)
      .set('authorization', t.viewer)
      .expect(200);
    expect(page.body).toMatchObject({
      total: 1,
      items: [
        {
          check: 'orphan',
          collection: 'outputs',
          violations: 2,
          samples: [expect.stringMatching(/^[0-9a-f]{24}$/), expect.stringMatching(/^[0-9a-f]{24}$/)],
        },
      ],
    });
    await request(server())
      .get(`/audits/${second.body.id}/findings?check=nope`)
      .set('authorization', t.viewer)
      .expect(400);
    await request(server())
      .get('/audits/00000000-0000-0000-0000-000000000000')
      .set('authorization', t.viewer)
      .expect(404);
  });

  it('POST /repairs starts a job (202, run id at once) that plans by default; dryRun false applies; runs are listed; undo restores once', async () => {
    const service = t.app.get(IntegrityService);
    const latest = await request(server())
      .get('/audits?pageSize=100')
      .set('authorization', t.viewer)
      .expect(200);
    const full = latest.body.items.find((r: AuditReport) => r.summary?.errors > 0).id as string;
    await request(server())
      .post('/repairs')
      .set('authorization', t.viewer)
      .send({ reportId: full })
      .expect(403);
    await request(server()).get('/repairs').set('authorization', t.viewer).expect(403);
    const plan = await request(server())
      .post('/repairs')
      .set('authorization', t.admin)
      .send({ reportId: full })
      .expect(202);
    expect(plan.body).toMatchObject({ reportId: full, dryRun: true, status: 'running', trigger: 'api' });
    // one integrity job at a time: an audit (or another repair) meanwhile is refused, naming the run
    const busy = await request(server()).post('/audits').set('authorization', t.admin).send({}).expect(409);
    expect(busy.body.details).toEqual([{ code: 'REPAIR_RUNNING', running: plan.body.runId }]);
    await service.idle();
    const planned = await request(server())
      .get(`/repairs/${plan.body.runId}`)
      .set('authorization', t.admin)
      .expect(200);
    expect(planned.body).toMatchObject({
      status: 'done',
      dryRun: true,
      actions: 23,
      progress: { round: 1, applied: 0 },
      truncated: false,
    });
    expect(planned.body.rounds[0]).toHaveLength(23);
    const applied = await request(server())
      .post('/repairs')
      .set('authorization', t.admin)
      .send({ reportId: full, dryRun: false })
      .expect(202);
    await service.idle();
    const run = (await request(server()).get(`/repairs/${applied.body.runId}`).set('authorization', t.admin))
      .body;
    expect(run).toMatchObject({ status: 'done', dryRun: false, remainingErrors: 0 });
    expect(run.progress.applied).toBeGreaterThan(0);
    const list = await request(server())
      .get('/repairs?pageSize=10')
      .set('authorization', t.admin)
      .expect(200);
    expect(list.body.total).toBe(2);
    expect(list.body.items.map((r: { runId: string }) => r.runId)).toEqual([
      applied.body.runId,
      plan.body.runId,
    ]);
    expect(list.body.items[0].rounds).toBeUndefined();
    await request(server())
      .delete(`/repairs/${applied.body.runId}`)
      .set('authorization', t.admin)
      .expect(409);
    const journaled = await t.app
      .get(DatabaseService)
      .db()
      .collection('repairJournal')
      .countDocuments({ runId: applied.body.runId });
    expect(journaled).toBeGreaterThan(0);
    const undo = await request(server())
      .post(`/repairs/${applied.body.runId}/undo`)
      .set('authorization', t.admin)
      .send()
      .expect(200);
    expect(undo.body).toEqual({ restored: journaled, conflicts: [] });
    const again = await request(server())
      .post(`/repairs/${applied.body.runId}/undo`)
      .set('authorization', t.admin)
      .send()
      .expect(409);
    expect(again.body.details).toEqual([{ code: 'ALREADY_UNDONE' }]);
    const undone = await request(server())
      .get(`/repairs/${applied.body.runId}`)
      .set('authorization', t.admin);
    expect(typeof undone.body.undoneAt).toBe('string');
    await request(server()).post('/repairs/nope/undo').set('authorization', t.admin).send().expect(404);
    await request(server()).get('/repairs/nope').set('authorization', t.admin).expect(404);
    await request(server())
      .post(`/repairs/${applied.body.runId}/undo`)
      .set('authorization', t.admin)
      .send({ force: 'yes' })
      .expect(400);
    const badPolicy = await request(server())
      .post('/repairs')
      .set('authorization', t.admin)
      .send({ reportId: full, orphans: { outputs: 'burn' } })
      .expect(400);
    expect(badPolicy.body.details).toEqual([
      'orphans must map collection names (users, digitalTwins, components, versions, workflows, executions, steps, outputs, results, logs) to quarantine, delete, keep',
    ]);
  });

  it('DELETE /repairs/:id cancels a running repair (202), which ends cancelled; 409 once it is over, 404 for an unknown run', async () => {
    const service = t.app.get(IntegrityService);
    const db = t.app.get(DatabaseService).db();
    // enough defects that the repair is still running when the DELETE arrives, on any machine
    await loadLarge(db, { scale: 2000, seed: 5, defects: 0.02 });
    const report = await service.audit();
    const job = await service.startRepair(report.id, { dryRun: false });
    const res = await request(server())
      .delete(`/repairs/${job.runId}`)
      .set('authorization', t.admin)
      .expect(202);
    expect(res.body.runId).toBe(job.runId);
    await service.idle();
    const run = await request(server())
      .get(`/repairs/${job.runId}`)
      .set('authorization', t.admin)
      .expect(200);
    expect(run.body.status).toBe('cancelled');
    expect(run.body.error).toMatch(/^the repair was cancelled/);
    await request(server()).delete(`/repairs/${job.runId}`).set('authorization', t.admin).expect(409);
    await request(server()).delete('/repairs/nope').set('authorization', t.admin).expect(404);
  });
});

describe('scheduled audits', () => {
  let mongo: TestMongo;
  let hook: http.Server;
  const received: {
    newFindings: { check: string }[];
    reportId: string;
    reportPath: string;
    reportUrl?: string;
  }[] = [];

  beforeAll(async () => {
    mongo = await startTestMongo();
    hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d));
      req.on('end', () => {
        received.push(JSON.parse(body) as (typeof received)[number]);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    hook.close();
    await mongo.close();
  });

  it('two instances with a cron every second never audit at the same time, and new findings are posted to the webhook', async () => {
    const db = mongo.db();
    // Enough documents that an audit takes a while, with a few planted dangling references.
    await loadLarge(db, { scale: 30_000, seed: 3, defects: 0.002 });
    const env = {
      MONGODB_URI: mongo.uri,
      ODTP_DB_NAME: db.databaseName,
      AUDIT_CRON: '* * * * * *',
      AUDIT_WEBHOOK_URL: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook?token=secret`,
      ADMIN_PUBLIC_URL: 'https://odtp-admin.example.org/',
    };
    const a = await createTestApp({ env });
    const b = await createTestApp({ env });
    const skippedRuns = () =>
      a.app.get(IntegritySchedule).skippedRuns + b.app.get(IntegritySchedule).skippedRuns;
    // Run until two reports exist and one instance skipped a tick (polled, so a slow machine only waits longer).
    const deadline = Date.now() + 120_000;
    while (
      Date.now() < deadline &&
      ((await db.collection('integrityReports').countDocuments()) < 2 || skippedRuns() === 0)
    )
      await sleep(250);
    await a.app.close();
    await b.app.close();
    const reports = await db
      .collection('integrityReports')
      .find({}, { sort: { startedAt: 1 } })
      .toArray();
    expect(reports.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < reports.length; i++)
      expect((reports[i].startedAt as Date).getTime()).toBeGreaterThanOrEqual(
        (reports[i - 1].finishedAt as Date).getTime(),
      );
    expect(skippedRuns()).toBeGreaterThan(0);
    // The first report is all new; later ones find nothing new, so exactly one post.
    expect(received).toHaveLength(1);
    expect(received[0].reportId).toBe(reports[0]._id);
    // the webhook links to the HTML report of that audit
    expect([received[0].reportPath, received[0].reportUrl]).toEqual([
      `/audits/${reports[0]._id}/report`,
      `https://odtp-admin.example.org/audits/${reports[0]._id}/report`,
    ]);
    expect(received[0].newFindings.map((f) => f.check)).toContain('dangling-reference');
  }, 180_000);
});
