import type { Document } from 'bson';
import type { Db } from 'mongodb';
import { COLLECTION_NAMES } from '@odtp/schema';
import { CHECKS, repair, runAudit, toJunit, undoRepair } from '@odtp/integrity';
import { loadLarge } from '@odtp/seeding';
import type { Violation } from '@odtp/integrity';
import { startTestMongo } from '../../../test/support/mongo';
import type { TestMongo } from '../../../test/support/mongo';
import { defectsFixture, EXPECTED, fixtureId } from '../../../test/fixtures/defects';

let mongo: TestMongo;
beforeAll(async () => (mongo = await startTestMongo()));
afterAll(() => mongo.close());

async function seeded(): Promise<Db> {
  const db = mongo.db();
  for (const [c, docs] of Object.entries(defectsFixture())) await db.collection(c).insertMany(docs);
  return db;
}

async function snapshot(db: Db): Promise<Record<string, Document[]>> {
  const out: Record<string, Document[]> = {};
  const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
  for (const c of [...COLLECTION_NAMES, ...names.filter((n) => n.endsWith('_quarantine'))].sort())
    out[c] = await db
      .collection(c)
      .find({}, { sort: { _id: 1 } })
      .toArray();
  return out;
}

describe('runAudit', () => {
  it('finds exactly the planted defects of every check, per edge and collection, and reports every finding', async () => {
    const db = await seeded();
    const report = await runAudit(db);
    const withViolations = report.findings
      .filter((f) => f.violations > 0)
      .map((f) => [f.check, f.collection, f.path, f.violations]);
    expect(withViolations.sort()).toEqual([...EXPECTED].sort());
    // one finding per check and edge (20 edges, 8 directions of two-way links) or collection, 0 included
    expect(report.findings).toHaveLength(20 + 20 + 8 + 4 + 5 + 10);
    // query mismatches exist only for applications that query references as strings
    expect(new Set(report.findings.map((f) => f.check))).toEqual(
      new Set(CHECKS.filter((c) => c !== 'query-mismatch')),
    );
    expect(report.app).toBe('target');
    // errors: 9 dangling + 4 type drift + 4 broken inverses + 2 duplicates + 4 schema violations; 28 documents
    expect(report.summary).toEqual({ errors: 23, warnings: 5, scanned: 28 });
    const dangling = report.findings.find(
      (f) => f.check === 'dangling-reference' && f.path === 'digitalTwins',
    )!;
    expect(dangling).toMatchObject({
      severity: 'error',
      target: 'digitalTwins',
      scanned: 3,
      distinctMissing: 1,
      samples: [fixtureId('u2')],
    });
    const inverse = report.findings.find((f) => f.check === 'broken-inverse' && f.collection === 'steps')!;
    expect(inverse).toMatchObject({ target: 'executions.steps', samples: [fixtureId('s4')] });
  });

  it('under ODTP 0.5: the id strings it writes are the upgrade backlog (not findings), the ObjectIds its queries cannot find are query mismatches, and its validators judge the documents', async () => {
    const db = await seeded();
    const report = await runAudit(db, { app: 'odtp-0.5' });
    expect(report.app).toBe('odtp-0.5');
    const withViolations = report.findings
      .filter((f) => f.violations > 0)
      .map((f) => [f.check, f.severity, f.collection, f.path, f.violations]);
    const odtp05 = EXPECTED.filter(
      ([check, collection]) =>
        !(
          ['schema-violation', 'type-drift'].includes(check) &&
          ['digitalTwins', 'workflows', 'steps'].includes(collection)
        ),
    ).map(([check, collection, path, n]) => [
      check,
      check === 'orphan' ? 'warning' : 'error',
      collection,
      path,
      n,
    ]);
    expect(withViolations.sort()).toEqual(
      [
        ...odtp05,
        ['query-mismatch', 'error', 'digitalTwins', 'userRef', 1],
        ['query-mismatch', 'error', 'workflows', 'versions', 1],
        ['query-mismatch', 'error', 'outputs', 'stepRef', 4],
        ['query-mismatch', 'error', 'logs', 'stepRef', 3],
      ].sort(),
    );
    expect(report.findings).toHaveLength(20 + 20 + 4 + 8 + 4 + 5 + 10);
    // errors: 9 dangling + 1 type drift + 9 query mismatches + 4 broken inverses + 2 duplicates + 1 schema violation
    expect(report.summary).toEqual({ errors: 26, warnings: 5, scanned: 28 });
    // the id strings ODTP 0.5 writes, counted per path: the backlog of the upgrade, not drift
    expect(
      report.upgrade?.backlog.filter((b) => ['digitalTwins', 'workflows', 'steps'].includes(b.collection)),
    ).toEqual(
      expect.arrayContaining([
        { collection: 'digitalTwins', path: 'userRef', form: 'string', values: expect.any(Number) },
        { collection: 'steps', path: 'component_version', form: 'string', values: expect.any(Number) },
        { collection: 'workflows', path: 'versions', form: 'string', values: expect.any(Number) },
      ]),
    );
    expect(
      report.findings.find((f) => f.check === 'query-mismatch' && f.collection === 'outputs')!.note,
    ).toBe(
      'ODTP 0.5 finds these documents with a string (S3 clean-up (get_all_outputs_s3_keys); delete execution cascade (delete_execution)): an ObjectId here is invisible to it',
    );
  });

  it('under ODTP 0.5 a reference it writes as a string that is no id is dangling, not drift', async () => {
    const db = await seeded();
    await db.collection('outputs').updateOne({ _id: fixtureId('o1') }, { $set: { stepRef: 'no-step' } });
    const report = await runAudit(db, { app: 'odtp-0.5', checks: ['dangling-reference', 'type-drift'] });
    const at = (check: string) =>
      report.findings.find((f) => f.check === check && f.collection === 'outputs' && f.path === 'stepRef')!;
    expect([at('dangling-reference').violations, at('dangling-reference').samples]).toEqual([
      1,
      [fixtureId('o1')],
    ]);
    expect(at('type-drift').violations).toBe(0);
  });

  it('runs only the asked checks, caps samples, and reports violations one by one', async () => {
    const db = await seeded();
    const seen: Violation[] = [];
    const report = await runAudit(db, {
      checks: ['orphan'],
      sampleLimit: 1,
      onViolation: (v) => seen.push(v),
    });
    expect(report.findings.map((f) => [f.collection, f.violations, f.samples.length])).toEqual([
      ['versions', 1, 1],
      ['steps', 1, 1],
      ['outputs', 2, 1],
      ['logs', 1, 1],
    ]);
    expect(seen.map((v) => v.docId)).toEqual([
      fixtureId('v5'),
      fixtureId('s4'),
      fixtureId('o3'),
      fixtureId('o4'),
      fixtureId('l3'),
    ]);
    await expect(runAudit(db, { checks: ['nope' as never] })).rejects.toThrow('unknown check "nope"');
  });

  it('resolves references in batches of the configured size with the same result', async () => {
    const db = await seeded();
    const small = await runAudit(db, { batchSize: 1 });
    const large = await runAudit(db, { batchSize: 1000 });
    const counts = (r: typeof small) => r.findings.map((f) => [f.check, f.collection, f.path, f.violations]);
    expect(counts(small)).toEqual(counts(large));
  });

  it('skips an orphan check that would scan an unindexed parent too often, and says why', async () => {
    const db = await seeded();
    const report = await runAudit(db, { checks: ['orphan'], batchSize: 2, maxUnindexedScan: 5 });
    const outputs = report.findings.find((f) => f.collection === 'outputs')!;
    expect(outputs).toMatchObject({ violations: 0, scanned: 0 });
    expect(outputs.skipped).toBe(
      "no index on steps.output: the check would read about 8 documents; create the schema's indexes (odtp-db migrate up) and audit again",
    );
    await db.collection('steps').createIndex({ output: 1 });
    await db.collection('results').createIndex({ output: 1 });
    const indexed = await runAudit(db, { checks: ['orphan'], batchSize: 2, maxUnindexedScan: 5 });
    expect(indexed.findings.find((f) => f.collection === 'outputs')).toMatchObject({ violations: 2 });
    expect(indexed.findings.find((f) => f.collection === 'outputs')!.skipped).toBeUndefined();
  });

  it('is cancellable', async () => {
    const db = await seeded();
    const controller = new AbortController();
    controller.abort();
    await expect(runAudit(db, { signal: controller.signal })).rejects.toThrow('the audit was cancelled');
  });

  it('writes JUnit XML: one testcase per finding, a failure for each finding with violations', async () => {
    const report = await runAudit(await seeded());
    const xml = toJunit(report);
    expect(xml.match(/<testcase /g)).toHaveLength(report.findings.length);
    expect(xml.match(/<failure /g)).toHaveLength(EXPECTED.length);
    expect(xml).toContain(
      '<testcase classname="dangling-reference.users" name="users.digitalTwins -&gt; digitalTwins"',
    );
  });
});

