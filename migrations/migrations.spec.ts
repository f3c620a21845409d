import { ObjectId } from 'bson';
import type { Document } from 'bson';
import type { Db } from 'mongodb';
import type { MigrationModule } from '@odtp/migrations';
import { embeddedLogId, MigrationError, MigrationReport } from '@odtp/migrations';
import { appContract, effectConflicts, lowestSafeLevel, referenceGraph } from '@odtp/schema';
import { startTestMongo } from '../test/support/mongo';
import type { TestMongo } from '../test/support/mongo';

/* One spec per migration: the documents before, the exact documents after, idempotence (a second `up` changes
   nothing) and, where the migration is reversible, the round trip through `down`. */

const id = (n: number): ObjectId => new ObjectId(n.toString(16).padStart(24, '0'));
const hex = (n: number): string => id(n).toHexString();
const t = (s: string): Date => new Date(s);

// eslint-disable-next-line @typescript-eslint/no-require-imports
const load = (name: string): MigrationModule => require(`./${name}`) as MigrationModule;

type Collections = Record<string, Document[]>;

let mongo: TestMongo;
beforeAll(async () => (mongo = await startTestMongo()));
afterAll(() => mongo.close());

async function seed(db: Db, data: Collections): Promise<void> {
  for (const [c, docs] of Object.entries(data)) if (docs.length) await db.collection(c).insertMany(docs);
}

async function contents(db: Db, names: string[]): Promise<Collections> {
  const out: Collections = {};
  for (const c of names)
    out[c] = await db
      .collection(c)
      .find({}, { sort: { _id: 1 } })
      .toArray();
  return out;
}

/** Seed `before`, run up: `after` exactly; run up again: no change; run down (when given): `before` again. */
async function check(
  name: string,
  before: Collections,
  after: Collections,
  options: { changes?: Record<string, number>; reversible?: boolean; roundTrip?: Collections } = {},
): Promise<Db> {
  const mod = load(name);
  const db = mongo.db();
  await seed(db, before);
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  const planned = await mod.plan(db);
  const changes = await mod.up(db);
  expect(changes).toEqual(planned);
  if (options.changes) expect(changes).toEqual(options.changes);
  expect(await contents(db, Object.keys(after))).toEqual(after);
  expect(await mod.up(db)).toEqual({});
  expect(await mod.plan(db)).toEqual({});
  if (options.reversible === false) {
    expect(typeof mod.irreversible).toBe('string');
    await expect(mod.down(db)).rejects.toThrow(/irreversible/);
  } else {
    await mod.down(db);
    const expected = options.roundTrip ?? before;
    expect(
      await contents(
        db,
        names.filter((n) => n in expected),
      ),
    ).toEqual(expected);
  }
  return db;
}

describe('20261126080000-baseline', () => {
  it('changes nothing and cannot be rolled back', async () => {
    await check(
      '20261126080000-baseline',
      { users: [{ _id: id(1), displayName: 'a' }] },
      { users: [{ _id: id(1), displayName: 'a' }] },
      { changes: {}, reversible: false },
    );
  });
});

describe('20261126080100-rename-output-collection', () => {
  const name = '20261126080100-rename-output-collection';
  it('renames output to outputs and back', async () => {
    const docs = [{ _id: id(1), output_type: 'output', stepRef: id(9) }];
    await check(
      name,
      { output: docs },
      { output: [], outputs: docs },
      { changes: { outputs: 1 }, roundTrip: { output: docs, outputs: [] } },
    );
  });

  it('merges into a non-empty outputs: identical duplicates count as moved, a conflicting one stays and is reported', async () => {
    const mod = load(name);
    const db = mongo.db();
    await seed(db, {
      output: [
        { _id: id(1), file_name: 'a' },
        { _id: id(2), file_name: 'b' },
        { _id: id(3), file_name: 'c-old' },
      ],
      outputs: [
        { _id: id(2), file_name: 'b' },
        { _id: id(3), file_name: 'c-new' },
      ],
    });
    const ctx = { report: new MigrationReport() };
    expect(await mod.up(db, undefined, ctx)).toEqual({ outputs: 2 });
    expect(await contents(db, ['output', 'outputs'])).toEqual({
      output: [{ _id: id(3), file_name: 'c-old' }],
      outputs: [
        { _id: id(1), file_name: 'a' },
        { _id: id(2), file_name: 'b' },
        { _id: id(3), file_name: 'c-new' },
      ],
    });
    expect(ctx.report.summary().counts).toEqual({
      'output._id: a different document with this _id is in outputs: left in output': 1,
    });
  });
});

