import { ObjectId } from 'bson';
import type { Document } from 'bson';
import type { Db, Filter } from 'mongodb';
import {
  AuditCancelledError,
  auditWithBaseline,
  idKey,
  runAudit,
  violationKey,
  VIOLATIONS_COLLECTION,
  ViolationSets,
} from '@odtp/integrity';
import type { AuditReport, BaseReport, Violation } from '@odtp/integrity';
import { COLLECTION_NAMES, deriveIndexes, OWNERSHIP, referenceGraph } from '@odtp/schema';
import type { AppLevel } from '@odtp/config';
import request from 'supertest';
import { DatabaseService } from '@odtp/database';
import { IntegrityService } from '@odtp/integrity';
import { defectsFixture, fixtureId } from './fixtures/defects';
import { createTestApp } from './support/app';
import { startTestMongo } from './support/mongo';
import { runCli } from './support/processes';
import type { TestMongo } from './support/mongo';
import { prng } from '../tools/wire-fuzz';

jest.setTimeout(240_000);

let mongo: TestMongo;
beforeAll(async () => (mongo = await startTestMongo()));
afterAll(() => mongo.close());

const EDGES = referenceGraph();
const UNIQUE = deriveIndexes().filter((i) => i.unique);
const LISTS = OWNERSHIP.flatMap((o) => (o.kind === 'lists' ? o.parents : []));

/** Random changes of every kind the checks care about: the ODTP collections' references, keys, lists and shapes. */
class Mutator {
  readonly log: string[] = [];
  constructor(
    private readonly db: Db,
    private readonly rnd: () => number,
  ) {}

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.rnd() * items.length)];
  }

  private async someId(collection: string): Promise<unknown> {
    const ids = (
      await this.db
        .collection(collection)
        .find({}, { projection: { _id: 1 } })
        .toArray()
    ).map((d) => d._id as unknown);
    return ids.length ? this.pick(ids) : undefined;
  }

  /** A reference value: an existing id, its hex string, a missing id, or something that is no id. */
  private async refValue(target: string): Promise<unknown> {
    const r = this.rnd();
    const existing = await this.someId(target);
    if (r < 0.5 && existing) return existing;
    if (r < 0.7 && existing instanceof ObjectId) return existing.toHexString();
    if (r < 0.9) return new ObjectId();
    return 'not-an-id';
  }

  async step(): Promise<void> {
    const kind = this.pick(['insert', 'setRef', 'setRef', 'unique', 'delete', 'replace', 'pull', 'touch']);
    const collection = this.pick(COLLECTION_NAMES);
    const coll = this.db.collection(collection);
    const edges = EDGES.filter((e) => e.from === collection);
    switch (kind) {
      case 'insert': {
        const doc: Document = { _id: new ObjectId(), created_at: new Date(), updated_at: new Date() };
        for (const e of edges.filter(() => this.rnd() < 0.7)) {
          const v = await this.refValue(e.to);
          const top = e.path.split('.')[0];
          if (e.path.includes('.'))
            doc[top] = e.many
              ? [{ [e.path.split('.').pop()!]: v }]
              : { [e.path.split('.').slice(1).join('.')]: v };
          else doc[e.path] = e.many ? [v] : v;
        }
        for (const u of UNIQUE.filter((i) => i.collection === collection))
          for (const f of Object.keys(u.key))
            doc[f] = this.rnd() < 0.5 ? 'shared-value' : `v-${doc._id.toHexString()}`;
        await coll.insertOne(doc);
        this.log.push(`insert ${collection} ${doc._id.toHexString()}`);
        return;
      }
      case 'setRef': {
        const id = await this.someId(collection);
        const e = edges.length ? this.pick(edges) : undefined;
        if (id === undefined || !e || e.path.includes('.')) return;
        const v = await this.refValue(e.to);
        await coll.updateOne({ _id: id } as Filter<Document>, { $set: { [e.path]: e.many ? [v] : v } });
        this.log.push(`set ${collection}.${e.path}`);
        return;
      }
      case 'unique': {
        const u = UNIQUE.find((i) => i.collection === collection);
        const id = await this.someId(collection);
        if (!u || id === undefined) return;
        const [f] = Object.keys(u.key);
        await coll.updateOne({ _id: id } as Filter<Document>, {
          $set: { [f]: this.rnd() < 0.6 ? 'shared-value' : `unique-${String(this.rnd())}` },
        });
        this.log.push(`unique ${collection}.${f}`);
        return;
      }
      case 'delete': {
        const id = await this.someId(collection);
        if (id === undefined) return;
        await coll.deleteOne({ _id: id } as Filter<Document>);
        this.log.push(`delete ${collection}`);
        return;
      }
      case 'replace': {
        const doc = await coll.findOne({ _id: (await this.someId(collection)) as never });
        if (!doc) return;
        const { _id, ...rest } = doc;
        const drop = Object.keys(rest).filter(() => this.rnd() < 0.3);
        for (const k of drop) delete rest[k];
        await coll.replaceOne({ _id } as Filter<Document>, rest);
        this.log.push(`replace ${collection} dropping ${drop.join(',')}`);
        return;
      }
      case 'pull': {
        // a parent drops a child from its list (the child may become an orphan)
        const l = this.pick(LISTS);
        const parent = await this.db.collection(l.collection).findOne({ [l.path]: { $exists: true } });
        if (!parent) return;
        await this.db
          .collection(l.collection)
          .updateOne({ _id: parent._id } as Filter<Document>, { $unset: { [l.path]: '' } });
        this.log.push(`unlist ${l.collection}.${l.path}`);
        return;
      }
      default: {
        const id = await this.someId(collection);
        if (id === undefined) return;
        await coll.updateOne({ _id: id } as Filter<Document>, { $set: { note: String(this.rnd()) } });
        this.log.push(`touch ${collection}`);
      }
    }
  }
}

