import { defineMigration, fillRequiredFields } from '@odtp/migrations';

/** Values the target requires that old writers never set: timestamps from the _id, placeholder names (reported). */
export const { description, transactional, affects, irreversible, up, down, plan } = defineMigration({
  description: 'required created_at/updated_at, digital twin names and execution titles where missing',
  up: [fillRequiredFields()],
  down: { irreversible: 'filled values cannot be told from written ones' },
});
