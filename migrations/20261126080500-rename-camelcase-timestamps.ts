import { defineMigration, renameFields } from '@odtp/migrations';

/** v0.4.0 gave executions and steps camelCase timestamps, unlike every other collection. */
const renames = { createdAt: 'created_at', updatedAt: 'updated_at' };
const back = { created_at: 'createdAt', updated_at: 'updatedAt' };

export const { description, transactional, irreversible, up, down, plan } = defineMigration({
  description: 'executions and steps: createdAt/updatedAt -> created_at/updated_at',
  up: [renameFields('executions', renames), renameFields('steps', renames)],
  down: [renameFields('executions', back), renameFields('steps', back)],
});
