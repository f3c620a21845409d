import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ObjectId } from 'bson';
import request from 'supertest';
import { DatabaseService } from '@odtp/database';
import { createTestApp } from '../support/app';
import type { TestApp } from '../support/app';

const SECRET = 'test-cursor-secret-0123456789abcdef0123456789';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
/** A cursor signed with the server's key: what an attacker who stole the key could send. */
const signed = (payload: unknown) => {
  const p = b64(payload);
  return `${p}.${createHmac('sha256', SECRET).update(p).digest('base64url')}`;
};

describe('security: the browse cursor cannot carry operators', () => {
  let t: TestApp;
  const server = () => t.app.getHttpServer();
  const browse = (after: string) =>
    request(server())
      .get(`/collections/users/documents?limit=2&after=${encodeURIComponent(after)}`)
      .set('authorization', t.viewer);
  const figures: string[] = [];

  beforeAll(async () => {
    t = await createTestApp({ env: { BROWSE_CURSOR_SECRET: SECRET } });
    const db = t.app.get(DatabaseService).db();
    // long strings of the ReDoS pattern's alphabet: a backtracking matcher would take ages on these
    await db.collection('users').insertMany(
      Array.from({ length: 200 }, (_, i) => ({
        _id: new ObjectId(),
        displayName: `${'a'.repeat(40)}.${i}`,
        email: `${'a'.repeat(5000)}@x.org`,
      })),
    );
  });
  afterAll(async () => {
    fs.mkdirSync('test-artifacts', { recursive: true });
    fs.writeFileSync(
      path.join('test-artifacts', 'security-figures.md'),
      `# Hostile cursors (this run)\n\n${figures.join('\n')}\n`,
    );
    await t.app.close();
  });

  const oid = new ObjectId().toHexString();
  it.each([
    [
      'an unsigned EJSON cursor with $in (the old format)',
      b64({ v: { $in: ['a', 'b'] }, i: { $oid: oid } }),
      'malformed',
    ],
    [
      'an unsigned EJSON cursor with a ReDoS regular expression',
      b64({ v: { $regularExpression: { pattern: '^([a-z.@]+)+!$', options: '' } }, i: { $oid: oid } }),
      'malformed',
    ],
    [
      'a genuine payload with a forged signature',
      `${b64({ s: '_id', r: 'asc', v: { o: oid }, i: { o: oid } })}.AAAA`,
      'bad signature',
    ],
    [
      'a signed cursor whose value is $in',
      signed({ s: '_id', r: 'asc', v: { $in: [oid] }, i: { o: oid } }),
      'malformed',
    ],
    [
      'a signed cursor whose value is a regular expression',
      signed({
        s: '_id',
        r: 'asc',
        v: { $regularExpression: { pattern: '^([a-z.@]+)+!$', options: '' } },
        i: { o: oid },
      }),
      'malformed',
    ],
    [
      'a signed cursor with an operator inside a typed string',
      signed({ s: '_id', r: 'asc', v: { s: { $gt: '' } }, i: { o: oid } }),
      'malformed',
    ],
    [
      'a signed cursor with two tags',
      signed({ s: '_id', r: 'asc', v: { s: 'a', n: 1 }, i: { o: oid } }),
      'malformed',
    ],
    [
      'a signed cursor for another sort',
      signed({ s: 'email', r: 'asc', v: { s: 'a' }, i: { o: oid } }),
      'made for another sort than _id asc',
    ],
    ['a cursor of 3,000 characters', 'a'.repeat(3000), 'too long'],
  ])('%s is a 400 and /health answers meanwhile', async (what, cursor, why) => {
    const started = process.hrtime.bigint();
    const [res, health] = await Promise.all([browse(cursor), request(server()).get('/health')]);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    figures.push(`- ${what}: ${res.status} in ${ms.toFixed(1)} ms (with /health ${health.status})`);
    expect(res.status).toBe(400);
    expect(res.body.message).toBe(`after is not a cursor returned by this endpoint (${why})`);
    expect(health.status).toBe(200);
  });

  it('the cursors the endpoint hands out still page through everything', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const url: string = `/collections/users/documents?sort=displayName&limit=50${after ? `&after=${after}` : ''}`;
      const res = await request(server()).get(url).set('authorization', t.viewer).expect(200);
      seen.push(...res.body.items.map((d: { displayName: string }) => d.displayName));
      after = res.body.next;
    } while (after);
    expect(seen).toHaveLength(200);
    expect(new Set(seen).size).toBe(200);
  });

  it('a filter value is a literal, never a pattern or an operator', async () => {
    const res = await request(server())
      .get(`/collections/users/documents?displayName=${encodeURIComponent('^([a-z.@]+)+!')}`)
      .set('authorization', t.viewer)
      .expect(200);
    expect(res.body.items).toEqual([]);
    await request(server())
      .get(`/collections/users/documents?displayName=${encodeURIComponent('{"$gt":""}')}`)
      .set('authorization', t.viewer)
      .expect(400);
  });
});
