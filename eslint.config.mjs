import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', '.data/**', 'coverage/**', 'web/dist/**', '*.js', '*.mjs', 'definition/generated/*.js'] },
  {
    // web/ (the dashboard, browser code) is linted too, typed by its own web/tsconfig.json.
    files: ['**/*.ts', '**/*.tsx', '**/*.mts'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no I/O, no Node built-ins.
    files: ['interpreter/**/*.ts', 'definition/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['node:*', 'fs', 'path', 'crypto', 'http', 'https', 'net', 'child_process', 'os', 'pg', 'kysely', 'ajv'],
            message: 'interpreter/ and definition/ are bundled into the Temporal workflow sandbox: no I/O or Node built-ins.' },
          { group: ['**/src/**', '**/activities/**', '**/graphql/**'],
            message: 'workflow code may import only definition/ and interpreter/ (activities by type only).', allowTypeImports: true },
        ],
      }],
    },
  },
);
