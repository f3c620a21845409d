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

/** The generator's state: the seeded faker, the pending batch per collection, and the reference helpers. */
class LargeGenerator {
  readonly faker: Faker;
  readonly sizes: ReturnType<typeof largeSizes>;
  private readonly rate: number;
  private readonly pending = new Map<CollectionName, Document[]>();
  private readonly t0 = Date.UTC(2024, 0, 1);

  constructor(
    private readonly options: LargeOptions,
    private readonly onDefect: (d: PlantedDefect) => void,
    private readonly batchSize: number,
  ) {
    this.faker = new Faker({ locale: [en], seed: options.seed });
    this.rate = options.defects ?? 0;
    this.sizes = largeSizes(options.scale);
  }

  id(c: CollectionName, n: number | string): ObjectId {
    return naturalKeyId(c, `large:${this.options.seed}:${n}`);
  }

  when(minutes: number): Date {
    return new Date(this.t0 + minutes * 60_000);
  }

  twinOfExecution(e: number): number {
    return e % this.sizes.twins;
  }

  userOfTwin(t: number): number {
    return t % this.sizes.users;
  }

  versionsOf(c: number): number {
    return 1 + (c % 10);
  }

  stepsOf(e: number): number {
    return 1 + ((e * 7) % 5);
  }

  versionAt(e: number, s: number): [number, number] {
    const c = (e + s * 13) % this.sizes.components;
    return [c, (e + s) % this.versionsOf(c)];
  }

  /** Write every pending batch up to `collection`, in reference-dependency order. */
  *flushUpTo(collection: CollectionName): Generator<Batch> {
    for (const c of COLLECTION_NAMES.slice(0, COLLECTION_NAMES.indexOf(collection) + 1)) {
      const docs = this.pending.get(c);
      if (docs?.length) {
        yield { collection: c, docs };
        this.pending.set(c, []);
      }
    }
  }

  /** One document into its collection's pending batch; a full batch is written after those it references. */
  *emit(collection: CollectionName, doc: Document): Generator<Batch> {
    const docs = this.pending.get(collection) ?? [];
    docs.push(doc);
    this.pending.set(collection, docs);
    if (docs.length >= this.batchSize) yield* this.flushUpTo(collection);
  }

  /** A reference, replaced by a planted defect with probability `rate`. */
  link(collection: CollectionName, self: ObjectId, path: string, target: ObjectId): ObjectId | string {
    const faker = this.faker;
    if (this.rate === 0 || faker.number.float() >= this.rate) return target;
    const kinds = this.options.defectKinds;
    const dangling =
      kinds === undefined || kinds.length === 2
        ? faker.number.float() < 0.5
        : kinds[0] === 'dangling-reference';
    if (dangling) {
      const missing = new ObjectId(faker.string.hexadecimal({ length: 24, casing: 'lower', prefix: '' }));
      this.onDefect({
        check: 'dangling-reference',
        collection,
        id: self.toHexString(),
        path,
        value: missing.toHexString(),
      });
      return missing;
    }
    this.onDefect({
      check: 'type-drift',
      collection,
      id: self.toHexString(),
      path,
      value: target.toHexString(),
    });
    return target.toHexString();
  }
}

function* users(g: LargeGenerator): Generator<Batch> {
  for (let u = 0; u < g.sizes.users; u++) {
    const twins = [];
    for (let t = u; t < g.sizes.twins; t += g.sizes.users) twins.push(g.id('digitalTwins', t));
    yield* g.emit('users', {
      _id: g.id('users', u),
      displayName: `${g.faker.person.fullName()} #${u}`,
      email: g.faker.internet.email().toLowerCase(),
      github: g.faker.internet.username(),
      digitalTwins: twins,
      created_at: g.when(u),
      updated_at: g.when(u),
      deprecated: false,
    });
  }
}

function* twins(g: LargeGenerator): Generator<Batch> {
  for (let t = 0; t < g.sizes.twins; t++) {
    const self = g.id('digitalTwins', t);
    const executions = [];
    for (let e = t; e < g.sizes.executions; e += g.sizes.twins) executions.push(g.id('executions', e));
    yield* g.emit('digitalTwins', {
      _id: self,
      userRef: g.link('digitalTwins', self, 'userRef', g.id('users', g.userOfTwin(t))),
      name: `${g.faker.word.adjective()}-${g.faker.word.noun()}-${t}`,
      status: 'active',
      public: g.faker.datatype.boolean(),
      executions,
      created_at: g.when(t),
      updated_at: g.when(t),
      deprecated: false,
    });
  }
}

function* components(g: LargeGenerator): Generator<Batch> {
  for (let c = 0; c < g.sizes.components; c++) {
    yield* g.emit('components', {
      _id: g.id('components', c),
      author: g.faker.person.fullName(),
      componentName: `odtp-${g.faker.word.noun()}-${c}`,
      repoLink: `https://github.com/odtp-org/odtp-component-${c}`,
      status: 'active',
      title: g.faker.lorem.words(3),
      type: COMPONENT_TYPES[c % 3],
      description: g.faker.lorem.sentence(),
      tags: [g.faker.word.noun(), g.faker.word.noun()],
      versions: Array.from({ length: g.versionsOf(c) }, (_, v) => g.id('versions', `${c}.${v}`)),
      created_at: g.when(c),
      updated_at: g.when(c),
      deprecated: false,
    });
  }
}

