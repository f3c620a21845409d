import * as fs from 'node:fs';
import * as path from 'node:path';
import { renderSchemaDoc } from './schema-doc';

describe('docs/schema.md', () => {
  it('is what `npm run docs:schema` generates from the current schemas', () => {
    const committed = fs.readFileSync(path.join(__dirname, '../../../docs/schema.md'), 'utf8');
    expect(committed).toBe(renderSchemaDoc());
  });
});