/** What must be equal: per finding, its severity, violations and distinct missing ids. */
function findingsOf(report: AuditReport): string[] {
  return report.findings.map(
    (f) => `${f.check} ${f.collection}.${f.path} ${f.severity} ${f.violations} ${f.distinctMissing ?? '-'}`,
  );
}

async function load(db: Db): Promise<void> {
  for (const [name, docs] of Object.entries(defectsFixture())) await db.collection(name).insertMany(docs);
}

interface Full {
  report: AuditReport;
  keys: string[];
  /** Per finding (check|collection|path), the documents that break it. */
  offenders: Map<string, Set<string>>;
}

async function fullAudit(db: Db, app: AppLevel): Promise<Full> {
  const keys: string[] = [];
  const offenders = new Map<string, Set<string>>();
  const report = await runAudit(db, {
    app,
    onViolation: (v: Violation) => {
      keys.push(violationKey(v));
      const k = `${v.check}|${v.collection}|${v.path}`;
      offenders.set(k, (offenders.get(k) ?? new Set()).add(idKey(v.docId)));
    },
  });
  return { report, keys: keys.sort(), offenders };
}

/** Samples unlike a full audit's: one per offending document up to 20, each a document that breaks the finding. */
function wrongSamples(report: AuditReport, full: Full): string[] {
  const wrong: string[] = [];
  for (const f of report.findings) {
    const k = `${f.check}|${f.collection}|${f.path}`;
    const mine = f.samples.map(idKey);
    const documents = full.offenders.get(k)?.size ?? 0;
    if (mine.length !== Math.min(20, documents) || new Set(mine).size !== mine.length)
      wrong.push(`${k}: ${mine.length} sample(s) for ${documents} document(s)`);
    for (const s of mine) if (!full.offenders.get(k)?.has(s)) wrong.push(`${k}: ${s} breaks nothing`);
  }
  return wrong;
}

/** The violations of a set as they stand once `pending` (an incremental run) is compacted. */
async function storedKeys(db: Db, set: string, pending?: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const v of new ViolationSets(db).read(set, pending)) keys.push(violationKey(v));
  return keys.sort();
}

const marks = (db: Db): Promise<number> =>
  db
    .collection(VIOLATIONS_COLLECTION)
    .countDocuments({ $or: [{ n: { $exists: true } }, { r: { $exists: true } }] });

