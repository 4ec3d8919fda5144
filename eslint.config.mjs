// Lint: ESLint's and typescript-eslint's recommended rules (bug patterns, not style);
// formatting is Prettier's job (.prettierrc.json), checked by `npm run lint` too.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/', 'docs/api/', 'build/', 'node_modules/', 'prebuilds/', 'bench/results/', 'autobahn/reports/', 'test/**/artifacts/', 'scratch/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // Unused arguments named _x document a callback's shape.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // `any` is kept out of the protocol layers; the ws-compatible layer mirrors @types/ws (any-typed by design),
    // the server and scale layers use it for generic variance (Server<any>), and tests poke at internals.
    files: ['src/ws/**', 'src/node/**', 'src/scale/**', 'test/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      // ws's class + namespace/interface declarations, as @types/ws has them.
      '@typescript-eslint/no-unsafe-declaration-merging': 'off',
      '@typescript-eslint/no-empty-object-type': 'off',
    },
  },
  { files: ['demo/public/**'], languageOptions: { globals: { ...globals.browser } } },
  { files: ['bench/servers/bun.mjs'], languageOptions: { globals: { Bun: 'readonly' } } },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
