import {
  defineMigration,
  workflowComponentsToVersions,
  workflowVersionsToComponents,
} from '@odtp/migrations';

/** Legacy executions list `workflowSchema.components: [{component, version}]`; the target is component_versions. */
export const { description, transactional, affects, irreversible, up, down, plan } = defineMigration({
  description: 'executions: workflowSchema.components -> workflowSchema.component_versions',
  up: [workflowComponentsToVersions()],
  down: [workflowVersionsToComponents()],
});
