import { ObjectId } from 'bson';
import type { Document } from 'bson';

/*
 * A small ODTP database with planted defects of every check, and the exact counts an audit must report.
 * Clean base: users u1 u2, twins t1 (u1) t2 (u2), component c1 (versions v1 v2 v3) and c2 (v4), workflow w1,
 * executions e1 (t1: steps s1 s2) e2 (t2: s3) e3 (t1, not listed by t1), steps s1..s4, outputs o1..o4, result r1,
 * logs l1 l2 l3.
 */
const ids: Record<string, ObjectId> = {};
const id = (name: string): ObjectId =>
  (ids[name] ??= new ObjectId(Buffer.from(name.padEnd(12, '_').slice(0, 12))));
const at = new Date('2025-01-10T09:00:00Z');
const stamp = { created_at: at, updated_at: at };

export function defectsFixture(): Record<string, Document[]> {
  return {
    users: [
      { _id: id('u1'), displayName: 'Ada', digitalTwins: [id('t1')], ...stamp },
      // dangling-reference users.digitalTwins (array): MISSING_T
      { _id: id('u2'), displayName: 'Bea', digitalTwins: [id('t2'), id('MISSING_T')], ...stamp },
      // duplicate users.displayName (with u1)
      { _id: id('u3'), displayName: 'Ada', ...stamp },
    ],
    digitalTwins: [
      // broken-inverse executions.digitalTwinRef: e3 points at t1, t1.executions does not list it
      { _id: id('t1'), userRef: id('u1'), name: 'twin one', executions: [id('e1')], ...stamp },
      // type-drift digitalTwins.userRef (24-hex string) -> also a schema violation
      { _id: id('t2'), userRef: id('u2').toHexString(), name: 'twin two', executions: [id('e2')], ...stamp },
    ],
    components: [
      // broken-inverse components.versions: lists v3, whose componentId is c2
      {
        _id: id('c1'),
        componentName: 'example',
        repoLink: 'https://github.com/odtp-org/example',
        versions: [id('v1'), id('v2'), id('v3')],
        ...stamp,
      },
      {
        _id: id('c2'),
        componentName: 'dashboard',
        repoLink: 'https://github.com/odtp-org/dashboard',
        versions: [id('v4')],
        ...stamp,
      },
    ],
    versions: [
      { _id: id('v1'), componentId: id('c1'), component_version: 'v1', ...stamp },
      { _id: id('v2'), componentId: id('c1'), component_version: 'v2', ...stamp },
      // broken-inverse versions.componentId: c2 does not list v3
      { _id: id('v3'), componentId: id('c2'), component_version: 'v3', ...stamp },
      { _id: id('v4'), componentId: id('c2'), component_version: 'v4', ...stamp },
      // dangling-reference versions.componentId (nested component.componentId too) + orphan (no component lists it)
      {
        _id: id('v5'),
        componentId: id('MISSING_C'),
        component: { componentId: id('MISSING_C') },
        component_version: 'v5',
        ...stamp,
      },
    ],
    // type-drift workflows.versions (array element as a string) -> also a schema violation
    workflows: [{ _id: id('w1'), name: 'w', versions: [id('v1'), id('v2').toHexString()], ...stamp }],
    executions: [
      // dangling-reference executions.workflowSchema.component_versions (nested array): MISSING_V
      {
        _id: id('e1'),
        digitalTwinRef: id('t1'),
        title: 'one',
        workflow_id: id('w1'),
        workflowSchema: { component_versions: [id('v1'), id('MISSING_V')] },
        steps: [id('s1'), id('s2')],
        ...stamp,
      },
      // dangling-reference executions.workflow_id (nullable scalar)
      {
        _id: id('e2'),
        digitalTwinRef: id('t2'),
        title: 'two',
        workflow_id: id('MISSING_W'),
        steps: [id('s3')],
        ...stamp,
      },
      { _id: id('e3'), digitalTwinRef: id('t1'), title: 'three', steps: [], ...stamp },
    ],
    steps: [
      { _id: id('s1'), executionRef: id('e1'), component_version: id('v1'), output: id('o1'), ...stamp },
      // type-drift steps.component_version (string) -> also a schema violation
      {
        _id: id('s2'),
        executionRef: id('e1'),
        component_version: id('v2').toHexString(),
        output: id('o2'),
        ...stamp,
      },
      // dangling-reference steps.output (nullable scalar): MISSING_O, which leaves o3 an orphan
      {
        _id: id('s3'),
        executionRef: id('e2'),
        component_version: id('v1'),
        output: id('MISSING_O'),
        ...stamp,
      },
      // broken-inverse steps.executionRef (e1.steps does not list s4) + orphan (no execution lists it)
      { _id: id('s4'), executionRef: id('e1'), component_version: id('v1'), output: null, ...stamp },
    ],
    outputs: [
      {
        _id: id('o1'),
        stepRef: id('s1'),
        output_type: 'output',
        access_control: { public: false, authorized_users: [id('u1')] },
        ...stamp,
      },
      // dangling-reference outputs.access_control.authorized_users (nested array): MISSING_U
      {
        _id: id('o2'),
        stepRef: id('s2'),
        output_type: 'output',
        access_control: { public: false, authorized_users: [id('u1'), id('MISSING_U')] },
        ...stamp,
      },
      // orphan: no step or result points at it (s3.output is dangling)
      { _id: id('o3'), stepRef: id('s3'), output_type: 'output', ...stamp },
      // orphan: an older output of s1 (a rerun replaced steps.output)
      { _id: id('o4'), stepRef: id('s1'), output_type: 'snapshot', ...stamp },
    ],
    results: [
      // dangling-reference results.output (array): MISSING_O2; type-drift results.digitalTwinRef: not an id
      // (also a schema violation)
      {
        _id: id('r1'),
        executionRef: id('e1'),
        digitalTwinRef: 'not-an-id',
        output: [id('o1'), id('o2'), id('MISSING_O2')],
        ...stamp,
      },
    ],
    logs: [
      { _id: id('l1'), stepRef: id('s1'), timestamp: at, logstring: 'a' },
      { _id: id('l2'), stepRef: id('s2'), timestamp: at, logstring: 'b' },
      // dangling-reference logs.stepRef (required) + orphan (its step is missing)
      { _id: id('l3'), stepRef: id('MISSING_S'), timestamp: at, logstring: 'c' },
    ],
  };
}

