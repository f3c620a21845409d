import request from 'supertest';
import type { OpenAPIV3 } from 'openapi-types';
import { DatabaseService } from '@odtp/database';
import { IntegrityService } from '@odtp/integrity';
import { defectsFixture } from './fixtures/defects';
import { createTestApp } from './support/app';
import type { TestApp } from './support/app';

/*
 * The DTOs describe what the libs return. Each route is called on a database with something in every field, and
 * every field of the answer must be in the response schema the OpenAPI document gives for it (recursively): a lib
 * result field that its DTO lacks fails here.
 */

type Schema = OpenAPIV3.SchemaObject | OpenAPIV3.ReferenceObject;

function resolve(doc: OpenAPIV3.Document, s: Schema | undefined): OpenAPIV3.SchemaObject | undefined {
  if (!s) return undefined;
  if ('$ref' in s) return resolve(doc, doc.components!.schemas![s.$ref.split('/').pop()!]);
  if (s.allOf?.length)
    return s.allOf
      .map((x) => resolve(doc, x)!)
      .reduce((a, b) => ({ ...a, ...b, properties: { ...a.properties, ...b.properties } }));
  return s;
}

/** Paths of `value` that `schema` does not document. Free-form objects (no properties) document everything. */
function undocumented(
  doc: OpenAPIV3.Document,
  value: unknown,
  schema: Schema | undefined,
  at = '',
): string[] {
  const s = resolve(doc, schema);
  if (!s || value === null || typeof value !== 'object') return [];
  if (Array.isArray(value))
    return s.type === 'array' ? value.flatMap((v, i) => undocumented(doc, v, s.items, `${at}[${i}]`)) : [];
  if (!s.properties) return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
    k in s.properties! ? undocumented(doc, v, s.properties![k], `${at}.${k}`) : [`${at}.${k}`],
  );
}

describe('DTOs cover every field the libs return', () => {
  let t: TestApp;
  let doc: OpenAPIV3.Document;
  const server = () => t.app.getHttpServer();

  function responseSchema(method: 'get' | 'post', path: string): Schema | undefined {
    const op = doc.paths[path]![method]!;
    const ok = Object.entries(op.responses).find(([code]) =>
      code.startsWith('2'),
    )![1] as OpenAPIV3.ResponseObject;
    return ok.content?.['application/json']?.schema;
  }

  beforeAll(async () => {
    t = await createTestApp();
    doc = (await request(server()).get('/docs-json').expect(200)).body as OpenAPIV3.Document;
    const db = t.app.get(DatabaseService).db();
    for (const [c, docs] of Object.entries(defectsFixture())) await db.collection(c).insertMany(docs);
  });
  afterAll(async () => {
    await t.app.close();
  });

  it('audits, findings, repairs, migrations, schema, collections and health', async () => {
    const started = await request(server())
      .post('/audits')
      .set('authorization', t.admin)
      .send({})
      .expect(202);
    await t.app.get(IntegrityService).idle();
    const calls: [method: 'get' | 'post', path: string, url: string, body?: object][] = [
      ['get', '/health', '/health'],
      ['get', '/audits/{id}', `/audits/${started.body.id}`],
      ['get', '/audits', '/audits'],
      ['get', '/audits/{id}/findings', `/audits/${started.body.id}/findings`],
      ['post', '/repairs', '/repairs', { reportId: started.body.id }],
      ['get', '/migrations', '/migrations'],
      ['post', '/migrations/plan', '/migrations/plan', {}],
      ['post', '/migrations/up', '/migrations/up', { dryRun: true }],
      ['get', '/schema/plan', '/schema/plan'],
      ['get', '/schema', '/schema'],
      ['get', '/collections', '/collections'],
      ['get', '/collections/{name}/documents', '/collections/steps/documents'],
    ];
    const problems: string[] = [];
    for (const [method, path, url, body] of calls) {
      const res = await request(server())
        [method](url)
        .set('authorization', t.admin)
        .send(body ?? {});
      expect([url, res.status < 300]).toEqual([url, true]);
      problems.push(...undocumented(doc, res.body, responseSchema(method, path)).map((p) => `${url} ${p}`));
    }
    expect(problems).toEqual([]);
  });
});
