// ESLint flat config: typescript-eslint's type-checked rules over the TypeScript sources, and
// the layering rule of the project (src/ never imports adapters/ or main/).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/**
 * The layers: main/ (the composition root: CLI and daemon wiring) -> adapters/ (protocols,
 * cache backends, map syntax) -> src/ (core and ports). Nothing imports a layer above it:
 * src/ never imports adapters/ or main/, adapters/ never imports main/. Static imports, type
 * imports and re-exports are no-restricted-imports' part, import() the selector's.
 */
const ABOVE_SRC = '^(\\.\\./)+(adapters|main)(/|$)';
const ABOVE_ADAPTERS = '^(\\.\\./)+main(/|$)';
const layering = (regex, message) => ({
  'no-restricted-imports': ['error', { patterns: [{ regex, message }] }],
  'no-restricted-syntax': ['error', { selector: `ImportExpression[source.value=/${regex.replaceAll('/', '\\/')}/]`, message }],
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: globals.node,
    },
    rules: {
      // Promises a daemon forgets are errors nobody sees: handle them or mark them `void`.
      // node:test's describe/it return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      // Outcomes are values with exhaustive switches.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // Ports return promises; a backend that answers synchronously implements them with
      // `async` methods without `await` (a throw then becomes a rejection, as callers expect).
      '@typescript-eslint/require-await': 'off',
      // Every control-character regex here is a deliberate sanitizer (log fields, protocol
      // replies, policy text): the rule would only be a disable comment at each of them.
      'no-control-regex': 'off',
      // A `let` assigned once, later, but read before by a closure (timers, late-bound handles) stays `let`.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // tsc (noUnusedLocals/noUnusedParameters) already reports these, with `_` for a deliberate one.
      '@typescript-eslint/no-unused-vars': 'off',
      // Rethrowing what a catch caught (unknown) is fine; anything else rejects with an Error.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // Numbers and the like in messages are fine; objects are not.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true }],
    },
  },
  {
    // Tests take methods off fakes to assert on them, and read JSON they just parsed.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: layering(ABOVE_SRC, 'src/ must not import adapters/ or main/: the composition root (main/) wires adapters to the core.'),
  },
  {
    files: ['adapters/**/*.ts'],
    rules: layering(ABOVE_ADAPTERS, 'adapters/ must not import main/: the composition root sits on top of the adapters.'),
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: globals.node },
  },
);
