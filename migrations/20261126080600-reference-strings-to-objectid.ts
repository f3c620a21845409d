import { defineMigration, referencesToObjectId } from '@odtp/migrations';

/**
 * Every reference path of the graph (and the legacy ones: executions.dt_id, steps.component, the entries of
 * workflowSchema.components) holds ObjectIds, never 24-hex strings. Values that are not ids stay and are reported.
 */
export const REFERENCE_PATHS: Record<string, string[]> = {
  users: ['digitalTwins'],
  digitalTwins: ['userRef', 'executions'],
  components: ['versions'],
  versions: ['componentId', 'component.componentId'],
  workflows: ['versions'],
  executions: [
    'digitalTwinRef',
    'dt_id',
    'workflow_id',
    'workflowSchema.component_versions',
    'workflowSchema.components.component',
    'workflowSchema.components.version',
    'steps',
  ],
  steps: ['executionRef', 'component_version', 'component', 'output'],
  outputs: ['stepRef', 'access_control.authorized_users'],
  results: ['executionRef', 'digitalTwinRef', 'output'],
  logs: ['stepRef'],
};

export const { description, transactional, irreversible, up, down, plan } = defineMigration({
  description: 'reference values stored as 24-hex strings -> ObjectId in every reference path',
  up: Object.entries(REFERENCE_PATHS).map(([collection, paths]) => referencesToObjectId(collection, paths)),
  down: {
    irreversible: 'which references were strings is not recorded, and every ODTP version reads ObjectIds',
  },
});
