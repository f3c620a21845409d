import { ObjectId } from 'bson';
import type { Document } from 'bson';
import { MongoServerError } from 'mongodb';
import type { Db } from 'mongodb';
import { applySchema, COLLECTION_NAMES, planSchema } from '@odtp/schema';
import { startTestMongo } from '../../../test/support/mongo';
import type { TestMongo } from '../../../test/support/mongo';
import { seedShapedDocuments } from './seed-shaped';

let mongo: TestMongo;

beforeAll(async () => {
  mongo = await startTestMongo();
});
afterAll(async () => {
  await mongo.close();
});

async function rejection(db: Db, collection: string, doc: Document): Promise<MongoServerError> {
  try {
    await db.collection(collection).insertOne(doc);
  } catch (e) {
    if (e instanceof MongoServerError) return e;
    throw e;
  }
  throw new Error(`expected ${collection} to reject ${JSON.stringify(doc)}`);
}

/** Every description in mongod's errInfo details, wherever it is nested. */
function descriptions(errInfo: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Document)) {
        if (k === 'description' && typeof x === 'string') out.push(x);
        else walk(x);
      }
    }
  };
  walk(errInfo);
  return out;
}

const now = new Date('2024-01-01T00:00:00Z');
const validUser = (): Document => ({
  _id: new ObjectId(),
  displayName: `user-${new ObjectId().toHexString()}`,
  email: 'a@b.org',
  created_at: now,
  updated_at: now,
  digitalTwins: [],
});

describe('schema apply on an empty database', () => {
  let db: Db;
  beforeAll(async () => {
    db = mongo.db();
    const result = await applySchema(db);
    expect(result.status).toBe('applied');
  });

  it('creates the ten collections with validator, level strict and action error', async () => {
    const infos = await db.listCollections().toArray();
    expect(infos.map((i) => i.name).sort()).toEqual([...COLLECTION_NAMES].sort());
    for (const info of infos) {
      const options = (info as { options: Document }).options;
      expect([options.validationLevel, options.validationAction]).toEqual(['strict', 'error']);
      expect(options.validator.$jsonSchema.bsonType).toBe('object');
    }
  });

  it('accepts a valid document', async () => {
    const user = validUser();
    const r = await db.collection('users').insertOne(user);
    expect(r.acknowledged).toBe(true);
    expect(await db.collection('users').findOne({ _id: r.insertedId })).toEqual({
      ...user,
      _id: r.insertedId,
    });
  });

  it.each([
    [
      'wrong type',
      'users',
      { displayName: 42 },
      'displayName (display name, unique across users): must be a string, at least 1 character(s)',
    ],
    ['missing required field', 'users', { displayName: undefined }, null],
    [
      'enum',
      'outputs',
      { output_type: 'picture' },
      'output_type (output or snapshot): must be a string, one of output, snapshot',
    ],
    [
      'pattern',
      'users',
      { email: 'not-an-email' },
      'email (e-mail address): must be a string or null, matching /^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$/',
    ],
    [
      'minLength',
      'users',
      { displayName: '' },
      'displayName (display name, unique across users): must be a string, at least 1 character(s)',
    ],
    ['minimum', 'outputs', { file_size: -1 }, 'file_size (size in bytes): must be a number or null, >= 0'],
    [
      'array element type',
      'users',
      { digitalTwins: ['650000000000000000000001'] },
      'digitalTwins (the digital twins the user owns (inverse of digitalTwins.userRef)): must be an array',
    ],
    [
      'reference stored as a string',
      'steps',
      { executionRef: '650000000000000000000001' },
      'executionRef (the execution (inverse of executions.steps)): must be an ObjectId',
    ],
  ])('rejects a %s with code 121 naming the rule', async (_kind, collection, change, description) => {
    const base: Document =
      collection === 'users'
        ? validUser()
        : collection === 'outputs'
          ? {
              _id: new ObjectId(),
              stepRef: new ObjectId(),
              output_type: 'output',
              created_at: now,
              updated_at: now,
            }
          : { _id: new ObjectId(), executionRef: new ObjectId(), component_version: new ObjectId() };
    const doc: Document = { ...base, ...(change as Document) };
    for (const [k, v] of Object.entries(change)) if (v === undefined) delete doc[k];
    const err = await rejection(db, collection, doc);
    expect(err.code).toBe(121);
    const info = err.errInfo as Document;
    expect(info.failingDocumentId).toEqual(doc._id);
    if (description) expect(descriptions(info)).toContain(description);
    else
      expect(info.details.schemaRulesNotSatisfied).toContainEqual(
        expect.objectContaining({ operatorName: 'required', missingProperties: ['displayName'] }),
      );
  });

  it('documents shaped exactly like the seed examples validate', async () => {
    for (const [collection, doc] of Object.entries(seedShapedDocuments())) {
      await expect(db.collection(collection).insertOne(doc)).resolves.toMatchObject({ acknowledged: true });
    }
  });

  it('a second apply changes nothing and says so', async () => {
    const again = await applySchema(db);
    expect(again.status).toBe('unchanged');
    expect(again.changes).toEqual([]);
  });

  it('--level moderate --action warn is what listCollections shows', async () => {
    const r = await applySchema(db, { level: 'moderate', action: 'warn' });
    expect(r.status).toBe('applied');
    const [info] = await db.listCollections({ name: 'steps' }).toArray();
    const options = (info as { options: Document }).options;
    expect([options.validationLevel, options.validationAction]).toEqual(['moderate', 'warn']);
    await db.collection('steps').insertOne({ executionRef: 'a string' });
    await applySchema(db, { level: 'moderate', action: 'warn' });
  });
});

