/**
 * Watch latency benchmark: the live integrity watch follows a database while ODTP 0.5's own workload (the replay
 * client's whole life cycle in a loop, from several clients at once) writes to it. Every second a probe does what
 * ODTP 0.5 does that leaves references dangling (`odtp db delete-document` of a step that has logs and an output:
 * no cascade), and the time from the delete until the watch has recorded both findings is measured. Prints the
 * latency percentiles, the workload, the watch's throughput, and whether it kept up (the latency of the last probes
 * against the first, and of a probe after the workload stopped).
 * Usage: npm run bench:watch -- [--docs 100000] [--seconds 60] [--clients 2]
 */
import { MongoClient } from 'mongodb';
import type { Db } from 'mongodb';
import { IntegrityWatcher } from '@odtp/integrity';
import type { LiveFinding } from '@odtp/integrity';
import { generateLarge } from '@odtp/seeding';
import { createSchemaIndexes, fmt, numberFlag, percentile, startServerProcess } from './support/harness';
import { OdtpClient } from '../tools/odtp-replay/odtp-client';
import { OPERATIONS, replayLifecycle } from '../tools/odtp-replay/replay';

const DOCS = numberFlag('docs', 100_000);
const SECONDS = numberFlag('seconds', 60);
const CLIENTS = numberFlag('clients', 2);
const TARGET_MS = 5000;
/** How long a probe's findings are waited for after the workload stopped, before it counts as missed. */
const GRACE_MS = 120_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A probe: a step with logs and an output, deleted as ODTP 0.5's delete-document does (its leftovers dangle). */
interface Probe {
  step: string;
  deletedAt: number;
  /** When the watch recorded the dangling finding of each leftover (logs, outputs). */
  seen: Map<string, number>;
}

class Probes {
  readonly all: Probe[] = [];
  private readonly byStep = new Map<string, Probe>();
  private user = '';
  private twin = '';
  private workflow = '';

  constructor(private readonly client: OdtpClient) {}

  async prepare(): Promise<void> {
    this.user = await this.client.addUser('probe user', 'probe-gh', 'probe@odtp.example.org');
    const { versionId } = await this.client.addComponentVersion({
      name: 'probe-component',
      repo: 'https://github.com/odtp-org/probe-component',
      type: 'ephemeral',
      tag: 'v1.0.0',
      commit: 'a3f9c2d5e8b14f7a9c0d2e4f6a8b0c1d3e5f7a9b',
      ports: null,
      parameters: {},
    });
    this.workflow = (await this.client.getOrCreateWorkflow([versionId], 'probe workflow')).id;
    this.twin = await this.client.addDigitalTwin(this.user, 'probe twin');
  }

  async fire(n: number): Promise<void> {
    const { stepIds } = await this.client.addExecution(this.twin, `probe ${n}`, this.workflow, [{}], [null]);
    const [step] = stepIds;
    await this.client.componentLogs(step, ['started', 'done']);
    await this.client.componentOutput(step, this.user);
    const probe: Probe = { step, deletedAt: 0, seen: new Map() };
    this.byStep.set(step, probe);
    probe.deletedAt = performance.now();
    if ((await this.client.deleteDocument('steps', step)) !== 1)
      throw new Error(`probe step ${step} not deleted`);
    this.all.push(probe);
  }

  /** The watch recorded findings (called after each recorded batch). */
  seen(opened: LiveFinding[]): void {
    const now = performance.now();
    for (const f of opened) {
      if (f.check !== 'dangling-reference' || f.path !== 'stepRef') continue;
      const probe = this.byStep.get(String(f.value));
      if (probe && !probe.seen.has(f.collection)) probe.seen.set(f.collection, now);
    }
  }

  /** Milliseconds from the delete until both leftovers' findings were recorded; undefined while not. */
  static latency(p: Probe): number | undefined {
    const logs = p.seen.get('logs');
    const outputs = p.seen.get('outputs');
    return p.deletedAt && logs !== undefined && outputs !== undefined
      ? Math.max(logs, outputs) - p.deletedAt
      : undefined;
  }
}

async function load(db: Db): Promise<number> {
  let n = 0;
  for (const batch of generateLarge({ scale: DOCS, seed: 1 })) {
    await db.collection(batch.collection).insertMany(batch.docs, { ordered: false });
    n += batch.docs.length;
  }
  return n;
}

