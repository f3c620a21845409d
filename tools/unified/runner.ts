/**
 * A runner for MongoDB's unified test format (the CRUD specification's tests): entities, initial data,
 * operations with expected results and errors, expected command events and the final collection contents, against
 * the server at a URI through the official driver. Tests whose requirements the server does not meet are skipped;
 * tests needing what this runner does not implement are counted apart ("unsupported"), never as passed.
 */
import { EJSON } from 'bson';
import type { Document } from 'bson';
import { MongoClient, MongoNetworkError, MongoServerError } from 'mongodb';
import type {
  ChangeStream,
  ClientSession,
  CommandFailedEvent,
  CommandStartedEvent,
  CommandSucceededEvent,
} from 'mongodb';
import { asNumber, matchValue } from './match';
import type { Entities, Mismatch } from './match';
import { runEntityOperation, UnsupportedOperation } from './operations';

/**
 * `driver`: the test fails on the command the driver sent (a commandStartedEvent's command), which no server
 * influences: the same test fails against mongod with this driver.
 */
export type Status = 'passed' | 'failed' | 'skipped' | 'unsupported' | 'driver';

export interface TestOutcome {
  file: string;
  test: string;
  status: Status;
  /** Why it failed, was skipped or is unsupported. */
  reason?: string;
}

export interface ServerFacts {
  version: string;
  topology: 'single' | 'replicaset' | 'sharded';
}

type Observed = { kind: string; event: CommandStartedEvent | CommandSucceededEvent | CommandFailedEvent };

/** Commands the format leaves out of observed events (handshakes and authentication). */
const UNOBSERVED = new Set([
  'hello',
  'ismaster',
  'isMaster',
  'saslStart',
  'saslContinue',
  'authenticate',
  'getnonce',
]);

class Failure extends Error {}
class Unsupported extends Error {}
class DriverSide extends Error {}

export async function serverFacts(client: MongoClient): Promise<ServerFacts> {
  const admin = client.db('admin');
  const info = await admin.command({ buildInfo: 1 });
  const hello = await admin.command({ hello: 1 });
  const topology = hello.msg === 'isdbgrid' ? 'sharded' : hello.setName ? 'replicaset' : 'single';
  return { version: String(info.version), topology };
}

/** `actual` against a requirement version: only the components the requirement names count ("7.0" is 7.0.x). */
function compareVersions(actual: string, required: string): number {
  const a = actual.split('.').map((n) => parseInt(n, 10) || 0);
  const r = required.split('.').map((n) => parseInt(n, 10) || 0);
  for (let i = 0; i < r.length; i++) if ((a[i] ?? 0) !== r[i]) return (a[i] ?? 0) - r[i];
  return 0;
}

/** Why a `runOnRequirements` list is not met (any one entry suffices), or undefined when it is. */
export function unmetRequirement(reqs: Document[] | undefined, facts: ServerFacts): string | undefined {
  if (!reqs?.length) return undefined;
  const reasons = reqs.map((r): string | undefined => {
    if (r.minServerVersion && compareVersions(facts.version, String(r.minServerVersion)) < 0)
      return `needs server >= ${r.minServerVersion}`;
    if (r.maxServerVersion && compareVersions(facts.version, String(r.maxServerVersion)) > 0)
      return `needs server <= ${r.maxServerVersion}`;
    const topologies = (r.topologies as string[] | undefined)?.map((t) =>
      t === 'sharded-replicaset' ? 'sharded' : t,
    );
    if (topologies && !topologies.includes(facts.topology)) return `needs topology ${topologies.join('|')}`;
    if (r.serverless === 'require') return 'needs serverless';
    if (r.auth === true) return 'needs authentication';
    if (r.csfle === true) return 'needs client-side encryption';
    if (r.serverParameters) return 'needs server parameters';
    return undefined;
  });
  return reasons.includes(undefined) ? undefined : reasons.join('; ');
}