function* versions(g: LargeGenerator): Generator<Batch> {
  for (let c = 0; c < g.sizes.components; c++) {
    for (let v = 0; v < g.versionsOf(c); v++) {
      const self = g.id('versions', `${c}.${v}`);
      yield* g.emit('versions', {
        _id: self,
        componentId: g.link('versions', self, 'componentId', g.id('components', c)),
        component: {
          componentId: g.id('components', c),
          componentName: `odtp-component-${c}`,
          repoLink: `https://github.com/odtp-org/odtp-component-${c}`,
          type: COMPONENT_TYPES[c % 3],
        },
        component_version: `v${1 + Math.floor(v / 3)}.${v % 3}.0`,
        commitHash: g.faker.git.commitSha(),
        odtp_version: '0.5.0',
        imageLink: `odtp/odtp-component-${c}:v${v}`,
        parameters: { ITERATIONS: String(g.faker.number.int({ min: 1, max: 100 })) },
        title: g.faker.lorem.words(3),
        description: g.faker.lorem.sentence(),
        type: COMPONENT_TYPES[c % 3],
        tags: [g.faker.word.noun()],
        created_at: g.when(c * 10 + v),
        updated_at: g.when(c * 10 + v),
        deprecated: false,
      });
    }
  }
}

/** One execution with its steps, their outputs, its result and the logs, so memory stays bounded. */
function* execution(g: LargeGenerator, e: number): Generator<Batch> {
  const self = g.id('executions', e);
  const n = g.stepsOf(e);
  const stepIds = Array.from({ length: n }, (_, s) => g.id('steps', `${e}.${s}`));
  const start = e * 30;
  yield* g.emit('executions', {
    _id: self,
    digitalTwinRef: g.link('executions', self, 'digitalTwinRef', g.id('digitalTwins', g.twinOfExecution(e))),
    title: `run ${e} ${g.faker.word.verb()}`,
    description: g.faker.lorem.sentence(),
    tags: [],
    workflowSchema: {
      workflowExecutor: 'odtpwf',
      workflowExecutorVersion: '0.2.0',
      component_versions: stepIds.map((_, s) => g.id('versions', g.versionAt(e, s).join('.'))),
      workflowExecutorSchema: stepIds.map((_, s) => s),
    },
    start_timestamp: g.when(start),
    end_timestamp: g.when(start + n * 5),
    steps: stepIds,
    created_at: g.when(start),
    updated_at: g.when(start + n * 5),
    deprecated: false,
  });
  for (let s = 0; s < n; s++) {
    const step = stepIds[s];
    yield* g.emit('steps', {
      _id: step,
      executionRef: g.link('steps', step, 'executionRef', self),
      component_version: g.link(
        'steps',
        step,
        'component_version',
        g.id('versions', g.versionAt(e, s).join('.')),
      ),
      timestamp: g.when(start + s * 5),
      start_timestamp: g.when(start + s * 5),
      end_timestamp: g.when(start + s * 5 + 4),
      type: 'ephemeral',
      parameters: {},
      run_step: true,
      output: g.id('outputs', `${e}.${s}.0`),
      created_at: g.when(start),
      updated_at: g.when(start + s * 5 + 4),
      deprecated: false,
    });
  }
  for (let s = 0; s < n; s++) {
    const outputs = 1 + ((e + s) % 2);
    for (let o = 0; o < outputs; o++) {
      const out = g.id('outputs', `${e}.${s}.${o}`);
      yield* g.emit('outputs', {
        _id: out,
        stepRef: g.link('outputs', out, 'stepRef', stepIds[s]),
        output_type: o === 0 ? 'output' : 'snapshot',
        s3_bucket: 'odtp',
        s3_key: `odtp/${stepIds[s].toHexString()}`,
        file_name: o === 0 ? 'odtp-output.zip' : 'odtp-snapshot.zip',
        file_size: g.faker.number.int({ min: 1_000, max: 500_000_000 }),
        file_type: 'application/zip',
        metadata: { description: g.faker.lorem.words(4), tags: [], other_info: null },
        access_control: {
          public: false,
          authorized_users: [g.id('users', g.userOfTwin(g.twinOfExecution(e)))],
        },
        created_at: g.when(start + s * 5 + 4),
        updated_at: g.when(start + s * 5 + 4),
        deprecated: false,
      });
    }
  }
  yield* g.emit('results', {
    _id: g.id('results', e),
    executionRef: self,
    digitalTwinRef: g.id('digitalTwins', g.twinOfExecution(e)),
    output: stepIds.map((_, s) => g.id('outputs', `${e}.${s}.0`)),
    title: `result of run ${e}`,
    description: g.faker.lorem.sentence(),
    tags: [],
    created_at: g.when(start + n * 5),
    updated_at: g.when(start + n * 5),
    deprecated: false,
  });
  for (let s = 0; s < n; s++) {
    const lines = 10 + ((e * 31 + s * 17) % 191);
    for (let l = 0; l < lines; l++) {
      const log = g.id('logs', `${e}.${s}.${l}`);
      yield* g.emit('logs', {
        _id: log,
        stepRef: g.link('logs', log, 'stepRef', stepIds[s]),
        timestamp: new Date(g.when(start + s * 5).getTime() + l * 200),
        type: LOG_TYPES[l % LOG_TYPES.length],
        logstring: `${g.faker.hacker.verb()} ${g.faker.hacker.noun()} (${l})`,
      });
    }
  }
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
  const g = new LargeGenerator(options, onDefect, batchSize);
  yield* users(g);
  yield* twins(g);
  yield* components(g);
  yield* versions(g);
  for (let e = 0; e < g.sizes.executions; e++) yield* execution(g, e);
  yield* g.flushUpTo('logs');
}
