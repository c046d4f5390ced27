/**
 * How every BotVault Lambda is bundled: esbuild's JavaScript API (plugins need
 * it; the CLI that NodejsFunction drives has none), run in a child process by
 * BackupFunction because CDK's local bundling hook is synchronous.
 *
 *   node --import tsx lib/bundling/bundle-lambda.ts <entry.ts> <outdir>
 *
 * writes `<outdir>/index.js` (minified CommonJS exporting `handler`) and
 * `<outdir>/index.js.map`.
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type BuildOptions } from 'esbuild';
import { PROJECT_ROOT } from '../project-root';
import { sdkSchemaKeysPlugin } from './sdk-schema-keys';

/** The esbuild options of a Lambda bundle, without plugins (what the benchmark's comparisons reuse). */
export function lambdaBuildOptions(entry: string, outdir: string): BuildOptions {
  return {
    entryPoints: [entry],
    outfile: join(outdir, 'index.js'),
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    minify: true,
    sourcemap: true,
    platform: 'node',
    // The Lambda runtime (BackupFunction: Node.js 24).
    target: 'node24',
    format: 'cjs',
    // Prefer each package's ES module build: esbuild tree-shakes ESM, not CommonJS.
    mainFields: ['module', 'main'],
    // Lambda always has the role's credentials in its environment: an env-only provider instead of the
    // SDK's whole default chain (lambdas/shared/lambda-credentials.ts; ~100 kB less per bundle).
    alias: { '@aws-sdk/credential-provider-node': join(PROJECT_ROOT, 'lambdas/shared/lambda-credentials.ts') },
    logLevel: 'warning',
  };
}

/** Bundles `entry` into `outdir`: {@link lambdaBuildOptions} plus the SDK schema rewrite. */
async function bundleLambda(entry: string, outdir: string): Promise<void> {
  await build({ ...lambdaBuildOptions(entry, outdir), plugins: [sdkSchemaKeysPlugin] });
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const [entry, outdir] = process.argv.slice(2);
  if (!entry || !outdir) {
    process.stderr.write('usage: node --import tsx lib/bundling/bundle-lambda.ts <entry.ts> <outdir>\n');
    process.exit(2);
  }
  // esbuild has printed its messages; the exit code tells CDK the bundle failed.
  bundleLambda(resolve(entry), resolve(outdir)).catch(() => process.exit(1));
}
