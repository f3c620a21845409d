import { defineMigration, foldReference, unfoldReference } from '@odtp/migrations';

/** v0.5 executions hold the twin twice: dt_id (a string) and digitalTwinRef. A conflict is reported, not guessed. */
export const { description, transactional, irreversible, up, down, plan } = defineMigration({
  description: 'executions: dt_id folded into digitalTwinRef',
  up: [foldReference('executions', 'dt_id', 'digitalTwinRef')],
  down: [unfoldReference('executions', 'dt_id', 'digitalTwinRef')],
});
