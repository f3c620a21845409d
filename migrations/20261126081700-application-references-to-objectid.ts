import { defineMigration, referenceEffects, referenceSteps } from '@odtp/migrations';

/**
 * The references ODTP 0.5 writes and queries as 24-hex strings (userRef, stepRef, component_version,
 * workflows.versions, workflowSchema.component_versions, workflow_id, dt_id, authorized users) become ObjectIds,
 * as the target schema says. Held until the application reads and writes ObjectIds there (ODTP_APP=target).
 */
const PATHS = {
  digitalTwins: ['userRef'],
  workflows: ['versions'],
  executions: ['dt_id', 'workflow_id', 'workflowSchema.component_versions'],
  steps: ['component_version'],
  outputs: ['stepRef', 'access_control.authorized_users'],
  logs: ['stepRef'],
} as const;

export const { description, transactional, affects, irreversible, up, down, plan } = defineMigration({
  description: 'references ODTP 0.5 writes as strings (userRef, stepRef, component_version, ...) -> ObjectId',
  affects: referenceEffects(PATHS),
  up: referenceSteps(PATHS),
  down: {
    irreversible:
      'which references were strings is not recorded; an application at this level reads and writes ObjectIds',
  },
});
