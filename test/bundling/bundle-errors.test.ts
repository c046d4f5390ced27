/**
 * A Lambda that does not bundle stops synth with a message naming it (esbuild
 * prints where, on the inherited stderr).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { BackupFunction, PROJECT_ROOT } from '../../lib/constructs/backup-function';

// A folder of its own under lambdas/ (BackupFunction only bundles lambdas/<name>/handler.ts), removed afterwards.
const NAME = `zz-bundle-error-probe-${process.pid}`;
const folder = join(PROJECT_ROOT, 'lambdas', NAME);
const outdir = mkdtempSync(join(tmpdir(), 'botvault-bundle-error-'));
afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
  rmSync(outdir, { recursive: true, force: true });
});

describe('bundling errors', () => {
  it.each([
    ['a syntax error', 'export const handler = async () => {\n'],
    ['an import that does not resolve', "import { gone } from './missing-module';\nexport const handler = async () => gone();\n"],
  ])(
    '%s stops synth with the function named',
    (_, source) => {
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, 'handler.ts'), source);
      const stack = new Stack(new App({ outdir }), 'BundleErrorProbe');
      expect(() => new BackupFunction(stack, 'Probe', { name: NAME })).toThrow(
        `BackupFunction "${NAME}": bundling ${join(folder, 'handler.ts')} failed; esbuild's messages are printed above.`,
      );
    },
    60_000,
  );
});
