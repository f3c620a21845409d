import { ObjectId } from 'bson';
import request from 'supertest';
import { DatabaseService } from '@odtp/database';
import { createTestApp } from './support/app';
import type { TestApp } from './support/app';

describe('schema endpoints', () => {
  let t: TestApp;
  const get = (path: string) => request(t.app.getHttpServer()).get(path).set('authorization', t.admin);
  const post = (path: string) => request(t.app.getHttpServer()).post(path).set('authorization', t.admin);

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.app.close();
  });

  it('GET /schema returns the graph, the derived schemas and indexes', async () => {
    const res = await get('/schema').expect(200);
    expect(res.body.collections).toHaveLength(10);
    expect(res.body.graph).toHaveLength(20);
    expect(res.body.graph[0]).toEqual({
      from: 'users',
      path: 'digitalTwins',
      to: 'digitalTwins',
      many: true,
      inverse: 'userRef',
    });
    expect(res.body.schemas.steps.required).toEqual(['_id', 'executionRef', 'component_version']);
    expect(res.body.indexes.filter((i: { unique: boolean }) => i.unique)).toHaveLength(5);
  });

  it('GET /schema/plan reports every collection as missing on an empty database', async () => {
    const res = await get('/schema/plan').expect(200);
    expect(res.body).toHaveLength(10);
    expect(res.body[0]).toMatchObject({
      collection: 'users',
      exists: false,
      validator: 'missing',
      violations: 0,
    });
  });

  it('POST /schema/apply validates its body', async () => {
    const res = await post('/schema/apply').send({ level: 'loose', extra: 1 }).expect(400);
    expect(res.body.details).toEqual([
      'property extra should not exist',
      'level must be one of the following values: strict, moderate',
    ]);
  });

  it('POST /schema/apply applies, then has nothing to do, then refuses with 409 while a document violates the schema', async () => {
    const first = await post('/schema/apply').send({}).expect(200);
    expect(first.body.status).toBe('applied');
    const second = await post('/schema/apply').send({}).expect(200);
    expect(second.body).toMatchObject({ status: 'unchanged', changes: [] });
    const db = t.app.get(DatabaseService).db();
    const bad = new ObjectId();
    await db.collection('users').insertOne({ _id: bad, displayName: 7 }, { bypassDocumentValidation: true });
    const refused = await post('/schema/apply').send({ level: 'moderate' }).expect(409);
    expect(refused.body).toEqual({
      statusCode: 409,
      error: 'Conflict',
      message: expect.stringMatching(/^schema apply refused, nothing changed:\n {2}/),
      details: [
        `users: 1 document(s) violate the schema (e.g. {"$oid":"${bad.toHexString()}"}); fix them, or use --action warn`,
      ],
    });
    const warned = await post('/schema/apply').send({ level: 'moderate', action: 'warn' }).expect(200);
    expect(warned.body.status).toBe('applied');
  });
});
