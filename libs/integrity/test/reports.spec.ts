import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { newFindings, postWebhook, ReportStore } from '@odtp/integrity';
import type { AuditReport, Finding } from '@odtp/integrity';
import { startTestMongo } from '../../../test/support/mongo';
import type { TestMongo } from '../../../test/support/mongo';

let mongo: TestMongo;
beforeAll(async () => (mongo = await startTestMongo()));
afterAll(() => mongo.close());

const finding = (violations: number, path = 'stepRef'): Finding => ({
  check: 'dangling-reference',
  severity: 'error',
  collection: 'logs',
  path,
  target: 'steps',
  scanned: 10,
  violations,
  samples: [],
  durationMs: 1,
});

function report(n: number, findings: Finding[] = []): AuditReport {
  return {
    id: `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`,
    app: 'odtp-0.5',
    startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)),
    finishedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n, 500)),
    database: 'odtp',
    summary: { errors: 0, warnings: 0, scanned: 10 },
    findings,
  };
}

describe('ReportStore', () => {
  it('keeps the newest N reports and pages them newest first without findings', async () => {
    const store = new ReportStore(mongo.db(), 3);
    for (let i = 1; i <= 5; i++) await store.save(report(i, [finding(i)]));
    const page = await store.list(1, 2);
    expect(page.total).toBe(3);
    expect(page.items.map((r) => r.id.slice(-1))).toEqual(['5', '4']);
    expect((page.items[0] as Partial<AuditReport>).findings).toBeUndefined();
    expect((await store.list(2, 2)).items.map((r) => r.id.slice(-1))).toEqual(['3']);
    expect(await store.get(report(1).id)).toBeNull();
    expect((await store.latest())!.id).toBe(report(5).id);
    expect((await store.previous(report(5)))!.id).toBe(report(4).id);
  });
});

describe('newFindings', () => {
  it('lists findings with more violations than in the previous report, or all with violations when there is none', () => {
    const before = report(1, [finding(2), finding(0, 'other')]);
    const after = report(2, [finding(2), finding(1, 'other')]);
    expect(newFindings(after, before).map((f) => f.path)).toEqual(['other']);
    expect(newFindings(before, null).map((f) => f.path)).toEqual(['stepRef']);
  });
});

describe('postWebhook', () => {
  it('retries a failing endpoint and names only the host when it gives up', async () => {
    let calls = 0;
    const server = http.createServer((req, res) => {
      calls++;
      req.resume();
      res.writeHead(calls < 2 ? 503 : 204).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=secret`;
    await postWebhook(url, { a: 1 }, undefined, 3, 1000);
    expect(calls).toBe(2);
    calls = -10; // always failing from now on
    await expect(postWebhook(url, { a: 1 }, undefined, 2, 1000)).rejects.toThrow(
      `webhook to 127.0.0.1:${(server.address() as AddressInfo).port} failed after 2 attempts: HTTP 503`,
    );
    server.close();
  });

  it('does not follow a redirect (the payload and Authorization would go elsewhere) and sends the Authorization header it is given', async () => {
    const elsewhere: string[] = [];
    const other = http.createServer((req, res) => {
      elsewhere.push(`${req.method} ${req.url}`);
      req.resume();
      res.writeHead(204).end();
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    const seen: (string | undefined)[] = [];
    const hook = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      req.resume();
      res
        .writeHead(302, { location: `http://127.0.0.1:${(other.address() as AddressInfo).port}/steal` })
        .end();
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const port = (hook.address() as AddressInfo).port;
    await expect(
      postWebhook(`http://127.0.0.1:${port}/hook?token=secret`, { a: 1 }, 'Bearer t0ken', 1, 1000),
    ).rejects.toThrow(
      `webhook to 127.0.0.1:${port} failed after 1 attempts: HTTP 302 (a redirect: not followed)`,
    );
    expect(seen).toEqual(['Bearer t0ken']);
    expect(elsewhere).toEqual([]);
    hook.close();
    other.close();
  });
});
