import request from 'supertest';
import { createTestApp } from './support/app';
import type { TestApp } from './support/app';

describe('admin audit log and metrics', () => {
  let t: TestApp;
  const server = () => t.app.getHttpServer();

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.app.close();
  });

  it('records who made each authenticated mutating call that was let through, what, and the outcome; refused, keyless calls and reads are not recorded', async () => {
    await request(server())
      .post('/schema/apply')
      .set('authorization', t.admin)
      .send({ action: 'warn', level: 'moderate' })
      .expect(200);
    await request(server()).post('/schema/apply').set('authorization', t.viewer).send({}).expect(403);
    await request(server()).post('/schema/apply').send({}).expect(401);
    await request(server()).get('/schema/plan').set('authorization', t.admin).expect(200);
    await request(server())
      .post('/schema/apply')
      .set('authorization', t.admin)
      .send({ action: 'nope' })
      .expect(400);
    // Entries are written after the response goes out: poll (up to 10 s) until the two are there.
    let res = await request(server()).get('/admin-log').set('authorization', t.admin).expect(200);
    for (let i = 0; i < 100 && res.body.items.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 100));
      res = await request(server()).get('/admin-log').set('authorization', t.admin).expect(200);
    }
    const rows = res.body.items.map(
      (e: {
        keyId: string | null;
        role: string | null;
        method: string;
        route: string;
        status: number;
        body: object;
      }) => [e.keyId, e.role, e.method, e.route, e.status, e.body],
    );
    expect(rows).toEqual([
      ['test-admin', 'admin', 'POST', '/schema/apply', 400, { action: 'nope' }],
      ['test-admin', 'admin', 'POST', '/schema/apply', 200, { action: 'warn', level: 'moderate' }],
    ]);
    expect(res.body.items[0].at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(res.body.next).toBeNull();
  });

  it('GET /admin-log needs the admin role and validates its query', async () => {
    await request(server()).get('/admin-log').set('authorization', t.viewer).expect(403);
    const bad = await request(server()).get('/admin-log?limit=0').set('authorization', t.admin).expect(400);
    expect(bad.body.details).toEqual(['limit must not be less than 1']);
  });

  it('GET /metrics serves Prometheus text to a viewer', async () => {
    await request(server()).get('/metrics').expect(401);
    const res = await request(server()).get('/metrics').set('authorization', t.viewer).expect(200);
    expect(res.headers['content-type'].split('; ').sort()).toEqual([
      'charset=utf-8',
      'text/plain',
      'version=0.0.4',
    ]);
    expect(res.text).toMatch(
      /^odtp_http_requests_total\{method="POST",route="\/schema\/apply",status="403"\} 1$/m,
    );
    expect(res.text).toMatch(
      /^odtp_http_request_duration_seconds_count\{method="GET",route="\/schema\/plan"\} 1$/m,
    );
    expect(res.text).toContain('odtp_process_resident_memory_bytes');
  });

  it('sends no CORS headers when CORS_ORIGINS is not set', async () => {
    const res = await request(server()).get('/health').set('origin', 'https://evil.example').expect(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('rejects bodies over BODY_LIMIT with 413 in the error shape', async () => {
    const res = await request(server())
      .post('/schema/apply')
      .set('authorization', t.admin)
      .set('content-type', 'application/json')
      .send(JSON.stringify({ level: 'x'.repeat(1_100_000) }))
      .expect(413);
    expect(res.body).toEqual({
      statusCode: 413,
      error: 'Payload Too Large',
      message: 'Request body is too large',
    });
  });
});

describe('rate limiting and CORS when configured', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({
      env: { RATE_LIMIT_PER_MINUTE: '3', CORS_ORIGINS: 'https://admin.example.org' },
    });
  });
  afterAll(async () => {
    await t.app.close();
  });

  it('limits mutating calls per minute (429) but not reads', async () => {
    const post = () =>
      request(t.app.getHttpServer())
        .post('/schema/apply')
        .set('authorization', t.admin)
        .send({ action: 'warn' });
    for (let i = 0; i < 3; i++) await post().expect(200);
    const limited = await post().expect(429);
    // the window is one minute from the first call: Retry-After counts what is left of it
    const retry = Number(limited.headers['retry-after']);
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    expect(limited.body).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: `Too many mutating calls for this API key: at most 3 per minute (retry in ${retry} s)`,
    });
    for (let i = 0; i < 5; i++)
      await request(t.app.getHttpServer()).get('/schema/plan').set('authorization', t.admin).expect(200);
  });

  it('allows the configured origin only', async () => {
    const ok = await request(t.app.getHttpServer())
      .get('/health')
      .set('origin', 'https://admin.example.org')
      .expect(200);
    expect(ok.headers['access-control-allow-origin']).toBe('https://admin.example.org');
    const other = await request(t.app.getHttpServer())
      .get('/health')
      .set('origin', 'https://evil.example')
      .expect(200);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});
