import { hashKey } from '@odtp/auth';
import { EmbeddedMongo } from '@odtp/embedded-mongo';
import { MongoClient } from 'mongodb';
import { finished, freePort, spawnCli, spawnServer, startServer } from './support/processes';
import { tempDir } from './support/temp-dirs';

// Process tests spawn programs: the timeout is an upper bound for hangs, never a verdict on speed.
jest.setTimeout(180_000);

const servers: EmbeddedMongo[] = [];
afterEach(async () => {
  // stopped even when an assertion failed, so a failing test cannot keep the run from exiting
  for (const s of servers.splice(0)) await s.stop().catch(() => undefined);
});

async function embedded(): Promise<EmbeddedMongo> {
  const server = await EmbeddedMongo.create();
  servers.push(server);
  return server;
}

describe('process entry points', () => {
  it.each([
    ['MONGODB_URI', 'not-a-uri'],
    ['PORT', 'abc'],
    ['ODTP_DB_ENGINE', 'nope'],
  ])('the admin API exits 1 naming %s when it is %s', async (name, value) => {
    const r = await finished(spawnServer({ [name]: value }));
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`^Invalid configuration: ${name} `));
  });

  it('in production the admin API refuses to start without ADMIN_API_KEYS (exit 1 naming it); ADMIN_AUTH=disabled starts with a warning', async () => {
    const refused = await finished(
      spawnServer({
        NODE_ENV: 'production',
        ODTP_DB_ENGINE: 'embedded',
        ODTP_DB_PATH: '',
      }),
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^Invalid configuration: ADMIN_API_KEYS is empty: the admin API refuses to start without API keys/,
    );
    // the probe answers 200 without credentials only because auth is disabled
    const { child, done } = await startServer(
      { NODE_ENV: 'production', ADMIN_AUTH: 'disabled', ODTP_DB_ENGINE: 'embedded', ODTP_DB_PATH: '' },
      { path: '/schema' },
    );
    child.kill('SIGTERM');
    const r = await done;
    expect(r.stdout).toContain(
      'ADMIN_AUTH=disabled: the admin API accepts every request without credentials',
    );
  });

  it('npm start on an empty database applies validators and loads the demo; a restart on the same dbPath only starts', async () => {
    const dir = tempDir('odtp-start-');
    const key = 'odtp_start-test-key';
    const env = {
      ODTP_DB_ENGINE: 'embedded',
      ODTP_DB_PATH: dir,
      ADMIN_API_KEYS: `t:viewer:${hashKey(key)}`,
    };
    const headers = { authorization: `Bearer ${key}` };
    const start = async (): Promise<{ stdout: string; users: number }> => {
      const { child, done, url } = await startServer(env, { path: '/collections', headers });
      const res = await fetch(`${url}/collections`, { headers });
      const collections = (await res.json()) as { name: string; count: number; validator: string }[];
      child.kill('SIGTERM');
      const r = await done;
      expect(collections.every((c) => c.validator === 'same')).toBe(true);
      return { stdout: r.stdout, users: collections.find((c) => c.name === 'users')!.count };
    };
    const first = await start();
    expect(first.stdout).toContain(
      'empty database: validators and indexes for odtp-0.5 applied, demo data loaded as odtp-0.5 writes it (122 documents)',
    );
    expect(first.users).toBe(3);
    const second = await start();
    expect(second.stdout).not.toContain('demo data loaded');
    expect(second.users).toBe(3);
  });

  it('odtp-db seed loads the demo once, then reports 0 changes; refuses production unless --force', async () => {
    const server = await embedded();
    const env = { MONGODB_URI: server.getUri('seedcli') };
    const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
      finished(spawnCli(args, { ...env, ...extra }));
    const first = await cli(['seed']);
    expect([first.code, first.stdout.split('\n')[0]]).toEqual([
      0,
      'seeded: 122 inserted, 0 modified, 0 unchanged',
    ]);
    const again = await cli(['seed']);
    expect(again.stdout.split('\n')[0]).toBe('seeded: 0 inserted, 0 modified, 122 unchanged');
    const refused = await cli(['seed'], { NODE_ENV: 'production' });
    expect([refused.code, refused.stderr.trim()]).toEqual([
      2,
      'odtp-db: refusing to seed: NODE_ENV=production (use --force if this really is a development database)',
    ]);
    const forced = await cli(['seed', '--force', '--drop'], { NODE_ENV: 'production' });
    expect(forced.stdout.split('\n').slice(0, 2)).toEqual([
      'dropped 122 document(s) from the seeded collections',
      'seeded: 122 inserted, 0 modified, 0 unchanged',
    ]);
  });

  it('odtp-db apikey create prints a key once and its config entry', async () => {
    const r = await finished(spawnCli(['apikey', 'create', '--role', 'viewer', '--id', 'ci'], {}));
    expect(r.code).toBe(0);
    const key = /^API key \(shown once, store it safely\): (odtp_\S+)$/m.exec(r.stdout)![1];
    expect(r.stdout).toContain(`ADMIN_API_KEYS entry (append with a comma): ci:viewer:${hashKey(key)}`);
  });

  it('the admin API serves /health, then stops on SIGTERM with exit 0 within the shutdown timeout', async () => {
    const { child, done } = await startServer({
      ODTP_DB_ENGINE: 'embedded',
      ODTP_DB_PATH: '',
      LOG_LEVEL: 'info',
    });
    const started = Date.now();
    child.kill('SIGTERM');
    const r = await done;
    expect(r.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.stdout).toContain('SIGTERM received');
    expect(r.stdout).toContain('"url":"/health"');
  });

  it('odtp-db schema: graph --json, apply (0), apply again (0, nothing to do), apply refused (2), plan --json, target rules refused for ODTP 0.5 (2)', async () => {
    const server = await embedded();
    const env = { MONGODB_URI: server.getUri('cli') };
    const cli = (args: string[]) => finished(spawnCli(args, env));
    const graph = await cli(['schema', 'graph', '--json']);
    expect(graph.code).toBe(0);
    expect(JSON.parse(graph.stdout)).toHaveLength(20);
    const first = await cli(['schema', 'apply']);
    expect([first.code, first.stdout.split('\n')[0]]).toEqual([
      0,
      'users: created with validator (strict, error)',
    ]);
    const second = await cli(['schema', 'apply']);
    expect([second.code, second.stdout.trim()]).toEqual([
      0,
      'nothing to do: validators and indexes already match the schema',
    ]);
    const client = await MongoClient.connect(server.getUri());
    await client.db('cli').collection('logs').insertOne({ stepRef: 'x' }, { bypassDocumentValidation: true });
    await client.close();
    const refused = await cli(['schema', 'apply', '--level', 'moderate']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /^odtp-db: schema apply refused, nothing changed:\n {2}logs: 1 document\(s\) violate the schema/,
    );
    const plan = await cli(['schema', 'plan', '--json']);
    expect(plan.code).toBe(0);
    const logsPlan = JSON.parse(plan.stdout).find((p: { collection: string }) => p.collection === 'logs');
    expect([logsPlan.violations, logsPlan.app]).toEqual([1, 'odtp-0.5']);
    // target rules while the application is ODTP 0.5 (the default ODTP_APP): refused, naming what they would break
    const target = await cli(['schema', 'apply', '--rules', 'target', '--action', 'warn']);
    expect(target.code).toBe(2);
    expect(target.stderr.split('\n').slice(0, 3)).toEqual([
      'odtp-db: schema apply refused, nothing changed:',
      '  digitalTwins.userRef: ODTP 0.5 writes a string: the target rules would reject it',
      '  workflows.versions: ODTP 0.5 writes a string: the target rules would reject it',
    ]);
    // ... and allowed when the operator says the target application runs (--app target)
    const moved = await cli(['schema', 'apply', '--app', 'target', '--action', 'warn']);
    expect(moved.code).toBe(0);
    expect(moved.stdout).toContain('digitalTwins: validator updated (strict, warn)');
  });

  it('odtp-db db start prints MONGODB_URI, answers the driver, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const child = spawnCli(['db', 'start', '--port', String(port)], {
      ODTP_DB_ENGINE: 'embedded',
      ODTP_DB_PATH: '',
    });
    const done = finished(child);
    const uri = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d;
        const m = /^MONGODB_URI=(\S+)$/m.exec(out);
        if (m) resolve(m[1]);
      });
      child.on('exit', (code) => reject(new Error(`exited early with ${code}`)));
    });
    expect(uri).toBe(`mongodb://127.0.0.1:${port}/odtp`);
    const client = await MongoClient.connect(uri);
    expect(await client.db().command({ ping: 1 })).toEqual({ ok: 1 });
    await client.close();
    child.kill('SIGTERM');
    const r = await done;
    expect(r.code).toBe(0);
  });
});
