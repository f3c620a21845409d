import * as fs from 'node:fs';
import * as path from 'node:path';

let cached: { name: string; version: string } | undefined;

/** name and version of the odtp-db package (found by walking up from this file; works from src and dist). */
export function packageInfo(): { name: string; version: string } {
  if (cached) return cached;
  let dir = __dirname;
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'odtp-db') return (cached = { name: pkg.name, version: pkg.version ?? '0.0.0' });
    }
    const parent = path.dirname(dir);
    if (parent === dir) return (cached = { name: 'odtp-db', version: '0.0.0' });
    dir = parent;
  }
}
