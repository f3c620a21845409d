import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MigrationError, MigrationErrorCode } from './errors';
import type { MigrationModule } from './migration';
import { defaultMigrationsDir } from './paths';

/** A migration file name: a 14-digit timestamp (the order), a dashed name, `.ts` or `.js`. */
const FILE = /^\d{14}-[a-z0-9][a-z0-9-]*\.(ts|js)$/;
const EXTENSION = /\.(ts|js)$/;

/** A migration's name without its extension: how one is named on the command line and matched across forms. */
export function migrationBase(name: string): string {
  return name.replace(EXTENSION, '');
}

function hasTypeScriptLoader(): boolean {
  // This file runs as TypeScript source only under a loader that compiles .ts on require (jest's transform,
  // @swc-node/register); the built runner is dist/.../migration-files.js and loads the compiled migrations. (An
  // environment variable such as JEST_WORKER_ID would leak into the processes a test spawns.)
  return __filename.endsWith('.ts');
}

/** A migration file that cannot be loaded: `status` shows it as broken, `up` refuses to run anything. */
export class BrokenMigrationError extends MigrationError {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(MigrationErrorCode.Broken, `migration ${file} is broken: ${reason}`, { migration: file });
  }
}

/** What a load error says, with where it is when the error knows (a syntax error's `file:line`). */
function loadReason(e: unknown, file: string): string {
  if (e instanceof MigrationError) return e.message;
  const message = e instanceof Error ? e.message : String(e);
  const first = e instanceof Error ? (e.stack?.split('\n')[0] ?? '') : '';
  const where = first.startsWith(file) ? ` (${path.basename(first)})` : '';
  return `${message.split('\n')[0]}${where}`;
}

/**
 * The migration files of one folder, the one place that knows their names and forms: listing in order, resolving a
 * name given with or without its extension, checksums, loading, and new files. A folder holds `.ts` migrations (the
 * project's, compiled to dist/migrations by the build) or `.js` ones, and both behave alike.
 */
export class MigrationFiles {
  constructor(
    readonly dir: string,
    /** Where compiled migrations are when no TypeScript loader is active (default: dist/migrations). */
    private readonly compiledDir?: string,
  ) {}

  /** The migration files in order (not a migration: specs, templates, anything without the prefix). */
  list(): string[] {
    if (!fs.existsSync(this.dir)) return [];
    const files = fs
      .readdirSync(this.dir)
      .filter((f) => FILE.test(f))
      .sort();
    const bases = files.map(migrationBase);
    const twice = bases.filter((b, i) => bases.indexOf(b) !== i);
    if (twice.length)
      throw new MigrationError(
        MigrationErrorCode.Refused,
        `${this.dir} holds ${twice.map((b) => `${b}.ts and ${b}.js`).join(', ')}: keep one form of each migration`,
      );
    return files;
  }

  /**
   * The file a name denotes, given with or without its extension (`20261126080000-x`, `…-x.ts`, `…-x.js`);
   * undefined when the folder has none.
   */
  resolve(name: string): string | undefined {
    const base = migrationBase(name);
    return this.list().find((f) => migrationBase(f) === base);
  }

  /** Whether two names denote the same migration (a changelog entry and a file, whatever their extensions). */
  static same(a: string, b: string): boolean {
    return migrationBase(a) === migrationBase(b);
  }

  checksum(file: string): string {
    return createHash('sha256')
      .update(fs.readFileSync(path.join(this.dir, file)))
      .digest('hex');
  }

