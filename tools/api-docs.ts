import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ROLE_EXTENSION } from '@odtp/auth';
import { loadConfig } from '@odtp/config';
import { startDatabase } from '@odtp/database';
import type { OpenAPIV3 } from 'openapi-types';
import { AppModule } from '../apps/admin-api/src/app.module';
import { configureApp } from '../apps/admin-api/src/setup';

/* The admin API's OpenAPI document as it is served, and the route table of docs/admin-api.md made from it. */

export const OPENAPI_FILE = path.join(__dirname, '..', 'docs', 'openapi.json');
export const ADMIN_API_DOC = path.join(__dirname, '..', 'docs', 'admin-api.md');
const START = '<!-- prettier-ignore-start -->\n<!-- routes:start (npm run docs:api) -->';
const END = '<!-- routes:end -->\n<!-- prettier-ignore-end -->';

/** Boot the admin API with the default configuration (no .env, no environment) and fetch /docs-json. */
export async function servedOpenApi(): Promise<OpenAPIV3.Document> {
  const config = loadConfig(
    { ODTP_DB_ENGINE: 'embedded', ODTP_DB_PATH: '', LOG_LEVEL: 'silent', ODTP_DB_NAME: 'docs' },
    { cwd: os.tmpdir() },
  );
  const database = await startDatabase(config, { log: () => undefined });
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.forRoot(config, database, { enabled: true, keys: [] }),
    { logger: false },
  );
  configureApp(app, config);
  await app.listen(0, '127.0.0.1');
  try {
    const { port } = app.getHttpServer().address() as { port: number };
    return (await (await fetch(`http://127.0.0.1:${port}/docs-json`)).json()) as OpenAPIV3.Document;
  } finally {
    await app.close();
  }
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** One row per operation: method, path, role, summary. */
export function routeTable(doc: OpenAPIV3.Document): string {
  const rows: string[][] = [];
  for (const [route, item] of Object.entries(doc.paths))
    for (const method of METHODS) {
      const op = item?.[method] as (OpenAPIV3.OperationObject & Record<string, unknown>) | undefined;
      if (!op) continue;
      const role = (op[ROLE_EXTENSION] as string | undefined) ?? 'viewer';
      rows.push([method.toUpperCase(), `\`${route}\``, role, (op.summary ?? '').replace(/\|/g, '\\|')]);
    }
  rows.sort(
    (a, b) =>
      a[1].localeCompare(b[1]) ||
      METHODS.indexOf(a[0].toLowerCase() as never) - METHODS.indexOf(b[0].toLowerCase() as never),
  );
  const header = ['method', 'path', 'role', 'what'];
  const line = (r: string[]): string => `| ${r.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The OpenAPI document as committed: the served one (.prettierignore keeps it byte for byte). */
export function openApiText(doc: OpenAPIV3.Document): string {
  return JSON.stringify(doc, null, 2) + '\n';
}

/** docs/admin-api.md with the route table of `doc` (between prettier-ignore markers, so it stays as generated). */
export function adminApiMarkdown(markdown: string, doc: OpenAPIV3.Document): string {
  return withRouteTable(markdown, routeTable(doc));
}

/** docs/admin-api.md with its route table replaced. */
export function withRouteTable(markdown: string, table: string): string {
  const a = markdown.indexOf(START);
  const b = markdown.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${ADMIN_API_DOC} lacks the ${START} ... ${END} markers`);
  return `${markdown.slice(0, a + START.length)}\n\n${table}\n\n${markdown.slice(b)}`;
}

export function readCommitted(): { openapi: string; markdown: string } {
  return { openapi: fs.readFileSync(OPENAPI_FILE, 'utf8'), markdown: fs.readFileSync(ADMIN_API_DOC, 'utf8') };
}
