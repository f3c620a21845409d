import { Faker, en } from '@faker-js/faker';
import { ObjectId } from 'bson';
import type { Document } from 'bson';
import { COLLECTION_NAMES } from '@odtp/schema';
import type { CollectionName } from '@odtp/schema';
import { naturalKeyId } from './seed-model';

export interface LargeOptions {
  /** Approximate total number of documents. */
  scale: number;
  /** Faker seed: the same seed and scale give the same database. */
  seed: number;
  /** Fraction of references replaced by planted defects (0 = none). */
  defects?: number;
  /** Which defects to plant (default both, half each). */
  defectKinds?: readonly PlantedDefect['check'][];
}

/** A defect the generator planted on purpose, for audit benchmarks to check against. */
export interface PlantedDefect {
  check: 'dangling-reference' | 'type-drift';
  collection: CollectionName;
  id: string;
  path: string;
  value: string;
}

export interface Batch {
  collection: CollectionName;
  docs: Document[];
}

const COMPONENT_TYPES = ['ephemeral', 'persistent', 'interactive'] as const;
const LOG_TYPES = ['DEBUG', 'INFO', 'INFO', 'INFO', 'WARNING'] as const;

/**
 * Sizes with ODTP's ratios: about 3 steps per execution, 1-2 outputs per step, 10-200 logs per step
 * (mean 105), 1-10 versions per component; users, twins and components stay small.
 */
export function largeSizes(scale: number): Record<'users' | 'twins' | 'components' | 'executions', number> {
  const perExecution = 1 + 3 * (1 + 1.5 + 105) + 1;
  const executions = Math.max(1, Math.round((scale * 0.995) / perExecution));
  return {
    users: Math.max(3, Math.round(executions / 50)),
    twins: Math.max(5, Math.round(executions / 10)),
    components: Math.max(3, Math.round(executions / 100)),
    executions,
  };
}

/**
 * Generate the large profile as batches of at most `batchSize` documents, in reference-dependency
 * order, holding only one batch in memory. Planted defects go to `onDefect`.
 */
