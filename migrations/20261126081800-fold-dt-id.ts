import { defineMigration, foldReference, unfoldReference } from '@odtp/migrations';

/**
 * v0.5 executions hold the twin twice: dt_id (a string) and digitalTwinRef. A conflict is reported, not guessed.
 * ODTP 0.5 writes dt_id, so this waits for an application that uses digitalTwinRef only.
 */
export const { description, transactional, affects, irreversible, up, down, plan } = defineMigration({
  description: 'executions: dt_id folded into digitalTwinRef',
  affects: [{ collection: 'executions', path: 'dt_id', change: 'remove' }],
  up: [foldReference('executions', 'dt_id', 'digitalTwinRef')],
  down: [unfoldReference('executions', 'dt_id', 'digitalTwinRef')],
});
