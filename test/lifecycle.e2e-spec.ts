import { EJSON, ObjectId } from 'bson';
import type { Db, Document } from 'mongodb';
import { generateKey, hashKey } from '@odtp/auth';
import {
  INTEGRITY_LOCK,
  JOURNAL_COLLECTION,
  REPORTS_COLLECTION,
  ReportStore,
  runAudit,
  RUNS_COLLECTION,
} from '@odtp/integrity';
import { loadLarge } from '@odtp/seeding';
import { finished, runCli, spawnCli, startServer, waitFor } from './support/processes';
import type { Exit } from './support/processes';
import { startTestMongo } from './support/mongo';
import type { TestMongo } from './support/mongo';

// Process tests spawn programs: the timeout is an upper bound for hangs, never a verdict on speed.
jest.setTimeout(300_000);

/*
 * Deploys stop processes at any moment: a SIGTERM (rolling update, docker stop) or Ctrl-C during an audit or a
 * repair ends the process with 0, the run recorded as interrupted (never left running), no lease left behind, and a
 * repair's journal consistent so that undo restores exactly what it changed. Every wait polls a condition.
 */

const key = generateKey();
const auth = { authorization: `Bearer ${key}` };

let mongo: TestMongo;
beforeAll(async () => (mongo = await startTestMongo()));
afterAll(() => mongo.close());

