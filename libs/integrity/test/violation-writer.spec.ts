import type { Collection } from 'mongodb';
import { ViolationWriter } from '../src/incremental/violation-set';
import type { StoredViolation } from '../src/incremental/violation-set';

/** A collection whose inserts finish only when the test lets them. */
function slowCollection() {
  const written: StoredViolation[][] = [];
  const waiting: (() => void)[] = [];
  const coll = {
    insertMany: (docs: StoredViolation[]) =>
      new Promise<void>((resolve) =>
        waiting.push(() => {
          written.push(docs);
          resolve();
        }),
      ),
  } as unknown as Collection<StoredViolation>;
  const releaseOne = async (): Promise<void> => {
    // the chain calls the next insert on a later tick
    for (let i = 0; i < 10 && !waiting.length; i++) await new Promise((r) => setImmediate(r));
    waiting.shift()!();
  };
  return { coll, written, releaseOne };
}

const violation = (i: number) => ({
  check: 'orphan' as const,
  collection: 'logs',
  path: 'stepRef',
  docId: `log-${i}`,
});

describe('ViolationWriter', () => {
  it('is ready while at most two batches wait for the database, and holds an audit back beyond that', async () => {
    const { coll, written, releaseOne } = slowCollection();
    const writer = new ViolationWriter(coll, 'set-1', 1_000_000);
    for (let i = 0; i < 2000; i++) writer.add(violation(i));
    let ready = false;
    await writer.ready().then(() => (ready = true));
    expect(ready).toBe(true);
    for (let i = 2000; i < 3000; i++) writer.add(violation(i));
    const held = writer.ready().then(() => (ready = false));
    await new Promise((r) => setImmediate(r));
    expect(ready).toBe(true);
    await releaseOne();
    await releaseOne();
    await releaseOne();
    await held;
    expect(ready).toBe(false);
    expect(written.map((b) => b.length)).toEqual([1000, 1000, 1000]);
    expect(written[2][999]).toMatchObject({
      a: 'set-1',
      k: 'orphan',
      c: 'logs',
      p: 'stepRef',
      d: 'log-2999',
    });
    expect(writer.written).toBe(3000);
  });
});
