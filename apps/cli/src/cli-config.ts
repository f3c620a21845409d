import { APP_LEVELS, loadConfig } from '@odtp/config';
import type { AppConfig, AppLevel } from '@odtp/config';
import { parseChoice } from './cli-support';

/** The flags every database command shares, read before the commands are built (their services need them). */
export interface GlobalFlags {
  uri?: string;
  app?: AppLevel;
}

export function parseAppLevel(value: string, flag = '--app'): AppLevel {
  return parseChoice(value, APP_LEVELS, flag);
}

/** `--uri` and `--app` from the arguments (`--uri x` or `--uri=x`), up to a `--`. */
export function globalFlags(argv: readonly string[]): GlobalFlags {
  const flags: GlobalFlags = {};
  for (let i = 0; i < argv.length && argv[i] !== '--'; i++) {
    const [name, inline] = argv[i].split(/=(.*)/s, 2);
    if (name !== '--uri' && name !== '--app') continue;
    const value = inline ?? argv[i + 1];
    if (value === undefined) continue;
    if (name === '--uri') flags.uri = value;
    else flags.app = parseAppLevel(value);
  }
  return flags;
}

/** The configuration of one CLI run: the environment (and .env) with --uri and --app applied. */
export function cliConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): AppConfig {
  const flags = globalFlags(argv);
  return loadConfig({
    ...env,
    ...(flags.uri ? { MONGODB_URI: flags.uri } : {}),
    ...(flags.app ? { ODTP_APP: flags.app } : {}),
  });
}