describe('20261126080200-rename-workflow-executor-fields', () => {
  it('fixes worflow* and the capitalised schema key; down restores the December 2023 shape', async () => {
    const dec2023 = {
      workflowExecutor: 'barfi',
      workflowExecutorVersion: 'v2.0',
      WorkflowExecutorSchema: {},
    };
    const first = {
      worflowExecutor: 'barfi',
      worflowExecutorVersion: '0.1',
      WorkflowExecutorSchema: { a: 1 },
    };
    await check(
      '20261126080200-rename-workflow-executor-fields',
      { executions: [{ _id: id(1), workflowSchema: dec2023 }] },
      {
        executions: [
          {
            _id: id(1),
            workflowSchema: {
              workflowExecutor: 'barfi',
              workflowExecutorVersion: 'v2.0',
              workflowExecutorSchema: {},
            },
          },
        ],
      },
      { changes: { executions: 1 } },
    );
    await check(
      '20261126080200-rename-workflow-executor-fields',
      { executions: [{ _id: id(2), workflowSchema: first }] },
      {
        executions: [
          {
            _id: id(2),
            workflowSchema: {
              workflowExecutor: 'barfi',
              workflowExecutorVersion: '0.1',
              workflowExecutorSchema: { a: 1 },
            },
          },
        ],
      },
      {
        roundTrip: {
          executions: [
            {
              _id: id(2),
              workflowSchema: {
                workflowExecutor: 'barfi',
                workflowExecutorVersion: '0.1',
                WorkflowExecutorSchema: { a: 1 },
              },
            },
          ],
        },
      },
    );
  });
});

describe('20261126080300-rename-version-fields', () => {
  it('renames version, dockerHubLink and the capitalised component keys; a conflict keeps both and is reported', async () => {
    const before = {
      versions: [
        {
          _id: id(1),
          version: 'v1.0',
          dockerHubLink: 'https://hub.docker.com/x',
          component_version: '1.0.0',
        },
        { _id: id(2), odtp_version: '0.5.0', imageLink: null, component_version: '2.0.0' },
      ],
    };
    await check(
      '20261126080300-rename-version-fields',
      before,
      {
        versions: [
          {
            _id: id(1),
            component_version: '1.0.0',
            odtp_version: 'v1.0',
            imageLink: 'https://hub.docker.com/x',
          },
          { _id: id(2), odtp_version: '0.5.0', imageLink: null, component_version: '2.0.0' },
        ],
      },
      {
        changes: { versions: 1 },
        // down brings every version back to the older names, including the one written with the new ones
        roundTrip: {
          versions: [
            before.versions[0],
            { _id: id(2), component_version: '2.0.0', version: '0.5.0', dockerHubLink: null },
          ],
        },
      },
    );
    const mod = load('20261126080300-rename-version-fields');
    const db = mongo.db();
    await seed(db, {
      versions: [{ _id: id(3), ComponentId: id(7), componentId: id(8), Component: { componentName: 'x' } }],
    });
    const report = new MigrationReport();
    expect(await mod.up(db, undefined, { report })).toEqual({ versions: 1 });
    expect(await db.collection('versions').findOne({ _id: id(3) })).toEqual({
      _id: id(3),
      ComponentId: id(7),
      componentId: id(8),
      component: { componentName: 'x' },
    });
    expect(report.summary().counts).toEqual({
      'versions.ComponentId: both ComponentId and componentId are set and differ: left both': 1,
    });
  });
});

describe('20261126080400-rename-result-execution-ref', () => {
  it('renames executionRed', async () => {
    await check(
      '20261126080400-rename-result-execution-ref',
      { results: [{ _id: id(1), executionRed: id(5), output: [] }] },
      { results: [{ _id: id(1), output: [], executionRef: id(5) }] },
      { changes: { results: 1 } },
    );
  });
});

describe('20261126081600-rename-camelcase-timestamps', () => {
  it('renames createdAt/updatedAt in executions and steps only', async () => {
    await check(
      '20261126081600-rename-camelcase-timestamps',
      {
        executions: [
          { _id: id(1), createdAt: t('2024-06-01T10:00:00Z'), updatedAt: t('2024-06-01T10:00:00Z') },
        ],
        steps: [{ _id: id(2), createdAt: t('2024-06-01T10:00:01Z') }],
        users: [{ _id: id(3), createdAt: 'kept' }],
      },
      {
        executions: [
          { _id: id(1), created_at: t('2024-06-01T10:00:00Z'), updated_at: t('2024-06-01T10:00:00Z') },
        ],
        steps: [{ _id: id(2), created_at: t('2024-06-01T10:00:01Z') }],
        users: [{ _id: id(3), createdAt: 'kept' }],
      },
      { changes: { executions: 1, steps: 1 } },
    );
  });

  it('is held for ODTP 0.5, which writes the camelCase names', () => {
    const mod = load('20261126081600-rename-camelcase-timestamps');
    expect(lowestSafeLevel(mod.affects!)).toBe('transition');
    expect(effectConflicts(appContract('odtp-0.5'), mod.affects!)).toEqual([
      'ODTP 0.5 writes executions.createdAt instead of created_at (a date)',
      'ODTP 0.5 writes executions.updatedAt instead of updated_at (a date)',
      'ODTP 0.5 writes steps.createdAt instead of created_at (a date)',
      'ODTP 0.5 writes steps.updatedAt instead of updated_at (a date)',
    ]);
  });
});

