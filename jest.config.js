const shared = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
};

/** @type {import('jest').Config} */
module.exports = {
  // Temporal workers and PostgreSQL pools are per test file; two files at a time suit 2 cores.
  maxWorkers: 2,
  // A global option: jest ignores it inside a project.
  testTimeout: 60_000,
  projects: [
    {
      // Pure code: no Temporal, no PostgreSQL (`npm run test:unit`).
      ...shared,
      displayName: 'unit',
      roots: ['<rootDir>/test/unit'],
      testMatch: ['**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/unit-setup.ts',
    },
    {
      // Everything else runs against the real servers the global setup starts once.
      ...shared,
      displayName: 'integration',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['<rootDir>/test/unit/'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
