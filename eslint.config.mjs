// ESLint flat config. The module-boundary rule keeps the layering of docs/architecture.md:
// apps -> feature libs -> data-access/adapter libs -> platform -> contracts -> domain.
import nx from '@nx/eslint-plugin';
import jsxA11y from 'eslint-plugin-jsx-a11y';
import reactHooks from 'eslint-plugin-react-hooks';

const io = ['@nestjs/*', 'typeorm', 'bullmq', 'ioredis', 'pg', 'undici', 'fastify', 'pino'];

const depConstraints = (extra = []) => [
  {
    sourceTag: 'type:app',
    onlyDependOnLibsWithTags: ['type:sdk', 'type:feature', 'type:data-access', 'type:adapter', 'type:platform', 'type:contracts', 'type:domain', ...extra],
  },
  { sourceTag: 'type:feature', onlyDependOnLibsWithTags: ['type:data-access', 'type:adapter', 'type:platform', 'type:contracts', 'type:domain', ...extra] },
  { sourceTag: 'type:data-access', onlyDependOnLibsWithTags: ['type:data-access', 'type:platform', 'type:contracts', 'type:domain', ...extra] },
  { sourceTag: 'type:adapter', onlyDependOnLibsWithTags: ['type:platform', 'type:contracts', 'type:domain', ...extra] },
  { sourceTag: 'type:platform', onlyDependOnLibsWithTags: ['type:contracts', 'type:domain', ...extra] },
  { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:domain'], bannedExternalImports: io },
  { sourceTag: 'type:domain', onlyDependOnLibsWithTags: [], bannedExternalImports: io },
  // The SDK is published on its own: it depends on no other project.
  { sourceTag: 'type:sdk', onlyDependOnLibsWithTags: [], bannedExternalImports: io },
  // The console is a browser bundle: it reaches the API through the SDK only.
  { sourceTag: 'scope:console', onlyDependOnLibsWithTags: ['type:sdk'], bannedExternalImports: io },
  {
    sourceTag: 'type:testing',
    onlyDependOnLibsWithTags: [
      'type:sdk',
      'type:feature',
      'type:data-access',
      'type:adapter',
      'type:platform',
      'type:contracts',
      'type:domain',
      'type:testing',
    ],
  },
  {
    sourceTag: 'type:tools',
    onlyDependOnLibsWithTags: [
      'type:sdk',
      'type:feature',
      'type:data-access',
      'type:adapter',
      'type:platform',
      'type:contracts',
      'type:domain',
      'type:testing',
    ],
  },
  { sourceTag: 'scope:gateway', onlyDependOnLibsWithTags: ['scope:gateway', 'scope:shared', ...(extra.length ? ['scope:testing'] : [])] },
  { sourceTag: 'scope:ingestion', onlyDependOnLibsWithTags: ['scope:ingestion', 'scope:shared', ...(extra.length ? ['scope:testing'] : [])] },
  { sourceTag: 'scope:worker', onlyDependOnLibsWithTags: ['scope:worker', 'scope:shared', ...(extra.length ? ['scope:testing'] : [])] },
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared', ...(extra.length ? ['scope:testing'] : [])] },
];

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  { ignores: ['**/dist', '**/node_modules', '**/coverage', '.nx', 'tmp', 'docker', 'libs/sdk/src/generated'] },
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.mts'],
    rules: {
      '@nx/enforce-module-boundaries': ['error', { enforceBuildableLibDependency: false, allow: [], depConstraints: depConstraints() }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': 'off',
    },
  },
  {
    // Specs may use the testing library; production code may not.
    files: ['**/*.spec.ts', '**/*.spec.tsx', '**/*.int-spec.ts', '**/*.e2e-spec.ts', 'libs/testing/**/*.ts'],
    rules: {
      // Tests read loosely typed JSON answers.
      '@typescript-eslint/no-explicit-any': 'off',
      '@nx/enforce-module-boundaries': ['error', { enforceBuildableLibDependency: false, allow: [], depConstraints: depConstraints(['type:testing']) }],
    },
  },
  {
    // The web console: hooks rules and accessibility checks on the JSX (issue 14 §4).
    files: ['apps/console/**/*.tsx', 'apps/console/**/*.ts'],
    plugins: { 'react-hooks': reactHooks, 'jsx-a11y': jsxA11y },
    rules: {
      // The classic hook rules (the React Compiler's rules do not apply: the console does not use it).
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
      ...jsxA11y.flatConfigs.recommended.rules,
      // Rows open their detail on click; each also holds a real link, which is what the keyboard uses.
      'jsx-a11y/click-events-have-key-events': 'off',
      'jsx-a11y/no-noninteractive-element-interactions': 'off',
      // Scrollable regions must take keyboard focus (axe: scrollable-region-focusable).
      'jsx-a11y/no-noninteractive-tabindex': ['error', { tags: ['pre'], roles: ['region', 'tabpanel'] }],
    },
  },
];