describe('20261126080600-reference-strings-to-objectid and 20261126081700-application-references-to-objectid', () => {
  const before = {
    digitalTwins: [{ _id: id(1), userRef: hex(2), executions: [hex(3), id(4)] }],
    executions: [
      {
        _id: id(3),
        dt_id: hex(1),
        digitalTwinRef: id(1),
        workflow_id: hex(6),
        workflowSchema: {
          component_versions: [hex(7), 'not-an-id'],
          components: [{ component: hex(8), version: hex(7) }],
        },
        steps: ['no-step'],
      },
    ],
    outputs: [
      { _id: id(5), stepRef: hex(9), access_control: { public: false, authorized_users: [hex(2), null] } },
    ],
    users: [{ _id: id(2), displayName: 'u', digitalTwins: [id(1)] }],
  };
  const afterFirst = {
    digitalTwins: [{ _id: id(1), userRef: hex(2), executions: [id(3), id(4)] }],
    executions: [
      {
        _id: id(3),
        dt_id: hex(1),
        digitalTwinRef: id(1),
        workflow_id: hex(6),
        workflowSchema: {
          component_versions: [hex(7), 'not-an-id'],
          components: [{ component: id(8), version: id(7) }],
        },
        steps: ['no-step'],
      },
    ],
    outputs: before.outputs,
    users: before.users,
  };

  it('080600 converts string ids where ODTP writes ObjectIds (scalar, array, nested, array of documents) and leaves the references ODTP 0.5 writes as strings', async () => {
    const mod = load('20261126080600-reference-strings-to-objectid');
    const db = mongo.db();
    await seed(db, before);
    const report = new MigrationReport();
    expect(await mod.plan(db)).toEqual({ digitalTwins: 1, executions: 1 });
    expect(await mod.up(db, undefined, { report })).toEqual({ digitalTwins: 1, executions: 1 });
    expect(await contents(db, ['digitalTwins', 'executions', 'outputs', 'users'])).toEqual(afterFirst);
    expect(report.summary().counts).toEqual({
      'executions.steps: not an ObjectId ("no-step"): left as is': 1,
    });
    expect(await mod.up(db)).toEqual({});
    expect(mod.irreversible).toMatch(/not recorded/);
    expect(lowestSafeLevel(mod.affects!)).toBe('odtp-0.5');
  });

  it('081700 converts the references ODTP 0.5 writes as strings, and is held for ODTP 0.5, naming what it queries', async () => {
    const mod = load('20261126081700-application-references-to-objectid');
    const db = mongo.db();
    await seed(db, afterFirst);
    const report = new MigrationReport();
    expect(await mod.up(db, undefined, { report })).toEqual({ digitalTwins: 1, executions: 1, outputs: 1 });
    expect(await contents(db, ['digitalTwins', 'executions', 'outputs'])).toEqual({
      digitalTwins: [{ _id: id(1), userRef: id(2), executions: [id(3), id(4)] }],
      executions: [
        {
          _id: id(3),
          dt_id: id(1),
          digitalTwinRef: id(1),
          workflow_id: id(6),
          workflowSchema: {
            component_versions: [id(7), 'not-an-id'],
            components: [{ component: id(8), version: id(7) }],
          },
          steps: ['no-step'],
        },
      ],
      outputs: [
        { _id: id(5), stepRef: id(9), access_control: { public: false, authorized_users: [id(2), null] } },
      ],
    });
    expect(report.summary().counts).toEqual({
      'executions.workflowSchema.component_versions: not an ObjectId ("not-an-id"): left as is': 1,
    });
    expect(await mod.up(db)).toEqual({});
    expect(lowestSafeLevel(mod.affects!)).toBe('transition');
    expect(effectConflicts(appContract('odtp-0.5'), mod.affects!)).toContain(
      'ODTP 0.5 queries outputs.stepRef as a string (delete execution cascade (delete_execution): outputs.find({stepRef: str(step_id)}), then delete_one by _id)',
    );
  });

  it('together they cover every reference path of the graph', () => {
    const covered = new Set(
      ['20261126080600-reference-strings-to-objectid', '20261126081700-application-references-to-objectid']
        .flatMap((n) => load(n).affects!)
        .map((e) => `${e.collection}.${e.path}`),
    );
    expect(referenceGraph().filter((e) => !covered.has(`${e.from}.${e.path}`))).toEqual([]);
  });
});