const EVERY_CHECK = [
  'broken-inverse',
  'dangling-reference',
  'duplicate',
  'orphan',
  'schema-violation',
  'type-drift',
];

// ODTP 0.5 queries some paths with strings (query mismatches exist); the target application none
const SEEDS = (process.env.INCREMENTAL_SEEDS ?? '1,2').split(',').map(Number);
describe.each<[AppLevel, number, string[]]>([
  ['odtp-0.5', SEEDS[0], [...EVERY_CHECK, 'query-mismatch'].sort()],
  ['target', SEEDS[1], EVERY_CHECK],
])('incremental audits (%s, seed %i)', (app, seed, checks) => {
  it('after random inserts, updates, replaces, deletes and unlistings of every kind, each incremental audit equals a full audit of the same database', async () => {
    const db = mongo.db();
    await load(db);
    let id = 0;
    const audit = async (mode: 'full' | 'incremental', base?: BaseReport) =>
      auditWithBaseline(db, { app, id: `a${++id}`, mode, base, fullEvery: 0 });
    const first = await audit('full');
    expect(first.report.coverage).toEqual({ mode: 'full', sinceFull: 0 });
    let base: BaseReport = { report: first.report, baseline: first.baseline! };
    const mutator = new Mutator(db, prng(seed));
    const covered = new Set<string>();
    for (let round = 1; round <= 6; round++) {
      for (let i = 0; i < 12; i++) await mutator.step();
      const inc = await audit('incremental', base);
      const full = await fullAudit(db, app);
      const context = `round ${round}: ${mutator.log.join('; ')}`;
      expect([context, inc.report.coverage?.mode]).toEqual([context, 'incremental']);
      expect([context, findingsOf(inc.report)]).toEqual([context, findingsOf(full.report)]);
      expect([context, await storedKeys(db, inc.baseline!.set!, inc.report.id)]).toEqual([
        context,
        full.keys,
      ]);
      expect([context, wrongSamples(inc.report, full)]).toEqual([context, []]);
      expect(inc.baseline!.violations).toBe(full.keys.length);
      expect(inc.report.summary.errors).toBe(full.report.summary.errors);
      expect(inc.report.coverage!.sinceFull).toBe(round);
      for (const f of inc.report.findings) if (f.violations) covered.add(f.check);
      base = { report: inc.report, baseline: inc.baseline! };
      mutator.log.length = 0;
    }
    // the rounds exercised every check with violations
    expect([...covered].sort()).toEqual(checks);
  });
});