  /**
   * Load a migration module: the file itself, or, for the project's own `.ts` migrations without a TypeScript
   * loader, its compiled `.js` from the build. Any failure is a BrokenMigrationError naming the file and why.
   */
  async load(file: string): Promise<MigrationModule> {
    const source = path.join(this.dir, file);
    if (!fs.existsSync(source))
      throw new MigrationError(MigrationErrorCode.Refused, `migration file ${file} is missing`);
    const target = this.runnable(file, source);
    let loaded: Partial<MigrationModule> & { default?: Partial<MigrationModule> };
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loaded = require(target) as typeof loaded;
    } catch (e) {
      throw new BrokenMigrationError(file, loadReason(e, target));
    }
    const mod = (loaded.default ?? loaded) as Partial<MigrationModule>;
    const missing = (['up', 'down', 'plan'] as const).filter((f) => typeof mod[f] !== 'function');
    if (missing.length)
      throw new BrokenMigrationError(
        file,
        `it must export up, down and plan (missing: ${missing.join(', ')}); see defineMigration`,
      );
    return mod as MigrationModule;
  }

  /** The file to require for `file`: itself, or its build for the project's own TypeScript migrations. */
  private runnable(file: string, source: string): string {
    if (!file.endsWith('.ts') || hasTypeScriptLoader()) return source;
    // The project's own migrations run from the build (compiled from exactly the files checksummed here); a .ts
    // migration elsewhere has no build, so it is refused rather than a different file being run.
    if (path.resolve(this.dir) !== defaultMigrationsDir())
      throw new BrokenMigrationError(
        file,
        `${source} is TypeScript, which this build cannot load: compile the folder to .js migrations (same names) or run under a TypeScript loader`,
      );
    const compiled = path.join(
      this.compiledDir ?? path.join(__dirname, '..', '..', '..', 'migrations'),
      file.replace(EXTENSION, '.js'),
    );
    if (!fs.existsSync(compiled))
      throw new BrokenMigrationError(file, `it is not built: run \`npm run build\``);
    return compiled;
  }

  /** The form new migrations take here: `.js` in a folder of `.js` migrations, otherwise `.ts`. */
  extension(): '.ts' | '.js' {
    const files = this.list();
    return files.length && files.every((f) => f.endsWith('.js')) ? '.js' : '.ts';
  }

  /** Write a new migration file from the template of the folder's form; returns its path. */
  create(name: string, now = new Date()): string {
    if (!/^[a-z0-9][a-z0-9-]*$/.test(name))
      throw new MigrationError(
        MigrationErrorCode.Refused,
        `invalid migration name "${name}": use lower-case letters, digits and dashes (e.g. rename-step-fields)`,
      );
    const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
    const extension = this.extension();
    const file = path.join(this.dir, `${stamp}-${name}${extension}`);
    if (this.resolve(path.basename(file)))
      throw new MigrationError(MigrationErrorCode.Refused, `${file} already exists`);
    fs.mkdirSync(this.dir, { recursive: true });
    const template =
      extension === '.js' ? JS_TEMPLATE.replace('LIBRARY', JSON.stringify(__dirname)) : TS_TEMPLATE;
    fs.writeFileSync(file, template.replaceAll('NAME', name));
    return file;
  }
}

const DOC = `/**
 * NAME: say what changes and why. Keep this file to a few lines: the work is done by step functions of
 * libs/migrations (each with a spec); add a new step there, with its spec, if none fits.
 */`;

const BODY = `{
  description: 'NAME',
  // What it changes that ODTP writes or queries (e.g. { collection: 'outputs', path: 'stepRef',
  // change: 'reference-to-objectid' }): held while the configured application relies on it.
  affects: [],
  up: [],
  // The steps that undo \`up\`, or { irreversible: 'why it cannot be undone' }.
  down: [],
}`;

const TS_TEMPLATE = `import { defineMigration } from '@odtp/migrations';

${DOC}
export const { description, transactional, affects, irreversible, up, down, plan } = defineMigration(${BODY});
`;

const JS_TEMPLATE = `// defineMigration comes from odtp-db's migrations library, here where it was installed when this file was made
// (an installed odtp-db keeps it in dist/libs/migrations/src): change the path if odtp-db moves.
const { defineMigration } = require(LIBRARY);

${DOC}
module.exports = defineMigration(${BODY});
`;
