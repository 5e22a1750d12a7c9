// Lint configuration: typescript-eslint strict + type-aware rules for src and tests.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const config = tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/node_modules/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/no-confusing-void-expression': 'off',
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' },
      ],
    },
  },
  {
    // handlers are async by contract; test doubles often have nothing to await
    files: ['test/**/*.ts', 'demo/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/require-await': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  {
    // BullMQ and bench's ioredis come from bench/'s own install (npm run bench), absent on a fresh clone:
    // their types cannot be resolved there, so the unsafe-any rules would flag every use
    files: ['bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);

// ESLint loads the default export; the rule against default exports is for our own modules
export { config as default };
