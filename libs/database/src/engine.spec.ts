import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig } from '@odtp/config';
import { chooseEngine, EngineUnavailableError } from './engine';
import { tempDir } from '../../../test/support/temp-dirs';

/** A sandbox: a fake HOME and project folder, so the binary lookup runs against real files. */
function sandbox(): { home: string; cwd: string; env: NodeJS.ProcessEnv } {
  const root = tempDir('odtp-engine-');
  const home = path.join(root, 'home');
  const cwd = path.join(root, 'project');
  fs.mkdirSync(home);
  fs.mkdirSync(cwd);
  return { home, cwd, env: { HOME: home } };
}

function fakeBinary(dir: string, name = 'mongod-x64-debian12-7.0.14', mode = 0o755): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(file, '#!/bin/sh\n');
  fs.chmodSync(file, mode);
  return file;
}

function config(env: NodeJS.ProcessEnv, cwd: string) {
  return loadConfig(env, { cwd });
}

describe('chooseEngine', () => {
  it('MONGODB_URI wins over everything', () => {
    const { env, cwd } = sandbox();
    const e = { ...env, MONGODB_URI: 'mongodb://db.example:27017/odtp', ODTP_DB_ENGINE: 'embedded' };
    expect(chooseEngine(config(e, cwd), e, cwd)).toEqual({ kind: 'uri', reason: 'MONGODB_URI is set' });
  });

  it('auto without any mongod binary picks the embedded engine', () => {
    const { env, cwd } = sandbox();
    const choice = chooseEngine(config(env, cwd), env, cwd);
    expect(choice.kind).toBe('embedded');
    expect(choice.binary).toBeUndefined();
  });

  it('auto finds a binary in ~/.cache/mongodb-binaries and picks memory-server', () => {
    const { env, cwd, home } = sandbox();
    const bin = fakeBinary(path.join(home, '.cache', 'mongodb-binaries'));
    expect(chooseEngine(config(env, cwd), env, cwd)).toEqual({
      kind: 'memory-server',
      reason: `a local mongod binary was found at ${bin}`,
      binary: bin,
    });
  });

  it('auto finds a binary in node_modules/.cache/mongodb-memory-server of the project', () => {
    const { env, cwd } = sandbox();
    const bin = fakeBinary(path.join(cwd, 'node_modules', '.cache', 'mongodb-memory-server'));
    expect(chooseEngine(config(env, cwd), env, cwd).binary).toBe(bin);
  });

  it('auto honours MONGOMS_SYSTEM_BINARY and MONGOMS_DOWNLOAD_DIR', () => {
    const { env, cwd } = sandbox();
    const sys = fakeBinary(path.join(cwd, 'bin'), 'mongod');
    const e1 = { ...env, MONGOMS_SYSTEM_BINARY: sys };
    expect(chooseEngine(config(e1, cwd), e1, cwd).binary).toBe(sys);
    const dl = fakeBinary(path.join(cwd, 'downloads'));
    const e2 = { ...env, MONGOMS_DOWNLOAD_DIR: 'downloads' };
    expect(chooseEngine(config(e2, cwd), e2, cwd).binary).toBe(dl);
  });

  it('ignores a cached file that is not executable', () => {
    const { env, cwd, home } = sandbox();
    fakeBinary(path.join(home, '.cache', 'mongodb-binaries'), 'mongod-x64-debian12-7.0.14', 0o644);
    expect(chooseEngine(config(env, cwd), env, cwd).kind).toBe('embedded');
  });

  it('ODTP_DB_ENGINE=embedded skips the binary lookup', () => {
    const { env, cwd, home } = sandbox();
    fakeBinary(path.join(home, '.cache', 'mongodb-binaries'));
    const e = { ...env, ODTP_DB_ENGINE: 'embedded' };
    expect(chooseEngine(config(e, cwd), e, cwd)).toEqual({
      kind: 'embedded',
      reason: 'ODTP_DB_ENGINE=embedded',
    });
  });

  it('ODTP_DB_ENGINE=memory-server without a binary fails naming where it looked', () => {
    const { env, cwd, home } = sandbox();
    const e = { ...env, ODTP_DB_ENGINE: 'memory-server' };
    expect(() => chooseEngine(config(e, cwd), e, cwd)).toThrow(EngineUnavailableError);
    expect(() => chooseEngine(config(e, cwd), e, cwd)).toThrow(path.join(home, '.cache', 'mongodb-binaries'));
  });

  it('ODTP_DB_ENGINE=memory-server with a binary uses it', () => {
    const { env, cwd, home } = sandbox();
    const bin = fakeBinary(path.join(home, '.cache', 'mongodb-binaries'));
    const e = { ...env, ODTP_DB_ENGINE: 'memory-server' };
    expect(chooseEngine(config(e, cwd), e, cwd)).toEqual({
      kind: 'memory-server',
      reason: `ODTP_DB_ENGINE=memory-server, mongod at ${bin}`,
      binary: bin,
    });
  });
});
