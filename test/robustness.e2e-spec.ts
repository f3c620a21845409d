import request from 'supertest';
import { createTestApp } from './support/app';
import type { TestApp } from './support/app';

/** Hostile inputs: malformed JSON, wrong types, huge numbers, unicode, operator injection. */
const BODIES: [string, string][] = [
  ['malformed JSON', '{"level":'],
  ['not an object', '[1,2,3]'],
  ['a string', '"strict"'],
  ['wrong types', '{"level":5,"action":[],"force":"yes","prune":{}}'],
  ['huge number', '{"level":1e400,"force":123456789012345678901234567890}'],
  ['unicode', '{"level":"\\u0000\\ud83d\\ude00 ☃ \\u202e","action":"ｅｒｒｏｒ"}'],
  ['operator injection', '{"level":{"$gt":""},"$where":"1","__proto__":{"admin":true}}'],
  ['deep nesting', '{"a":' + '['.repeat(500) + ']'.repeat(500) + '}'],
];

const QUERIES = [
  '?limit=1e400',
  '?limit=-1',
  '?limit=abc',
  '?sort[$gt]=a',
  '?order[]=asc&order[]=desc',
  '?after=%00%ff',
  '?before=zzz',
  '?displayName=%F0%9F%98%80',
  '?displayName=%C0%AF',
  '?_id[$ne]=1',
  '?created_at=99999-99-99',
  '?deprecated=%00',
];

const PATHS = [
  '/health',
  '/schema',
  '/schema/plan',
  '/collections',
  '/collections/users/documents',
  '/collections/%24users/documents',
  '/collections/users/documents/650000000000000000000001',
  '/collections/users/documents/%7B%22%24ne%22%3A1%7D',
  '/collections/' + 'x'.repeat(5000) + '/documents',
  '/collections/users/documents/' + '0'.repeat(5000),
  '/admin-log',
  '/metrics',
];

describe('no 500 for bad input', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_PER_MINUTE: '100000' } });
  });
  afterAll(async () => {
    await t.app.close();
  });

  it.each(BODIES)('POST /schema/apply with %s answers 4xx in the error shape', async (_name, body) => {
    const res = await request(t.app.getHttpServer())
      .post('/schema/apply')
      .set('authorization', t.admin)
      .set('content-type', 'application/json')
      .send(body);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(Object.keys(res.body).sort()).toEqual(expect.arrayContaining(['error', 'message', 'statusCode']));
  });

  it('every GET endpoint answers below 500 for every hostile query string', async () => {
    const failures: string[] = [];
    for (const path of PATHS) {
      for (const query of ['', ...QUERIES]) {
        const res = await request(t.app.getHttpServer())
          .get(path + query)
          .set('authorization', t.admin);
        if (res.status >= 500) failures.push(`${path}${query} -> ${res.status} ${JSON.stringify(res.body)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('non-JSON content types and unsupported methods are below 500', async () => {
    const server = t.app.getHttpServer();
    for (const [type, body] of [
      ['text/plain', 'level=strict'],
      ['application/x-www-form-urlencoded', 'level[$gt]=&force=1'],
      ['application/xml', '<a/>'],
    ]) {
      const res = await request(server)
        .post('/schema/apply')
        .set('authorization', t.admin)
        .set('content-type', type)
        .send(body);
      expect(res.status).toBeLessThan(500);
    }
    for (const method of ['put', 'patch', 'delete'] as const) {
      expect((await request(server)[method]('/schema').set('authorization', t.admin)).status).toBe(404);
    }
  });
});