describe('20261126080700-date-strings-to-dates', () => {
  it('parses Python and ISO timestamps as UTC and leaves what is not a date', async () => {
    const report = new MigrationReport();
    const mod = load('20261126080700-date-strings-to-dates');
    const db = mongo.db();
    await seed(db, {
      users: [{ _id: id(1), created_at: '2023-12-06 07:07:49.389000', updated_at: '2023-12-06T07:07:49Z' }],
      steps: [
        {
          _id: id(2),
          start_timestamp: '2024-03-01T10:00:00.5+01:00',
          end_timestamp: 'soon',
          timestamp: null,
        },
      ],
    });
    expect(await mod.up(db, undefined, { report })).toEqual({ users: 1, steps: 1 });
    expect(await contents(db, ['users', 'steps'])).toEqual({
      users: [
        { _id: id(1), created_at: t('2023-12-06T07:07:49.389Z'), updated_at: t('2023-12-06T07:07:49Z') },
      ],
      steps: [
        {
          _id: id(2),
          start_timestamp: t('2024-03-01T09:00:00.500Z'),
          end_timestamp: 'soon',
          timestamp: null,
        },
      ],
    });
    expect(report.summary().counts).toEqual({ 'steps.end_timestamp: not a date ("soon"): left as is': 1 });
    await expect(mod.down(db)).rejects.toThrow(/irreversible/);
  });
});

describe('20261126080800-authorized-users-array', () => {
  it('wraps a single user id in an array and drops null entries; down unwraps one-element arrays', async () => {
    await check(
      '20261126080800-authorized-users-array',
      { outputs: [{ _id: id(1), access_control: { public: false, authorized_users: id(2) } }] },
      { outputs: [{ _id: id(1), access_control: { public: false, authorized_users: [id(2)] } }] },
      { changes: { outputs: 1 } },
    );
    await check(
      '20261126080800-authorized-users-array',
      {
        outputs: [
          { _id: id(3), access_control: { public: false, authorized_users: [null] } },
          { _id: id(4), access_control: { public: true, authorized_users: null } },
          { _id: id(5), access_control: { public: true, authorized_users: [id(2), id(6)] } },
        ],
      },
      {
        outputs: [
          { _id: id(3), access_control: { public: false, authorized_users: [] } },
          { _id: id(4), access_control: { public: true, authorized_users: [] } },
          { _id: id(5), access_control: { public: true, authorized_users: [id(2), id(6)] } },
        ],
      },
      {
        changes: { outputs: 2 },
        roundTrip: {
          outputs: [
            { _id: id(3), access_control: { public: false, authorized_users: [] } },
            { _id: id(4), access_control: { public: true, authorized_users: [] } },
            { _id: id(5), access_control: { public: true, authorized_users: [id(2), id(6)] } },
          ],
        },
      },
    );
  });
});

describe('20261126081800-fold-dt-id', () => {
  it('is held for ODTP 0.5, which writes dt_id', () => {
    expect(effectConflicts(appContract('odtp-0.5'), load('20261126081800-fold-dt-id').affects!)).toEqual([
      'ODTP 0.5 writes executions.dt_id (a string)',
    ]);
  });

  it('folds dt_id into digitalTwinRef (copy when missing, drop when equal, keep both on conflict)', async () => {
    const report = new MigrationReport();
    const mod = load('20261126081800-fold-dt-id');
    const db = mongo.db();
    await seed(db, {
      executions: [
        { _id: id(1), dt_id: hex(10), digitalTwinRef: id(10) },
        { _id: id(2), dt_id: hex(11) },
        { _id: id(3), dt_id: hex(12), digitalTwinRef: id(13) },
      ],
    });
    expect(await mod.up(db, undefined, { report })).toEqual({ executions: 2 });
    expect(await contents(db, ['executions'])).toEqual({
      executions: [
        { _id: id(1), digitalTwinRef: id(10) },
        { _id: id(2), digitalTwinRef: id(11) },
        { _id: id(3), dt_id: hex(12), digitalTwinRef: id(13) },
      ],
    });
    expect(report.summary().counts).toEqual({
      'executions.dt_id: differs from digitalTwinRef: left both': 1,
    });
    await mod.down(db);
    expect(await contents(db, ['executions'])).toEqual({
      executions: [
        { _id: id(1), digitalTwinRef: id(10), dt_id: hex(10) },
        { _id: id(2), digitalTwinRef: id(11), dt_id: hex(11) },
        { _id: id(3), dt_id: hex(12), digitalTwinRef: id(13) },
      ],
    });
  });
});

