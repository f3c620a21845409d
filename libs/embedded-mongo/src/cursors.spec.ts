import { CursorRegistry } from './cursors';

describe('CursorRegistry', () => {
  it('closes cursors idle for more than 10 minutes and keeps the others', () => {
    const reg = new CursorRegistry();
    const docs = (n: number) => Array.from({ length: n }, (_, i) => ({ i }));
    const a = reg.open('db.a', docs(10), { batchSize: 2 });
    const b = reg.open('db.b', docs(10), { batchSize: 2 });
    expect(reg.size).toBe(2);
    const now = Date.now();
    reg.getMore(b.cursor.id, 'b', 'db', 1);
    expect(reg.reap(now + 9 * 60_000)).toBe(0);
    expect(reg.reap(now + 10 * 60_000 + 1)).toBe(2);
    expect(() => reg.getMore(a.cursor.id, 'a', 'db')).toThrow(
      `cursor id ${a.cursor.id.toNumber()} not found`,
    );
    reg.close();
  });

  it('closes a cursor once the limit is reached', () => {
    const reg = new CursorRegistry();
    const first = reg.open('db.c', [{ i: 1 }, { i: 2 }, { i: 3 }, { i: 4 }], { batchSize: 2, limit: 3 });
    const more = reg.getMore(first.cursor.id, 'c', 'db');
    expect(more.cursor.nextBatch).toEqual([{ i: 3 }]);
    expect(more.cursor.id.toNumber()).toBe(0);
    expect(reg.size).toBe(0);
    reg.close();
  });
});
