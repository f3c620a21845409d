import { runAudit } from '@odtp/integrity';
import { loadLarge } from '@odtp/seeding';
import { runCli, spawnCli, finished, waitFor } from '../support/processes';
import { startTestMongo } from '../support/mongo';
import type { TestMongo } from '../support/mongo';
import { OdtpClient } from '../../tools/odtp-replay/odtp-client';
import { replayLifecycle } from '../../tools/odtp-replay/replay';
import type { OpResult } from '../../tools/odtp-replay/replay';

// Process tests spawn programs: the timeout is an upper bound for hangs, never a verdict on speed.
jest.setTimeout(600_000);

/*
 * The upgrade from ODTP 0.5 with no broken window (docs/app-compatibility.md): ODTP 0.5 clients and transition
 * clients run their whole life cycle over and over on one database while the transition's conversion runs online
 * in small batches, is killed with SIGKILL in the middle and resumed. Every operation of both clients must pass at
 * every moment (their delete cascades leave nothing behind); then the 0.5 clients retire, the upgrade ends under
 * ODTP_APP=target, and the audit under target reports no error.
 */

let mongo: TestMongo;
beforeAll(async () => (mongo = await startTestMongo()));
afterAll(() => mongo.close());

type Tagged = OpResult & { client: string; round: number };

describe('the upgrade through the transition, beside running clients', () => {
  it('ODTP 0.5 and transition clients pass every operation while the conversion runs online, is killed and resumes; at the end the target audit has 0 errors', async () => {
    const db = mongo.db();
    const env = { MONGODB_URI: mongo.uri, ODTP_DB_NAME: db.databaseName };
    // the database as ODTP 0.5 leaves it: migrated as far as 0.5 allows, its life cycle replayed, a large history
    expect((await runCli(['migrate', 'up', '--app', 'odtp-0.5'], env)).code).toBe(0);
    await loadLarge(db, { scale: 20_000, seed: 31, app: 'odtp-0.5' });
    const results: Tagged[] = [];
    let stop = false;
    const loop = async (client: OdtpClient, name: string): Promise<void> => {
      for (let round = 0; !stop; round++)
        for (const r of await replayLifecycle(client, { tag: `${name}-${round}` }))
          results.push({ ...r, client: name, round });
    };
    const clients = [
      loop(new OdtpClient(db, 'odtp-0.5'), 'odtp-0.5'),
      loop(new OdtpClient(db, 'transition'), 'transition'),
    ];

    // the conversion under ODTP_APP=transition, in small batches: killed once it has checkpoints, then resumed
    const first = spawnCli(['migrate', 'up', '--app', 'transition', '--batch-size', '25'], env);
    const firstDone = finished(first);
    const checkpoint = await waitFor(
      async () => (await db.collection('changelog').findOne({ fileName: /#checkpoint$/ })) ?? undefined,
      300_000,
    );
    expect(checkpoint?.checkpoint).toBe(true);
    first.kill('SIGKILL');
    expect((await firstDone).code).toBeNull();
    // the dead runner's lease stays until it expires (60 s): the next deploy waits for it, then resumes
    const resumed = await runCli(
      ['migrate', 'up', '--app', 'transition', '--batch-size', '25', '--wait', '180', '--json'],
      env,
    );
    expect([resumed.code, resumed.stderr]).toEqual([0, '']);
    // the transition's migrations are applied, with their checkpoints gone
    const applied = (await db.collection('changelog').find({}).toArray()).map((e) => String(e.fileName));
    expect(applied).toEqual(
      expect.arrayContaining([
        '20261126081600-rename-camelcase-timestamps.ts',
        '20261126081700-application-references-to-objectid.ts',
        '20261126081800-fold-dt-id.ts',
      ]),
    );
    expect(applied.filter((f) => f.endsWith('#checkpoint'))).toEqual([]);
    // both clients go on a while after the conversion, then stop
    const rounds = (name: string): number =>
      new Set(results.filter((r) => r.client === name).map((r) => r.round)).size;
    await waitFor(
      async () => (rounds('odtp-0.5') >= 3 && rounds('transition') >= 3 ? true : undefined),
      300_000,
    );
    stop = true;
    await Promise.all(clients);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(rounds('odtp-0.5')).toBeGreaterThanOrEqual(3);
    expect(rounds('transition')).toBeGreaterThanOrEqual(3);

    // the 0.5 clients are retired: the end of the upgrade runs once the window has passed without their writes
    const end = await runCli(['migrate', 'up', '--app', 'target'], { ...env, UPGRADE_WRITER_WINDOW_S: '1' });
    if (end.code !== 0) {
      // a 0.5 write may still be within the second: the refusal names it; wait a second and go again
      expect(end.stderr).toContain('an ODTP 0.5 client is still running');
      await new Promise((r) => setTimeout(r, 1500));
      expect(
        (await runCli(['migrate', 'up', '--app', 'target'], { ...env, UPGRADE_WRITER_WINDOW_S: '1' })).code,
      ).toBe(0);
    }
    const report = await runAudit(db, { app: 'target' });
    const errors = report.findings.filter((f) => f.severity === 'error' && f.violations > 0);
    expect(errors.map((f) => [f.check, f.collection, f.path, f.violations])).toEqual([]);
    expect(report.upgrade).toBeUndefined();
  });
});
