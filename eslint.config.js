// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '**/dist/', 'docs/api/', 'coverage/', 'test-results/', 'playwright-report/', '.local/', 'cdk.out/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly', process: 'readonly', Buffer: 'readonly', URL: 'readonly', URLSearchParams: 'readonly',
        setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly',
        AbortController: 'readonly', AbortSignal: 'readonly', fetch: 'readonly', Response: 'readonly',
        Request: 'readonly', Headers: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly',
        structuredClone: 'readonly', queueMicrotask: 'readonly', performance: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // zx scripts get $, argv, fs, path ... as globals
    files: ['scripts/**/*.mjs'],
    languageOptions: {
      globals: { $: 'readonly', argv: 'readonly', fs: 'readonly', path: 'readonly', chalk: 'readonly', echo: 'readonly', os: 'readonly', sleep: 'readonly', within: 'readonly', cd: 'readonly', glob: 'readonly', spinner: 'readonly', question: 'readonly', fetch: 'readonly' },
    },
  },
);
