// Three tiers: unit specs next to the code, integration against real services, e2e across real processes.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];
const moduleNameMapper = {
  '^@parley/([a-z-]+)$': '<rootDir>/libs/$1/src',
  '^@parley/([a-z-]+)/testing$': '<rootDir>/libs/$1/src/testing',
  // The web client imports single modules of @parley/common (its Vite aliases): the same files here.
  '^@parley/common/(protocol|permissions|notifications)$': '<rootDir>/libs/common/src/$1',
};
const base = {
  rootDir: __dirname,
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper,
  testEnvironment: 'node',
  setupFilesAfterEnv: ['<rootDir>/test/support/tier-timeout.ts'],
};
/**
 * Each tier's test timeout (Jest 30 reads `testTimeout` only from the global config, so a project passes its own
 * through `globals` to test/support/tier-timeout.ts). A file that waits longer (a Cassandra schema, a region's
 * catch-up) says so with its own jest.setTimeout.
 */
const tier = (displayName, timeoutMs) => ({
  ...base,
  displayName,
  globals: { PARLEY_TIER_TIMEOUT_MS: timeoutMs },
});

module.exports = {
  // Suites that restart shared Cassandra nodes run last (scripts/jest-sequencer.js).
  testSequencer: '<rootDir>/scripts/jest-sequencer.js',
  projects: [
    {
      // Specs next to the code, in this process only.
      ...tier('unit', 10_000),
      testMatch: [
        '<rootDir>/libs/**/*.spec.ts',
        '<rootDir>/apps/**/*.spec.ts',
        '<rootDir>/test/lint/**/*.test.ts',
      ],
    },
    // Real SQLite, Cassandra, Redis and NATS, and role processes started per file.
    { ...tier('integration', 60_000), testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    {
      // The compiled server as real processes.
      ...tier('e2e', 120_000),
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/regions/'],
    },
    // Headless Chromium (Debian's /usr/bin/chromium) against the compiled monolith and the built web client.
    { ...tier('browser', 120_000), testMatch: ['<rootDir>/test/browser/**/*.test.ts'] },
    // Two whole regions (a two-DC Cassandra cluster, whose us-east data centre the suite stops and restarts):
    // its own CI stage, `npm run test:regions`, which sets PARLEY_TEST_REGIONS=1; `npm test` runs it last.
    ...(process.env.PARLEY_TEST_REGIONS === '1'
      ? [{ ...tier('regions', 20 * 60_000), testMatch: ['<rootDir>/test/e2e/regions/**/*.test.ts'] }]
      : []),
  ],
};
