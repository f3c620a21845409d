import { ObjectId } from 'bson';
import { describeRepair, edgeStates, renderHtmlReport, ReportStore, trendPoint } from '@odtp/integrity';
import type { AuditReport, Finding } from '@odtp/integrity';
import { startTestMongo } from '../../../test/support/mongo';
import type { TestMongo } from '../../../test/support/mongo';

const HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>';

function finding(over: Partial<Finding>): Finding {
  return {
    check: 'dangling-reference',
    severity: 'error',
    collection: 'logs',
    path: 'stepRef',
    target: 'steps',
    scanned: 10,
    violations: 1,
    samples: [],
    durationMs: 1,
    ...over,
  };
}

function report(findings: Finding[], n = 1, database = 'odtp'): AuditReport {
  return {
    id: `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`,
    app: 'odtp-0.5',
    startedAt: new Date(Date.UTC(2026, 0, n)),
    finishedAt: new Date(Date.UTC(2026, 0, n, 0, 0, 2)),
    database,
    summary: {
      errors: findings.filter((f) => f.severity === 'error').reduce((a, f) => a + f.violations, 0),
      warnings: findings.filter((f) => f.severity === 'warning').reduce((a, f) => a + f.violations, 0),
      scanned: 10,
    },
    findings,
  };
}

describe('the HTML audit report', () => {
  it('is self-contained: no script, no external resource, a CSP that allows none', () => {
    const html = renderHtmlReport(report([finding({ samples: [new ObjectId()] })]));
    expect(html).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    );
    expect(html).not.toMatch(/<script|<link|<iframe|\ssrc=|\shref=|@import/i);
    expect(html.match(/https?:\/\/[^"'\s<]+/g)?.sort()).toEqual(
      // the SVG namespaces only
      ['http://www.w3.org/2000/svg', 'http://www.w3.org/2000/svg'],
    );
    expect(html.match(/url\((?!#arrow-(error|warning|clean)\))/g)).toBeNull();
  });

  it('escapes everything that comes from the database', () => {
    const html = renderHtmlReport(
      report(
        [finding({ samples: [HOSTILE, new ObjectId('0000000000000000000000aa')], note: HOSTILE })],
        1,
        HOSTILE,
      ),
    );
    expect(html).not.toContain('<script>alert');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain(
      '&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;',
    );
    // an ObjectId sample gets the route that opens it; a string id says how to find it instead
    expect(html).toContain('<code>GET /collections/logs/documents/0000000000000000000000aa</code>');
    expect(html).toContain('not an ObjectId: filter logs by hand');
  });

  it('with ADMIN_PUBLIC_URL the sample routes are absolute', () => {
    const html = renderHtmlReport(
      report([finding({ samples: [new ObjectId('0000000000000000000000ab')] })]),
      {
        apiBase: 'https://admin.example.org/',
      },
    );
    expect(html).toContain(
      '<code>GET https://admin.example.org/collections/logs/documents/0000000000000000000000ab</code>',
    );
  });

  it('colours each edge by its findings and numbers the two edges of a two-way link alike', () => {
    const states = edgeStates(
      report([
        finding({ violations: 3 }),
        finding({ check: 'type-drift', severity: 'warning', violations: 2 }),
        finding({
          check: 'type-drift',
          severity: 'warning',
          collection: 'digitalTwins',
          path: 'userRef',
          target: 'users',
          violations: 5,
        }),
      ]),
    );
    const at = (key: string) => states.find((s) => `${s.edge.from}.${s.edge.path}` === key)!;
    expect([at('logs.stepRef').status, at('logs.stepRef').errors, at('logs.stepRef').warnings]).toEqual([
      'error',
      3,
      2,
    ]);
    expect([at('digitalTwins.userRef').status, at('digitalTwins.userRef').warnings]).toEqual(['warning', 5]);
    expect(at('steps.executionRef').status).toBe('clean');
    expect(at('users.digitalTwins').pair).toBe(at('digitalTwins.userRef').pair);
    expect(at('steps.executionRef').pair).toBe(at('executions.steps').pair);
    expect(at('users.digitalTwins').pair).not.toBe(at('steps.executionRef').pair);
    expect(at('logs.stepRef').pair).toBe(0);
    expect(new Set(states.filter((s) => s.pair).map((s) => s.pair)).size).toBe(4);
  });

  it('says what repair plan does, per check, path and application', () => {
    expect(describeRepair({ check: 'dangling-reference', collection: 'users', path: 'digitalTwins' })).toBe(
      'pull: the value is removed from the array',
    );
    expect(describeRepair({ check: 'dangling-reference', collection: 'steps', path: 'executionRef' })).toBe(
      'quarantine: the document moves to steps_quarantine (a required reference)',
    );
    expect(
      describeRepair({ check: 'type-drift', collection: 'digitalTwins', path: 'userRef' }, 'odtp-0.5'),
    ).toMatch(/^left alone when an id string \(ODTP 0\.5 writes id strings here\)/);
    expect(
      describeRepair({ check: 'type-drift', collection: 'digitalTwins', path: 'userRef' }, 'target'),
    ).toMatch(/^convert: the id string becomes an ObjectId/);
  });

  it('stays small: 71 findings with 20 samples each are well under 2 MB', () => {
    const many = Array.from({ length: 71 }, (_, i) =>
      finding({
        path: `p${i}`,
        violations: 1_000_000,
        samples: Array.from({ length: 20 }, () => new ObjectId()),
      }),
    );
    const html = renderHtmlReport(report(many), {
      trend: Array.from({ length: 20 }, (_, i) => trendPoint(report(many, i + 1))),
    });
    expect(html.length).toBeLessThan(2_000_000);
    expect(html.length).toBeGreaterThan(200_000);
  });
});

describe('the trend of stored reports', () => {
  let mongo: TestMongo;
  beforeAll(async () => (mongo = await startTestMongo()));
  afterAll(() => mongo.close());

  it('takes the last N reports up to the given one, oldest first, with errors and warnings per check', async () => {
    const store = new ReportStore(mongo.db(), 100);
    for (let n = 1; n <= 5; n++)
      await store.save(
        report(
          [finding({ violations: n }), finding({ check: 'orphan', severity: 'warning', violations: 10 * n })],
          n,
        ),
      );
    const trend = await store.trend(new Date(Date.UTC(2026, 0, 4)), 3);
    expect(trend.map((p) => [p.startedAt.getUTCDate(), p.errors, p.warnings, p.byCheck])).toEqual([
      [2, 2, 20, { 'dangling-reference': { errors: 2, warnings: 0 }, orphan: { errors: 0, warnings: 20 } }],
      [3, 3, 30, { 'dangling-reference': { errors: 3, warnings: 0 }, orphan: { errors: 0, warnings: 30 } }],
      [4, 4, 40, { 'dangling-reference': { errors: 4, warnings: 0 }, orphan: { errors: 0, warnings: 40 } }],
    ]);
  });
});
