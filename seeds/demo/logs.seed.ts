import { ref } from '@odtp/seeding';
import type { SeedFile } from '@odtp/seeding';
import { at, EXECUTIONS, stepKey } from './catalog';

const LINES = [
  ['INFO', 'Starting component container'],
  ['DEBUG', 'Parameters loaded from /odtp/odtp-config/parameters.env'],
  ['INFO', 'Running main script'],
  ['INFO', 'Writing outputs to /odtp/odtp-output'],
  ['INFO', 'Component finished with exit code 0'],
] as const;

export const logs: SeedFile = {
  file: 'seeds/demo/logs.seed.ts',
  collection: 'logs',
  documents: EXECUTIONS.flatMap((e) =>
    e.steps.flatMap((_, i) =>
      LINES.map(([type, line], n) => ({
        key: `${stepKey(e, i)}/${n}`,
        doc: {
          stepRef: ref('steps', stepKey(e, i)),
          timestamp: at(e.minute + 1 + i * 15 + n * 3),
          type,
          logstring: line,
          created_at: at(e.minute + 1 + i * 15 + n * 3),
        },
      })),
    ),
  ),
};
