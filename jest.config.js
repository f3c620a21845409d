/** @type {import('jest').Config} */
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
  },
];

module.exports = {
  rootDir: '.',
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': swc },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: { '^@odtp/seeds$': '<rootDir>/seeds', '^@odtp/(.*)$': '<rootDir>/libs/$1/src' },
  testMatch: [
    '<rootDir>/libs/**/*.spec.ts',
    '<rootDir>/apps/**/*.spec.ts',
    '<rootDir>/test/**/*.e2e-spec.ts',
    '<rootDir>/migrations/**/*.spec.ts',
  ],
  // Builds dist/ once per run: the process tests spawn the built CLI and server.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  // Temp folders made with test/support/temp-dirs.ts are removed after each test file.
  setupFilesAfterEnv: ['<rootDir>/test/support/after-env.ts'],
  // A skipped test fails the run unless its name says what it needs ("[needs MONGODB_URI]").
  reporters: ['default', '<rootDir>/test/support/no-skips-reporter.js'],
  // An upper bound for hangs, never a verdict on speed (machines differ 3-4x; test:slow runs beside CPU hogs).
  testTimeout: 120_000,
  maxWorkers: 2,
};
