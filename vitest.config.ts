import { defineConfig } from 'vitest/config';

/**
 * Four projects, so the quick loop needs no CDK: `npm run test:unit` runs
 * `unit` alone (no module it loads imports aws-cdk-lib); `npm test` runs all
 * four. `infra` synthesizes stacks; `workflow` runs the synthesized state
 * machine with the real handlers; `e2e` adds the real CLI and real S3 (Swift).
 */
const UNIT = [
  'test/archive/**/*.test.ts',
  'test/core/**/*.test.ts',
  'test/fuzz/**/*.test.ts',
  'test/cli/**/*.test.ts',
  'test/lambdas/**/*.test.ts',
  'test/providers/**/*.test.ts',
  'test/simulators/**/*.test.ts',
  'test/bundling/sdk-schema-keys.test.ts',
];
// Not unit tests: a synth (stack outputs), the Step Functions simulator (it synthesizes), real versioned S3 (Swift).
const UNIT_EXCLUDED = [
  'test/cli/stack-outputs.test.ts',
  'test/simulators/sfn-simulator.test.ts',
  'test/lambdas/archive-store-versioned.test.ts',
  'test/lambdas/write-path-faults.test.ts',
];

export default defineConfig({
  test: {
    // Suites start real servers (simulators, S3) and synthesize the stack: give them room on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
    // Quiet unless a test fails: a test's console output is shown only for failed tests.
    silent: 'passed-only',
    // The handlers' environment as the Lambdas get it (DEFAULT_ENV in lib/constructs/backup-function.ts), with their
    // logs off: Powertools writes to process.stdout itself, past vitest's console capture, so a
    // test that reads the logs turns them on (test/helpers/capture-logs.ts). Set when not given.
    env: {
      POWERTOOLS_SERVICE_NAME: process.env.POWERTOOLS_SERVICE_NAME ?? 'botvault',
      POWERTOOLS_METRICS_NAMESPACE: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'BotVault',
      POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT',
      // The account the stack sets on Plan (AWS::AccountId): the simulators' home account, as in lib/local/runner.ts.
      BOTVAULT_ACCOUNT_ID: process.env.BOTVAULT_ACCOUNT_ID ?? '123456789012',
    },
    projects: [
      // Shared workers too: 36 → 22 s on this machine; the files pass in any order (checked with --sequence.shuffle.files).
      { extends: true, test: { name: 'unit', include: UNIT, exclude: UNIT_EXCLUDED, isolate: false } },
      {
        extends: true,
        // Files share their workers (no isolation): aws-cdk-lib is imported once per worker, not once per file,
        // and synth() (test/infra/helpers.ts) synthesizes each distinct config once.
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts', 'test/bundling/bundle-errors.test.ts', 'test/cli/stack-outputs.test.ts'],
          isolate: false,
        },
      },
      // Shared workers as for infra: the runner's definition cache (lib/local/runner.ts) then serves every file.
      { extends: true, test: { name: 'workflow', include: ['test/workflow/**/*.test.ts', 'test/simulators/sfn-simulator.test.ts'], isolate: false } },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts', 'test/lambdas/archive-store-versioned.test.ts', 'test/lambdas/write-path-faults.test.ts'],
          isolate: false,
        },
      },
    ],
  },
});
