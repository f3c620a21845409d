import * as fs from 'node:fs';
import * as path from 'node:path';
import { ObjectId } from 'bson';
import { validateSchema } from '@odtp/embedded-mongo';
import { deriveJsonSchema } from '../json-schema';
import { collectionDefinition } from '../registry';
import { derivedValidator } from '../schema-sync';
import {
  allContracts,
  appContract,
  deviations,
  effectConflicts,
  lowestSafeLevel,
  parseContract,
  referenceValue,
  rulesBreaking,
  toAppShape,
} from './contract';
import odtp05 from './odtp-0.5.contract.json';

const id = new ObjectId('65701dc519b363fe3dea8792');
const hex = id.toHexString();

function withCollections(collections: unknown): unknown {
  return { ...odtp05, collections };
}

describe('contract files', () => {
  it('the ODTP 0.5 contract lists exactly the writes and queries of odtp-domain.md', () => {
    const c = appContract('odtp-0.5');
    expect(deviations(c).map((d) => `${d.kind} ${d.collection}.${d.path}`)).toEqual([
      'reference digitalTwins.userRef',
      'query digitalTwins.userRef',
      'reference workflows.versions',
      'query workflows.versions',
      'reference executions.workflow_id',
      'reference executions.workflowSchema.component_versions',
      'field executions.dt_id',
      'field executions.createdAt',
      'field executions.updatedAt',
      'reference steps.component_version',
      'field steps.createdAt',
      'field steps.updatedAt',
      'field steps.logs',
      'field steps.run',
      'reference outputs.stepRef',
      'reference outputs.access_control.authorized_users',
      'query outputs.stepRef',
      'query outputs.stepRef',
      'reference logs.stepRef',
      'query logs.stepRef',
    ]);
    expect(deviations(appContract('target'))).toEqual([]);
  });

  it.each([
    [{ nope: {} }, 'x.json: collections.nope: unknown collection'],
    [
      { steps: { references: { msg: { writes: ['string'] } } } },
      'x.json: collections.steps.references.msg: not a reference path of the target schema',
    ],
    [
      { steps: { references: { executionRef: { writes: ['text'] } } } },
      'x.json: collections.steps.references.executionRef.writes must be a non-empty list of objectId, string, null, date, bool, array, object',
    ],
    [
      { steps: { fields: { created_at: { bsonType: ['date'], description: 'x' } } } },
      'x.json: collections.steps.fields.created_at: the target schema declares it (use references)',
    ],
    [
      { steps: { fields: { made: { bsonType: ['date'], description: 'x', insteadOf: 'made_at' } } } },
      'x.json: collections.steps.fields.made.insteadOf: made_at is not a target path',
    ],
    [
      { logs: { queries: [{ path: 'nowhere', valueType: 'string', operation: 'o', query: 'q' }] } },
      'x.json: collections.logs.queries.0.path: nowhere is neither a target path nor a field of the contract',
    ],
  ])('a contract file that does not fit the target schema is refused, naming the problem (%#)', (c, msg) => {
    expect(() => parseContract(withCollections(c), 'x.json')).toThrow(msg);
  });

  it('docs/app-compatibility.md names every path of every contract', () => {
    const doc = fs.readFileSync(
      path.join(__dirname, '..', '..', '..', '..', 'docs', 'app-compatibility.md'),
      'utf8',
    );
    const missing = allContracts()
      .flatMap(deviations)
      .map((d) => `\`${d.collection}.${d.path}\``)
      .filter((p) => !doc.includes(p));
    expect(missing).toEqual([]);
  });

  it('a contract must name a released level', () => {
    expect(() => parseContract({ ...odtp05, level: 'target' }, 'x.json')).toThrow(
      'x.json: level must be one of odtp-0.5',
    );
  });
});

