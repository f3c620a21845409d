#!/usr/bin/env node
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'dist', 'apps', 'cli', 'src', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('odtp-db is not built yet: run `npm run build` first\n');
  process.exit(1);
}
require(entry)
  .main()
  .catch((e) => {
    process.stderr.write(`odtp-db: ${e && e.message ? e.message : String(e)}\n`);
    process.exit(1);
  });
