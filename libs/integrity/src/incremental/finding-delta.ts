/**
 * An incremental audit's findings from its base's and what changed: per finding, the base's count less the
 * violations the run retired plus the ones it found; samples kept where they still hold, topped up from the set;
 * distinct missing ids counted again only for the dangling-reference findings that changed.
 */
import { CHECKS, idKey } from '../findings';
import type { Finding, Violation } from '../findings';
import type { RetiredViolation, ViolationSets } from './violation-set';

/** Counted up to this many distinct missing ids, as a full audit does. */
const DISTINCT_CAP = 1_000_000;

interface Change {
  retired: number;
  retiredDocs: Set<string>;
  added: number;
  addedDocs: unknown[];
}

const keyOf = (v: { check: string; collection: string; path: string }): string =>
  `${v.check}|${v.collection}|${v.path}`;

export class FindingDelta {
  private readonly changes = new Map<string, Change>();
  private retiredTotal = 0;
  private addedTotal = 0;

  private change(key: string): Change {
    let c = this.changes.get(key);
    if (!c) this.changes.set(key, (c = { retired: 0, retiredDocs: new Set(), added: 0, addedDocs: [] }));
    return c;
  }

  retire(retired: RetiredViolation[]): void {
    for (const v of retired) {
      const c = this.change(keyOf(v));
      c.retired++;
      c.retiredDocs.add(idKey(v.docId));
    }
    this.retiredTotal += retired.length;
  }

  add(v: Violation): void {
    const c = this.change(keyOf(v));
    c.added++;
    c.addedDocs.push(v.docId);
    this.addedTotal++;
  }

  /** Violations in the set after the run: the base's, less the retired, plus the added. */
  total(base: number): number {
    return base - this.retiredTotal + this.addedTotal;
  }

  get retiredCount(): number {
    return this.retiredTotal;
  }

  /**
   * The run's findings: the scoped run's frame (declared findings, scanned, durations, skipped and notes) with the
   * counts of the whole set, and any finding of the base that still has violations.
   */
  async findings(
    base: Finding[],
    scoped: Finding[],
    sets: ViolationSets,
    set: string,
    sampleLimit: number,
  ): Promise<Finding[]> {
    const before = new Map(base.map((f) => [keyOf(f), f]));
    const declared = new Set(scoped.map(keyOf));
    const out: Finding[] = [];
    const seen = new Set<string>();
    for (const f of [...scoped, ...base]) {
      const key = keyOf(f);
      if (seen.has(key)) continue;
      seen.add(key);
      const b = before.get(key);
      const c = this.changes.get(key);
      const violations = (b?.violations ?? 0) - (c?.retired ?? 0) + (c?.added ?? 0);
      // a finding the scoped run did not declare is the base's: listed while it has violations
      if (!declared.has(key) && violations === 0) continue;
      const finding: Finding = { ...f, violations, samples: [] };
      finding.samples = await this.samples(b, c, violations, sampleLimit, () =>
        sets.samples(set, f.check, f.collection, f.path, sampleLimit),
      );
      if (f.check === 'dangling-reference')
        finding.distinctMissing =
          c && violations > 0
            ? await sets.distinctMissing(set, f.collection, f.path, DISTINCT_CAP)
            : violations > 0
              ? (b?.distinctMissing ?? 0)
              : 0;
      out.push(finding);
    }
    const order = new Map(CHECKS.map((c, i) => [c, i]));
    return out.sort((a, b) => order.get(a.check)! - order.get(b.check)!);
  }

  /** The base's samples that still hold, then the added, then (when short) any from the set. */
  private async samples(
    b: Finding | undefined,
    c: Change | undefined,
    violations: number,
    limit: number,
    more: () => Promise<unknown[]>,
  ): Promise<unknown[]> {
    if (violations === 0) return [];
    const out: unknown[] = [];
    const keys = new Set<string>();
    const push = (id: unknown): void => {
      const k = idKey(id);
      if (out.length < limit && !keys.has(k)) {
        keys.add(k);
        out.push(id);
      }
    };
    for (const id of b?.samples ?? []) if (!c?.retiredDocs.has(idKey(id))) push(id);
    for (const id of c?.addedDocs ?? []) push(id);
    if (out.length < Math.min(limit, violations)) for (const id of await more()) push(id);
    return out;
  }
}
