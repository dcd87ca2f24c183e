// ESLint flat config. The module-boundary rule keeps the layering of docs/architecture.md:
// apps -> feature libs -> data-access/adapter libs -> platform -> contracts -> domain.
import nx from '@nx/eslint-plugin';

const io = ['@nestjs/*', 'typeorm', 'bullmq', 'ioredis', 'pg', 'undici', 'fastify', 'pino'];

const depConstraints = (extra = []) => [
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:feature', 'type:data-access', 'type:adapter', 'type:platform', 'type:contracts', 'type:domain', ...extra] },
  { sourceTag: 'type:feature', onlyDependOnLibsWithTags: ['type:data-access', 'type:adapter', 'type:platform', 'type:contracts', 'type:domain', ...extra] },
  { sourceTag: 'type:data-access', onlyDependOnLibsWithTags: ['type:data-access', 'type:platform', 'type:contracts', 'type:domain', ...extra] },
  { sourceTag: 'type:adapter', onlyDependOnLibsWithTags: ['type:platform', 'type:contracts', 'type:domain', ...extra] },
  { sourceTag: 'type:platform', onlyDependOnLibsWithTags: ['type:contracts', 'type:domain', ...extra] },
  { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:domain'], bannedExternalImports: io },
  { sourceTag: 'type:domain', onlyDependOnLibsWithTags: [], bannedExternalImports: io },
  { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:feature', 'type:data-access', 'type:adapter', 'type:platform', 'type:contracts', 'type:domain', 'type:testing'] },
  { sourceTag: 'type:tools', onlyDependOnLibsWithTags: ['type:feature', 'type:data-access', 'type:adapter', 'type:platform', 'type:contracts', 'type:domain', 'type:testing'] },
  { sourceTag: 'scope:gateway', onlyDependOnLibsWithTags: ['scope:gateway', 'scope:shared', ...(extra.length ? ['scope:testing'] : [])] },
  { sourceTag: 'scope:ingestion', onlyDependOnLibsWithTags: ['scope:ingestion', 'scope:shared', ...(extra.length ? ['scope:testing'] : [])] },
  { sourceTag: 'scope:worker', onlyDependOnLibsWithTags: ['scope:worker', 'scope:shared', ...(extra.length ? ['scope:testing'] : [])] },
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared', ...(extra.length ? ['scope:testing'] : [])] },
];

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  { ignores: ['**/dist', '**/node_modules', '**/coverage', '.nx', 'tmp', 'docker'] },
  {
    files: ['**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': ['error', { enforceBuildableLibDependency: false, allow: [], depConstraints: depConstraints() }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': 'off',
    },
  },
  {
    // Specs may use the testing library; production code may not.
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', 'libs/testing/**/*.ts'],
    rules: {
      // Tests read loosely typed JSON answers.
      '@typescript-eslint/no-explicit-any': 'off',
      '@nx/enforce-module-boundaries': ['error', { enforceBuildableLibDependency: false, allow: [], depConstraints: depConstraints(['type:testing']) }],
    },
  },
];
