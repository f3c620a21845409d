import { defineMigration } from '@odtp/migrations';

/**
 * Baseline: the oldest ODTP databases (December 2023). Nothing to change; every later migration detects the
 * shapes it handles from the documents themselves, so a database of any generation starts here.
 */
export const { description, transactional, affects, irreversible, up, down, plan } = defineMigration({
  description: 'baseline: the December 2023 ODTP schema (no changes)',
  up: [],
  down: { irreversible: 'the baseline is the starting point; there is nothing before it' },
});
