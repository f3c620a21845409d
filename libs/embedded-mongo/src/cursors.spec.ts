import { CursorRegistry } from './cursors';

describe('CursorRegistry', () => {
  it('closes cursors idle for more than 10 minutes and keeps the others', () => {
    let now = 1_000_000;
    const reg = new CursorRegistry(10 * 60_000, () => now);
    const docs = (n: number) => Array.from({ length: n }, (_, i) => ({ i }));
    const a = reg.open('db.a', docs(10), { batchSize: 2 });
    now += 60_000;
    const b = reg.open('db.b', docs(10), { batchSize: 2 });
    expect(reg.size).toBe(2);
    now += 60_000;
    reg.getMore(b.cursor.id, 'b', 'db', 1);
    // a was last used exactly 10 minutes ago (not more): both stay.
    now += 8 * 60_000;
    expect(reg.reap()).toBe(0);
    // One millisecond later a is idle for more than 10 minutes; b (used 8 minutes ago) stays.
    now += 1;
    expect(reg.reap()).toBe(1);
    expect(reg.size).toBe(1);
    // b's getMore was 10 minutes and 1 ms ago after two more minutes.
    now += 2 * 60_000;
    expect(reg.reap()).toBe(1);
    expect(reg.size).toBe(0);
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
