// One Jest run covers unit specs (next to the code), integration specs (real Postgres and Redis),
// end-to-end specs (the three apps booted as processes, the console in Chromium) and the web
// console's component specs (jsdom). See docs/testing.md.
const { readFileSync } = require('node:fs');
const swcrc = JSON.parse(readFileSync(`${__dirname}/.swcrc`, 'utf8'));
delete swcrc.$schema;

/** @type {import('jest').Config} */
const node = {
  displayName: 'node',
  rootDir: __dirname,
  testEnvironment: 'node',
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/tools'],
  testMatch: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/apps/console/'],
  transform: { '^.+\\.ts$': ['@swc/jest', { ...swcrc, swcrc: false }] },
  moduleNameMapper: { '^@herald/([a-z-]+)$': '<rootDir>/libs/$1/src/index.ts' },
  globalSetup: '<rootDir>/tools/jest/global-setup.ts',
  globalTeardown: '<rootDir>/tools/jest/global-teardown.ts',
};

/** The web console's component specs: React in jsdom, no server. */
const consoleSpecs = {
  displayName: 'console',
  rootDir: __dirname,
  testEnvironment: 'jsdom',
  roots: ['<rootDir>/apps/console'],
  testMatch: ['**/*.spec.ts', '**/*.spec.tsx'],
  transform: {
    '^.+\\.(ts|tsx)$': [
      '@swc/jest',
      {
        swcrc: false,
        jsc: { parser: { syntax: 'typescript', tsx: true }, transform: { react: { runtime: 'automatic' } }, target: 'es2022' },
        module: { type: 'commonjs' },
      },
    ],
  },
  moduleNameMapper: { '^@herald/sdk$': '<rootDir>/libs/sdk/src/index.ts', '\\.css$': '<rootDir>/apps/console/test/style-stub.js' },
  setupFilesAfterEnv: ['<rootDir>/apps/console/test/setup.ts'],
};

module.exports = { projects: [node, consoleSpecs], testTimeout: 60000, maxWorkers: 2 };
