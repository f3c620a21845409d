import { ObjectId } from 'bson';
import { CHECKS, describeRepair, planRepairs, REPAIR_RULES } from '@odtp/integrity';
import type { Violation } from '@odtp/integrity';
import { startTestMongo } from '../../../test/support/mongo';
import type { TestMongo } from '../../../test/support/mongo';

let mongo: TestMongo;
beforeAll(async () => (mongo = await startTestMongo()));
afterAll(() => mongo.close());

const ids = ['65a000000000000000000001', '65a000000000000000000002'].map((h) => new ObjectId(h));

function duplicates(collection: string, path: string, value: Record<string, unknown>): Violation[] {
  return ids.map((docId) => ({ check: 'duplicate', collection, path, docId, value }));
}

describe('repair rules (each check: plan and describe together)', () => {
  it('has a rule for every check', () => {
    expect(Object.keys(REPAIR_RULES).sort()).toEqual([...CHECKS].sort());
  });

  it('a duplicate repoLink gets "#<id>" in the plan and in the words; other keys get " [<id>]" in both', async () => {
    const db = mongo.db();
    const link = 'https://github.com/odtp-org/odtp-eqasim';
    const [repo] = await planRepairs(db, duplicates('components', 'repoLink', { repoLink: link }));
    expect([repo.kind, repo.docId, repo.path, repo.value]).toEqual([
      'rename-key',
      ids[1],
      'repoLink',
      `${link}#${ids[1].toHexString()}`,
    ]);
    expect(describeRepair({ check: 'duplicate', collection: 'components', path: 'repoLink' })).toBe(
      'rename-key: the oldest document keeps the value, the others become "<value>#<id>"',
    );
    const [user] = await planRepairs(db, duplicates('users', 'displayName', { displayName: 'Ada' }));
    expect(user.value).toBe(`Ada [${ids[1].toHexString()}]`);
    expect(describeRepair({ check: 'duplicate', collection: 'users', path: 'displayName' })).toBe(
      'rename-key: the oldest document keeps the value, the others become "<value> [<id>]"',
    );
  });

  it('a dangling required reference is quarantined in the plan and the words, an optional one unset, an array entry pulled', async () => {
    const db = mongo.db();
    const missing = new ObjectId();
    const dangling = (collection: string, path: string): Violation => ({
      check: 'dangling-reference',
      collection,
      path,
      docId: ids[0],
      value: missing,
    });
    const cases: [string, string, string, RegExp][] = [
      ['steps', 'executionRef', 'quarantine', /^quarantine: the document moves to steps_quarantine/],
      ['steps', 'output', 'unset', /^unset: the reference is removed$/],
      ['users', 'digitalTwins', 'pull', /^pull: the value is removed from the array$/],
    ];
    for (const [collection, path, kind, words] of cases) {
      const [action] = await planRepairs(db, [dangling(collection, path)]);
      expect([collection, path, action.kind]).toEqual([collection, path, kind]);
      expect(describeRepair({ check: 'dangling-reference', collection, path })).toMatch(words);
    }
  });

  it('type drift: id strings left alone where ODTP 0.5 writes them (no action), converted under target', async () => {
    const db = mongo.db();
    const v: Violation = {
      check: 'type-drift',
      collection: 'digitalTwins',
      path: 'userRef',
      docId: ids[0],
      value: ids[1].toHexString(),
    };
    expect(await planRepairs(db, [v], { app: 'odtp-0.5' })).toEqual([]);
    expect((await planRepairs(db, [v], { app: 'target' })).map((a) => a.kind)).toEqual(['convert']);
    expect(describeRepair(v, 'odtp-0.5')).toMatch(/^left alone when an id string/);
    expect(describeRepair(v, 'target')).toMatch(/^convert:/);
  });
});
