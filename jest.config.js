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
};
const base = {
  rootDir: __dirname,
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper,
  testEnvironment: 'node',
};

module.exports = {
  projects: [
    {
      ...base,
      displayName: 'unit',
      testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/apps/**/*.spec.ts'],
    },
    { ...base, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    {
      ...base,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/regions/'],
    },
    // Headless Chromium (Debian's /usr/bin/chromium) against the compiled monolith and the built web client.
    { ...base, displayName: 'browser', testMatch: ['<rootDir>/test/browser/**/*.test.ts'] },
    // Two whole regions (a two-DC Cassandra cluster, whose us-east data centre the suite stops and restarts):
    // its own CI stage, `npm run test:regions`, which sets PARLEY_TEST_REGIONS=1; not part of `npm test`.
    ...(process.env.PARLEY_TEST_REGIONS === '1'
      ? [{ ...base, displayName: 'regions', testMatch: ['<rootDir>/test/e2e/regions/**/*.test.ts'] }]
      : []),
  ],
};
