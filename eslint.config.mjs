import eslint from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/** Import a lib through its barrel; seeds through @odtp/seeds. */
const BARRELS = [
  { group: ['**/libs/*/src/*', '@odtp/*/src/*'], message: 'Import a lib through its barrel: @odtp/<lib>' },
  { group: ['**/seeds/*', '!./*'], message: 'Import seed data through @odtp/seeds' },
];
/** The layers (docs/architecture.md): apps -> libs, never the other way, and no app imports another. */
const boundaries = (...extra) => [
  'error',
  {
    patterns: [
      ...BARRELS,
      ...extra,
      {
        regex: '(^|/)libs/[^/]+/test/|^(\\.\\./){2,}[^./][^/]*/test/',
        message: "A test may not import another package's tests: share fixtures from test/fixtures",
      },
    ],
  },
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'test-artifacts/**',
      '.data/**',
      'bin/**',
      '*.config.js',
      '*.config.mjs',
      // plain JS run from dist/ by the audit benchmark (outside the TypeScript project)
      'bench/support/*.js',
      // a jest reporter, loaded by jest as CommonJS
      'test/support/*.js',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-floating-promises': 'error',
      'no-restricted-imports': boundaries(),
    },
  },
  {
    files: ['libs/**/*.ts'],
    rules: {
      'no-restricted-imports': boundaries({
        group: ['**/apps/**', '**/admin-api/**', '**/cli/**', '@odtp/seeds'],
        message: 'A lib imports no app and no seed data (apps give data to libs through their modules)',
      }),
    },
  },
  {
    files: ['apps/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': boundaries({
        group: ['**/admin-api/**'],
        message: 'No app imports another app (the CLI starts the admin API as a process)',
      }),
    },
  },
  {
    files: ['apps/admin-api/**/*.ts'],
    rules: {
      'no-restricted-imports': boundaries({
        group: ['**/apps/cli/**', '../../cli/**', '../cli/**'],
        message: 'No app imports another app',
      }),
    },
  },
  {
    // Size limits of the source (tests are exempt: a table of cases may be long).
    files: [
      'apps/**/*.ts',
      'libs/**/*.ts',
      'migrations/**/*.ts',
      'seeds/**/*.ts',
      'tools/**/*.ts',
      'bench/**/*.ts',
    ],
    // the ODTP replay is test code shared with benchmarks: its life cycle is one script of operations, like a table
    ignores: ['**/*.spec.ts', '**/*.e2e-spec.ts', 'libs/*/test/**', 'tools/odtp-replay/**'],
    rules: {
      'max-lines': ['error', { max: 600 }],
      'max-lines-per-function': ['error', { max: 100 }],
    },
  },
  {
    // a lib's tests may load the project's seed data; the other boundaries hold for them too
    files: ['libs/*/test/**/*.ts', 'libs/*/src/**/*.spec.ts'],
    rules: { 'no-restricted-imports': boundaries() },
  },
  {
    files: ['**/*.spec.ts', '**/*.e2e-spec.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
