import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';

const ROOT = path.join(__dirname, '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, string>;
}
interface Job {
  'runs-on': string;
  strategy?: { matrix: { database: string[]; include: { database: string; image: string }[] } };
  steps: Step[];
}

describe('deploy files', () => {
  it('.github/workflows/ci.yml is valid YAML with the embedded, mongo:7.0 and mongo:8.0 jobs running the whole suite', () => {
    const workflow = parse(read('.github/workflows/ci.yml')) as { on: object; jobs: Record<string, Job> };
    expect(Object.keys(workflow.jobs)).toEqual(['test', 'image']);
    const test = workflow.jobs.test;
    expect(test.strategy?.matrix.database).toEqual(['embedded', 'mongo-7.0', 'mongo-8.0']);
    expect(test.strategy?.matrix.include).toEqual([
      { database: 'mongo-7.0', image: 'mongo:7.0' },
      { database: 'mongo-8.0', image: 'mongo:8.0' },
    ]);
    const runs = test.steps.map((s) => s.run ?? s.uses ?? '');
    expect(runs).toEqual(
      expect.arrayContaining([
        'npm ci --no-audit --no-fund',
        'npm test',
        'npm run typecheck',
        'npm run lint',
        'npm run test:install',
      ]),
    );
    // the unified CRUD tests come from MongoDB's specifications repository, checked out beside the project
    const specs = test.steps.find((s) => s.with?.repository)!;
    expect(specs.with).toMatchObject({ repository: 'mongodb/specifications', path: 'specifications' });
    expect(runs).toContain(
      'npm run conformance:unified -- --specs specifications/source/crud/tests/unified --json test-artifacts/unified-crud.json',
    );
    const mongo = test.steps.find((s) => s.if === 'matrix.image')!.run!;
    // a replica set (transactions) with test commands (fail points), and the URI every test then uses
    expect(mongo).toContain('mongod --replSet rs0 --bind_ip_all --setParameter enableTestCommands=1');
    expect(mongo).toContain('MONGODB_URI=mongodb://127.0.0.1:27017/?replicaSet=rs0&directConnection=true');
    expect(mongo).toContain('MONGODB_TEST_COMMANDS=1');
    // every script the workflow calls exists
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    for (const r of runs) {
      const m = /^npm (?:run )?([\w:]+)$/.exec(r);
      if (m && m[1] !== 'ci' && m[1] !== 'test')
        expect([m[1], scripts[m[1]] !== undefined]).toEqual([m[1], true]);
    }
  });

  it('the Dockerfile builds with npm pack and installs with npm ci --omit=dev, as tools/install-test.sh checks', () => {
    const dockerfile = read('Dockerfile');
    const install = read('tools/install-test.sh');
    expect(dockerfile).toContain('RUN npm pack --pack-destination /pkg');
    expect(dockerfile).toContain('npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund');
    expect(install).toContain(
      'npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund --prefer-offline',
    );
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n.*\/health/m);
    expect(dockerfile).toContain('ENTRYPOINT ["odtp-db"]');
    expect(dockerfile).toContain('CMD ["serve"]');
    expect(read('.ci/run')).toContain('npm run test:install');
  });

  it('docs/deploy.md: its compose file is valid YAML, the migrate service runs to completion before ODTP starts', () => {
    const doc = read('docs/deploy.md');
    const compose = /```yaml\n# compose\.odtp-db\.yml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(compose).toBeDefined();
    const parsed = parse(compose!) as {
      services: Record<
        string,
        { command?: string[]; depends_on?: Record<string, { condition: string }>; image?: string }
      >;
    };
    expect(parsed.services.migrate.command).toEqual(['migrate', 'up', '--wait', '120']);
    expect(parsed.services['odtp-db-admin'].depends_on).toEqual({
      migrate: { condition: 'service_completed_successfully' },
    });
    expect(parsed.services.odtp.depends_on?.migrate).toEqual({ condition: 'service_completed_successfully' });
  });
});
