// Writes docs/openapi.json and the route table of docs/admin-api.md from the served OpenAPI document
// (npm run docs:api). A test fails when either differs from what the API serves.
import * as fs from 'node:fs';
import {
  adminApiMarkdown,
  ADMIN_API_DOC,
  OPENAPI_FILE,
  openApiText,
  readCommitted,
  servedOpenApi,
} from './api-docs';

async function main(): Promise<void> {
  const doc = await servedOpenApi();
  fs.writeFileSync(OPENAPI_FILE, openApiText(doc));
  fs.writeFileSync(ADMIN_API_DOC, adminApiMarkdown(readCommitted().markdown, doc));
  process.stdout.write('wrote docs/openapi.json and the route table of docs/admin-api.md\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