describe('20261126081000-rebuild-component-versions', () => {
  it('appends missing version ids in creation order and derives repoLink (disambiguated when shared, reported when unknown)', async () => {
    const report = new MigrationReport();
    const mod = load('20261126081000-rebuild-component-versions');
    const db = mongo.db();
    await seed(db, {
      components: [
        { _id: id(1), componentName: 'a' },
        { _id: id(2), componentName: 'b', versions: [id(99)] },
        { _id: id(3), componentName: 'c', repoLink: 'https://github.com/odtp-org/c' },
        { _id: id(4), componentName: 'd' },
      ],
      versions: [
        {
          _id: id(12),
          componentId: id(1),
          repoLink: 'https://github.com/odtp-org/a',
          created_at: t('2024-01-02T00:00:00Z'),
        },
        {
          _id: id(11),
          componentId: id(1),
          repoLink: 'https://github.com/odtp-org/a',
          created_at: t('2024-01-01T00:00:00Z'),
        },
        {
          _id: id(13),
          componentId: id(2),
          repoLink: 'https://github.com/...',
          created_at: t('2024-01-01T00:00:00Z'),
        },
        {
          _id: id(14),
          componentId: id(3),
          component: { repoLink: 'https://github.com/...' },
          created_at: t('2024-01-01T00:00:00Z'),
        },
      ],
    });
    expect(await mod.up(db, undefined, { report })).toEqual({ components: 4 });
    expect(await contents(db, ['components'])).toEqual({
      components: [
        {
          _id: id(1),
          componentName: 'a',
          versions: [id(11), id(12)],
          repoLink: 'https://github.com/odtp-org/a',
        },
        { _id: id(2), componentName: 'b', versions: [id(99), id(13)], repoLink: 'https://github.com/...' },
        { _id: id(3), componentName: 'c', repoLink: 'https://github.com/odtp-org/c', versions: [id(14)] },
        { _id: id(4), componentName: 'd', versions: [] },
      ],
    });
    expect(report.summary().counts).toEqual({
      'components.repoLink: no version names a repoLink: left unset': 1,
    });
    expect(await mod.up(db)).toEqual({});

    const shared = mongo.db();
    await seed(shared, {
      components: [{ _id: id(1) }, { _id: id(2) }],
      versions: [
        { _id: id(11), componentId: id(1), repoLink: 'https://github.com/...' },
        { _id: id(12), componentId: id(2), repoLink: 'https://github.com/...' },
      ],
    });
    await mod.up(shared);
    expect(
      (
        await shared
          .collection('components')
          .find({}, { sort: { _id: 1 } })
          .toArray()
      ).map((c) => c.repoLink),
    ).toEqual([`https://github.com/...#${hex(1)}`, `https://github.com/...#${hex(2)}`]);
    expect(mod.irreversible).toBeDefined();
  });
});

describe('20261126081100-workflow-schema-component-versions', () => {
  it('turns components [{component, version}] into component_versions, keeping components only when they disagree', async () => {
    const versions = [
      { _id: id(21), componentId: id(1) },
      { _id: id(22), componentId: id(2) },
    ];
    await check(
      '20261126081100-workflow-schema-component-versions',
      {
        versions,
        executions: [
          {
            _id: id(5),
            workflowSchema: {
              workflowExecutor: 'barfi',
              components: [
                { component: id(1), version: id(21) },
                { component: id(2), version: id(22) },
              ],
            },
          },
        ],
      },
      {
        executions: [
          { _id: id(5), workflowSchema: { workflowExecutor: 'barfi', component_versions: [id(21), id(22)] } },
        ],
      },
      { changes: { executions: 1 } },
    );
    const report = new MigrationReport();
    const mod = load('20261126081100-workflow-schema-component-versions');
    const db = mongo.db();
    await seed(db, {
      versions,
      executions: [{ _id: id(6), workflowSchema: { components: [{ component: id(2), version: id(21) }] } }],
    });
    await mod.up(db, undefined, { report });
    expect(await db.collection('executions').findOne({ _id: id(6) })).toEqual({
      _id: id(6),
      workflowSchema: { components: [{ component: id(2), version: id(21) }], component_versions: [id(21)] },
    });
    expect(Object.keys(report.summary().counts)).toEqual([
      "executions.workflowSchema.components: an entry names a component that is not its version's: components kept beside component_versions",
    ]);
  });

  it('under ODTP 0.5 writes component_versions as ODTP 0.5 does: id strings', async () => {
    const db = mongo.db();
    await seed(db, {
      versions: [{ _id: id(21), componentId: id(1) }],
      executions: [{ _id: id(5), workflowSchema: { components: [{ component: id(1), version: id(21) }] } }],
    });
    await load('20261126081100-workflow-schema-component-versions').up(db, undefined, {
      app: appContract('odtp-0.5'),
    });
    expect(await db.collection('executions').findOne({ _id: id(5) })).toEqual({
      _id: id(5),
      workflowSchema: { component_versions: [hex(21)] },
    });
  });
});

