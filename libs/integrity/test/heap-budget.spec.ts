import { HeapBudget, majorCollector, oldSpaceUsed } from '../src/heap-budget';

const MB = 1024 * 1024;

/** A collector whose collections end when the test says so. */
function manualCollector() {
  const ends: (() => void)[] = [];
  const collect = () => new Promise<void>((resolve) => ends.push(resolve));
  const finish = async () => {
    ends.shift()!();
    await new Promise((r) => setImmediate(r));
  };
  return { collect, finish, started: () => ends.length };
}

describe('HeapBudget', () => {
  it('collects once the old generation grew past the budget, never twice at once, and measures from what it left', async () => {
    let used = 40 * MB;
    const c = manualCollector();
    const budget = new HeapBudget(16 * MB, c.collect, () => used);
    used += 16 * MB;
    budget.tick();
    expect(budget.collections).toBe(0);
    used += 1;
    budget.tick();
    expect(budget.collections).toBe(1);
    // running: more growth starts nothing
    used += 64 * MB;
    budget.tick();
    budget.tick();
    expect(budget.collections).toBe(1);
    // it left 50 MB (live data grew by 10 MB): the next one is due past 66 MB, not past 56 MB
    used = 50 * MB;
    await c.finish();
    used = 66 * MB;
    budget.tick();
    expect(budget.collections).toBe(1);
    used = 66 * MB + 1;
    budget.tick();
    expect(budget.collections).toBe(2);
    expect(c.started()).toBe(1);
  });

  it('a failed collection ends like one that succeeded (the audit goes on)', async () => {
    let used = 0;
    let calls = 0;
    const budget = new HeapBudget(
      MB,
      () => (calls++, Promise.reject(new Error('refused'))),
      () => used,
    );
    used = 2 * MB;
    budget.tick();
    await new Promise((r) => setImmediate(r));
    used = 3 * MB + 1;
    budget.tick();
    expect(calls).toBe(2);
  });

  it('forAudit: 0 turns it off, a negative or non-number budget is refused by name', () => {
    expect(HeapBudget.forAudit(0)).toBeUndefined();
    expect(HeapBudget.forAudit(undefined)).toBeInstanceOf(HeapBudget);
    expect(() => HeapBudget.forAudit(-1)).toThrow('heapBudget must be a number of bytes >= 0, not -1');
    expect(() => HeapBudget.forAudit(Number.NaN)).toThrow(
      'heapBudget must be a number of bytes >= 0, not NaN',
    );
  });

  it("V8's collector frees garbage of the old generation", async () => {
    const collect = majorCollector();
    expect(collect).not.toBeNull();
    // arrays this large (8 MB each) go to the large object spaces: most to the old generation's
    let garbage: number[][] | undefined = Array.from({ length: 6 }, () =>
      new Array<number>(1_000_000).fill(1),
    );
    const held = oldSpaceUsed();
    expect(garbage.length).toBe(6);
    garbage = undefined;
    await collect!();
    expect(held - oldSpaceUsed()).toBeGreaterThan(24 * MB);
  });
});
