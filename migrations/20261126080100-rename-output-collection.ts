import { defineMigration, renameCollection } from '@odtp/migrations';

/** The collection was `output` in early databases, `outputs` since. */
export const { description, transactional, affects, irreversible, up, down, plan } = defineMigration({
  description: 'collection output -> outputs',
  up: [renameCollection('output', 'outputs')],
  down: [renameCollection('outputs', 'output')],
  transactional: false,
});
