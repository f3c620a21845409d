import * as path from 'node:path';
import request from 'supertest';
import { DatabaseService } from '@odtp/database';
import { importDump, readDump } from '@odtp/dump';
import { LeaseLock } from '@odtp/database';
import { defaultMigrationsDir, MigrationFiles } from '@odtp/migrations';
import { createTestApp } from './support/app';
import type { TestApp } from './support/app';

const fixture = path.join(__dirname, '..', 'libs', 'migrations', 'test', 'fixtures', 'gen1-2023-12.json');
const files = new MigrationFiles(defaultMigrationsDir()).list();
/** The migrations ODTP 0.5 (the default ODTP_APP) cannot live with. */
const HELD = [
  '20261126081600-rename-camelcase-timestamps.ts',
  '20261126081700-application-references-to-objectid.ts',
  '20261126081800-fold-dt-id.ts',
  '20261204120000-finish-target-shapes.ts',
];

describe('migration endpoints', () => {
  let t: TestApp;
  const server = () => t.app.getHttpServer();

  beforeAll(async () => {
    t = await createTestApp();
    await importDump(t.app.get(DatabaseService).db(), readDump(fixture));
  });
  afterAll(async () => {
    await t.app.close();
  });

  it('GET /migrations lists every migration as pending on a database that was never migrated, and holds the ones ODTP 0.5 cannot live with (the default ODTP_APP)', async () => {
    const res = await request(server()).get('/migrations').set('authorization', t.viewer).expect(200);
    expect(res.body.map((m: { name: string; state: string }) => [m.name, m.state])).toEqual(
      files.map((f) => [f, HELD.includes(f) ? 'held' : 'pending']),
    );
    expect(res.body[0].checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(res.body[0]).toMatchObject({ app: 'odtp-0.5', requires: 'odtp-0.5' });
    const fold = res.body.find((m: { name: string }) => m.name === '20261126081800-fold-dt-id.ts');
    expect(fold).toMatchObject({
      state: 'held',
      app: 'odtp-0.5',
      requires: 'transition',
      heldBecause: ['ODTP 0.5 writes executions.dt_id (a string)'],
    });
  });

  it('POST /migrations/plan counts the documents each pending migration would change, up to `to`', async () => {
    const res = await request(server())
      .post('/migrations/plan')
      .set('authorization', t.viewer)
      .send({ to: '20261126080400-rename-result-execution-ref' })
      .expect(200);
    expect(res.body.map((m: { name: string; changes: object }) => [m.name, m.changes])).toEqual([
      ['20261126080000-baseline.ts', {}],
      ['20261126080100-rename-output-collection.ts', { outputs: 1 }],
      ['20261126080200-rename-workflow-executor-fields.ts', { executions: 1 }],
      ['20261126080300-rename-version-fields.ts', { versions: 1 }],
      ['20261126080400-rename-result-execution-ref.ts', { results: 1 }],
    ]);
    const bad = await request(server())
      .post('/migrations/plan')
      .set('authorization', t.viewer)
      .send({ to: '$where' })
      .expect(400);
    expect(bad.body.details).toEqual(['to must be a migration name such as 20261126080900-fold-dt-id']);
  });

  it('POST /migrations/up needs the admin role and validates its body', async () => {
    await request(server()).post('/migrations/up').send({}).expect(401);
    await request(server()).post('/migrations/up').set('authorization', t.viewer).send({}).expect(403);
    const res = await request(server())
      .post('/migrations/up')
      .set('authorization', t.admin)
      .send({ waitSeconds: 600, drop: true })
      .expect(400);
    expect(res.body.details).toEqual([
      'property drop should not exist',
      'waitSeconds must not be greater than 60',
    ]);
  });

  it('POST /migrations/up answers 409 naming the holder while another runner holds the lock, and applies once it is free', async () => {
    const lock = new LeaseLock(t.app.get(DatabaseService).db());
    const held = await lock.acquire();
    const refused = await request(server())
      .post('/migrations/up')
      .set('authorization', t.admin)
      .send({})
      .expect(409);
    expect(refused.body).toMatchObject({ statusCode: 409, error: 'Conflict' });
    expect(refused.body.message).toMatch(
      new RegExp(`^migrations are locked by .+ pid ${process.pid} \\(run ${held.owner.runId}\\)`),
    );
    expect(refused.body.details[0]).toMatchObject({
      code: 'LOCK_HELD',
      holder: { _id: 'migrations', owner: { runId: held.owner.runId } },
    });
    await held.release();

    const dry = await request(server())
      .post('/migrations/up')
      .set('authorization', t.admin)
      .send({ dryRun: true })
      .expect(200);
    expect(dry.body.dryRun).toBe(true);
    expect(dry.body.migrations).toHaveLength(files.length - HELD.length);
    expect(dry.body.held.map((h: { name: string }) => h.name)).toEqual(HELD);
    const applied = await request(server())
      .post('/migrations/up')
      .set('authorization', t.admin)
      .send({})
      .expect(200);
    expect(applied.body.dryRun).toBe(false);
    expect(applied.body.migrations.map((m: { name: string }) => m.name)).toEqual(
      files.filter((f) => !HELD.includes(f)),
    );
    expect(applied.body).toMatchObject({ app: 'odtp-0.5' });
    expect(applied.body.held.map((h: { name: string }) => h.name)).toEqual(HELD);
    expect(
      applied.body.migrations.find((m: { name: string }) => m.name === '20261126081200-move-step-logs.ts')
        .changes,
    ).toEqual({
      steps: 1,
      logs: 2,
    });
    const again = await request(server())
      .post('/migrations/up')
      .set('authorization', t.admin)
      .send({})
      .expect(200);
    expect(again.body.migrations).toEqual([]);
    const status = await request(server()).get('/migrations').set('authorization', t.viewer).expect(200);
    expect(new Set(status.body.map((m: { state: string }) => m.state))).toEqual(new Set(['applied', 'held']));
    const metrics = await request(server()).get('/metrics').set('authorization', t.viewer).expect(200);
    expect(metrics.text).toContain('odtp_migrations_pending 0');
    expect(metrics.text).toContain(`odtp_migrations_held ${HELD.length}`);
    expect(metrics.text).toContain(`odtp_migrations_applied_total ${files.length - HELD.length}`);
  });
});
