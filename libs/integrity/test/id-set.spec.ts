import { ObjectId } from 'bson';
import { ObjectIdSet } from '../src/id-set';
import { FindingCollector } from '../src/findings';

describe('ObjectIdSet', () => {
  it('counts each id once through its growth, ids one byte apart included', () => {
    const set = new ObjectIdSet();
    const base = Buffer.from('64b7f0c2a1b2c3d4e5f60718', 'hex');
    const ids = Array.from({ length: 20_000 }, (_, k) => {
      const b = Buffer.from(base);
      b.writeUInt16BE(k, k % 3 === 0 ? 0 : k % 3 === 1 ? 5 : 10);
      return new ObjectId(b);
    });
    const distinct = new Set(ids.map(String)).size;
    const added = ids.map((id) => set.add(id)).filter(Boolean).length;
    expect(added).toBe(distinct);
    expect(set.size).toBe(distinct);
    // every id again, as new ObjectId objects: none is new
    expect(ids.some((id) => set.add(new ObjectId(id.toHexString())))).toBe(false);
    expect(set.add(new ObjectId())).toBe(true);
    expect(set.size).toBe(distinct + 1);
  });
});

describe('FindingCollector distinct missing ids', () => {
  it('counts an ObjectId and the same id as a string apart (as stored), and each once', () => {
    const c = new FindingCollector(5);
    const a = new ObjectId();
    const b = new ObjectId();
    const v = (value: unknown, i: number) => ({
      check: 'dangling-reference' as const,
      collection: 'logs',
      path: 'stepRef',
      target: 'steps',
      docId: `log-${i}`,
      value,
    });
    [a, b, a, a.toHexString(), a.toHexString(), [a, a.toHexString()]].forEach((x, i) => c.add(v(x, i)));
    const f = c.find('dangling-reference', 'logs', 'stepRef')!;
    expect(f.violations).toBe(6);
    expect(f.distinctMissing).toBe(4);
  });
});
