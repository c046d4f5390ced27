/**
 * The directions imports may run in (README "How the code is organised"),
 * checked by `npm run lint` (dependency-cruiser).
 *
 *   lib/core          shared names, contracts, schema primitives, errors, zip reading: imports no layer above it
 *   lib/providers     one folder per provider (lex/, koreai/) and the typed registries: core only
 *   lib/config        the config file's schema and loading: core and the providers' definitions
 *   lambdas           handlers and their commons: core and providers, never infrastructure or the CLI
 *   lib/cli           the operator CLI: never aws-cdk-lib (it would cost every command about a second)
 *   infrastructure    lib/constructs, lib/botvault-stack.ts, lib/app.ts, lib/bundling: imported only by
 *                     the CDK entry, the local runner and tests
 */
const INFRASTRUCTURE = ['^lib/constructs/', '^lib/botvault-stack', '^lib/member-account-stack', '^lib/app', '^lib/bundling/'];
/** What sits above the providers and the config: a Lambda, the CLI, the infrastructure, the local runner, an entry point. */
const ABOVE = ['^lambdas/', '^lib/cli/', ...INFRASTRUCTURE, '^lib/local/', '^bin/'];
const CDK = ['node_modules/aws-cdk-lib/', 'node_modules/constructs/'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-and-providers-import-no-layer-above',
      comment:
        'lib/core is the bottom layer and a provider (lib/providers/<name>/) builds on it alone: neither imports the config, a Lambda, the CLI, the infrastructure or the local runner.',
      severity: 'error',
      from: { path: ['^lib/core/', '^lib/providers/'] },
      to: { path: [...ABOVE, '^lib/config/'] },
    },
    {
      name: 'below-infrastructure-loads-no-cdk',
      comment: 'lib/core, the providers, the config and the Lambdas never load aws-cdk-lib or constructs, not even through another module.',
      severity: 'error',
      from: { path: ['^lib/core/', '^lib/providers/', '^lib/config/', '^lambdas/'] },
      to: { path: CDK, reachable: true },
    },
    {
      name: 'definitions-load-no-provider-runtime',
      comment:
        "A provider's definition (target schema, key rules, sidecar section) and the config file built on them are what the CLI's name resolution and `cdk synth` load: no SDK client, no JWT library, no runtime.",
      severity: 'error',
      from: { path: ['^lib/config/', '^lib/providers/(definitions|[^/]+/definition)\\.ts$'] },
      to: {
        path: ['node_modules/@aws-sdk/', 'node_modules/jose/', '^lib/providers/[^/]+/(provider|restore|grants)\\.ts$', '^lib/providers/registry'],
        reachable: true,
      },
    },
    {
      name: 'config-builds-on-core-and-provider-definitions',
      comment: "The config file is BotVault settings plus provider targets: lib/config reads lib/core and the providers' definitions, nothing above.",
      severity: 'error',
      from: { path: '^lib/config/' },
      to: { path: [...ABOVE, ...CDK] },
    },
    {
      name: 'core-imports-no-provider',
      severity: 'error',
      from: { path: '^lib/core/' },
      to: { path: '^lib/providers/' },
    },
    {
      name: 'cli-imports-no-lambda',
      comment: "The CLI calls the same provider and core code the Lambdas do, never a Lambda's own module.",
      severity: 'error',
      from: { path: '^(lib/cli/|bin/botvault)' },
      to: { path: '^lambdas/' },
    },
    {
      name: 'lambdas-import-no-infrastructure-or-cli',
      comment: 'A Lambda bundles what it imports: no infrastructure, no CLI, no local runner.',
      severity: 'error',
      from: { path: '^lambdas/' },
      to: { path: ['^lib/cli/', '^lib/constructs/', '^lib/botvault-stack', '^lib/app', '^lib/local/', '^bin/'] },
    },
    {
      name: 'cli-imports-no-cdk',
      comment:
        'The operator CLI never loads aws-cdk-lib. Its other imports (lib/core, the providers, the config) are held to that by below-infrastructure-loads-no-cdk; the local runner is loaded on demand by `botvault local` alone.',
      severity: 'error',
      from: { path: '^(lib/cli/|bin/botvault)' },
      to: {
        path: [...CDK, ...INFRASTRUCTURE],
      },
    },
    {
      name: 'cli-loads-the-runner-only-on-demand',
      severity: 'error',
      from: { path: '^(lib/cli/|bin/botvault)', pathNot: '^lib/cli/local\\.ts$' },
      to: { path: '^lib/local/' },
    },
    {
      name: 'unit-tests-load-no-cdk',
      comment: 'The `unit` project (vitest.config.ts) is the quick loop: none of its files may load aws-cdk-lib.',
      severity: 'error',
      from: {
        path: '^test/(archive|cli|lambdas|providers|simulators)/.*\\.test\\.ts$',
        pathNot: ['^test/cli/stack-outputs\\.test\\.ts$', '^test/simulators/sfn-simulator\\.test\\.ts$'],
      },
      to: { path: CDK, reachable: true },
    },
    {
      name: 'infrastructure-only-from-the-cdk-entry',
      comment: 'Only the CDK entry (bin/app.ts), the app builder, the local runner, the bench and tests import infrastructure.',
      severity: 'error',
      from: {
        pathNot: [
          '^bin/app',
          '^lib/app',
          '^lib/botvault-stack',
          '^lib/member-account-stack',
          '^lib/constructs/',
          '^lib/local/',
          '^lib/bundling/',
          '^test/',
          '^scripts/',
        ],
      },
      to: { path: ['^lib/constructs/', '^lib/botvault-stack', '^lib/member-account-stack', '^lib/app'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
  },
};