export function* generateLarge(
  options: LargeOptions,
  onDefect: (d: PlantedDefect) => void = () => undefined,
  batchSize = 1000,
): Generator<Batch> {
  const faker = new Faker({ locale: [en], seed: options.seed });
  const rate = options.defects ?? 0;
  const sizes = largeSizes(options.scale);
  const id = (c: CollectionName, n: number | string): ObjectId =>
    naturalKeyId(c, `large:${options.seed}:${n}`);
  const t0 = Date.UTC(2024, 0, 1);
  const when = (minutes: number): Date => new Date(t0 + minutes * 60_000);
  // One pending batch per collection; a full batch is written after the batches of the collections it references.
  const order: readonly CollectionName[] = COLLECTION_NAMES;
  const pending = new Map<CollectionName, Document[]>();
  const flushUpTo = function* (collection: CollectionName): Generator<Batch> {
    for (const c of order.slice(0, order.indexOf(collection) + 1)) {
      const docs = pending.get(c);
      if (docs?.length) {
        yield { collection: c, docs };
        pending.set(c, []);
      }
    }
  };
  const emit = function* (collection: CollectionName, doc: Document): Generator<Batch> {
    const docs = pending.get(collection) ?? [];
    docs.push(doc);
    pending.set(collection, docs);
    if (docs.length >= batchSize) yield* flushUpTo(collection);
  };
  /** A reference, replaced by a planted defect with probability `rate`. */
  const link = (
    collection: CollectionName,
    self: ObjectId,
    path: string,
    target: ObjectId,
  ): ObjectId | string => {
    if (rate === 0 || faker.number.float() >= rate) return target;
    const kinds = options.defectKinds;
    const dangling =
      kinds === undefined || kinds.length === 2
        ? faker.number.float() < 0.5
        : kinds[0] === 'dangling-reference';
    if (dangling) {
      const missing = new ObjectId(faker.string.hexadecimal({ length: 24, casing: 'lower', prefix: '' }));
      onDefect({
        check: 'dangling-reference',
        collection,
        id: self.toHexString(),
        path,
        value: missing.toHexString(),
      });
      return missing;
    }
    onDefect({ check: 'type-drift', collection, id: self.toHexString(), path, value: target.toHexString() });
    return target.toHexString();
  };

  const twinOfExecution = (e: number): number => e % sizes.twins;
  const userOfTwin = (t: number): number => t % sizes.users;
  const versionsOf = (c: number): number => 1 + (c % 10);
  const stepsOf = (e: number): number => 1 + ((e * 7) % 5);
  const versionAt = (e: number, s: number): [number, number] => {
    const c = (e + s * 13) % sizes.components;
    return [c, (e + s) % versionsOf(c)];
  };

  for (let u = 0; u < sizes.users; u++) {
    const twins = [];
    for (let t = u; t < sizes.twins; t += sizes.users) twins.push(id('digitalTwins', t));
    yield* emit('users', {
      _id: id('users', u),
      displayName: `${faker.person.fullName()} #${u}`,
      email: faker.internet.email().toLowerCase(),
      github: faker.internet.username(),
      digitalTwins: twins,
      created_at: when(u),
      updated_at: when(u),
      deprecated: false,
    });
  }
  for (let t = 0; t < sizes.twins; t++) {
    const self = id('digitalTwins', t);
    const executions = [];
    for (let e = t; e < sizes.executions; e += sizes.twins) executions.push(id('executions', e));
    yield* emit('digitalTwins', {
      _id: self,
      userRef: link('digitalTwins', self, 'userRef', id('users', userOfTwin(t))),
      name: `${faker.word.adjective()}-${faker.word.noun()}-${t}`,
      status: 'active',
      public: faker.datatype.boolean(),
      executions,
      created_at: when(t),
      updated_at: when(t),
      deprecated: false,
    });
  }
  for (let c = 0; c < sizes.components; c++) {
    yield* emit('components', {
      _id: id('components', c),
      author: faker.person.fullName(),
      componentName: `odtp-${faker.word.noun()}-${c}`,
      repoLink: `https://github.com/odtp-org/odtp-component-${c}`,
      status: 'active',
      title: faker.lorem.words(3),
      type: COMPONENT_TYPES[c % 3],
      description: faker.lorem.sentence(),
      tags: [faker.word.noun(), faker.word.noun()],
      versions: Array.from({ length: versionsOf(c) }, (_, v) => id('versions', `${c}.${v}`)),
      created_at: when(c),
      updated_at: when(c),
      deprecated: false,
    });
  }
  for (let c = 0; c < sizes.components; c++) {
    for (let v = 0; v < versionsOf(c); v++) {
      const self = id('versions', `${c}.${v}`);
      yield* emit('versions', {
        _id: self,
        componentId: link('versions', self, 'componentId', id('components', c)),
        component: {
          componentId: id('components', c),
          componentName: `odtp-component-${c}`,
          repoLink: `https://github.com/odtp-org/odtp-component-${c}`,
          type: COMPONENT_TYPES[c % 3],
        },
        component_version: `v${1 + Math.floor(v / 3)}.${v % 3}.0`,
        commitHash: faker.git.commitSha(),
        odtp_version: '0.5.0',
        imageLink: `odtp/odtp-component-${c}:v${v}`,
        parameters: { ITERATIONS: String(faker.number.int({ min: 1, max: 100 })) },
        title: faker.lorem.words(3),
        description: faker.lorem.sentence(),
        type: COMPONENT_TYPES[c % 3],
        tags: [faker.word.noun()],
        created_at: when(c * 10 + v),
        updated_at: when(c * 10 + v),
        deprecated: false,
      });
    }
  }
  // Per execution: the execution, its steps, their outputs, its result and the logs, so memory stays bounded.
  for (let e = 0; e < sizes.executions; e++) {
    const self = id('executions', e);
    const n = stepsOf(e);
    const stepIds = Array.from({ length: n }, (_, s) => id('steps', `${e}.${s}`));
    const start = e * 30;
    yield* emit('executions', {
      _id: self,
      digitalTwinRef: link('executions', self, 'digitalTwinRef', id('digitalTwins', twinOfExecution(e))),
      title: `run ${e} ${faker.word.verb()}`,
      description: faker.lorem.sentence(),
      tags: [],
      workflowSchema: {
        workflowExecutor: 'odtpwf',
        workflowExecutorVersion: '0.2.0',
        component_versions: stepIds.map((_, s) => id('versions', versionAt(e, s).join('.'))),
        workflowExecutorSchema: stepIds.map((_, s) => s),
      },
      start_timestamp: when(start),
      end_timestamp: when(start + n * 5),
      steps: stepIds,
      created_at: when(start),
      updated_at: when(start + n * 5),
      deprecated: false,
    });
    for (let s = 0; s < n; s++) {
      const step = stepIds[s];
      yield* emit('steps', {
        _id: step,
        executionRef: link('steps', step, 'executionRef', self),
        component_version: link(
          'steps',
          step,
          'component_version',
          id('versions', versionAt(e, s).join('.')),
        ),
        timestamp: when(start + s * 5),
        start_timestamp: when(start + s * 5),
        end_timestamp: when(start + s * 5 + 4),
        type: 'ephemeral',
        parameters: {},
        run_step: true,
        output: id('outputs', `${e}.${s}.0`),
        created_at: when(start),
        updated_at: when(start + s * 5 + 4),
        deprecated: false,
      });
    }
    for (let s = 0; s < n; s++) {
      const outputs = 1 + ((e + s) % 2);
      for (let o = 0; o < outputs; o++) {
        const out = id('outputs', `${e}.${s}.${o}`);
        yield* emit('outputs', {
          _id: out,
          stepRef: link('outputs', out, 'stepRef', stepIds[s]),
          output_type: o === 0 ? 'output' : 'snapshot',
          s3_bucket: 'odtp',
          s3_key: `odtp/${stepIds[s].toHexString()}`,
          file_name: o === 0 ? 'odtp-output.zip' : 'odtp-snapshot.zip',
          file_size: faker.number.int({ min: 1_000, max: 500_000_000 }),
          file_type: 'application/zip',
          metadata: { description: faker.lorem.words(4), tags: [], other_info: null },
          access_control: { public: false, authorized_users: [id('users', userOfTwin(twinOfExecution(e)))] },
          created_at: when(start + s * 5 + 4),
          updated_at: when(start + s * 5 + 4),
          deprecated: false,
        });
      }
    }
    yield* emit('results', {
      _id: id('results', e),
      executionRef: self,
      digitalTwinRef: id('digitalTwins', twinOfExecution(e)),
      output: stepIds.map((_, s) => id('outputs', `${e}.${s}.0`)),
      title: `result of run ${e}`,
      description: faker.lorem.sentence(),
      tags: [],
      created_at: when(start + n * 5),
      updated_at: when(start + n * 5),
      deprecated: false,
    });
    for (let s = 0; s < n; s++) {
      const lines = 10 + ((e * 31 + s * 17) % 191);
      for (let l = 0; l < lines; l++) {
        const log = id('logs', `${e}.${s}.${l}`);
        yield* emit('logs', {
          _id: log,
          stepRef: link('logs', log, 'stepRef', stepIds[s]),
          timestamp: new Date(when(start + s * 5).getTime() + l * 200),
          type: LOG_TYPES[l % LOG_TYPES.length],
          logstring: `${faker.hacker.verb()} ${faker.hacker.noun()} (${l})`,
        });
      }
    }
  }
  yield* flushUpTo('logs');
}
