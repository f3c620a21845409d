// Writes docs/schema.md from libs/schema (npm run docs:schema).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { renderSchemaDoc } from '@odtp/schema';

const target = path.join(__dirname, '..', 'docs', 'schema.md');
fs.writeFileSync(target, renderSchemaDoc());
process.stdout.write(`wrote ${path.relative(process.cwd(), target)}\n`);