describe('20261126081200-move-step-logs', () => {
  it('moves embedded log entries into logs with deterministic ids and empties the arrays', async () => {
    const mod = load('20261126081200-move-step-logs');
    const db = mongo.db();
    await seed(db, {
      steps: [
        {
          _id: id(1),
          timestamp: t('2023-12-06T07:07:49Z'),
          logs: [
            { timestamp: '2023-12-06T08:07:49.691795', type: 'INFO', logstring: 'one' },
            { timestamp: t('2023-12-06T08:07:50Z'), type: 'DEBUG', logstring: 'two', extra: 1 },
            'plain line',
          ],
        },
        { _id: id(2), logs: [] },
      ],
    });
    const report = new MigrationReport();
    expect(await mod.plan(db)).toEqual({ steps: 1, logs: 3 });
    expect(await mod.up(db, undefined, { report })).toEqual({ steps: 1, logs: 3 });
    const fallback = t('2023-12-06T07:07:49Z');
    expect(await db.collection('logs').find({}).sort({ timestamp: 1, logstring: 1 }).toArray()).toEqual([
      {
        _id: embeddedLogId(id(1), 2, fallback),
        stepRef: id(1),
        logstring: 'plain line',
        timestamp: fallback,
      },
      {
        _id: embeddedLogId(id(1), 0, t('2023-12-06T08:07:49.691Z')),
        stepRef: id(1),
        timestamp: t('2023-12-06T08:07:49.691Z'),
        type: 'INFO',
        logstring: 'one',
      },
      {
        _id: embeddedLogId(id(1), 1, t('2023-12-06T08:07:50Z')),
        stepRef: id(1),
        timestamp: t('2023-12-06T08:07:50Z'),
        type: 'DEBUG',
        logstring: 'two',
        extra: 1,
      },
    ]);
    expect(await contents(db, ['steps'])).toEqual({
      steps: [
        { _id: id(1), timestamp: t('2023-12-06T07:07:49Z'), logs: [] },
        { _id: id(2), logs: [] },
      ],
    });
    expect(report.summary().counts).toEqual({
      'steps.logs: an entry is not a document: moved as logstring': 1,
      "steps.logs.timestamp: missing or not a date: the step's time used": 1,
    });
    expect(await mod.up(db)).toEqual({});
    expect(mod.transactional).toBe(false);
  });

  it('under ODTP 0.5 the moved lines carry stepRef as the string ODTP 0.5 writes and queries', async () => {
    const db = mongo.db();
    await seed(db, {
      steps: [{ _id: id(1), logs: [{ timestamp: t('2024-03-01T00:00:00Z'), logstring: 'x' }] }],
    });
    await load('20261126081200-move-step-logs').up(db, undefined, { app: appContract('odtp-0.5') });
    expect(
      await db
        .collection('logs')
        .find({ stepRef: hex(1) })
        .toArray(),
    ).toEqual([
      {
        _id: embeddedLogId(id(1), 0, t('2024-03-01T00:00:00Z')),
        stepRef: hex(1),
        timestamp: t('2024-03-01T00:00:00Z'),
        logstring: 'x',
      },
    ]);
  });

  it('a re-run after a crash between the inserts and the step update inserts nothing twice', async () => {
    const mod = load('20261126081200-move-step-logs');
    const db = mongo.db();
    const entries = Array.from({ length: 2500 }, (_, i) => ({
      timestamp: t('2024-01-01T00:00:00Z'),
      logstring: `line ${i}`,
    }));
    await seed(db, { steps: [{ _id: id(1), logs: entries }] });
    // What a crash leaves: the first chunk inserted, the step untouched.
    await db
      .collection('logs')
      .insertMany(
        entries
          .slice(0, 1000)
          .map((e, i) => ({ _id: embeddedLogId(id(1), i, e.timestamp), stepRef: id(1), ...e })),
      );
    expect(await mod.up(db)).toEqual({ steps: 1, logs: 1500 });
    expect(await db.collection('logs').countDocuments()).toBe(2500);
    expect(new Set((await db.collection('logs').distinct('logstring')) as string[]).size).toBe(2500);
  });
});