describe('schema plan and refusals on a fixture with known violators and duplicates', () => {
  let db: Db;
  const bad1 = new ObjectId('650000000000000000000001');
  const bad2 = new ObjectId('650000000000000000000002');
  const dupA = new ObjectId('650000000000000000000011');
  const dupB = new ObjectId('650000000000000000000012');

  beforeAll(async () => {
    db = mongo.db();
    await db.collection('users').insertMany([
      { ...validUser(), _id: dupA, displayName: 'twin' },
      { ...validUser(), _id: dupB, displayName: 'twin' },
      { ...validUser(), _id: bad1, created_at: 'yesterday' },
    ]);
    await db.collection('steps').insertMany([
      { _id: bad2, executionRef: '650000000000000000000099', component_version: new ObjectId() },
      { executionRef: new ObjectId(), component_version: new ObjectId() },
    ]);
    await db.collection('components').createIndex({ author: 1 }, { name: 'author_1' });
  });

  it('reports exactly the violators, duplicates and index differences', async () => {
    const plan = await planSchema(db);
    const users = plan.find((p) => p.collection === 'users')!;
    expect(users).toMatchObject({
      exists: true,
      validator: 'missing',
      level: null,
      action: null,
      violations: 1,
      samples: [bad1],
      extraIndexes: [],
    });
    expect(users.missingIndexes).toEqual(['displayName_1', 'digitalTwins_1']);
    expect(users.duplicates).toEqual([
      { index: 'displayName_1', key: { displayName: 'twin' }, ids: [dupA, dupB] },
    ]);
    const steps = plan.find((p) => p.collection === 'steps')!;
    expect([steps.violations, steps.samples, steps.duplicates]).toEqual([1, [bad2], []]);
    const components = plan.find((p) => p.collection === 'components')!;
    expect(components).toMatchObject({
      exists: true,
      violations: 0,
      extraIndexes: ['author_1'],
      missingIndexes: ['repoLink_1', 'versions_1'],
    });
    expect(plan.find((p) => p.collection === 'logs')).toMatchObject({
      exists: false,
      validator: 'missing',
      violations: 0,
    });
  });

  it('apply refuses and changes nothing while violations and duplicates exist', async () => {
    const before = await db.listCollections().toArray();
    const r = await applySchema(db);
    expect(r.status).toBe('refused');
    expect(r.changes).toEqual([]);
    expect(r.problems).toEqual([
      'users: 1 document(s) violate the schema (e.g. {"$oid":"650000000000000000000001"}); fix them, or use --action warn',
      'users: unique index displayName_1 is blocked by duplicates of {"displayName":"twin"} (ids {"$oid":"650000000000000000000011"}, {"$oid":"650000000000000000000012"})',
      'steps: 1 document(s) violate the schema (e.g. {"$oid":"650000000000000000000002"}); fix them, or use --action warn',
    ]);
    expect(await db.listCollections().toArray()).toEqual(before);
  });

  it('--force applies the rest and says the blocked unique index was not created; --prune drops extras', async () => {
    const r = await applySchema(db, { force: true, prune: true });
    expect(r.status).toBe('applied');
    expect(r.changes).toContain(
      'users: unique index displayName_1 NOT created: duplicates block it even with --force',
    );
    expect(r.changes).toContain('components: extra index author_1 dropped');
    expect((await db.collection('users').indexes()).map((i) => i.name)).toEqual(['_id_', 'digitalTwins_1']);
    expect((await db.collection('components').indexes()).map((i) => i.name).sort()).toEqual([
      '_id_',
      'repoLink_1',
      'versions_1',
    ]);
  });
});