interface TestState {
  uri: string;
  entities: Entities;
  clients: MongoClient[];
  events: Map<string, Observed[]>;
  failPoints: { client: MongoClient; name: string }[];
}

function withUriOptions(uri: string, options: Document | undefined): string {
  if (!options) return uri;
  const url = new URL(uri);
  for (const [k, v] of Object.entries(options)) url.searchParams.set(k, String(v));
  return url.toString();
}

async function createEntities(list: Document[], state: TestState): Promise<void> {
  for (const item of list) {
    const [kind, spec] = Object.entries(item)[0] as [string, Document];
    const id = String(spec.id);
    if (kind === 'client') {
      const client = new MongoClient(withUriOptions(state.uri, spec.uriOptions as Document), {
        monitorCommands: true,
      });
      const observe = new Set((spec.observeEvents as string[] | undefined) ?? []);
      const ignored = new Set((spec.ignoreCommandMonitoringEvents as string[] | undefined) ?? []);
      const seen: Observed[] = [];
      for (const kindName of ['commandStarted', 'commandSucceeded', 'commandFailed'] as const)
        if (observe.has(`${kindName}Event`))
          client.on(kindName, (event: CommandStartedEvent | CommandSucceededEvent | CommandFailedEvent) => {
            if (!UNOBSERVED.has(event.commandName) && !ignored.has(event.commandName))
              seen.push({ kind: `${kindName}Event`, event });
          });
      await client.connect();
      state.clients.push(client);
      state.events.set(id, seen);
      state.entities.set(id, client);
    } else if (kind === 'database') {
      const client = state.entities.get(String(spec.client)) as MongoClient;
      state.entities.set(id, client.db(String(spec.databaseName), spec.databaseOptions as Document));
    } else if (kind === 'collection') {
      const db = state.entities.get(String(spec.database)) as ReturnType<MongoClient['db']>;
      state.entities.set(id, db.collection(String(spec.collectionName), spec.collectionOptions as Document));
    } else if (kind === 'session') {
      const client = state.entities.get(String(spec.client)) as MongoClient;
      state.entities.set(id, client.startSession(spec.sessionOptions as Document));
    } else throw new Unsupported(`entity ${kind}`);
  }
}

async function loadInitialData(admin: MongoClient, data: Document[] | undefined): Promise<void> {
  for (const d of data ?? []) {
    const db = admin.db(String(d.databaseName));
    await db
      .collection(String(d.collectionName))
      .drop({ writeConcern: { w: 'majority' } })
      .catch(() => undefined);
    const docs = d.documents as Document[];
    if (docs.length && !d.createOptions)
      await db.collection(String(d.collectionName)).insertMany(docs, { writeConcern: { w: 'majority' } });
    else {
      await db.createCollection(String(d.collectionName), {
        ...(d.createOptions as Document),
        writeConcern: { w: 'majority' },
      });
      if (docs.length)
        await db.collection(String(d.collectionName)).insertMany(docs, { writeConcern: { w: 'majority' } });
    }
  }
}

function isClientError(e: unknown): boolean {
  return e instanceof Error && !(e instanceof MongoServerError) && !(e instanceof MongoNetworkError);
}

