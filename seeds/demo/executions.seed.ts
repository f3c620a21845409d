import { ref } from '@odtp/seeding';
import type { SeedFile } from '@odtp/seeding';
import { at, EXECUTIONS, executionKey, stepKey } from './catalog';

export const executions: SeedFile = {
  file: 'seeds/demo/executions.seed.ts',
  collection: 'executions',
  documents: EXECUTIONS.map((e) => ({
    key: executionKey(e),
    doc: {
      digitalTwinRef: ref('digitalTwins', e.twin),
      workflow_id: e.workflow ? ref('workflows', e.workflow) : null,
      title: e.title,
      description: `${e.title} (${e.steps.length} step${e.steps.length > 1 ? 's' : ''})`,
      tags: ['demo'],
      workflowSchema: {
        workflowExecutor: 'odtpwf',
        workflowExecutorVersion: '0.2.0',
        component_versions: e.steps.map((v) => ref('versions', v)),
        workflowExecutorSchema: e.steps.map((_, i) => i),
      },
      start_timestamp: at(e.minute + 1),
      end_timestamp: at(e.minute + 1 + e.steps.length * 15),
      steps: e.steps.map((_, i) => ref('steps', stepKey(e, i))),
      execution_path: `/odtp/executions/${e.title.replace(/\s+/g, '-')}`,
      created_at: at(e.minute),
      updated_at: at(e.minute + 1 + e.steps.length * 15),
      deprecated: false,
    },
  })),
};