describe('repairs', () => {
  it('a dry run plans one action per violation (none for a document it quarantines or a step it links back) and changes nothing', async () => {
    const db = await seeded();
    const before = await snapshot(db);
    const run = await repair(db, await runAudit(db), { dryRun: true });
    expect(run.applied).toBe(0);
    expect(run.rounds).toHaveLength(1);
    const kinds = run.rounds[0].map((a) => `${a.kind} ${a.collection} ${a.path ?? ''}`.trim()).sort();
    expect(kinds).toEqual(
      [
        'pull users digitalTwins',
        'unset executions workflow_id',
        'pull executions workflowSchema.component_versions',
        'unset steps output',
        'pull outputs access_control.authorized_users',
        'pull results output',
        'quarantine logs',
        'convert digitalTwins userRef',
        'convert workflows versions',
        'convert steps component_version',
        'unset results digitalTwinRef',
        'pull components versions',
        'add-to-set components versions',
        'add-to-set digitalTwins executions',
        'add-to-set executions steps',
        'quarantine versions',
        'quarantine outputs',
        'quarantine outputs',
        'rename-key users displayName',
        'manual digitalTwins',
        'manual workflows',
        'manual steps',
        'manual results',
      ].sort(),
    );
    expect(await snapshot(db)).toEqual(before);
  });

  it('apply leaves zero errors (and no orphans), and undo restores the database document for document', async () => {
    const db = await seeded();
    const before = await snapshot(db);
    const run = await repair(db, await runAudit(db), { dryRun: false });
    expect(run.remainingErrors).toBe(0);
    const after = await runAudit(db);
    expect(after.summary).toMatchObject({ errors: 0, warnings: 0 });
    expect((await db.collection('users').findOne({ _id: fixtureId('u3') }))!.displayName).toBe(
      `Ada [${fixtureId('u3').toHexString()}]`,
    );
    expect(
      (
        await db
          .collection('outputs_quarantine')
          .find({}, { sort: { _id: 1 } })
          .toArray()
      ).map((d) => d._id),
    ).toEqual([fixtureId('o3'), fixtureId('o4')]);
    expect(await db.collection('steps').findOne({ _id: fixtureId('s4') })).toMatchObject({
      executionRef: fixtureId('e1'),
    });
    expect((await db.collection('executions').findOne({ _id: fixtureId('e1') }))!.steps).toEqual([
      fixtureId('s1'),
      fixtureId('s2'),
      fixtureId('s4'),
    ]);
    const undone = await undoRepair(db, run.runId);
    expect(undone.restored).toBeGreaterThan(0);
    expect(await snapshot(db)).toEqual(before);
    await expect(undoRepair(db, 'no-such-run')).rejects.toThrow('unknown repair run "no-such-run"');
  });

  it('under ODTP 0.5: converts no id string it writes, turns the ObjectIds it cannot find into strings, writes back-links in its form; apply leaves zero errors and undo restores everything', async () => {
    const db = await seeded();
    const before = await snapshot(db);
    const plan = await repair(db, await runAudit(db, { app: 'odtp-0.5' }), { dryRun: true, app: 'odtp-0.5' });
    const kinds = plan.rounds[0].map((a) => `${a.kind} ${a.collection} ${a.path ?? ''}`.trim());
    expect(kinds.filter((k) => k.startsWith('convert'))).toEqual([]);
    expect(kinds.filter((k) => k.startsWith('stringify')).sort()).toEqual(
      [
        'stringify digitalTwins userRef',
        'stringify workflows versions',
        // o3 and o4 are orphans (quarantined), l3 too: no other action on them
        'stringify outputs stepRef',
        'stringify outputs stepRef',
        'stringify logs stepRef',
        'stringify logs stepRef',
      ].sort(),
    );
    const run = await repair(db, await runAudit(db, { app: 'odtp-0.5' }), { dryRun: false, app: 'odtp-0.5' });
    expect(run.remainingErrors).toBe(0);
    const after = await runAudit(db, { app: 'odtp-0.5' });
    expect(after.summary.errors).toBe(0);
    // every reference ODTP 0.5 queries by string now is one
    expect(await db.collection('outputs').countDocuments({ stepRef: { $type: 'objectId' } })).toBe(0);
    expect(await db.collection('logs').countDocuments({ stepRef: { $type: 'objectId' } })).toBe(0);
    expect((await db.collection('digitalTwins').findOne({ _id: fixtureId('t1') }))!.userRef).toBe(
      fixtureId('u1').toHexString(),
    );
    await undoRepair(db, run.runId);
    expect(await snapshot(db)).toEqual(before);
  });

  it('keeps an orphan that something still references instead of quarantining it', async () => {
    const db = await seeded();
    // v5 is unreachable from components (an orphan), yet s1 now runs it.
    await db
      .collection('steps')
      .updateOne({ _id: fixtureId('s1') }, { $set: { component_version: fixtureId('v5') } });
    const run = await repair(db, await runAudit(db, { checks: ['orphan'] }), { dryRun: false });
    expect(await db.collection('versions').findOne({ _id: fixtureId('v5') })).not.toBeNull();
    expect(run.skipped.map((a) => [a.collection, a.reason])).toEqual([
      [
        'versions',
        `no parent reaches it (components.versions); kept: still referenced by steps.component_version of ${fixtureId('s1').toHexString()}`,
      ],
    ]);
  });
});

