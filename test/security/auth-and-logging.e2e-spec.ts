import type { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import request from 'supertest';
import { DatabaseService } from '@odtp/database';
import { IntegrityError, IntegrityErrorCode, IntegrityService, publicJobError } from '@odtp/integrity';
import { authFailureListener } from '../../apps/admin-api/src/common/auth-failures';
import { MetricsService } from '../../apps/admin-api/src/metrics/metrics.service';
import { createTestApp } from '../support/app';
import type { TestApp } from '../support/app';

/** `total` requests through `concurrency` parallel lanes; resolves to the status codes seen, counted. */
async function flood(
  total: number,
  concurrency: number,
  send: (i: number) => Promise<Response>,
): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {};
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total) {
      const res = await send(next++);
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return statuses;
}

const metric = (text: string, name: string): number =>
  Number(new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);

describe('security: who reaches the admin log, the limits and the error texts', () => {
  let t: TestApp;
  let base: string;
  const server = () => t.app.getHttpServer();
  const adminLog = () => t.app.get(DatabaseService).db().collection('adminAuditLog');

  beforeAll(async () => {
    t = await createTestApp({ env: { AUTH_FAILURE_LIMIT_PER_MINUTE: '20', ADMIN_LOG_RETENTION_DAYS: '30' } });
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await t.app.close();
  });

  it("5,000 keyless mutations (unknown routes, and real ones) and a viewer's refused one leave adminAuditLog unchanged; refusals are counted in metrics", async () => {
    const before = await adminLog().countDocuments();
    const unknown = await flood(5000, 50, (i) => fetch(`${base}/x${i}`, { method: 'POST', body: '{}' }));
    expect(unknown).toEqual({ 404: 5000 });
    const keyless = await flood(200, 20, () =>
      fetch(`${base}/audits`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      }),
    );
    expect(keyless).toEqual({ 401: 200 });
    // a viewer's refused call is counted, not recorded; a marker (one admin call let through) is recorded.
    // Entries are written once the response is out: poll for the marker.
    await request(server()).post('/audits').set('authorization', t.viewer).send({}).expect(403);
    await request(server())
      .post('/audits')
      .set('authorization', t.admin)
      .send({ checks: ['orphan'] })
      .expect(202);
    await t.app.get(IntegrityService).idle();
    let count = await adminLog().countDocuments();
    for (let i = 0; i < 200 && count === before; i++) {
      await new Promise((r) => setTimeout(r, 50));
      count = await adminLog().countDocuments();
    }
    expect(count).toBe(before + 1);
    expect(await adminLog().findOne({}, { sort: { at: -1 } })).toMatchObject({
      keyId: 'test-admin',
      route: '/audits',
      status: 202,
    });
    const metrics = (await request(server()).get('/metrics').set('authorization', t.viewer).expect(200)).text;
    expect(metric(metrics, 'odtp_auth_failures_total{reason="missing"}')).toBe(200);
    expect(metric(metrics, 'odtp_auth_failures_total{reason="forbidden"}')).toBe(1);
    expect(metric(metrics, 'odtp_admin_refused_calls_total{status="403"}')).toBe(1);
  });

  it('the admin log expires after ADMIN_LOG_RETENTION_DAYS through a TTL index', async () => {
    const indexes = await adminLog().indexes();
    expect(indexes.find((i) => i.name === 'at_ttl')).toMatchObject({
      key: { at: 1 },
      expireAfterSeconds: 30 * 86_400,
    });
  });

  it('invalid keys are limited per address (429 after AUTH_FAILURE_LIMIT_PER_MINUTE); a valid admin key from that address is not', async () => {
    const statuses = await flood(70, 5, () =>
      fetch(`${base}/audits`, {
        method: 'POST',
        headers: { authorization: 'Bearer odtp_not-a-real-key', 'content-type': 'application/json' },
        body: '{}',
      }),
    );
    expect(statuses).toEqual({ 401: 20, 429: 50 });
    const limited = await request(server())
      .post('/audits')
      .set('authorization', 'Bearer odtp_still-wrong')
      .send({})
      .expect(429);
    expect(limited.body.message).toBe('Too many failed authentications from this address; retry in a minute');
    // 70 keyless and 70 invalid-key POST /audits from the admin's own address: the admin still gets through
    await flood(70, 5, () => fetch(`${base}/audits`, { method: 'POST', body: '{}' }));
    const started = await request(server())
      .post('/audits')
      .set('authorization', t.admin)
      .send({})
      .expect(202);
    expect(started.body.status).toBe('running');
    await t.app.get(IntegrityService).idle();
    const metrics = (await request(server()).get('/metrics').set('authorization', t.viewer).expect(200)).text;
    expect(metric(metrics, 'odtp_auth_failures_total{reason="invalid"}')).toBe(20);
    expect(metric(metrics, 'odtp_auth_failures_total{reason="limited"}')).toBe(51);
  });

  it('a malformed JSON body gets a fixed message, not the parser text', async () => {
    const res = await request(server())
      .post('/schema/apply')
      .set('authorization', t.admin)
      .set('content-type', 'application/json')
      .send('{"action": "warn", ')
      .expect(400);
    expect(res.body).toEqual({
      statusCode: 400,
      error: 'Bad Request',
      message: 'Malformed JSON in request body',
    });
  });

  it('a failed job says what failed without internals', () => {
    const config = { queryTimeoutMs: 1500 };
    expect(
      publicJobError(new Error('connection 7 to 10.0.0.12:27017 closed; user=odtp pass=hunter2'), config),
    ).toBe('internal error (details in the server log under this job id)');
    expect(
      publicJobError(Object.assign(new Error('operation exceeded time limit'), { code: 50 }), config),
    ).toBe('a query ran longer than QUERY_TIMEOUT_MS (1500 ms)');
    expect(
      publicJobError(new IntegrityError(IntegrityErrorCode.UnknownReport, 'no audit report "x"'), config),
    ).toBe('no audit report "x"');
  });

  it('refused authentications are logged at most once a minute, summed up, with no key or address in the line', () => {
    const lines: string[] = [];
    let now = 0;
    const metrics = new MetricsService();
    const listener = authFailureListener(metrics, () => now);
    const warn = jest
      .spyOn(Logger.prototype, 'warn')
      .mockImplementation((...args: unknown[]) => void lines.push(String(args[0])));
    try {
      for (let i = 0; i < 500; i++) listener(i % 2 ? 'missing' : 'invalid', `10.0.0.${i % 7}`);
      now = 60_001;
      listener('invalid', '10.0.0.9');
    } finally {
      warn.mockRestore();
    }
    expect(lines).toEqual([
      '1 refused authentication(s) in the last minute (invalid: 1) from 1 address(es)',
      '500 refused authentication(s) in the last minute (missing: 250, invalid: 250) from 8 address(es)',
    ]);
  });
});