describe('20261126081300-deprecated-default', () => {
  it('sets deprecated: false only where it is missing', async () => {
    const mod = load('20261126081300-deprecated-default');
    const db = mongo.db();
    await seed(db, { users: [{ _id: id(1) }, { _id: id(2), deprecated: true }], logs: [{ _id: id(3) }] });
    expect(await mod.up(db)).toEqual({ users: 1 });
    expect(await contents(db, ['users', 'logs'])).toEqual({
      users: [
        { _id: id(1), deprecated: false },
        { _id: id(2), deprecated: true },
      ],
      logs: [{ _id: id(3) }],
    });
    expect(await mod.up(db)).toEqual({});
  });
});

describe('20261126081400-fill-required-fields', () => {
  it('derives missing timestamps from the _id and names unnamed twins and untitled executions', async () => {
    const mod = load('20261126081400-fill-required-fields');
    const db = mongo.db();
    const twin = new ObjectId('65701dc519b363fe3dea87a1');
    await seed(db, {
      digitalTwins: [
        { _id: twin, created_at: t('2023-12-06T07:07:49.574Z'), updated_at: t('2023-12-06T07:07:49.574Z') },
      ],
      users: [{ _id: id(1), displayName: 'x', created_at: t('2024-01-01T00:00:00Z') }],
      executions: [{ _id: id(2), title: '' }],
    });
    expect(await mod.up(db)).toEqual({ digitalTwins: 1, users: 1, executions: 1 });
    expect(await contents(db, ['digitalTwins', 'users', 'executions'])).toEqual({
      digitalTwins: [
        {
          _id: twin,
          created_at: t('2023-12-06T07:07:49.574Z'),
          updated_at: t('2023-12-06T07:07:49.574Z'),
          name: 'digital twin 65701dc519b363fe3dea87a1',
        },
      ],
      users: [
        {
          _id: id(1),
          displayName: 'x',
          created_at: t('2024-01-01T00:00:00Z'),
          updated_at: t('2024-01-01T00:00:00Z'),
        },
      ],
      executions: [{ _id: id(2), title: `execution ${hex(2)}` }],
    });
  });
});

describe('20261126081500-schema-indexes', () => {
  it('creates the 22 derived indexes and drops them on down', async () => {
    const mod = load('20261126081500-schema-indexes');
    const db = mongo.db();
    await seed(db, { users: [{ _id: id(1), displayName: 'a' }] });
    await mod.up(db);
    expect((await db.collection('users').indexes()).map((i) => i.name).sort()).toEqual([
      '_id_',
      'digitalTwins_1',
      'displayName_1',
    ]);
    let total = 0;
    for (const c of await db.listCollections().toArray())
      total += (await db.collection(c.name).indexes()).length - 1;
    expect(total).toBe(22);
    await mod.down(db);
    expect((await db.collection('users').indexes()).map((i) => i.name)).toEqual(['_id_']);
  });

  it('stops before creating anything when duplicates block a unique index, naming their ids', async () => {
    const mod = load('20261126081500-schema-indexes');
    const db = mongo.db();
    await seed(db, {
      users: [
        { _id: id(1), displayName: 'a' },
        { _id: id(2), displayName: 'a' },
      ],
    });
    const error = await mod.up(db).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toBe(
      `duplicates block unique indexes (nothing was changed): users.displayName_1 {"displayName":"a"}: ids {"$oid":"${hex(1)}"}, {"$oid":"${hex(2)}"}`,
    );
    expect((await db.collection('users').indexes()).map((i) => i.name)).toEqual(['_id_']);
  });
});

