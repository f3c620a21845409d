import { ref } from '@odtp/seeding';
import type { SeedFile } from '@odtp/seeding';
import { at, EXECUTIONS, executionKey, stepKey } from './catalog';

export const results: SeedFile = {
  file: 'seeds/demo/results.seed.ts',
  collection: 'results',
  documents: EXECUTIONS.map((e) => ({
    key: executionKey(e),
    doc: {
      executionRef: ref('executions', executionKey(e)),
      digitalTwinRef: ref('digitalTwins', e.twin),
      output: e.steps.map((_, i) => ref('outputs', `${stepKey(e, i)}/output`)),
      title: `Result of ${e.title}`,
      description: `Outputs of the ${e.steps.length} step(s) of ${e.title}`,
      tags: ['demo'],
      created_at: at(e.minute + 1 + e.steps.length * 15),
      updated_at: at(e.minute + 1 + e.steps.length * 15),
      deprecated: false,
    },
  })),
};
