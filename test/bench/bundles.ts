/**
 * Lambda bundle benchmark: synthesizes the stack with real bundling (local
 * esbuild, exactly what `cdk synth` ships), then for each function measures
 * its minified `index.js` and how long a fresh Node process takes to load it
 * (`require`, as the Lambda runtime loads a CommonJS handler), as the median
 * of several fresh processes. Node's own start-up is not counted.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as esbuild from 'esbuild';
import { lambdaBuildOptions } from '../../lib/bundling/bundle-lambda';
import { DEFAULT_ENVIRONMENT, PROJECT_ROOT } from '../../lib/constructs/backup-function';
import { synthBundles } from '../infra/helpers';

const run = promisify(execFile);

export interface BundleResult {
  /** The Lambda's construct id, e.g. StoreArchive. */
  readonly name: string;
  /** Bytes of the minified index.js (the source map ships beside it and is not loaded unless an error is printed). */
  readonly bytes: number;
  /** Median ms to require() the bundle in a fresh process. */
  readonly coldImportMs: number;
  /** Every sample, ms. */
  readonly samplesMs: number[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** ms to require() `file` in each of `samples` fresh Node processes, with the environment a BotVault Lambda gets. */
async function coldImport(file: string, cwd: string, samples: number): Promise<number[]> {
  const script = `const t = process.hrtime.bigint(); require(${JSON.stringify(file)}); process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));`;
  const samplesMs: number[] = [];
  for (let i = 0; i < samples; i++) {
    const { stdout } = await run(process.execPath, ['-e', script], {
      cwd,
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'eu-west-1',
        ...DEFAULT_ENVIRONMENT,
      },
    });
    samplesMs.push(Number(stdout));
  }
  return samplesMs;
}

/**
 * The road not taken, measured beside the real bundles: the same esbuild
 * options with `@aws-sdk/*` external (as if the Lambda runtime's SDK were
 * used), loaded with the repository's node_modules resolvable. `names`: the
 * Lambdas' folders under lambdas/, e.g. store-archive.
 */
export async function benchExternalSdk(names: readonly string[], samples: number, log: (line: string) => void): Promise<BundleResult[]> {
  const dir = join(PROJECT_ROOT, 'node_modules', '.cache', 'botvault-bench-external-sdk');
  const results: BundleResult[] = [];
  try {
    for (const name of names) {
      const file = join(dir, name, 'index.cjs');
      // .cjs: the repository's package.json says "type": "module".
      await esbuild.build({
        ...lambdaBuildOptions(join(PROJECT_ROOT, 'lambdas', name, 'handler.ts'), join(dir, name)),
        outfile: file,
        external: ['@aws-sdk/*'],
        logLevel: 'error',
      });
      const samplesMs = await coldImport(file, dir, samples);
      const result = { name, bytes: statSync(file).size, coldImportMs: median(samplesMs), samplesMs };
      results.push(result);
      log(
        `  ${name.padEnd(13)} ${(result.bytes / 1000).toFixed(0).padStart(5)} kB  cold import ${result.coldImportMs.toFixed(0)} ms (median of ${samples}; SDK from node_modules)`,
      );
    }
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchBundles(samples: number, log: (line: string) => void): Promise<BundleResult[]> {
  const outdir = mkdtempSync(join(tmpdir(), 'botvault-bench-bundles-'));
  try {
    const bundles = [...synthBundles(outdir)].map(([name, dir]) => ({ name, file: join(dir, 'index.js'), samplesMs: [] as number[] }));
    // Interleaved rounds (one sample of each bundle per round): a burst of load on the shared machine, such as
    // the synth's own aftermath, then touches every bundle alike instead of skewing the first one measured.
    for (let round = 0; round < samples; round++) {
      for (const b of bundles) b.samplesMs.push(...(await coldImport(b.file, outdir, 1)));
    }
    const results: BundleResult[] = bundles.map((b) => ({
      name: b.name,
      bytes: statSync(b.file).size,
      coldImportMs: median(b.samplesMs),
      samplesMs: b.samplesMs,
    }));
    for (const r of results)
      log(`  ${r.name.padEnd(13)} ${(r.bytes / 1000).toFixed(0).padStart(5)} kB  cold import ${r.coldImportMs.toFixed(0)} ms (median of ${samples})`);
    return results;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * The zip reader alone (lib/core/archive/zip.ts over @zip.js/zip.js), bundled with
 * the Lambdas' esbuild options from a one-line entry that opens an archive:
 * what the one zip library adds to a bundle, and how long it takes to load.
 */
export async function benchZipReader(samples: number, log: (line: string) => void): Promise<BundleResult> {
  const dir = join(PROJECT_ROOT, 'node_modules', '.cache', 'botvault-bench-zip-reader');
  try {
    const entry = join(dir, 'entry.ts');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      entry,
      `import { ZipArchive } from ${JSON.stringify(join(PROJECT_ROOT, 'lib/core/archive/zip.ts'))};\nexport const open = ZipArchive.open;\n`,
    );
    const file = join(dir, 'index.cjs');
    await esbuild.build({ ...lambdaBuildOptions(entry, dir), outfile: file, logLevel: 'error' });
    const samplesMs = await coldImport(file, dir, samples);
    const result = { name: 'zip reader', bytes: statSync(file).size, coldImportMs: median(samplesMs), samplesMs };
    log(
      `  ${result.name.padEnd(13)} ${(result.bytes / 1000).toFixed(0).padStart(5)} kB  cold import ${result.coldImportMs.toFixed(0)} ms (median of ${samples})`,
    );
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
