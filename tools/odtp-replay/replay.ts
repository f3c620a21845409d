import { ObjectId } from 'bson';
import type { Document } from 'bson';
import type { OdtpClient } from './odtp-client';

/** The outcome of one ODTP operation in a replay: passed, or why not (a rejected write, a read that missed). */
export interface OpResult {
  op: string;
  ok: boolean;
  detail?: string;
}

export const OPERATIONS = [
  'add user',
  'add component and versions',
  'workflow get-or-create by version ids',
  'add digital twin',
  'add execution with its steps',
  'run bookkeeping',
  'component client: logs and output upload',
  'sub-collection listing',
  'versions by name and tag',
  'sorted versions',
  'S3 keys by stepRef',
  'twin-name check by userRef',
  'deprecate / activate',
  'delete_execution cascade',
  'raw delete of one document',
] as const;

class Mismatch extends Error {}

function expectThat(condition: boolean, detail: string): void {
  if (!condition) throw new Mismatch(detail);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

const hexes = (docs: Document[]): string[] => docs.map((d) => String(d._id)).sort();

/**
 * Run ODTP's whole life cycle once through `client`, each operation checked by reading back what ODTP reads.
 * A failing operation is recorded and the replay goes on where it can (later operations that need its result
 * are recorded as failed too). `tag` keeps names unique when a database is replayed on twice.
 */
export async function replayLifecycle(
  client: OdtpClient,
  options: { tag?: string; afterWrites?: () => Promise<void> } = {},
): Promise<OpResult[]> {
  const tag = options.tag ?? 'replay';
  const results: OpResult[] = [];
  const state: Record<string, string> = {};
  let steps: string[] = [];
  const run = async (op: (typeof OPERATIONS)[number], work: () => Promise<void>): Promise<void> => {
    try {
      await work();
      results.push({ op, ok: true });
    } catch (e) {
      const err = e as { code?: number; message?: string };
      results.push({
        op,
        ok: false,
        detail:
          err.code !== undefined ? `code ${err.code}: ${err.message ?? ''}` : (err.message ?? String(e)),
      });
    }
  };
  const need = (key: string): string => {
    const v = state[key];
    if (v === undefined) throw new Mismatch(`needs ${key} from an earlier operation, which failed`);
    return v;
  };

  await run('add user', async () => {
    state.user = await client.addUser(`${tag} user`, `${tag}-gh`, `${tag}@odtp.example.org`);
    expectThat(
      (await client.getDocumentById('users', state.user))?.displayName === `${tag} user`,
      'user not found',
    );
  });

  await run('add component and versions', async () => {
    const repo = `https://github.com/odtp-org/${tag}-component`;
    const a = await client.addComponentVersion({
      name: `${tag}-component`,
      repo,
      type: 'ephemeral',
      tag: 'v1.0.0',
      commit: 'a3f9c2d5e8b14f7a9c0d2e4f6a8b0c1d3e5f7a9b',
      ports: null,
      parameters: { MAX: '10' },
    });
    const b = await client.addComponentVersion({
      name: `${tag}-component`,
      repo,
      type: 'ephemeral',
      tag: 'v1.1.0',
      commit: 'b3f9c2d5e8b14f7a9c0d2e4f6a8b0c1d3e5f7a9b',
      ports: ['8080:80'],
      parameters: null,
    });
    expectThat(a.componentId === b.componentId, 'the second version created a second component');
    state.component = a.componentId;
    state.v1 = a.versionId;
    state.v2 = b.versionId;
    const component = await client.getDocumentById('components', a.componentId);
    expectThat(
      same((component?.versions as unknown[]).map(String), [a.versionId, b.versionId]),
      'components.versions does not list both versions',
    );
  });

  await run('workflow get-or-create by version ids', async () => {
    const versions = [need('v1'), need('v2')];
    const first = await client.getOrCreateWorkflow(versions, `${tag} workflow`);
    const again = await client.getOrCreateWorkflow(versions, `${tag} workflow`);
    expectThat(first.created, 'the first call found a workflow');
    expectThat(!again.created && again.id === first.id, 'the same version list was not reused');
    state.workflow = first.id;
  });

  await run('add digital twin', async () => {
    state.twin = await client.addDigitalTwin(need('user'), `${tag} twin`);
    const user = await client.getDocumentById('users', state.user);
    expectThat(
      same((user?.digitalTwins as unknown[]).map(String), [state.twin]),
      'the user does not list the twin',
    );
    let refused = false;
    await client.addDigitalTwin(state.user, `${tag} twin`).catch(() => (refused = true));
    expectThat(refused, 'a second twin of the same name was accepted');
  });

  await run('add execution with its steps', async () => {
    const r = await client.addExecution(
      need('twin'),
      `${tag} execution`,
      need('workflow'),
      [{ MAX: '10' }, null],
      [null, ['8080:80']],
    );
    state.execution = r.executionId;
    steps = r.stepIds;
    const workflow = await client.getDocumentById('workflows', state.workflow);
    for (const [i, s] of steps.entries()) {
      const step = await client.getDocumentById('steps', s);
      expectThat(
        same(step?.component_version, (workflow!.versions as unknown[])[i]),
        `step ${i} does not carry the workflow's version as stored`,
      );
    }
    const twin = await client.getDocumentById('digitalTwins', state.twin);
    expectThat(
      (twin?.executions as unknown[]).map(String).includes(state.execution),
      'the twin does not list it',
    );
  });

  await run('run bookkeeping', async () => {
    await client.runExecution(need('execution'), `/odtp/executions/${tag}`);
    const execution = await client.getDocumentById('executions', state.execution);
    expectThat(execution?.end_timestamp instanceof Date, 'end_timestamp not set');
    for (const s of steps)
      expectThat((await client.getDocumentById('steps', s))?.end_timestamp instanceof Date, 'step not run');
  });

  await run('component client: logs and output upload', async () => {
    if (!steps.length) throw new Mismatch('needs the steps, which were not created');
    for (const s of steps) {
      await client.componentLogs(s, [`${tag} starting`, `${tag} done`]);
      const output = await client.componentOutput(s, need('user'));
      expectThat(
        String((await client.getDocumentById('steps', s))?.output) === output,
        'steps.output not set',
      );
    }
  });

  // Between ODTP's writes and its later reads: e.g. a deploy that runs `migrate up`.
  await options.afterWrites?.();

  await run('sub-collection listing', async () => {
    const twins = await client.subCollection('users', 'digitalTwins', need('user'), 'digitalTwins');
    const executions = await client.subCollection('digitalTwins', 'executions', need('twin'), 'executions');
    const listed = await client.subCollection('executions', 'steps', need('execution'), 'steps');
    const versions = await client.subCollection(
      'components',
      'versions',
      need('component'),
      'versions',
      true,
    );
    expectThat(same(hexes(twins), [state.twin]), 'twins of the user');
    expectThat(same(hexes(executions), [state.execution]), 'executions of the twin');
    expectThat(same(hexes(listed), [...steps].sort()), 'steps of the execution');
    expectThat(same(hexes(versions), [state.v1, state.v2].sort()), 'versions of the component');
  });

  await run('versions by name and tag', async () => {
    const found = await client.versionsByNameAndTag(`${tag}-component`, 'v1.1.0');
    expectThat(same(hexes(found), [need('v2')]), 'version v1.1.0 not found by name and tag');
  });

  await run('sorted versions', async () => {
    const sorted = (await client.sortedVersions()).filter(
      (v) => (v.component as Document | undefined)?.componentName === `${tag}-component`,
    );
    expectThat(
      same(
        sorted.map((v) => v.component_version),
        ['v1.1.0', 'v1.0.0'],
      ),
      'not sorted by component name, then tag descending',
    );
  });

  await run('S3 keys by stepRef', async () => {
    const keys = await client.s3Keys(need('execution'));
    expectThat(
      same(
        keys,
        steps.map((s) => `odtp/${s}`),
      ),
      `found ${JSON.stringify(keys)}`,
    );
  });

  await run('twin-name check by userRef', async () => {
    expectThat(
      same(await client.twinNames(need('user')), [`${tag} twin`]),
      'the twin is not found by userRef',
    );
  });

  await run('deprecate / activate', async () => {
    expectThat((await client.setDeprecated('versions', need('v1'), true)) === 1, 'not deprecated');
    const active = await client.subCollection('components', 'versions', need('component'), 'versions', true);
    expectThat(same(hexes(active), [state.v2]), 'a deprecated version is still listed as active');
    expectThat((await client.setDeprecated('versions', state.v1, false)) === 1, 'not activated');
  });

  await run('delete_execution cascade', async () => {
    const deleted = await client.deleteExecution(need('execution'));
    expectThat(
      same(deleted, {
        s3Keys: steps.map((s) => `odtp/${s}`),
        logs: steps.length,
        outputs: steps.length,
        steps: steps.length,
      }),
      `deleted ${JSON.stringify(deleted)}`,
    );
    for (const s of steps) {
      for (const c of ['logs', 'outputs'])
        expectThat(
          (await client.db.collection(c).countDocuments({ stepRef: { $in: [s, new ObjectId(s)] } })) === 0,
          `${c} of step ${s} left behind`,
        );
    }
    const twin = await client.getDocumentById('digitalTwins', state.twin);
    expectThat(
      !(twin?.executions as unknown[]).map(String).includes(state.execution),
      'the twin still lists it',
    );
  });

  await run('raw delete of one document', async () => {
    expectThat((await client.deleteDocument('workflows', need('workflow'))) === 1, 'nothing deleted');
    expectThat((await client.getDocumentById('workflows', state.workflow)) === null, 'still there');
  });

  return results;
}

/**
 * ODTP's reads and delete on an execution that was in the database before (seeded, or from a dump): its S3 keys are
 * found by stepRef, and delete_execution takes its steps' outputs and logs with it.
 */
export async function replayOnExisting(client: OdtpClient, executionId: string): Promise<OpResult[]> {
  const results: OpResult[] = [];
  const execution = await client.getDocumentById('executions', executionId);
  const stepIds = ((execution?.steps ?? []) as ObjectId[]).map(String);
  const forms = stepIds.flatMap((s) => [s, new ObjectId(s)]);
  const outputs = await client.db.collection('outputs').countDocuments({ stepRef: { $in: forms } });
  const logs = await client.db.collection('logs').countDocuments({ stepRef: { $in: forms } });
  const record = async (op: string, work: () => Promise<void>): Promise<void> => {
    try {
      await work();
      results.push({ op, ok: true });
    } catch (e) {
      results.push({ op, ok: false, detail: (e as Error).message });
    }
  };
  await record('S3 keys of an existing execution', async () => {
    expectThat(execution !== null && stepIds.length > 0, `no execution ${executionId} with steps`);
    const keys = await client.s3Keys(executionId);
    expectThat(
      keys.length === outputs && outputs > 0,
      `found ${keys.length} of ${outputs} outputs by stepRef`,
    );
  });
  await record('delete an existing execution', async () => {
    const deleted = await client.deleteExecution(executionId);
    expectThat(
      deleted.outputs === outputs && deleted.logs === logs && deleted.steps === stepIds.length,
      `deleted ${JSON.stringify(deleted)} of ${outputs} outputs, ${logs} logs, ${stepIds.length} steps`,
    );
    for (const c of ['outputs', 'logs'])
      expectThat(
        (await client.db.collection(c).countDocuments({ stepRef: { $in: forms } })) === 0,
        `${c} left behind`,
      );
  });
  return results;
}

/** The results as a Markdown table row per operation (for the closing note and the test artifact). */
export function resultTable(columns: Record<string, OpResult[]>): string {
  const names = Object.keys(columns);
  const ops = [...new Set(Object.values(columns).flatMap((c) => c.map((r) => r.op)))];
  const rows = ops.map((op) => {
    const cells = names.map((n) => {
      const r = columns[n].find((x) => x.op === op);
      return r === undefined ? '-' : r.ok ? 'pass' : `FAIL (${(r.detail ?? '').slice(0, 60)})`;
    });
    return `| ${op} | ${cells.join(' | ')} |`;
  });
  return [`| operation | ${names.join(' | ')} |`, `|---|${names.map(() => '---').join('|')}|`, ...rows].join(
    '\n',
  );
}
