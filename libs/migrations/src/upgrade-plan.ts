import { EJSON } from 'bson';
import type { Db, Document, Filter } from 'mongodb';
import { APP_LEVELS } from '@odtp/config';
import type { AppLevel } from '@odtp/config';
import { appContract, COLLECTION_NAMES, derivedValidator, referenceGraph } from '@odtp/schema';
import type { CollectionName } from '@odtp/schema';
import type { MigrationStatus } from './runner';
import { legacyWrites, legacyWritesText } from './steps/upgrade';
import type { LegacyWrite } from './steps/upgrade';

/** The migrations the transition converts with (online), and the one that ends the upgrade. */
export const TRANSITION_MIGRATIONS = [
  '20261126081600-rename-camelcase-timestamps',
  '20261126081700-application-references-to-objectid',
  '20261126081800-fold-dt-id',
] as const;
export const FINISH_MIGRATION = '20261204120000-finish-target-shapes';

export const UPGRADE_STEP_STATES = ['done', 'ready', 'running', 'waiting', 'blocked'] as const;
export type UpgradeStepState = (typeof UPGRADE_STEP_STATES)[number];

/** One step of the upgrade, with what was found in the database about it. */
export interface UpgradeStep {
  step: number;
  title: string;
  /** What to run or do. */
  how: string;
  state: UpgradeStepState;
  /** What the check found (why it is waiting or blocked, or what is left). */
  found: string[];
}

/** Documents not yet in the target shape at one path: the upgrade backlog. */
export interface BacklogEntry {
  collection: CollectionName;
  path: string;
  /** `string`: an id string; `both`: the [ObjectId, id string] pair; `field`: a field the target does not keep. */
  form: 'string' | 'both' | 'field';
  documents: number;
}

export interface UpgradePlan {
  /** The application level configured now (ODTP_APP). */
  app: AppLevel;
  to: 'target';
  steps: UpgradeStep[];
  backlog: BacklogEntry[];
  /** Documents in ODTP 0.5's shape inserted within the window: a 0.5 client still runs. */
  legacyWriters: LegacyWrite[];
  windowS: number;
}

const atLeast = (level: AppLevel, than: AppLevel): boolean =>
  APP_LEVELS.indexOf(level) >= APP_LEVELS.indexOf(than);
const base = (name: string): string => name.replace(/\.(ts|js)$/, '');

/** The upgrade backlog: per path ODTP 0.5 writes differently from the target, the documents still that way. */
export async function upgradeBacklog(db: Db, maxTimeMS?: number): Promise<BacklogEntry[]> {
  const old = appContract('odtp-0.5');
  const scalar = new Set(
    referenceGraph()
      .filter((e) => !e.many)
      .map((e) => `${e.from}.${e.path}`),
  );
  const out: BacklogEntry[] = [];
  const count = async (collection: CollectionName, filter: Document): Promise<number> =>
    db.collection(collection).countDocuments(filter as Filter<Document>, { maxTimeMS });
  for (const [collection, c] of Object.entries(old.collections) as [
    CollectionName,
    NonNullable<(typeof old.collections)[CollectionName]>,
  ][]) {
    for (const [path, r] of Object.entries(c.references ?? {})) {
      if (!r.writes.includes('string')) continue;
      const isScalar = scalar.has(`${collection}.${path}`);
      const strings = await count(
        collection,
        isScalar
          ? { $and: [{ [path]: { $type: 'string' } }, { [path]: { $not: { $type: 'array' } } }] }
          : { [path]: { $type: 'string' } },
      );
      if (strings) out.push({ collection, path, form: 'string', documents: strings });
      if (isScalar) {
        const pairs = await count(collection, { [path]: { $type: 'array' } });
        if (pairs) out.push({ collection, path, form: 'both', documents: pairs });
      }
    }
    for (const path of Object.keys(c.fields ?? {})) {
      const n = await count(collection, { [path]: { $exists: true } });
      if (n) out.push({ collection, path, form: 'field', documents: n });
    }
  }
  return out;
}

/**
 * The upgrade from ODTP 0.5 to the target schema as steps, in order, each with its precondition checked against the
 * database: the migrations' states, the documents ODTP 0.5 clients inserted lately, the validators.
 */
