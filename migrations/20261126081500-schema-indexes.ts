import { createSchemaIndexes, defineMigration, dropSchemaIndexes } from '@odtp/migrations';

/** The indexes of the schema (unique rules and reference lookups), after checking that no duplicates block them. */
export const { description, transactional, affects, irreversible, up, down, plan } = defineMigration({
  description: 'indexes of the schema, created after a duplicate check',
  up: [createSchemaIndexes()],
  down: [dropSchemaIndexes()],
  transactional: false,
});
