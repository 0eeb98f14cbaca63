// ESLint flat config: typescript-eslint with type information, so promise misuse is caught, and
// the architecture (eslint-plugin-boundaries, resolving imports as TypeScript does):
// - layers, bottom up: src/core ← src/store ← src/net ← src/db ← src/contract ← src/client. A
//   layer imports only the layers below it (and src/client the WebRTC host in src/platform); none
//   imports the composition roots (src/node, worker/, relay/, hub/) or the demo app (src/app); the
//   roots keep Node code (src/node, relay/, hub/) and browser code (worker/, src/app) apart; the
//   worker and the client SDK meet only in src/contract (the worker never imports src/client);
// - a layer is reached from outside its folder through its entry points only: its index.ts, and
//   the modules that are entry points of their own — src/core/errors.ts, logger.ts and
//   base64url.ts, `#weft/crypto` (src/core/crypto.ts or crypto.node.ts, as the package's
//   `imports` map chooses), src/db/builder.ts and types.ts (leaves the tab's SDK uses; through index.ts
//   they would pull the whole core or db into the tab's bundle), src/store/idb.ts and level.ts
//   (browser-only and Node-only backends, kept out of index.ts).
// The second rule is about code: type-only imports may name a module's shapes directly (the tab's
// declarations then stay clear of libp2p's). eslint-suppressions.json (ESLint's bulk
// suppressions) is empty and stays so: an import that breaks these rules fails the lint.
import js from '@eslint/js'
import boundaries from 'eslint-plugin-boundaries'
import tseslint from 'typescript-eslint'

/** The layers, bottom up, and their entry points besides index.ts. */
const LAYERS = ['core', 'store', 'net', 'db', 'contract', 'client']
const ENTRY_POINTS = { core: ['errors.ts', 'logger.ts', 'base64url.ts', 'crypto.ts', 'crypto.node.ts'], store: ['idb.ts', 'level.ts'], db: ['builder.ts', 'types.ts'] }
/** Composition roots: they compose the layers; no layer imports them. */
const COMPOSERS = ['node', 'worker', 'relay', 'hub']

export default tseslint.config(
  { ignores: ['node_modules/', '**/dist/', '.build/', 'test-results/', 'playwright-report/', '.weft/', '.bench/', '.scratch/', '.readme-examples/', 'hub/gen/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error'
    }
  },
  {
    files: ['src/**/*.ts', 'worker/**/*.ts', 'relay/**/*.ts', 'hub/**/*.ts'],
    plugins: { boundaries },
    settings: {
      'import/resolver': { typescript: { project: './tsconfig.json' } },
      'boundaries/elements': [
        ...[...LAYERS, 'platform', 'node', 'app'].map((type) => ({ type, pattern: `src/${type}`, partialMatch: false })),
        ...['worker', 'relay', 'hub'].map((type) => ({ type, pattern: type, partialMatch: false }))
      ]
    },
    rules: {
      'boundaries/dependencies': ['error', {
        default: 'allow',
        policies: [
          ...LAYERS.map((layer, i) => ({
            from: { element: { type: layer } },
            disallow: { to: { element: { types: { anyOf: [...LAYERS.slice(i + 1), ...COMPOSERS, 'app', ...(layer === 'client' ? [] : ['platform'])] } } } },
            message: `src/${layer} imports only the layers below it (src/core ← src/store ← src/net ← src/db ← src/contract ← src/client)`
          })),
          // The rest of the tree: platform code sits beside core; the composition roots never
          // take browser code into Node or Node code into the browser, and nothing imports the app.
          ...[
            ['platform', [...LAYERS.slice(1), ...COMPOSERS, 'app'], 'src/platform is platform glue below the layers'],
            ['node', ['client', 'worker', 'relay', 'hub', 'app'], 'src/node (Node only) composes core, store and net'],
            ['worker', ['node', 'relay', 'hub', 'app', 'client'], 'worker/ runs in browsers (no Node composition) and meets the tabs in src/contract, never src/client'],
            ['relay', ['client', 'worker', 'hub', 'app'], 'relay/ composes src/node and the layers'],
            // The hub serves HTTP as the relay does: it reuses relay/http.ts and relay/config.ts.
            ['hub', ['app', 'client', 'worker'], 'hub/ composes src/node, the layers and the relay\'s HTTP server'],
            ['app', ['node', 'worker', 'relay', 'hub', 'platform', 'store', 'net', 'db', 'contract'], 'the demo app uses the client SDK (and core)']
          ].map(([type, not, message]) => ({ from: { element: { type } }, disallow: { to: { element: { types: { anyOf: not } } } }, message })),
          ...LAYERS.map((layer) => ({
            from: { element: { type: `!${layer}` } },
            // Code only: a type-only import of a module's shapes carries nothing into a bundle, and
            // keeps the declarations a tab's tsc reads small (index.ts would reach libp2p's types).
            disallow: { to: { element: { type: layer, fileInternalPath: `!(${['index.ts', ...(ENTRY_POINTS[layer] ?? [])].join('|')})` } }, dependency: { kind: 'value' } },
            message: `reach src/${layer} through its index.ts${ENTRY_POINTS[layer] != null ? ` (or ${ENTRY_POINTS[layer].join(', ')})` : ''}, not its internals`
          }))
        ]
      }]
    }
  },
  {
    files: ['scripts/**', 'bench/**', 'relay/**', 'test/**', 'e2e/**', '*.config.*'],
    rules: { 'no-console': 'off' }
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' }
    }
  }
)
