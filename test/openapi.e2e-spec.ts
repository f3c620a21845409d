import SwaggerParser from '@apidevtools/swagger-parser';
import * as vm from 'node:vm';
import request from 'supertest';
import type { OpenAPIV3 } from 'openapi-types';
import { adminApiMarkdown, openApiText, readCommitted, servedOpenApi } from '../tools/api-docs';
import { createTestApp } from './support/app';
import type { TestApp } from './support/app';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

describe('Swagger completeness', () => {
  let t: TestApp;
  let doc: OpenAPIV3.Document;

  beforeAll(async () => {
    t = await createTestApp();
    doc = (await request(t.app.getHttpServer()).get('/docs-json').expect(200)).body as OpenAPIV3.Document;
  });
  afterAll(async () => {
    await t.app.close();
  });

  it('/docs-json is a valid OpenAPI 3 document', async () => {
    expect(doc.openapi).toMatch(/^3\.0\./);
    await expect(SwaggerParser.validate(structuredClone(doc) as never)).resolves.toBeDefined();
  });

  it('every operation has a summary, a 2xx response with a schema, and documented errors when protected', () => {
    const problems: string[] = [];
    const operations: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of METHODS) {
        const op = item?.[method];
        if (!op) continue;
        const name = `${method.toUpperCase()} ${path}`;
        operations.push(name);
        if (!op.summary) problems.push(`${name}: no summary`);
        const ok = Object.entries(op.responses).find(([code]) => code.startsWith('2'));
        const content = (ok?.[1] as OpenAPIV3.ResponseObject | undefined)?.content;
        if (!ok || !content || !Object.values(content).every((c) => c.schema))
          problems.push(`${name}: no 2xx response schema`);
        if (op.security && !op.responses['401']) problems.push(`${name}: protected but no 401 documented`);
      }
    }
    expect(problems).toEqual([]);
    expect(operations.sort()).toEqual(
      [
        'GET /admin-log',
        'GET /audits',
        'GET /audits/latest',
        'GET /audits/live',
        'GET /audits/{id}',
        'GET /audits/{id}/findings',
        'GET /audits/{id}/report',
        'GET /audits/latest/report',
        'DELETE /audits/{id}',
        'POST /audits',
        'POST /repairs',
        'POST /repairs/{id}/undo',
        'GET /repairs',
        'GET /repairs/{id}',
        'DELETE /repairs/{id}',
        'GET /collections',
        'GET /collections/{name}/documents',
        'GET /collections/{name}/documents/{id}',
        'GET /health',
        'GET /metrics',
        'GET /migrations',
        'POST /migrations/plan',
        'POST /migrations/up',
        'GET /schema',
        'GET /schema/plan',
        'POST /schema/apply',
      ].sort(),
    );
  });

  it("the Swagger UI init script is valid JavaScript (descriptions with $` or $' would corrupt it)", async () => {
    const js = (await request(t.app.getHttpServer()).get('/docs/swagger-ui-init.js').expect(200)).text;
    expect(() => new vm.Script(js)).not.toThrow();
  });

  it('every DTO property has a description', () => {
    const missing: string[] = [];
    for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) {
      for (const [prop, def] of Object.entries((schema as OpenAPIV3.SchemaObject).properties ?? {})) {
        const d = def as OpenAPIV3.SchemaObject & OpenAPIV3.ReferenceObject;
        if (!d.description && !d.$ref && !d.allOf) missing.push(`${name}.${prop}`);
      }
    }
    expect(missing).toEqual([]);
  });
});

describe('committed API documents', () => {
  it('docs/openapi.json and the route table of docs/admin-api.md are what the API serves (run npm run docs:api)', async () => {
    const served = await servedOpenApi();
    const committed = readCommitted();
    expect(committed.openapi).toBe(openApiText(served));
    expect(committed.markdown).toBe(adminApiMarkdown(committed.markdown, served));
  });
});
