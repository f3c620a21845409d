import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import type { Db } from 'mongodb';
import { deriveIndexes } from '@odtp/schema';

/** Parse `--name value` flags with numeric defaults. */
export function numberFlag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]?.replace(/_/g, ''));
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

/** The value below which `p` percent of `values` fall (nearest rank). */
export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * Start the embedded server in a child process; resolves with its URI and the process. `SERVER_NODE_ARGS` adds
 * Node options to that process, e.g. `SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"` to profile it.
 */
export async function startServerProcess(
  dbPath = '',
): Promise<{ uri: string; child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean),
      '-r',
      require.resolve('@swc-node/register'),
      path.join(__dirname, 'embedded-server.ts'),
      dbPath,
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=8192' },
    },
  );
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const uri = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      const m = /MONGODB_URI=(\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return {
    uri,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** The schema's indexes (as `odtp-db migrate up` creates them), so the benchmarked reads use them. */
export async function createSchemaIndexes(db: Db): Promise<void> {
  for (const i of deriveIndexes())
    await db.collection(i.collection).createIndex(i.key, { name: i.name, unique: i.unique || undefined });
}