describe('incremental audit coverage', () => {
  it('reads only what changed: one deleted step rechecks its referrers, carries the rest, and says so', async () => {
    const db = mongo.db();
    await load(db);
    const first = await auditWithBaseline(db, { app: 'target', id: 'base', mode: 'full', fullEvery: 0 });
    const step = await db.collection('steps').findOne({}, { sort: { _id: 1 } });
    await db.collection('steps').deleteOne({ _id: step!._id });
    const inc = await auditWithBaseline(db, {
      app: 'target',
      id: 'next',
      mode: 'incremental',
      base: { report: first.report, baseline: first.baseline! },
      fullEvery: 0,
    });
    const referrers =
      (await db.collection('logs').countDocuments({ stepRef: step!._id })) +
      (await db.collection('outputs').countDocuments({ stepRef: step!._id })) +
      (await db.collection('executions').countDocuments({ steps: step!._id }));
    expect(inc.report.coverage).toEqual({
      mode: 'incremental',
      base: 'base',
      events: 1,
      changed: 0,
      deleted: 1,
      checked: referrers,
      orphansRechecked: ['outputs'],
      sinceFull: 1,
    });
    expect(findingsOf(inc.report)).toEqual(findingsOf((await fullAudit(db, 'target')).report));
  });

  it('an incremental audit stopped part-way or killed before its report was stored leaves its base intact: the next one rolls it back and equals a full audit', async () => {
    const db = mongo.db();
    await load(db);
    const app = 'odtp-0.5';
    const first = await auditWithBaseline(db, { app, id: 'f', mode: 'full', fullEvery: 0 });
    const base: BaseReport = { report: first.report, baseline: first.baseline! };
    const before = await storedKeys(db, 'f');
    const mutator = new Mutator(db, prng(7));
    for (let i = 0; i < 24; i++) await mutator.step();
    // stopped while adding what it found (SIGTERM: the job's signal), after retiring what it rechecks
    const stop = new AbortController();
    const stopped = auditWithBaseline(db, {
      app,
      id: 'stopped',
      mode: 'incremental',
      base,
      fullEvery: 0,
      signal: stop.signal,
      onViolation: () => stop.abort(),
    });
    await expect(stopped).rejects.toBeInstanceOf(AuditCancelledError);
    expect(await marks(db)).toBeGreaterThan(0);
    // the set as its base left it, whatever the stopped run marked
    expect(await storedKeys(db, 'f')).toEqual(before);
    // killed after every write but before its report was stored: it never became a base
    const killed = await auditWithBaseline(db, {
      app,
      id: 'killed',
      mode: 'incremental',
      base,
      fullEvery: 0,
    });
    expect(killed.baseline!.set).toBe('f');
    expect(await storedKeys(db, 'f')).toEqual(before);
    const next = await auditWithBaseline(db, { app, id: 'next', mode: 'incremental', base, fullEvery: 0 });
    const full = await fullAudit(db, app);
    expect(findingsOf(next.report)).toEqual(findingsOf(full.report));
    expect(await storedKeys(db, 'f', 'next')).toEqual(full.keys);
    expect(next.baseline!.violations).toBe(full.keys.length);
    // stored as the base: the following audit compacts it first (as the service does once the report is stored)
    await new ViolationSets(db).settle('f', 'next');
    expect(await marks(db)).toBe(0);
    expect(await storedKeys(db, 'f')).toEqual(full.keys);
    expect(await db.collection(VIOLATIONS_COLLECTION).countDocuments()).toBe(full.keys.length);
  });

  it('falls back to a full audit and says why: no base, other rules, AUDIT_FULL_EVERY, a dropped collection', async () => {
    const db = mongo.db();
    await load(db);
    const none = await auditWithBaseline(db, { app: 'target', id: 'x1', mode: 'incremental', fullEvery: 0 });
    expect(none.report.coverage).toEqual({
      mode: 'full',
      fullBecause: 'no complete audit to start from',
      sinceFull: 0,
    });
    const base = { report: none.report, baseline: none.baseline! };
    const other = await auditWithBaseline(db, {
      app: 'odtp-0.5',
      id: 'x2',
      mode: 'incremental',
      base,
      fullEvery: 0,
    });
    expect(other.report.coverage?.fullBecause).toBe('the last complete audit applied target, not odtp-0.5');
    const every = await auditWithBaseline(db, {
      app: 'target',
      id: 'x3',
      mode: 'incremental',
      base,
      fullEvery: 1,
    });
    expect(every.report.coverage?.fullBecause).toBe(
      'AUDIT_FULL_EVERY=1: 0 incremental audit(s) since the last full one',
    );
    await db.collection('logs').drop();
    const dropped = await auditWithBaseline(db, {
      app: 'target',
      id: 'x4',
      mode: 'incremental',
      base,
      fullEvery: 0,
    });
    expect(dropped.report.coverage?.fullBecause).toBe('drop of logs');
    expect(findingsOf(dropped.report)).toEqual(findingsOf((await fullAudit(db, 'target')).report));
  });
});

