import { defineMigration, renameFields } from '@odtp/migrations';

/** Jan 2024 fixed the misspelt `worflow*` keys of executions.workflowSchema (and Dec 2023's capitalised schema key). */
const renames = {
  'workflowSchema.worflowExecutor': 'workflowSchema.workflowExecutor',
  'workflowSchema.worflowExecutorVersion': 'workflowSchema.workflowExecutorVersion',
  'workflowSchema.worflowExecutorSchema': 'workflowSchema.workflowExecutorSchema',
  'workflowSchema.WorkflowExecutorSchema': 'workflowSchema.workflowExecutorSchema',
};

export const { description, transactional, affects, irreversible, up, down, plan } = defineMigration({
  description: 'executions.workflowSchema: worflow* and WorkflowExecutorSchema -> workflow*',
  up: [renameFields('executions', renames)],
  down: [
    // Back to the shape of the December 2023 dumps (the only older spelling that real dumps show).
    renameFields('executions', {
      'workflowSchema.workflowExecutorSchema': 'workflowSchema.WorkflowExecutorSchema',
    }),
  ],
});
