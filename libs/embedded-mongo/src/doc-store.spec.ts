import { serialize, deserialize } from 'bson';
import { DocStore } from './doc-store';

const bytes = (doc: object): Uint8Array => serialize(doc);

describe('DocStore', () => {
  it('stores, replaces and deletes documents, iterating in insertion order', () => {
    const s = new DocStore();
    s.set('a', bytes({ v: 1 }));
    s.set('b', bytes({ v: 2 }));
    s.set('a', bytes({ v: 3, more: 'x' }));
    s.set('c', bytes({ v: 4 }));
    expect(s.delete('b')).toBe(true);
    expect(s.delete('b')).toBe(false);
    expect(s.size).toBe(2);
    expect([...s.entries()].map(([k, b]) => [k, deserialize(b)])).toEqual([
      ['a', { v: 3, more: 'x' }],
      ['c', { v: 4 }],
    ]);
    expect(s.get('zz')).toBeUndefined();
  });

  it('compacts once dead bytes outweigh live ones, keeping earlier views valid', () => {
    const s = new DocStore();
    const big = 'x'.repeat(64 * 1024);
    s.set('keep', bytes({ keep: true }));
    const early = s.get('keep')!;
    for (let i = 0; i < 1200; i++) s.set('churn', bytes({ i, big }));
    expect(s.reservedBytes).toBeLessThanOrEqual(4 * 16 * 1024 * 1024);
    expect(deserialize(s.get('churn')!).i).toBe(1199);
    expect(deserialize(early)).toEqual({ keep: true });
    expect(deserialize(s.get('keep')!)).toEqual({ keep: true });
  });
});
