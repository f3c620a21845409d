import { defineMigration, moveEmbeddedLogs } from '@odtp/migrations';

/**
 * Mar-Jun 2024 pushed log lines into steps.logs (toward the 16 MB limit); they belong in the logs collection.
 * Not a transaction (the data is unbounded): batches with deterministic ids, so a re-run finishes the job.
 */
export const { description, transactional, affects, irreversible, up, down, plan } = defineMigration({
  description: 'steps.logs[] moved into the logs collection',
  up: [moveEmbeddedLogs()],
  down: { irreversible: 'moved lines cannot be told from lines ODTP wrote to the logs collection itself' },
  transactional: false,
});