describe('the upgrade backlog is not drift', () => {
  it('a database seeded as ODTP 0.5 writes it: 0 type-drift under odtp-0.5 and the backlog per path; the same database under target: type-drift errors, path for path the backlog', async () => {
    const db = mongo.db();
    await loadLarge(db, { scale: 3000, seed: 24, app: 'odtp-0.5' });
    const asRunning = await runAudit(db, { app: 'odtp-0.5', checks: ['type-drift', 'dangling-reference'] });
    const drift = asRunning.findings.filter((f) => f.check === 'type-drift');
    expect(drift.reduce((n, f) => n + f.violations, 0)).toBe(0);
    expect(asRunning.summary.errors + asRunning.summary.warnings).toBe(0);
    const backlog = Object.fromEntries(
      asRunning.upgrade!.backlog.map((b) => [`${b.collection}.${b.path}`, b.values]),
    );
    expect(Object.keys(backlog).sort()).toEqual([
      'digitalTwins.userRef',
      'executions.workflowSchema.component_versions',
      'logs.stepRef',
      'outputs.access_control.authorized_users',
      'outputs.stepRef',
      'steps.component_version',
    ]);
    expect(backlog['logs.stepRef']).toBe(await db.collection('logs').countDocuments());
    const asTarget = await runAudit(db, { app: 'target', checks: ['type-drift'] });
    expect(asTarget.upgrade).toBeUndefined();
    const errors = Object.fromEntries(
      asTarget.findings
        .filter((f) => f.violations > 0)
        .map((f) => [`${f.collection}.${f.path}`, f.violations]),
    );
    expect(errors).toEqual(backlog);
    expect(asTarget.findings.filter((f) => f.violations > 0).every((f) => f.severity === 'error')).toBe(true);
  });

  it('under the transition level the [ObjectId, id string] pairs are one reference each, resolved, and backlog', async () => {
    const db = mongo.db();
    await loadLarge(db, { scale: 2000, seed: 25, app: 'transition' });
    const report = await runAudit(db, { app: 'transition' });
    expect(report.summary.errors).toBe(0);
    const pairs = report.upgrade!.backlog.filter((b) => b.form === 'both');
    expect(pairs.map((b) => `${b.collection}.${b.path}`).sort()).toEqual([
      'digitalTwins.userRef',
      'logs.stepRef',
      'outputs.stepRef',
    ]);
    expect(pairs.find((b) => b.collection === 'logs')!.values).toBe(
      await db.collection('logs').countDocuments(),
    );
    // ODTP 0.5's string queries find them
    const log = await db.collection('logs').findOne({});
    expect(
      await db.collection('logs').countDocuments({ stepRef: (log!.stepRef as unknown[])[1] }),
    ).toBeGreaterThan(0);
  });
});