describe('the upgrade through the transition level', () => {
  const transition = appContract('transition');
  const target = appContract('target');

  it('081700 under ODTP_APP=transition writes both forms where ODTP 0.5 queries strings, ObjectIds elsewhere, and leaves workflows.versions strings', async () => {
    const mod = load('20261126081700-application-references-to-objectid');
    const db = mongo.db();
    await seed(db, {
      digitalTwins: [{ _id: id(1), userRef: hex(2) }],
      workflows: [{ _id: id(6), versions: [hex(7), hex(8)] }],
      steps: [{ _id: id(9), component_version: hex(7) }],
      outputs: [
        { _id: id(5), stepRef: hex(9) },
        { _id: id(10), stepRef: id(9) },
      ],
      logs: [
        { _id: id(11), stepRef: hex(9) },
        { _id: id(12), stepRef: [id(9), hex(9)] },
      ],
    });
    expect(await mod.up(db, undefined, { app: transition })).toEqual({
      digitalTwins: 1,
      steps: 1,
      outputs: 2,
      logs: 1,
    });
    expect(await contents(db, ['digitalTwins', 'workflows', 'steps', 'outputs', 'logs'])).toEqual({
      digitalTwins: [{ _id: id(1), userRef: [id(2), hex(2)] }],
      workflows: [{ _id: id(6), versions: [hex(7), hex(8)] }],
      steps: [{ _id: id(9), component_version: id(7) }],
      outputs: [
        { _id: id(5), stepRef: [id(9), hex(9)] },
        { _id: id(10), stepRef: [id(9), hex(9)] },
      ],
      logs: [
        { _id: id(11), stepRef: [id(9), hex(9)] },
        { _id: id(12), stepRef: [id(9), hex(9)] },
      ],
    });
    // ODTP 0.5's string queries and the target's ObjectId queries both find the pairs
    expect(await db.collection('outputs').countDocuments({ stepRef: hex(9) })).toBe(2);
    expect(await db.collection('outputs').countDocuments({ stepRef: id(9) })).toBe(2);
    expect(await mod.up(db, undefined, { app: transition })).toEqual({});
    expect(effectConflicts(transition, mod.affects!)).toEqual([]);
  });

  it('the end of the upgrade is held until target, refuses while ODTP 0.5 writes, then folds pairs, strings, camelCase and dt_id into the target shapes', async () => {
    const mod = load('20261204120000-finish-target-shapes');
    expect(lowestSafeLevel(mod.affects!)).toBe('target');
    expect(effectConflicts(transition, mod.affects!)).toContain(
      'an ODTP transition release writes digitalTwins.userRef as an array',
    );
    const db = mongo.db();
    const old = (n: number): ObjectId =>
      new ObjectId(
        `${Math.floor(Date.UTC(2024, 0, 1) / 1000).toString(16)}${n.toString(16).padStart(16, '0')}`,
      );
    await seed(db, {
      digitalTwins: [{ _id: old(1), userRef: [id(2), hex(2)] }],
      workflows: [{ _id: old(6), versions: [hex(7), hex(8)] }],
      executions: [
        {
          _id: old(3),
          digitalTwinRef: old(1),
          dt_id: old(1).toHexString(),
          created_at: t('2024-01-01T00:00:00Z'),
          updated_at: t('2024-01-02T00:00:00Z'),
          updatedAt: t('2024-01-03T00:00:00Z'),
        },
      ],
      outputs: [{ _id: old(5), stepRef: [id(9), hex(9)] }],
      logs: [{ _id: old(11), stepRef: hex(9) }],
    });
    // a document in ODTP 0.5's shape inserted a moment ago: a 0.5 client still runs
    await db.collection('logs').insertOne({ _id: new ObjectId(), stepRef: hex(9) });
    const refused = await mod
      .up(db, undefined, { app: target, upgradeWriterWindowS: 3600 })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(MigrationError);
    expect((refused as MigrationError).message).toMatch(
      /^an ODTP 0\.5 client is still running: 1 document\(s\) with a string stepRef in logs \(newest .*\) inserted in the last 3600 s \(UPGRADE_WRITER_WINDOW_S\); retire every one, then run again \(see odtp-db upgrade plan\)$/,
    );
    expect(await db.collection('logs').countDocuments({ stepRef: { $type: 'string' } })).toBe(2);
    await db.collection('logs').deleteMany({ _id: { $gt: old(99) } });
    // executions: changed by two steps (the timestamps, then dt_id)
    expect(await mod.up(db, undefined, { app: target, upgradeWriterWindowS: 3600 })).toEqual({
      digitalTwins: 1,
      workflows: 1,
      executions: 2,
      outputs: 1,
      logs: 1,
    });
    expect(await contents(db, ['digitalTwins', 'workflows', 'executions', 'outputs', 'logs'])).toEqual({
      digitalTwins: [{ _id: old(1), userRef: id(2) }],
      workflows: [{ _id: old(6), versions: [id(7), id(8)] }],
      executions: [
        {
          _id: old(3),
          digitalTwinRef: old(1),
          created_at: t('2024-01-01T00:00:00Z'),
          updated_at: t('2024-01-03T00:00:00Z'),
        },
      ],
      outputs: [{ _id: old(5), stepRef: id(9) }],
      logs: [{ _id: old(11), stepRef: id(9) }],
    });
    expect(await mod.up(db, undefined, { app: target })).toEqual({});
  });
});