describe('security: rate limits are per API key, after authentication', () => {
  let t: TestApp;
  const server = () => t.app.getHttpServer();

  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_PER_MINUTE: '2', HEAVY_RATE_LIMIT_PER_MINUTE: '2' } });
  });
  afterAll(async () => {
    await t.app.close();
  });

  it('heavy reads are limited per key; another key, light reads and /health are not affected', async () => {
    for (let i = 0; i < 2; i++)
      await request(server()).get('/schema/plan').set('authorization', t.admin).expect(200);
    const limited = await request(server()).get('/schema/plan').set('authorization', t.admin).expect(429);
    expect(limited.body.message).toMatch(
      /^Too many heavy reads for this API key: at most 2 per minute \(retry in \d+ s\)$/,
    );
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    await request(server()).get('/schema/plan').set('authorization', t.viewer).expect(200);
    for (let i = 0; i < 5; i++) {
      await request(server()).get('/schema').set('authorization', t.admin).expect(200);
      await request(server()).get('/health').expect(200);
    }
  });

  it('keyless calls never use up a key budget', async () => {
    for (let i = 0; i < 20; i++) await request(server()).post('/audits').send({}).expect(401);
    await request(server()).post('/audits').set('authorization', t.admin).send({}).expect(202);
    await t.app.get(IntegrityService).idle();
  });
});
