import { defineMigration, renameFields } from '@odtp/migrations';

/** The December 2023 results carry the typo `executionRed`. */
export const { description, transactional, affects, irreversible, up, down, plan } = defineMigration({
  description: 'results: executionRed -> executionRef',
  up: [renameFields('results', { executionRed: 'executionRef' })],
  down: [renameFields('results', { executionRef: 'executionRed' })],
});
