import request from 'supertest';
import { createTestApp } from './support/app';
import type { TestApp } from './support/app';

describe('authentication and roles', () => {
  let t: TestApp;
  const server = () => t.app.getHttpServer();

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.app.close();
  });

  it('GET /health needs no credentials', async () => {
    await request(server()).get('/health').expect(200);
  });

  it.each([
    ['GET', '/schema'],
    ['GET', '/schema/plan'],
    ['POST', '/schema/apply'],
  ])('%s %s answers 401 without a key and with an unknown key', async (method, path) => {
    const call = () =>
      method === 'GET' ? request(server()).get(path) : request(server()).post(path).send({});
    const none = await call().expect(401);
    expect(none.body).toEqual({
      statusCode: 401,
      error: 'Unauthorized',
      message: 'Missing credentials: send Authorization: Bearer <API key>',
    });
    const bad = await call().set('authorization', 'Bearer odtp_not-a-real-key').expect(401);
    expect(bad.body.message).toBe('Invalid API key');
    await call().set('authorization', 'Basic abc').expect(401);
  });

  it('a viewer reads (200) but cannot apply (403); an admin can', async () => {
    await request(server()).get('/schema/plan').set('authorization', t.viewer).expect(200);
    const denied = await request(server())
      .post('/schema/apply')
      .set('authorization', t.viewer)
      .send({})
      .expect(403);
    expect(denied.body).toEqual({
      statusCode: 403,
      error: 'Forbidden',
      message: 'This endpoint needs the admin role; key "test-viewer" is a viewer',
    });
    await request(server())
      .post('/schema/apply')
      .set('authorization', t.admin)
      .send({ action: 'warn' })
      .expect(200);
  });

  it.each([
    ['GET', '/schema', 200, 200],
    ['GET', '/collections', 200, 200],
    ['GET', '/collections/users/documents', 200, 200],
    ['GET', '/metrics', 200, 200],
    ['GET', '/admin-log', 403, 200],
    ['POST', '/schema/apply', 403, 200],
  ])(
    '%s %s: 401 without a key, %i for a viewer, %i for an admin',
    async (method, path, viewerStatus, adminStatus) => {
      const call = (auth?: string) => {
        const r =
          method === 'GET'
            ? request(server()).get(path)
            : request(server()).post(path).send({ action: 'warn' });
        return auth ? r.set('authorization', auth) : r;
      };
      await call().expect(401);
      await call(t.viewer).expect(viewerStatus);
      await call(t.admin).expect(adminStatus);
    },
  );

  it('the OpenAPI document declares the bearer scheme and uses it on protected operations', async () => {
    const doc = (await request(server()).get('/docs-json').expect(200)).body;
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/schema/plan'].get.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/health'].get.security).toBeUndefined();
  });
});