/** Why an error does not meet `expectError`, or undefined when it does. */
function checkError(expected: Document, e: unknown, entities: Entities): Mismatch {
  const err = e as MongoServerError & { errorResponse?: Document };
  if (expected.isClientError === true && !isClientError(e))
    return `expected a client error, got ${err.message}`;
  if (expected.isClientError === false && isClientError(e))
    return `expected a server error, got ${err.message}`;
  if (
    expected.errorContains &&
    !String(err.message).toLowerCase().includes(String(expected.errorContains).toLowerCase())
  )
    return `error "${err.message}" does not contain "${expected.errorContains}"`;
  if (expected.errorCode !== undefined && asNumber(err.code) !== asNumber(expected.errorCode))
    return `expected error code ${expected.errorCode}, got ${err.code} (${err.message})`;
  if (expected.errorCodeName !== undefined && err.codeName !== expected.errorCodeName)
    return `expected ${expected.errorCodeName}, got ${err.codeName} (${err.message})`;
  for (const label of (expected.errorLabelsContain as string[] | undefined) ?? [])
    if (!err.hasErrorLabel?.(label)) return `error lacks label ${label}`;
  for (const label of (expected.errorLabelsOmit as string[] | undefined) ?? [])
    if (err.hasErrorLabel?.(label)) return `error has label ${label}`;
  if (expected.errorResponse)
    return matchValue(expected.errorResponse, err.errorResponse, 'errorResponse', entities);
  return undefined;
}