export async function upgradePlan(
  db: Db,
  status: MigrationStatus[],
  options: { app: AppLevel; windowS: number; maxTimeMS?: number; strictCollections?: readonly string[] },
): Promise<UpgradePlan> {
  const byName = new Map(status.map((s) => [base(s.name), s]));
  const state = (name: string): MigrationStatus | undefined => byName.get(name);
  const legacy = await legacyWrites(
    db,
    new Date(Date.now() - options.windowS * 1000),
    'odtp-0.5',
    options.maxTimeMS,
  );
  const backlog = await upgradeBacklog(db, options.maxTimeMS);
  const steps: UpgradeStep[] = [];
  const push = (s: Omit<UpgradeStep, 'step'>): void => void steps.push({ step: steps.length + 1, ...s });

  const transitionSet = atLeast(options.app, 'transition');
  push({
    title: 'Deploy an ODTP transition release to every client (GUI, CLI, component images)',
    how: 'a release that writes the target shapes, both forms [ObjectId, id string] where ODTP 0.5 finds documents by an id string, and reads both forms (docs/app-compatibility.md), then set ODTP_APP=transition for odtp-db',
    state: transitionSet ? 'done' : 'ready',
    found: [`ODTP_APP is ${options.app}`],
  });

  const converting = TRANSITION_MIGRATIONS.map(state);
  const converted = converting.every((s) => s?.state === 'applied');
  const stopped = converting.find((s) => s?.progress);
  push({
    title: 'Convert the data online, beside the running applications',
    how: 'ODTP_APP=transition odtp-db migrate up [--batch-size N] [--max-rate DOCS_PER_S] (resumable; migrate status shows its progress)',
    state: converted ? 'done' : !transitionSet ? 'blocked' : stopped ? 'running' : 'ready',
    found: converting.map((s, i) =>
      s
        ? `${s.name}: ${s.state}${s.progress ? ` (stopped at ${s.progress.collection}, ${s.progress.processed} documents passed)` : ''}`
        : `${TRANSITION_MIGRATIONS[i]}: no such file`,
    ),
  });

  push({
    title: 'Retire every ODTP 0.5 client',
    how: `wait until no document in ODTP 0.5's shape is inserted for UPGRADE_WRITER_WINDOW_S (${options.windowS} s)`,
    state: legacy.length ? 'waiting' : 'done',
    found: legacy.length
      ? [`an ODTP 0.5 client is still running: ${legacyWritesText(legacy, options.windowS)}`]
      : [`no document in ODTP 0.5's shape inserted in the last ${options.windowS} s`],
  });

  const finish = state(FINISH_MIGRATION);
  push({
    title: 'End the upgrade: the target shapes',
    how: `ODTP_APP=target odtp-db migrate up (${FINISH_MIGRATION}: refused while an ODTP 0.5 client is seen)`,
    state:
      finish?.state === 'applied'
        ? 'done'
        : legacy.length
          ? 'blocked'
          : !converted
            ? 'blocked'
            : finish?.progress
              ? 'running'
              : 'ready',
    found: [
      finish ? `${finish.name}: ${finish.state}` : `${FINISH_MIGRATION}: no such file`,
      ...(legacy.length ? ['refused while an ODTP 0.5 client is still running (step 3)'] : []),
      ...(!converted ? ['the online conversion (step 2) comes first'] : []),
    ],
  });

  const applied = new Map(
    (await db.listCollections({}, { nameOnly: false }).toArray()).map((c) => [
      c.name,
      (c as Document).options?.validator as Document | undefined,
    ]),
  );
  const differing = COLLECTION_NAMES.filter((name) => {
    const wanted = derivedValidator(name, { app: 'target', strictCollections: options.strictCollections });
    const has = applied.get(name);
    return !has || EJSON.stringify(has) !== EJSON.stringify(wanted);
  });
  push({
    title: 'Apply the target validators and indexes',
    how: 'ODTP_APP=target odtp-db schema apply',
    state: !differing.length ? 'done' : finish?.state === 'applied' ? 'ready' : 'blocked',
    found: differing.length
      ? [`validators differ from the target's: ${differing.join(', ')}`]
      : ['the target validators are applied'],
  });

  return { app: options.app, to: 'target', steps, backlog, legacyWriters: legacy, windowS: options.windowS };
}
