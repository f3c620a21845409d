import { defineMigration, referenceEffects, referenceSteps } from '@odtp/migrations';

/**
 * The reference paths that ODTP writes as ObjectIds (and the legacy ones: steps.component, the entries of
 * workflowSchema.components) hold ObjectIds, never 24-hex strings (older generations and JSON dumps wrote
 * strings). The references ODTP 0.5 itself writes as strings wait for 20261126081700. Values that are not ids stay
 * and are reported.
 */
const PATHS = {
  users: ['digitalTwins'],
  digitalTwins: ['executions'],
  components: ['versions'],
  versions: ['componentId', 'component.componentId'],
  executions: [
    'digitalTwinRef',
    'workflowSchema.components.component',
    'workflowSchema.components.version',
    'steps',
  ],
  steps: ['executionRef', 'component', 'output'],
  results: ['executionRef', 'digitalTwinRef', 'output'],
} as const;

export const { description, transactional, affects, irreversible, up, down, plan } = defineMigration({
  description: 'reference values stored as 24-hex strings -> ObjectId where ODTP writes ObjectIds',
  affects: referenceEffects(PATHS),
  up: referenceSteps(PATHS),
  down: {
    irreversible:
      'which references were strings is not recorded, and every ODTP version writes ObjectIds here',
  },
});
