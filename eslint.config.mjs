import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

/**
 * The import direction of the libraries: what each `libs/<name>` may import from the others, exactly as the
 * "May import:" line of its README states (test/lint/import-boundaries.test.ts holds the two together). Core
 * `no-restricted-imports` with one allow-list per library: no plugin or import resolver to keep in step with the
 * `@parley/*` path aliases, and a bad import is reported with the rule and the README to read.
 */
export const LIBRARY_IMPORTS = {
  common: [],
  config: [],
  state: [],
  observability: ['config'],
  storage: ['common', 'config'],
  migration: ['common', 'config', 'storage'],
  bus: ['common', 'config', 'observability', 'storage'],
  http: ['common', 'config', 'observability', 'state'],
  web: ['observability'],
  auth: ['common', 'config', 'observability', 'storage', 'bus', 'http', 'state'],
  chat: ['common', 'storage', 'bus', 'http', 'auth'],
  media: ['common', 'config', 'observability', 'storage', 'bus', 'http', 'auth', 'chat', 'state'],
  accounts: ['common', 'config', 'observability', 'storage', 'bus', 'http', 'auth', 'chat', 'media'],
  voice: ['common', 'config', 'observability', 'storage', 'bus', 'http', 'auth', 'chat'],
  realtime: ['common', 'config', 'observability', 'storage', 'bus', 'state', 'auth', 'chat'],
  notifications: [
    'common',
    'config',
    'observability',
    'storage',
    'bus',
    'http',
    'auth',
    'chat',
    'media',
    'state',
  ],
  platform: ['*'],
  cli: ['config', 'migration', 'platform'],
};

/** Relative paths into another library's sources: always through its `@parley/*` alias instead. */
const aliasOnly = {
  group: ['../../libs/*', '../../../libs/*', '**/libs/*/src/*'],
  message: 'Import libraries through @parley/* aliases.',
};
/** The same from one library into a sibling's sources (`../../storage/src/...`). */
const siblingSources = {
  regex: '^(\\.\\./)+[a-z-]+/src(/|$)',
  message: 'Import libraries through @parley/* aliases.',
};

/** The allow-list of one library as `no-restricted-imports` patterns (gitignore syntax: `!` re-allows). */
function libraryBoundary(name, allowed) {
  if (allowed.includes('*')) return [aliasOnly, siblingSources, appsNever];
  return [
    aliasOnly,
    siblingSources,
    appsNever,
    {
      group: ['@parley/*', '@parley/*/**', `!@parley/${name}`, `!@parley/${name}/**`].concat(
        allowed.flatMap((lib) => [`!@parley/${lib}`, `!@parley/${lib}/**`]),
      ),
      message:
        `libs/${name} may import only ${allowed.length ? allowed.map((l) => `@parley/${l}`).join(', ') : 'no other @parley/* library'}` +
        ` (libs/${name}/README.md, "May import"; the table is LIBRARY_IMPORTS in eslint.config.mjs).`,
    },
  ];
}
/** Libraries never reach into the applications that compose them. */
const appsNever = {
  group: ['**/apps/**', 'apps/**'],
  message: 'Libraries never import applications (apps/* compose libraries, not the other way round).',
};

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'data/**',
      'eslint.config.mjs',
      'jest.config.js',
      'scripts/**/*.js',
      'bench/**/*.js',
      'bench/**/*.mjs',
      'bench/**/*.cjs',
      // A test's stand-in OpenID provider, run by Node as its own process (plain ES module, no types).
      'test/support/oidc-provider.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-extraneous-class': 'off',
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through @parley/config.' },
      ],
      'no-restricted-imports': ['error', { patterns: [aliasOnly] }],
    },
  },
  // Each library's import direction (later than the rule above, whose patterns each entry repeats).
  ...Object.entries(LIBRARY_IMPORTS).map(([name, allowed]) => ({
    files: [`libs/${name}/**/*.ts`],
    rules: { 'no-restricted-imports': ['error', { patterns: libraryBoundary(name, allowed) }] },
  })),
  {
    // The web client (its own tsconfig, found by the project service): the rules of hooks on top.
    files: ['apps/web/**/*.{ts,tsx,mts}'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
    },
  },
  {
    files: ['libs/config/**', 'test/**', 'scripts/**', 'bench/**'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['**/*.spec.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // The service worker is plain JavaScript served as is (apps/web/public): no type information, worker globals.
    files: ['apps/web/public/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      sourceType: 'script',
      parserOptions: { projectService: false },
      globals: { self: 'readonly', URL: 'readonly' },
    },
  },
);