describe('validators under a contract', () => {
  const twin = (userRef: unknown) => ({
    _id: id,
    userRef,
    name: 'twin',
    created_at: new Date(0),
    updated_at: new Date(0),
  });
  const check = (app: 'odtp-0.5' | 'target', collection: 'digitalTwins' | 'executions', doc: object) =>
    validateSchema(derivedValidator(collection, { app }).$jsonSchema, doc).length === 0;

  it('odtp-0.5 accepts a reference as an ObjectId or a 24-hex string, and nothing else', () => {
    expect(check('odtp-0.5', 'digitalTwins', twin(id))).toBe(true);
    expect(check('odtp-0.5', 'digitalTwins', twin(hex))).toBe(true);
    expect(check('odtp-0.5', 'digitalTwins', twin('not-an-id'))).toBe(false);
    expect(check('odtp-0.5', 'digitalTwins', twin(42))).toBe(false);
    expect(check('target', 'digitalTwins', twin(hex))).toBe(false);
  });

  it('odtp-0.5 still enforces required fields and types elsewhere', () => {
    const { name: _name, ...nameless } = twin(hex);
    expect(check('odtp-0.5', 'digitalTwins', nameless)).toBe(false);
    expect(check('odtp-0.5', 'digitalTwins', { ...twin(hex), status: 'sleeping' })).toBe(false);
    expect(check('odtp-0.5', 'digitalTwins', { ...twin(hex), executions: [hex] })).toBe(false);
  });

  it('odtp-0.5 declares the fields ODTP 0.5 writes with their types (so strict collections keep them)', () => {
    const execution = {
      _id: id,
      digitalTwinRef: id,
      title: 't',
      dt_id: hex,
      createdAt: new Date(0),
      updatedAt: new Date(0),
    };
    const strict = (doc: object) =>
      validateSchema(
        derivedValidator('executions', { app: 'odtp-0.5', strictCollections: ['executions'] }).$jsonSchema,
        doc,
      ).length === 0;
    expect(strict(execution)).toBe(true);
    expect(strict({ ...execution, createdAt: 'yesterday' })).toBe(false);
    expect(
      validateSchema(
        derivedValidator('executions', { app: 'target', strictCollections: ['executions'] }).$jsonSchema,
        execution,
      ).length,
    ).toBe(1);
  });

  it('a required field the application writes under another name: either one must be there', () => {
    const contract = parseContract(
      withCollections({
        users: { fields: { createdAt: { bsonType: ['date'], description: 'x', insteadOf: 'created_at' } } },
      }),
      'x.json',
    );
    const schema = deriveJsonSchema(collectionDefinition('users')!, { contract });
    const user = { _id: id, displayName: 'a', updated_at: new Date(0) };
    expect(validateSchema(schema, { ...user, created_at: new Date(0) })).toEqual([]);
    expect(validateSchema(schema, { ...user, createdAt: new Date(0) })).toEqual([]);
    expect(validateSchema(schema, user)).toHaveLength(1);
  });
});

describe('what a level breaks for another', () => {
  it('target rules break every reference ODTP 0.5 writes as a string, named as people read it', () => {
    expect(
      rulesBreaking(appContract('target'), appContract('odtp-0.5')).map(
        (d) => `${d.collection}.${d.path}: ${d.text}`,
      ),
    ).toEqual([
      'digitalTwins.userRef: ODTP 0.5 writes a string',
      'workflows.versions: ODTP 0.5 writes a string',
      'executions.workflow_id: ODTP 0.5 writes a string',
      'executions.workflowSchema.component_versions: ODTP 0.5 writes a string',
      'steps.component_version: ODTP 0.5 writes a string',
      'outputs.stepRef: ODTP 0.5 writes a string',
      'outputs.access_control.authorized_users: ODTP 0.5 writes a string or null',
      'logs.stepRef: ODTP 0.5 writes a string',
    ]);
    expect(rulesBreaking(appContract('odtp-0.5'), appContract('odtp-0.5'))).toEqual([]);
    expect(rulesBreaking(appContract('odtp-0.5'), appContract('target'))).toEqual([]);
  });

  it('strict target rules also break the fields ODTP 0.5 writes', () => {
    expect(
      rulesBreaking(appContract('target'), appContract('odtp-0.5'), ['executions'])
        .filter((d) => d.kind === 'field')
        .map((d) => d.path),
    ).toEqual(['dt_id', 'createdAt', 'updatedAt']);
  });

  it('a migration effect on something ODTP 0.5 queries or writes is unsafe for it, with the reasons', () => {
    expect(
      effectConflicts(appContract('odtp-0.5'), [
        { collection: 'logs', path: 'stepRef', change: 'reference-to-objectid' },
      ]),
    ).toEqual([
      'ODTP 0.5 queries logs.stepRef as a string (delete execution cascade (delete_execution): logs.find({stepRef: str(step_id)}), then delete_one by _id)',
      'ODTP 0.5 writes logs.stepRef as a string',
    ]);
    expect(
      effectConflicts(appContract('odtp-0.5'), [
        { collection: 'executions', path: 'createdAt', change: 'rename' },
      ]),
    ).toEqual(['ODTP 0.5 writes executions.createdAt instead of created_at (a date)']);
    expect(
      lowestSafeLevel([{ collection: 'steps', path: 'executionRef', change: 'reference-to-objectid' }]),
    ).toBe('odtp-0.5');
    expect(lowestSafeLevel([{ collection: 'executions', path: 'dt_id', change: 'remove' }])).toBe(
      'transition',
    );
  });
});

describe('documents as the application writes them', () => {
  it('references in the usual form, renamed and repeated fields; target leaves the document alone', () => {
    const execution = {
      _id: id,
      digitalTwinRef: id,
      workflow_id: id,
      workflowSchema: { workflowExecutor: 'odtpwf', component_versions: [id, id] },
      steps: [id],
      created_at: new Date(1),
      updated_at: new Date(2),
    };
    expect(toAppShape(appContract('odtp-0.5'), 'executions', execution)).toEqual({
      _id: id,
      digitalTwinRef: id,
      workflow_id: id,
      workflowSchema: { workflowExecutor: 'odtpwf', component_versions: [hex, hex] },
      steps: [id],
      dt_id: hex,
      createdAt: new Date(1),
      updatedAt: new Date(2),
    });
    expect(toAppShape(appContract('target'), 'executions', execution)).toBe(execution);
    expect(referenceValue(appContract('odtp-0.5'), 'outputs', 'stepRef', id)).toBe(hex);
    expect(referenceValue(appContract('odtp-0.5'), 'steps', 'executionRef', id)).toBe(id);
  });
});
