import { defineMigration, renameFields } from '@odtp/migrations';

/**
 * v0.4.0 gave executions and steps camelCase timestamps, unlike every other collection. ODTP 0.5 still writes
 * them, so this waits for an application that writes created_at/updated_at.
 */
const renames = { createdAt: 'created_at', updatedAt: 'updated_at' };
const back = { created_at: 'createdAt', updated_at: 'updatedAt' };

export const { description, transactional, affects, irreversible, up, down, plan } = defineMigration({
  description: 'executions and steps: createdAt/updatedAt -> created_at/updated_at',
  affects: (['executions', 'steps'] as const).flatMap((collection) =>
    Object.keys(renames).map((path) => ({ collection, path, change: 'rename' as const })),
  ),
  up: [renameFields('executions', renames), renameFields('steps', renames)],
  down: [renameFields('executions', back), renameFields('steps', back)],
});
