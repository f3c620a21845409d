import { dateStringsToDates, defineMigration } from '@odtp/migrations';

/** Dumps and the GUI wrote timestamps as strings ("2023-12-06 07:07:49.633000", naive UTC, or ISO 8601). */
const FIELDS = ['created_at', 'updated_at', 'timestamp', 'start_timestamp', 'end_timestamp'];
const COLLECTIONS = [
  'users',
  'digitalTwins',
  'components',
  'versions',
  'workflows',
  'executions',
  'steps',
  'outputs',
  'results',
  'logs',
];

export const { description, transactional, affects, irreversible, up, down, plan } = defineMigration({
  description: 'timestamps stored as strings -> Date',
  up: COLLECTIONS.map((c) => dateStringsToDates(c, FIELDS)),
  down: {
    irreversible: 'the original string formats are not recorded; Dates are read by every ODTP version',
  },
});
