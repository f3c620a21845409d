import type { SeedFile } from '@odtp/seeding';
import { components } from './components.seed';
import { digitalTwins } from './digital-twins.seed';
import { executions } from './executions.seed';
import { logs } from './logs.seed';
import { outputs } from './outputs.seed';
import { results } from './results.seed';
import { steps } from './steps.seed';
import { users } from './users.seed';
import { versions } from './versions.seed';
import { workflows } from './workflows.seed';

/** The demo profile: a small ODTP installation (3 users, 5 twins, the public component zoo, 6 executions). */
export const demoSeed: SeedFile[] = [
  users,
  digitalTwins,
  components,
  versions,
  workflows,
  executions,
  steps,
  outputs,
  results,
  logs,
];
