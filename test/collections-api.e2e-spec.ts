import { ObjectId } from 'bson';
import request from 'supertest';
import { DatabaseService } from '@odtp/database';
import { createTestApp } from './support/app';
import type { TestApp } from './support/app';

describe('document browser', () => {
  let t: TestApp;
  const get = (path: string) => request(t.app.getHttpServer()).get(path).set('authorization', t.viewer);
  const oid = (n: number) => new ObjectId(n.toString(16).padStart(24, '0'));
  const ann = oid(1);
  const bob = oid(2);
  const twin = oid(10);
  const ghost = oid(99);

  beforeAll(async () => {
    t = await createTestApp();
    const db = t.app.get(DatabaseService).db();
    const at = (d: number) => new Date(Date.UTC(2024, 0, d));
    await db.collection('users').insertMany([
      {
        _id: ann,
        displayName: 'Ann',
        email: 'ann@x.org',
        created_at: at(1),
        updated_at: at(1),
        digitalTwins: [twin, ghost],
        deprecated: false,
      },
      {
        _id: bob,
        displayName: 'Bob',
        email: 'bob@x.org',
        created_at: at(2),
        updated_at: at(2),
        digitalTwins: [],
        deprecated: true,
      },
      ...Array.from({ length: 5 }, (_, i) => ({
        _id: oid(3 + i),
        displayName: `U${i}`,
        created_at: at(3 + i),
        updated_at: at(3 + i),
        digitalTwins: [],
        deprecated: false,
      })),
    ]);
    await db.collection('digitalTwins').insertMany([
      { _id: twin, userRef: ann, name: 'T', executions: [], created_at: at(1), updated_at: at(1) },
      { _id: oid(11), userRef: ann, name: 'T2', executions: [], created_at: at(1), updated_at: at(1) },
    ]);
  });
  afterAll(async () => {
    await t.app.close();
  });

  it('GET /collections lists the ten collections with counts, validator state and indexes', async () => {
    const res = await get('/collections').expect(200);
    expect(res.body).toHaveLength(10);
    expect(res.body[0]).toEqual({
      name: 'users',
      count: 7,
      validator: 'missing',
      validationLevel: null,
      validationAction: null,
      indexes: [{ name: '_id_', key: { _id: 1 }, unique: false }],
    });
    expect(res.body.find((c: { name: string }) => c.name === 'logs')).toMatchObject({
      count: 0,
      indexes: [],
    });
  });

  it('filters with values converted to the schema type and returns Extended JSON', async () => {
    const byBool = await get('/collections/users/documents?deprecated=true').expect(200);
    expect(byBool.body.items).toEqual([
      {
        _id: { $oid: bob.toHexString() },
        displayName: 'Bob',
        email: 'bob@x.org',
        created_at: { $date: '2024-01-02T00:00:00Z' },
        updated_at: { $date: '2024-01-02T00:00:00Z' },
        digitalTwins: [],
        deprecated: true,
      },
    ]);
    const byRef = await get(
      `/collections/digitalTwins/documents?userRef=${ann.toHexString()}&sort=name&order=desc`,
    ).expect(200);
    expect(byRef.body.items.map((d: { name: string }) => d.name)).toEqual(['T2', 'T']);
    const byArrayRef = await get(`/collections/users/documents?digitalTwins=${twin.toHexString()}`).expect(
      200,
    );
    expect(byArrayRef.body.items.map((d: { displayName: string }) => d.displayName)).toEqual(['Ann']);
    const byDate = await get('/collections/users/documents?created_at=2024-01-03T00:00:00.000Z').expect(200);
    expect(byDate.body.items.map((d: { displayName: string }) => d.displayName)).toEqual(['U0']);
  });

  it('paginates with a cursor, by _id and by another field, in both orders', async () => {
    const names: string[] = [];
    let after: string | null = null;
    do {
      const url: string = `/collections/users/documents?sort=created_at&order=desc&limit=3${after ? `&after=${after}` : ''}`;
      const res = await get(url).expect(200);
      names.push(...res.body.items.map((d: { displayName: string }) => d.displayName));
      after = res.body.next;
    } while (after);
    expect(names).toEqual(['U4', 'U3', 'U2', 'U1', 'U0', 'Bob', 'Ann']);
    const first = await get('/collections/users/documents?limit=2').expect(200);
    const second = await get(`/collections/users/documents?limit=2&after=${first.body.next}`).expect(200);
    expect(
      [...first.body.items, ...second.body.items].map((d: { displayName: string }) => d.displayName),
    ).toEqual(['Ann', 'Bob', 'U0', 'U1']);
  });

  it.each([
    ['/collections/users/documents?nickname=x', 'unknown field "nickname" for users'],
    [
      '/collections/users/documents?displayName[$ne]=x',
      'query parameter names must not contain "$" (got "displayName[$ne]")',
    ],
    ['/collections/users/documents?$where=1', 'query parameter names must not contain "$" (got "$where")'],
    ['/collections/users/documents?displayName=%24ne', 'value of displayName must not contain "$"'],
    ['/collections/users/documents?deprecated=yes', 'value of deprecated must be bool (got "yes")'],
    ['/collections/users/documents?_id=123', 'value of _id must be objectId (got "123")'],
    ['/collections/users/documents?limit=500', 'limit must be an integer from 1 to 200 (got "500")'],
    ['/collections/users/documents?order=up', 'order must be asc or desc (got "up")'],
    ['/collections/users/documents?sort=nope', 'unknown field "nope" for users'],
    [
      '/collections/users/documents?after=garbage',
      'after is not a cursor returned by this endpoint (malformed)',
    ],
    [
      '/collections/users/documents?displayName=a&displayName=b',
      'query parameter "displayName" must be given once, as a plain value',
    ],
    ['/collections/users/documents/not-an-id', '"not-an-id" is not a valid ObjectId (24 hex digits)'],
  ])('GET %s is a 400 naming the problem', async (url, message) => {
    const res = await get(url).expect(400);
    expect(res.body).toEqual({ statusCode: 400, error: 'Bad Request', message });
  });

  it('unknown collections and documents are 404', async () => {
    expect((await get('/collections/nope/documents').expect(404)).body.message).toBe(
      'unknown collection "nope" (known: users, digitalTwins, components, versions, workflows, executions, steps, outputs, results, logs)',
    );
    expect((await get(`/collections/users/documents/${ghost.toHexString()}`).expect(404)).body.message).toBe(
      `no document ${ghost.toHexString()} in users`,
    );
  });

  it('resolves outgoing references (a dangling one has exists: false) and counts incoming ones', async () => {
    const res = await get(`/collections/users/documents/${ann.toHexString()}`).expect(200);
    expect(res.body.document.displayName).toBe('Ann');
    expect(res.body.references).toEqual([
      { path: 'digitalTwins', id: twin.toHexString(), target: 'digitalTwins', exists: true },
      { path: 'digitalTwins', id: ghost.toHexString(), target: 'digitalTwins', exists: false },
    ]);
    expect(res.body.incoming).toEqual([
      { from: 'digitalTwins', path: 'userRef', count: 2 },
      { from: 'outputs', path: 'access_control.authorized_users', count: 0 },
    ]);
  });
});
