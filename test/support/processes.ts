import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';

/*
 * The programs users run, as they run them: the built CLI (bin/odtp-db.js) and admin API (dist/), which
 * test/support/global-setup.ts builds once per test run. Nothing is compiled per spawn.
 */

export const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'bin', 'odtp-db.js');
const SERVER = path.join(ROOT, 'dist', 'apps', 'admin-api', 'src', 'main.js');

export interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of a child: this one's, without MONGODB_URI (each test names its database), plus `env`. */
function childEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const clean = { ...process.env };
  delete clean.MONGODB_URI;
  return { ...clean, ...env };
}

export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: childEnv(env) });
}

export function spawnServer(env: NodeJS.ProcessEnv = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [SERVER], { cwd: ROOT, env: childEnv(env) });
}

/** Collects the output of a child until it exits. */
export function finished(child: ChildProcessWithoutNullStreams): Promise<Exit> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

/** Run the CLI to completion. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Exit> {
  return finished(spawnCli(args, env));
}

/** Poll `probe` every 100 ms until it returns a value, for at most `timeoutMs` (an upper bound for hangs). */
export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T | undefined> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

/** A TCP port free right now on 127.0.0.1 (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface RunningServer {
  child: ChildProcessWithoutNullStreams;
  port: number;
  url: string;
  /** Resolves when the process exits, with everything it printed. */
  done: Promise<Exit>;
}

/**
 * Start the built admin API on a port the OS says is free and wait until it answers `probePath` with
 * `probeStatus` (or exits: its output is then the error). A port taken between the choice and the
 * listen (EADDRINUSE: another process won the race) is retried on a new port.
 */
export async function startServer(
  env: NodeJS.ProcessEnv,
  probe: { path: string; status?: number; headers?: Record<string, string> } = { path: '/health' },
): Promise<RunningServer> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawnServer({ ...env, PORT: String(port) });
    const done = finished(child);
    let exited: Exit | undefined;
    void done.then((r) => (exited = r));
    const url = `http://127.0.0.1:${port}`;
    const up = await waitFor(async () => {
      if (exited) return false;
      const r = await fetch(`${url}${probe.path}`, { headers: probe.headers });
      return r.status === (probe.status ?? 200) ? true : undefined;
    }, 120_000);
    if (up === true) return { child, port, url, done };
    if (up === undefined) child.kill('SIGKILL');
    const r = await done;
    if (attempt < 3 && /EADDRINUSE/.test(r.stderr + r.stdout)) continue;
    throw new Error(`the admin API did not start on port ${port}: ${JSON.stringify(r)}`);
  }
}