describe('scoped duplicate check', () => {
  it('reports the groups a scoped document is in, all their members, and no other group of the same leading value', async () => {
    const db = mongo.db();
    const twin = fixtureId('dup-twin');
    const [a1, a2, b1, b2, alone, missing1, missing2] = [1, 2, 3, 4, 5, 6, 7].map((i) =>
      fixtureId(`dup-exec-${i}`),
    );
    await db.collection('executions').insertMany([
      { _id: a1, digitalTwinRef: twin, title: 'run' },
      { _id: a2, digitalTwinRef: twin, title: 'run' },
      { _id: b1, digitalTwinRef: twin, title: 'other' },
      { _id: b2, digitalTwinRef: twin, title: 'other' },
      { _id: alone, digitalTwinRef: twin, title: 'alone' },
      // no leading value: grouped as the full audit groups them
      { _id: missing1, title: 'x' },
      { _id: missing2, title: 'x' },
    ]);
    const dupes = async (ids: unknown[]) => {
      const found: string[] = [];
      await runAudit(db, {
        checks: ['duplicate'],
        documents: { executions: ids },
        onViolation: (v) => found.push(String(v.docId)),
      });
      return found.sort();
    };
    expect(await dupes([a1])).toEqual([a1, a2].map(String).sort());
    expect(await dupes([alone])).toEqual([]);
    expect(await dupes([b2, missing1])).toEqual([b1, b2, missing1, missing2].map(String).sort());
    // a full audit finds the same three groups
    const full: string[] = [];
    await runAudit(db, { checks: ['duplicate'], onViolation: (v) => full.push(String(v.docId)) });
    expect(full.sort()).toEqual([a1, a2, b1, b2, missing1, missing2].map(String).sort());
  });
});
