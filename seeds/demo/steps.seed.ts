import { ref } from '@odtp/seeding';
import type { SeedFile } from '@odtp/seeding';
import { at, COMPONENTS, EXECUTIONS, executionKey, stepKey } from './catalog';

function componentOf(versionKey: string) {
  return COMPONENTS.find((c) => versionKey.startsWith(`${c.repo}@`))!;
}

export const steps: SeedFile = {
  file: 'seeds/demo/steps.seed.ts',
  collection: 'steps',
  documents: EXECUTIONS.flatMap((e) =>
    e.steps.map((v, i) => {
      const c = componentOf(v);
      const version = c.versions.find((x) => v.endsWith(`@${x.tag}`))!;
      const start = e.minute + 1 + i * 15;
      return {
        key: stepKey(e, i),
        doc: {
          executionRef: ref('executions', executionKey(e)),
          component_version: ref('versions', v),
          timestamp: at(start),
          start_timestamp: at(start),
          end_timestamp: at(start + 14),
          type: c.type,
          inputs: {},
          outputs: {},
          parameters: version.parameters,
          ports: version.ports,
          secrets: false,
          run_step: true,
          error: false,
          msg: null,
          output: ref('outputs', `${stepKey(e, i)}/output`),
          created_at: at(e.minute),
          updated_at: at(start + 14),
          deprecated: false,
        },
      };
    }),
  ),
};
