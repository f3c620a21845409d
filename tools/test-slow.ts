// npm run test:slow: the whole suite on one jest worker with two CPU hogs beside it (a machine several times
// slower than this one). Passing it shows no test's verdict depends on the machine's speed.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as path from 'node:path';

const hogs: ChildProcess[] = Array.from({ length: 2 }, () =>
  spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }),
);
const stopHogs = (): void => hogs.forEach((h) => h.kill('SIGKILL'));
process.on('exit', stopHogs);

const started = Date.now();
const jest = spawn(
  process.execPath,
  [require.resolve('jest/bin/jest'), '--maxWorkers=1', ...process.argv.slice(2)],
  { stdio: 'inherit', cwd: path.join(__dirname, '..') },
);
jest.on('exit', (code) => {
  stopHogs();
  process.stdout.write(
    `test:slow: jest exited ${code} after ${Math.round((Date.now() - started) / 1000)} s (1 worker, 2 CPU hogs)\n`,
  );
  process.exit(code ?? 1);
});