describe('incremental audits through the API and the CLI', () => {
  it('POST /audits {mode: incremental}: full first (no base, said why), then only what changed; hostile modes are 400; the violation set of the newest complete audit only is kept', async () => {
    const t = await createTestApp();
    try {
      const db = t.app.get(DatabaseService).db();
      await load(db);
      const service = t.app.get(IntegrityService);
      const start = async (body: object): Promise<string> => {
        const res = await request(t.app.getHttpServer())
          .post('/audits')
          .set('authorization', t.admin)
          .send(body)
          .expect(202);
        await service.idle();
        return res.body.id as string;
      };
      const get = async (id: string) =>
        (await request(t.app.getHttpServer()).get(`/audits/${id}`).set('authorization', t.viewer).expect(200))
          .body as AuditReport & { baseline?: unknown };
      for (const mode of ['partial', { $ne: 'full' }, ['incremental']]) {
        const bad = await request(t.app.getHttpServer())
          .post('/audits')
          .set('authorization', t.admin)
          .send({ mode })
          .expect(400);
        expect(bad.body.details).toEqual(['mode must be one of the following values: full, incremental']);
      }
      const both = await request(t.app.getHttpServer())
        .post('/audits')
        .set('authorization', t.admin)
        .send({ mode: 'incremental', checks: ['orphan'] })
        .expect(400);
      expect(both.body.message).toBe('an incremental audit runs every check (leave out checks)');
      const first = await get(await start({ mode: 'incremental' }));
      expect(first.coverage).toEqual({
        mode: 'full',
        fullBecause: 'no complete audit to start from',
        sinceFull: 0,
      });
      expect(first.baseline).toBeUndefined();
      await db.collection('logs').insertOne({ _id: new ObjectId(), stepRef: new ObjectId(), logstring: 'x' });
      const second = await get(await start({ mode: 'incremental' }));
      expect(second.coverage).toEqual({
        mode: 'incremental',
        base: first.id,
        events: 1,
        changed: 1,
        deleted: 0,
        checked: 1,
        sinceFull: 1,
      });
      expect(findingsOf(second)).toEqual(findingsOf((await fullAudit(db, 'odtp-0.5')).report));
      expect(second.summary.errors).toBeGreaterThan(first.summary.errors);
      expect(second.upgrade?.asOf).toBe(first.id);
      // one set, the first (full) audit's, updated in place by the second and compacted once its report was stored
      const sets = db.collection(VIOLATIONS_COLLECTION);
      expect(await sets.distinct('a')).toEqual([first.id]);
      expect(await sets.countDocuments()).toBe(second.summary.errors + second.summary.warnings);
      expect(await marks(db)).toBe(0);
      const listed = await request(t.app.getHttpServer())
        .get('/audits')
        .set('authorization', t.viewer)
        .expect(200);
      expect(listed.body.items[0].coverage.mode).toBe('incremental');
    } finally {
      await t.app.close();
    }
  });

  it('odtp-db audit --since last: says which mode ran and what it covered; --since with anything else, or with --checks, exits 2', async () => {
    const db = mongo.db();
    await load(db);
    const env = { MONGODB_URI: mongo.uri, ODTP_DB_NAME: db.databaseName };
    const first = await runCli(['audit', '--since', 'last', '--fail-on', 'never'], env);
    expect([first.code, first.stdout.split('\n').at(-3)]).toEqual([
      0,
      'full audit: no complete audit to start from',
    ]);
    await db.collection('users').deleteOne({ _id: fixtureId('u1') });
    const next = await runCli(['audit', '--since', 'last', '--json', '--fail-on', 'never'], env);
    expect(next.code).toBe(0);
    const report = JSON.parse(next.stdout) as AuditReport;
    expect(report.coverage).toMatchObject({ mode: 'incremental', events: 1, changed: 0, deleted: 1 });
    expect(findingsOf(report)).toEqual(findingsOf((await fullAudit(db, 'odtp-0.5')).report));
    const text = await runCli(['audit', '--since', 'last', '--fail-on', 'never'], env);
    expect(text.stdout.split('\n').at(-3)).toBe(
      `incremental since audit ${report.id}: 0 change event(s), 0 changed and 0 deleted document(s), 0 checked; every other violation carried over`,
    );
    const wrong = await runCli(['audit', '--since', 'yesterday'], env);
    expect([wrong.code, wrong.stderr.trim()]).toEqual([
      2,
      'odtp-db: --since must be "last" (the last complete audit), got "yesterday"',
    ]);
    const checks = await runCli(['audit', '--since', 'last', '--checks', 'orphan'], env);
    expect([checks.code, checks.stderr.trim()]).toEqual([
      2,
      'odtp-db: an incremental audit runs every check (leave out --checks)',
    ]);
  });
});