interface Server {
  url: string;
  done: Promise<Exit>;
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

/** The built admin API as a deploy runs it (production: nothing implicit happens to the database). */
async function startApi(db: Db): Promise<Server> {
  const { child, done, url } = await startServer({
    NODE_ENV: 'production',
    MONGODB_URI: mongo.uri,
    ODTP_DB_NAME: db.databaseName,
    ADMIN_API_KEYS: `ops:admin:${hashKey(key)}`,
    BROWSE_CURSOR_SECRET: 'x'.repeat(40),
    SHUTDOWN_GRACE_MS: '20000',
    SHUTDOWN_TIMEOUT_MS: '60000',
    LOG_LEVEL: 'warn',
  });
  return {
    url,
    done,
    stop: (signal = 'SIGTERM') => {
      child.kill(signal);
      return done;
    },
  };
}

async function api<T = Document>(
  url: string,
  method = 'GET',
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(url, {
    method,
    headers: { ...auth, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** Every collection the repair may touch, documents in canonical EJSON by _id (odtp-db's own collections aside). */
async function snapshot(db: Db): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  const own = [
    REPORTS_COLLECTION,
    RUNS_COLLECTION,
    JOURNAL_COLLECTION,
    INTEGRITY_LOCK.collection,
    'adminAuditLog',
  ];
  for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
    if (own.includes(name)) continue;
    const docs = await db.collection(name).find({}).toArray();
    if (name.endsWith('_quarantine') && docs.length === 0) continue;
    out[name] = docs.map((d) => EJSON.stringify(d, { relaxed: false })).sort();
  }
  return out;
}

describe('shutdown during a run (SIGTERM, Ctrl-C)', () => {
  it('SIGTERM during an API audit: exit 0, the run recorded as interrupted after its batch, no lease left; the next start audits at once', async () => {
    const db = mongo.db();
    await loadLarge(db, { scale: 20_000, seed: 11, defects: 0.001 });
    const server = await startApi(db);
    // batch size 1: one round trip per document, so the audit is surely still running when the signal comes
    const started = await api<{ id: string; status: string }>(`${server.url}/audits`, 'POST', {
      batchSize: 1,
    });
    expect([started.status, started.body.status]).toEqual([202, 'running']);
    const id = started.body.id;
    const running = await waitFor(async () => {
      const r = await api<{ status: string; progress?: { scanned: number } }>(`${server.url}/audits/${id}`);
      return r.body.status === 'running' && (r.body.progress?.scanned ?? 0) > 0 ? r.body : undefined;
    });
    expect(running?.status).toBe('running');
    const exit = await server.stop('SIGTERM');
    expect(exit.code).toBe(0);
    expect(exit.stderr).not.toMatch(/error|fail|timed out/i);
    const run = await db.collection(REPORTS_COLLECTION).findOne({ _id: id as never });
    expect([run?.status, run?.error, run?.findings]).toEqual([
      'interrupted',
      'interrupted: the process shut down (SIGTERM or Ctrl-C); it stopped after its current batch',
      undefined,
    ]);
    expect(run?.finishedAt).toBeInstanceOf(Date);
    expect((run?.progress as { scanned: number }).scanned).toBeGreaterThan(0);
    expect(await db.collection(INTEGRITY_LOCK.collection).countDocuments()).toBe(0);

    const next = await startApi(db);
    const again = await api<{ id: string }>(`${next.url}/audits`, 'POST', {});
    expect(again.status).toBe(202);
    const done = await waitFor(async () => {
      const r = await api<{ status: string }>(`${next.url}/audits/${again.body.id}`);
      return r.body.status !== 'running' ? r.body.status : undefined;
    }, 120_000);
    expect(done).toBe('done');
    const listed = await api<{ items: { id: string; status: string }[] }>(`${next.url}/audits`);
    expect(listed.body.items.map((r) => [r.id, r.status])).toEqual([
      [again.body.id, 'done'],
      [id, 'interrupted'],
    ]);
    expect((await next.stop()).code).toBe(0);
  });

  it('SIGTERM during a repair: exit 0, the run interrupted between two changes, its journal consistent; repair undo restores every document it changed', async () => {
    const db = mongo.db();
    // logs of steps that do not exist: each one a quarantine action (a journaled transaction of its own)
    for (let i = 0; i < 10; i++)
      await db.collection('logs').insertMany(
        Array.from({ length: 1000 }, (_, j) => ({
          _id: new ObjectId(),
          stepRef: new ObjectId().toHexString(),
          timestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, i, j)),
          logstring: `line ${i * 1000 + j}`,
        })),
      );
    const report = await runAudit(db, { app: 'odtp-0.5', checks: ['dangling-reference', 'orphan'] });
    await new ReportStore(db).save(report);
    const before = await snapshot(db);
    const server = await startApi(db);
    const started = await api<{ runId: string }>(`${server.url}/repairs`, 'POST', {
      reportId: report.id,
      dryRun: false,
    });
    expect(started.status).toBe(202);
    const runId = started.body.runId;
    const applying = await waitFor(async () => {
      const r = await api<{ status: string; progress: { applied: number } }>(
        `${server.url}/repairs/${runId}`,
      );
      return r.body.status === 'running' && r.body.progress.applied > 0 ? r.body : undefined;
    });
    expect(applying?.status).toBe('running');
    const exit = await server.stop('SIGTERM');
    expect(exit.code).toBe(0);
    expect(exit.stderr).not.toMatch(/error|fail|timed out/i);
    const run = await db.collection(RUNS_COLLECTION).findOne({ _id: runId as never });
    const applied = (run?.progress as { applied: number }).applied;
    expect([run?.status, run?.error]).toEqual([
      'interrupted',
      `interrupted: the process shut down (SIGTERM or Ctrl-C); it stopped after its current batch (changes applied before it stopped are journaled: undo ${runId} restores them)`,
    ]);
    expect(applied).toBeGreaterThan(0);
    expect(applied).toBeLessThan(10_000);
    // the journal holds exactly the changed documents: each log, and its copy in the quarantine
    expect(await db.collection(JOURNAL_COLLECTION).countDocuments({ runId, collection: 'logs' })).toBe(
      applied,
    );
    expect(await db.collection('logs').countDocuments()).toBe(10_000 - applied);
    expect(await db.collection(INTEGRITY_LOCK.collection).countDocuments()).toBe(0);

    const undo = await runCli(['repair', 'undo', runId, '--json'], {
      MONGODB_URI: mongo.uri,
      ODTP_DB_NAME: db.databaseName,
    });
    expect([undo.code, undo.stderr]).toEqual([0, '']);
    expect(JSON.parse(undo.stdout)).toEqual({ restored: applied * 2, conflicts: [] });
    expect(await snapshot(db)).toEqual(before);
  });

  it('Ctrl-C during odtp-db audit: the CLI exits 0 saying the run was interrupted, recorded so, the lease free', async () => {
    const db = mongo.db();
    await loadLarge(db, { scale: 20_000, seed: 12 });
    const child = spawnCli(['audit', '--batch-size', '1', '--json'], {
      MONGODB_URI: mongo.uri,
      ODTP_DB_NAME: db.databaseName,
    });
    const done = finished(child);
    const run = await waitFor(async () => {
      const r = await db.collection(REPORTS_COLLECTION).findOne({ status: 'running' });
      return r && (r.progress as { scanned: number }).scanned > 0 ? r : undefined;
    });
    expect(run?.trigger).toBe('cli');
    child.kill('SIGINT');
    const exit = await done;
    expect(exit.code).toBe(0);
    expect(exit.stderr).toContain('odtp-db: SIGINT: stopping after the current batch');
    expect(JSON.parse(exit.stdout)).toMatchObject({ status: 'interrupted', id: run?._id });
    const stored = await db.collection(REPORTS_COLLECTION).findOne({ _id: run?._id });
    expect(stored?.status).toBe('interrupted');
    expect(await db.collection(INTEGRITY_LOCK.collection).countDocuments()).toBe(0);
    const list = await runCli(['audit', 'list', '--json'], {
      MONGODB_URI: mongo.uri,
      ODTP_DB_NAME: db.databaseName,
    });
    expect(
      JSON.parse(list.stdout).items.map((r: { status: string; trigger: string }) => [r.status, r.trigger]),
    ).toEqual([['interrupted', 'cli']]);
  });

  it('kill -9 during odtp-db audit: the run is abandoned once its heartbeat expires, and its lease is taken over', async () => {
    const db = mongo.db();
    await loadLarge(db, { scale: 20_000, seed: 13 });
    const env = { MONGODB_URI: mongo.uri, ODTP_DB_NAME: db.databaseName, JOB_LEASE_TTL_MS: '2000' };
    const child = spawnCli(['audit', '--batch-size', '1'], env);
    const done = finished(child);
    const run = await waitFor(async () => {
      const r = await db.collection(REPORTS_COLLECTION).findOne({ status: 'running' });
      return r && (r.progress as { scanned: number }).scanned > 0 ? r : undefined;
    });
    child.kill('SIGKILL');
    await done;
    const abandoned = await waitFor(async () => {
      const list = await runCli(['audit', 'list', '--json'], env);
      const item = JSON.parse(list.stdout).items[0] as { id: string; status: string; error?: string };
      return item.status === 'abandoned' ? item : undefined;
    });
    expect(abandoned).toEqual(
      expect.objectContaining({
        id: run?._id,
        status: 'abandoned',
        error: 'abandoned: the process running it stopped without finishing (no heartbeat for 2 s)',
      }),
    );
    const next = await runCli(['audit', '--checks', 'orphan', '--json'], env);
    expect([next.code, JSON.parse(next.stdout).summary.scanned > 0]).toEqual([0, true]);
  });
});
