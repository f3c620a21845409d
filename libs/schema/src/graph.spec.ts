import { Schema } from 'mongoose';
import { graphToMermaid, referenceGraph } from './graph';
import { COLLECTIONS, OWNERSHIP, ownershipOf } from './registry';

describe('referenceGraph', () => {
  const edges = referenceGraph();
  const short = edges.map(
    (e) =>
      `${e.from}.${e.path} -> ${e.to}${e.many ? '[]' : ''}${e.inverse ? ` <-> ${e.to}.${e.inverse}` : ''}`,
  );

  it('has exactly the edges the schemas declare, nested and array paths included', () => {
    expect(short).toEqual([
      'users.digitalTwins -> digitalTwins[] <-> digitalTwins.userRef',
      'digitalTwins.userRef -> users <-> users.digitalTwins',
      'digitalTwins.executions -> executions[] <-> executions.digitalTwinRef',
      'components.versions -> versions[] <-> versions.componentId',
      'versions.componentId -> components <-> components.versions',
      'versions.component.componentId -> components',
      'workflows.versions -> versions[]',
      'executions.digitalTwinRef -> digitalTwins <-> digitalTwins.executions',
      'executions.workflow_id -> workflows',
      'executions.workflowSchema.component_versions -> versions[]',
      'executions.steps -> steps[] <-> steps.executionRef',
      'steps.executionRef -> executions <-> executions.steps',
      'steps.component_version -> versions',
      'steps.output -> outputs',
      'outputs.stepRef -> steps',
      'outputs.access_control.authorized_users -> users[]',
      'results.executionRef -> executions',
      'results.digitalTwinRef -> digitalTwins',
      'results.output -> outputs[]',
      'logs.stepRef -> steps',
    ]);
    expect(edges).toHaveLength(20);
    expect(edges.filter((e) => e.inverse)).toHaveLength(8);
  });

  it('rejects a reference to a collection that does not exist', () => {
    const broken = {
      name: 'users' as const,
      description: 'x',
      schema: new Schema({ ref: { type: Schema.Types.ObjectId, ref: 'nowhere' } }),
    };
    expect(() => referenceGraph([broken])).toThrow('users.ref references unknown collection nowhere');
  });

  it('rejects inverse pairs the schemas do not back', () => {
    const users = { name: 'users' as const, description: 'x', schema: new Schema({}) };
    expect(() => referenceGraph([users, ...COLLECTIONS.slice(1)])).toThrow(
      'inverse pair users.digitalTwins <-> digitalTwins.userRef does not match the schemas',
    );
  });

  it('renders a mermaid flowchart', () => {
    expect(graphToMermaid(edges.slice(0, 2))).toBe(
      'flowchart LR\n  users -->|"digitalTwins[]"| digitalTwins\n  digitalTwins -->|"userRef"| users',
    );
  });
});

describe('ownership (which parent owns which child)', () => {
  it('is declared in the registry and every owning path is an edge of the graph, in its direction', () => {
    expect(OWNERSHIP.map((o) => o.child)).toEqual(['steps', 'outputs', 'versions', 'logs']);
    expect(ownershipOf('logs')).toEqual({
      child: 'logs',
      kind: 'refersTo',
      path: 'stepRef',
      parent: 'steps',
    });
    expect(ownershipOf('users')).toBeUndefined();
    const edges = referenceGraph();
    for (const o of OWNERSHIP)
      if (o.kind === 'lists')
        for (const p of o.parents)
          expect(edges.some((e) => e.from === p.collection && e.path === p.path && e.to === o.child)).toBe(
            true,
          );
  });
});