/** ODTP 0.5's life cycle in a loop until `stop`: operations done and failed. */
async function workload(
  db: Db,
  id: number,
  stop: AbortSignal,
): Promise<{ cycles: number; failed: string[] }> {
  const client = new OdtpClient(db, 'odtp-0.5');
  const failed: string[] = [];
  let cycles = 0;
  while (!stop.aborted) {
    const results = await replayLifecycle(client, { tag: `w${id}-${cycles}` });
    failed.push(...results.filter((r) => !r.ok).map((r) => `${r.op}: ${r.detail ?? ''}`));
    cycles++;
  }
  return { cycles, failed };
}

async function main(): Promise<void> {
  console.log(
    `watch benchmark: ${fmt(DOCS)} documents, ${CLIENTS} ODTP 0.5 client(s) for ${SECONDS} s, a probe a second, Node ${process.version}`,
  );
  const server = await startServerProcess();
  const mongo = await MongoClient.connect(server.uri);
  const db = mongo.db('watch_bench');
  await createSchemaIndexes(db);
  const t0 = performance.now();
  console.log(`loaded ${fmt(await load(db))} documents in ${fmt((performance.now() - t0) / 1000, 1)} s`);

  const probes = new Probes(new OdtpClient(db, 'odtp-0.5'));
  await probes.prepare();
  const stopWatch = new AbortController();
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  let events = 0;
  let batches = 0;
  const watch = new IntegrityWatcher(mongo, db, {
    app: 'odtp-0.5',
    signal: stopWatch.signal,
    onReady: ready,
    onFindings: (opened) => probes.seen(opened),
    onBatch: (b) => {
      events += b.events;
      batches++;
    },
  }).run();
  await isReady;

  const stopWork = new AbortController();
  const started = performance.now();
  const workers = Array.from({ length: CLIENTS }, (_, i) => workload(db, i, stopWork.signal));
  let n = 0;
  while (performance.now() - started < SECONDS * 1000) {
    const next = started + (n + 1) * 1000;
    await probes.fire(n++);
    await sleep(Math.max(0, next - performance.now()));
  }
  stopWork.abort();
  const work = await Promise.all(workers);
  const workMs = performance.now() - started;
  const eventsDuringWork = events;
  // one probe more on a quiet database: what is left of the backlog shows in its latency
  await probes.fire(n++);
  const deadline = performance.now() + GRACE_MS;
  while (probes.all.some((p) => Probes.latency(p) === undefined) && performance.now() < deadline)
    await sleep(50);
  stopWatch.abort();
  await watch;
  await mongo.close();
  await server.stop();

  const latencies = probes.all.map((p) => Probes.latency(p));
  const measured = latencies.filter((l): l is number => l !== undefined);
  const missed = latencies.length - measured.length;
  const during = measured.slice(0, -1);
  const third = Math.max(1, Math.floor(during.length / 3));
  const cycles = work.reduce((s, w) => s + w.cycles, 0);
  const failed = work.flatMap((w) => w.failed);
  const p95 = (xs: number[]): number => percentile(xs, 95);
  console.log('');
  console.log(
    `workload                 : ${fmt(cycles)} ODTP 0.5 life cycles (${fmt(cycles * OPERATIONS.length)} operations) in ${fmt(workMs / 1000, 1)} s, ${failed.length} failed${failed.length ? `: ${failed.slice(0, 3).join('; ')}` : ''}`,
  );
  console.log(
    `watch                    : ${fmt(eventsDuringWork)} events in ${fmt(batches)} batches during the workload (${fmt(eventsDuringWork / (workMs / 1000))} events/s)`,
  );
  console.log(
    `probe latency (${measured.length} probes): p50 ${fmt(percentile(measured, 50))} ms, p95 ${fmt(p95(measured))} ms, max ${fmt(Math.max(...measured))} ms; missed ${missed} (target: every finding within ${fmt(TARGET_MS)} ms: ${missed === 0 && Math.max(...measured) <= TARGET_MS ? 'met' : 'NOT met'})`,
  );
  console.log(
    `kept up                  : p95 of the last third of the probes / the first third ${fmt(p95(during.slice(-third)) / p95(during.slice(0, third)), 2)}; after the workload stopped, a probe took ${fmt(measured.at(-1) ?? NaN)} ms`,
  );
  if (missed || failed.length) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