async function runnerOperation(op: Document, state: TestState, admin: MongoClient): Promise<void> {
  const a = (op.arguments ?? {}) as Document;
  const names = async (db: string): Promise<string[]> =>
    (await admin.db(db).listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
  const indexNames = async (): Promise<string[]> =>
    (await admin.db(String(a.databaseName)).collection(String(a.collectionName)).indexes()).map((i) =>
      String(i.name),
    );
  switch (op.name) {
    case 'failPoint': {
      const client = state.entities.get(String(a.client)) as MongoClient;
      const fp = a.failPoint as Document;
      await client.db('admin').command(fp);
      state.failPoints.push({ client: admin, name: String(fp.configureFailPoint) });
      return;
    }
    case 'assertCollectionExists':
    case 'assertCollectionNotExists': {
      const exists = (await names(String(a.databaseName))).includes(String(a.collectionName));
      if (exists !== (op.name === 'assertCollectionExists'))
        throw new Failure(`${op.name} ${a.collectionName}`);
      return;
    }
    case 'assertIndexExists':
    case 'assertIndexNotExists': {
      const exists = (await indexNames().catch((): string[] => [])).includes(String(a.indexName));
      if (exists !== (op.name === 'assertIndexExists')) throw new Failure(`${op.name} ${a.indexName}`);
      return;
    }
    case 'createEntities':
      return createEntities(a.entities as Document[], state);
    default:
      throw new Unsupported(`testRunner operation ${op.name}`);
  }
}

async function runOperation(op: Document, state: TestState, admin: MongoClient): Promise<void> {
  if (op.object === 'testRunner') return runnerOperation(op, state, admin);
  const object = state.entities.get(String(op.object));
  let result: unknown;
  try {
    result = await runEntityOperation(
      object,
      String(op.name),
      (op.arguments ?? {}) as Document,
      state.entities,
    );
  } catch (e) {
    if (e instanceof UnsupportedOperation) throw new Unsupported(e.message);
    if (op.ignoreResultAndError) return;
    if (!op.expectError) throw new Failure(`${op.name}: unexpected error ${(e as Error).message}`);
    const m = checkError(op.expectError as Document, e, state.entities);
    if (m) throw new Failure(`${op.name}: ${m}`);
    return;
  }
  if (op.ignoreResultAndError) return;
  if (op.expectError)
    throw new Failure(`${op.name}: expected an error, got ${EJSON.stringify(result as Document)}`);
  if (op.saveResultAsEntity) state.entities.set(String(op.saveResultAsEntity), result);
  if (op.expectResult !== undefined) {
    const m = matchValue(op.expectResult, result, '', state.entities, true);
    if (m) throw new Failure(`${op.name}: ${m}`);
  }
}

function checkEvents(expected: Document[] | undefined, state: TestState): void {
  for (const block of expected ?? []) {
    if (block.eventType && block.eventType !== 'command') throw new Unsupported(`${block.eventType} events`);
    const observed = state.events.get(String(block.client)) ?? [];
    const wanted = block.events as Document[];
    if (block.ignoreExtraEvents ? observed.length < wanted.length : observed.length !== wanted.length)
      throw new Failure(
        `expected ${wanted.length} events, observed ${observed.length}: ${observed.map((o) => o.event.commandName).join(', ')}`,
      );
    wanted.forEach((w, i) => {
      const [kind, spec] = Object.entries(w)[0] as [string, Document];
      const { kind: seenKind, event } = observed[i];
      if (kind !== seenKind) throw new Failure(`event ${i}: expected ${kind}, observed ${seenKind}`);
      // the command and the reply are root-level documents: extra fields allowed
      const actual: Document = {
        commandName: event.commandName,
        databaseName: (event as CommandStartedEvent).databaseName,
        command: (event as CommandStartedEvent).command,
        reply: (event as CommandSucceededEvent).reply,
      };
      for (const [k, v] of Object.entries(spec)) {
        const m = matchValue(v, actual[k], `event ${i}.${k}`, state.entities, true, true);
        if (m) throw kind === 'commandStartedEvent' && k === 'command' ? new DriverSide(m) : new Failure(m);
      }
    });
  }
}

async function checkOutcome(admin: MongoClient, outcome: Document[] | undefined): Promise<void> {
  for (const o of outcome ?? []) {
    const docs = await admin
      .db(String(o.databaseName))
      .collection(String(o.collectionName))
      .find({}, { readConcern: { level: 'local' } })
      .sort({ _id: 1 })
      .toArray();
    const m = matchValue(o.documents, docs, `${o.collectionName}`, new Map(), false);
    if (m) throw new Failure(`outcome: ${m}`);
  }
}

async function cleanUp(state: TestState): Promise<void> {
  for (const fp of state.failPoints)
    await fp.client
      .db('admin')
      .command({ configureFailPoint: fp.name, mode: 'off' })
      .catch(() => undefined);
  for (const v of state.entities.values()) {
    const kind = (v as { constructor?: { name?: string } })?.constructor?.name;
    if (kind === 'ClientSession') await (v as ClientSession).endSession().catch(() => undefined);
    if (kind === 'ChangeStream') await (v as ChangeStream).close().catch(() => undefined);
  }
  for (const c of state.clients) await c.close().catch(() => undefined);
}

/** Runs every test of one unified-format file. */
export async function runUnifiedFile(
  file: string,
  text: string,
  uri: string,
  admin: MongoClient,
  facts: ServerFacts,
): Promise<TestOutcome[]> {
  // relaxed: numbers as JavaScript numbers, as the driver expects its options (an Int32 batchSize is ignored)
  const spec = EJSON.parse(text, { relaxed: true }) as Document;
  const fileUnmet = unmetRequirement(spec.runOnRequirements as Document[] | undefined, facts);
  const out: TestOutcome[] = [];
  for (const test of spec.tests as Document[]) {
    const name = String(test.description);
    const unmet = fileUnmet ?? unmetRequirement(test.runOnRequirements as Document[] | undefined, facts);
    if (unmet || test.skipReason) {
      out.push({ file, test: name, status: 'skipped', reason: unmet ?? String(test.skipReason) });
      continue;
    }
    const state: TestState = { uri, entities: new Map(), clients: [], events: new Map(), failPoints: [] };
    try {
      await loadInitialData(admin, spec.initialData as Document[] | undefined);
      await createEntities((spec.createEntities as Document[] | undefined) ?? [], state);
      for (const op of test.operations as Document[]) await runOperation(op, state, admin);
      checkEvents(test.expectEvents as Document[] | undefined, state);
      await checkOutcome(admin, test.outcome as Document[] | undefined);
      out.push({ file, test: name, status: 'passed' });
    } catch (e) {
      const status: Status =
        e instanceof Unsupported ? 'unsupported' : e instanceof DriverSide ? 'driver' : 'failed';
      out.push({ file, test: name, status, reason: (e as Error).message });
    } finally {
      await cleanUp(state);
    }
  }
  return out;
}