export const fixtureId = id;

/** The findings with violations the audit must report: check, collection, path -> violations. */
export const EXPECTED: [string, string, string, number][] = [
  ['dangling-reference', 'users', 'digitalTwins', 1],
  ['dangling-reference', 'versions', 'componentId', 1],
  ['dangling-reference', 'versions', 'component.componentId', 1],
  ['dangling-reference', 'executions', 'workflow_id', 1],
  ['dangling-reference', 'executions', 'workflowSchema.component_versions', 1],
  ['dangling-reference', 'steps', 'output', 1],
  ['dangling-reference', 'outputs', 'access_control.authorized_users', 1],
  ['dangling-reference', 'results', 'output', 1],
  ['dangling-reference', 'logs', 'stepRef', 1],
  ['type-drift', 'digitalTwins', 'userRef', 1],
  ['type-drift', 'workflows', 'versions', 1],
  ['type-drift', 'steps', 'component_version', 1],
  ['type-drift', 'results', 'digitalTwinRef', 1],
  ['broken-inverse', 'components', 'versions', 1],
  ['broken-inverse', 'versions', 'componentId', 1],
  ['broken-inverse', 'executions', 'digitalTwinRef', 1],
  ['broken-inverse', 'steps', 'executionRef', 1],
  ['orphan', 'versions', 'components.versions', 1],
  ['orphan', 'steps', 'executions.steps', 1],
  ['orphan', 'outputs', 'steps.output|results.output', 2],
  ['orphan', 'logs', 'stepRef', 1],
  ['duplicate', 'users', 'displayName', 2],
  ['schema-violation', 'digitalTwins', '$jsonSchema', 1],
  ['schema-violation', 'workflows', '$jsonSchema', 1],
  ['schema-violation', 'steps', '$jsonSchema', 1],
  ['schema-violation', 'results', '$jsonSchema', 1],
];
