import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AppConfig } from '@odtp/config';

export const ENGINE_KINDS = ['uri', 'memory-server', 'embedded'] as const;
export type EngineKind = (typeof ENGINE_KINDS)[number];

export interface EngineChoice {
  kind: EngineKind;
  /** One sentence saying why this engine was chosen (logged at start). */
  reason: string;
  /** The mongod binary mongodb-memory-server will run. */
  binary?: string;
}

/** Where mongodb-memory-server keeps downloaded binaries (MONGOMS_DOWNLOAD_DIR, node_modules/.cache, ~/.cache). */
export function binaryCacheDirs(env: NodeJS.ProcessEnv, cwd: string): string[] {
  const dirs: string[] = [];
  if (env.MONGOMS_DOWNLOAD_DIR) dirs.push(path.resolve(cwd, env.MONGOMS_DOWNLOAD_DIR));
  dirs.push(path.join(cwd, 'node_modules', '.cache', 'mongodb-memory-server'));
  dirs.push(path.join(env.HOME ?? os.homedir(), '.cache', 'mongodb-binaries'));
  return dirs;
}

function isExecutableFile(file: string): boolean {
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A locally available mongod binary, without any network access; undefined when there is none. */
export function findMongodBinary(
  env: NodeJS.ProcessEnv,
  cwd = process.cwd(),
): { binary?: string; looked: string[] } {
  const looked: string[] = [];
  if (env.MONGOMS_SYSTEM_BINARY) {
    looked.push(env.MONGOMS_SYSTEM_BINARY);
    if (isExecutableFile(env.MONGOMS_SYSTEM_BINARY)) return { binary: env.MONGOMS_SYSTEM_BINARY, looked };
  }
  for (const dir of binaryCacheDirs(env, cwd)) {
    looked.push(dir);
    let entries: string[];
    try {
      entries = fs.readdirSync(dir).sort().reverse();
    } catch {
      continue;
    }
    for (const name of entries) {
      if (!name.startsWith('mongod')) continue;
      const file = path.join(dir, name);
      if (isExecutableFile(file)) return { binary: file, looked };
    }
  }
  return { looked };
}

export class EngineUnavailableError extends Error {}

/** Decide which database the process talks to: MONGODB_URI, then ODTP_DB_ENGINE (auto: memory-server if a mongod binary is local, else embedded). */
export function chooseEngine(
  config: AppConfig,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): EngineChoice {
  if (config.mongodbUri) return { kind: 'uri', reason: 'MONGODB_URI is set' };
  if (config.dbEngine === 'embedded') return { kind: 'embedded', reason: 'ODTP_DB_ENGINE=embedded' };
  const { binary, looked } = findMongodBinary(
    { ...env, MONGOMS_SYSTEM_BINARY: config.mongodSystemBinary ?? env.MONGOMS_SYSTEM_BINARY },
    cwd,
  );
  if (config.dbEngine === 'memory-server') {
    if (!binary) {
      throw new EngineUnavailableError(
        `ODTP_DB_ENGINE=memory-server but no mongod binary was found (looked in: ${looked.join(', ')}); set MONGOMS_SYSTEM_BINARY`,
      );
    }
    return { kind: 'memory-server', reason: `ODTP_DB_ENGINE=memory-server, mongod at ${binary}`, binary };
  }
  if (binary)
    return { kind: 'memory-server', reason: `a local mongod binary was found at ${binary}`, binary };
  return {
    kind: 'embedded',
    reason: 'no MONGODB_URI and no local mongod binary (mongodb-memory-server would need a download)',
  };
}
