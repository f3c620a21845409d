import * as fs from 'node:fs';
import * as path from 'node:path';
import { ObjectId } from 'bson';
import type { Document } from 'bson';
import { DumpError, exportDump, importDump, parseLegacyDate, readDump } from '@odtp/dump';
import { startTestMongo } from '../../../test/support/mongo';
import type { TestMongo } from '../../../test/support/mongo';
import { tempDir } from '../../../test/support/temp-dirs';

const FIXTURE = path.join(__dirname, '../../../test/fixtures/odtp-mock-2023-12.json');
let mongo: TestMongo;

beforeAll(async () => {
  mongo = await startTestMongo();
});
afterAll(async () => {
  await mongo.close();
});

function tmp(): string {
  return tempDir('odtp-dump-');
}

/** Every leaf of a plain JSON value with its path. */
function leaves(v: unknown, at = ''): [string, unknown][] {
  if (Array.isArray(v)) return v.flatMap((x, i) => leaves(x, `${at}.${i}`));
  if (v && typeof v === 'object')
    return Object.entries(v).flatMap(([k, x]) => leaves(x, at ? `${at}.${k}` : k));
  return [[at, v]];
}

function at(doc: unknown, p: string): unknown {
  return p.split('.').reduce<unknown>((cur, k) => (cur == null ? undefined : (cur as Document)[k]), doc);
}

describe('legacy dates', () => {
  it.each([
    ['2023-12-06 07:07:49.633000', '2023-12-06T07:07:49.633Z'],
    ['2023-12-06T08:07:49.691795', '2023-12-06T08:07:49.691Z'],
    ['2024-01-02T03:04:05Z', '2024-01-02T03:04:05.000Z'],
    ['2024-01-02 03:04:05+01:00', '2024-01-02T02:04:05.000Z'],
  ])('%s -> %s', (raw, iso) => {
    expect(parseLegacyDate(raw)?.toISOString()).toBe(iso);
  });

  it('leaves non-dates alone', () => {
    expect(parseLegacyDate('yesterday')).toBeUndefined();
  });
});

describe('the December 2023 ODTP dump', () => {
  it('imports with --legacy-json keeping every value (ids and dates converted, precision of dates in milliseconds)', async () => {
    const db = mongo.db();
    const original = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as Record<string, Document[]>;
    const result = await importDump(db, readDump(FIXTURE, { legacyJson: true }), { file: FIXTURE });
    expect(result.inserted).toEqual(
      Object.fromEntries(Object.entries(original).map(([c, docs]) => [c, docs.length])),
    );
    let checked = 0;
    for (const [collection, docs] of Object.entries(original)) {
      for (const doc of docs) {
        const stored = await db.collection(collection).findOne({ _id: new ObjectId(doc._id as string) });
        expect(stored).not.toBeNull();
        for (const [p, value] of leaves(doc)) {
          const got = at(stored, p);
          if (got instanceof ObjectId) expect(got.toHexString()).toBe(value);
          else if (got instanceof Date)
            expect(got.toISOString()).toBe(parseLegacyDate(value as string)!.toISOString());
          else expect([p, got]).toEqual([p, value]);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(300);
    const step = await db.collection('steps').findOne({});
    expect(step!.executionRef).toBeInstanceOf(ObjectId);
    expect(step!.logs[0].timestamp).toBeInstanceOf(Date);
    const version = await db.collection('versions').findOne({});
    expect(typeof version!.version).toBe('string');
  });
});

describe('export and import', () => {
  it('round-trips exactly through the single-file shape', async () => {
    const source = mongo.db();
    await source.collection('users').insertMany([
      {
        _id: new ObjectId(),
        displayName: 'A',
        created_at: new Date('2024-01-01T00:00:00.123Z'),
        n: 1,
        f: 1.5,
        nested: { list: [new ObjectId(), null, 'x'] },
      },
      { _id: new ObjectId(), displayName: 'B', deprecated: true },
    ]);
    await source
      .collection('logs')
      .insertOne({ _id: new ObjectId(), stepRef: new ObjectId(), logstring: 'é ☃' });
    // a view is not data: a dump that held its documents would import them as a collection
    await source.createCollection('deprecatedUsers', {
      viewOn: 'users',
      pipeline: [{ $match: { deprecated: true } }],
    });
    const dir = tmp();
    const file = path.join(dir, 'dump.json');
    fs.writeFileSync(file, await exportDump(source));
    expect([...readDump(file).keys()]).toEqual(['logs', 'users']);
    const target = mongo.db();
    await importDump(target, readDump(file));
    for (const c of ['users', 'logs']) {
      expect(await target.collection(c).find({}).sort({ _id: 1 }).toArray()).toEqual(
        await source.collection(c).find({}).sort({ _id: 1 }).toArray(),
      );
    }
    expect(await exportDump(target)).toBe(await exportDump(source));
    expect(await target.listCollections({ name: 'deprecatedUsers' }).toArray()).toEqual([]);
  });

  it('reads a folder of mongoexport files (one document per line, or an array)', async () => {
    const dir = tmp();
    const id = new ObjectId();
    fs.writeFileSync(
      path.join(dir, 'users.json'),
      `{"_id":{"$oid":"${id.toHexString()}"},"displayName":"A"}\n{"_id":{"$oid":"${new ObjectId().toHexString()}"},"displayName":"B"}\n`,
    );
    fs.writeFileSync(
      path.join(dir, 'logs.json'),
      `[{"_id":{"$oid":"${new ObjectId().toHexString()}"},"timestamp":{"$date":"2024-01-01T00:00:00Z"}}]`,
    );
    const dump = readDump(dir);
    expect([...dump.keys()]).toEqual(['logs', 'users']);
    expect(dump.get('users')![0]._id).toEqual(id);
    expect(dump.get('logs')![0].timestamp).toEqual(new Date('2024-01-01T00:00:00Z'));
  });

  it('a malformed document fails naming file, collection and index, and writes nothing', async () => {
    const dir = tmp();
    const file = path.join(dir, 'bad.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        users: [{ _id: '650000000000000000000001' }],
        logs: [{ _id: '650000000000000000000002' }, 'oops'],
      }),
    );
    const err = (() => {
      try {
        readDump(file, { legacyJson: true });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(DumpError);
    expect((err as Error).message).toBe(`${file}: collection logs, document 1: is not a JSON object`);
    fs.writeFileSync(file, '{"users": [');
    expect(() => readDump(file)).toThrow(`${file}: is not valid JSON`);
  });

  it('refuses to overwrite existing documents without --drop, before writing anything', async () => {
    const db = mongo.db();
    const id = new ObjectId();
    await db.collection('users').insertOne({ _id: id, displayName: 'old' });
    const dump = new Map<string, Document[]>([
      ['logs', [{ _id: new ObjectId() }]],
      ['users', [{ _id: id, displayName: 'new' }]],
    ]);
    await expect(importDump(db, dump, { file: 'x.json' })).rejects.toThrow(
      `x.json: collection users: _id {"$oid":"${id.toHexString()}"} already exists in the database (use --drop to replace the collections)`,
    );
    expect(await db.collection('logs').countDocuments()).toBe(0);
    await importDump(db, dump, { drop: true });
    expect((await db.collection('users').findOne({ _id: id }))?.displayName).toBe('new');
  });
});
