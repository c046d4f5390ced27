/**
 * StoreArchive benchmark driver: a zip source in its own process, a fresh
 * local S3 server (s3rver, on disk) per case, and one child process per case
 * (store-case.ts), so neither the source nor the S3 server nor an earlier case
 * counts toward a case's peak RSS. The S3 server's directory is removed after
 * every case (the 1 GiB cases write several GiB: parts, the completed object, its copy).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createBucket, S3RVER_CREDENTIALS, startS3Server } from '../simulators/s3-server';
import { startKmsSimulator } from '../simulators/kms-simulator';
import type { StoreCaseResult, StoreMode } from './store-case';

const run = promisify(execFile);
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export const MiB = 1024 * 1024;

/** `node --import tsx <file>`: TypeScript in a plain child process. */
export function tsxArgs(file: string, ...args: string[]): string[] {
  return ['--import', 'tsx', here(file), ...args];
}

async function startZipSource(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, tsxArgs('./zip-source.ts'), { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return { url: (JSON.parse(line) as { url: string }).url, child };
}

/**
 * Every case `repeat` times (rounds interleave the modes, so a burst of load
 * on a shared machine hits all of them alike). Reported per case: the fastest
 * run's times (the least disturbed) and the highest peak RSS of all runs (the
 * conservative one); every run is kept in `runs`.
 */
export async function benchStore(
  sizes: readonly number[],
  modes: readonly StoreMode[],
  repeat: number,
  log: (line: string) => void,
): Promise<(StoreCaseResult & { runs: StoreCaseResult[] })[]> {
  const all = new Map<string, StoreCaseResult[]>();
  for (let round = 1; round <= repeat; round++) {
    log(`  round ${round} of ${repeat}`);
    for (const r of await benchStoreOnce(sizes, modes, log)) all.set(`${r.mode} ${r.bytes}`, [...(all.get(`${r.mode} ${r.bytes}`) ?? []), r]);
  }
  return [...all.values()].map((runs) => {
    const fastest = runs.reduce((a, b) => (b.throughput > a.throughput ? b : a));
    return { ...fastest, peakRssMiB: Math.max(...runs.map((r) => r.peakRssMiB)), runs };
  });
}

async function benchStoreOnce(sizes: readonly number[], modes: readonly StoreMode[], log: (line: string) => void): Promise<StoreCaseResult[]> {
  const source = await startZipSource();
  const kms = await startKmsSimulator();
  const macKeyArn = kms.createKey();
  const results: StoreCaseResult[] = [];
  try {
    for (const bytes of sizes) {
      for (const mode of modes) {
        const s3 = await startS3Server();
        try {
          const bucket = 'bench';
          await createBucket(s3.endpoint, bucket);
          const { stdout } = await run(
            process.execPath,
            tsxArgs('./store-case.ts', JSON.stringify({ mode, bytes, source: source.url, bucket, kms: { url: kms.url, macKeyArn } })),
            {
              env: {
                ...process.env,
                AWS_ENDPOINT_URL_S3: s3.endpoint,
                AWS_REGION: 'us-east-1',
                AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
                AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
                POWERTOOLS_LOG_LEVEL: 'SILENT',
                POWERTOOLS_METRICS_DISABLED: 'true',
              },
              maxBuffer: 1024 * 1024,
            },
          );
          const result = JSON.parse(stdout.trim().split('\n').pop()!) as StoreCaseResult;
          results.push(result);
          log(
            `  ${mode.padEnd(13)} ${(bytes >= MiB ? `${(bytes / MiB).toFixed(0)} MiB` : `${(bytes / 1024).toFixed(0)} KiB`).padStart(8)}  ${result.throughput.toFixed(1).padStart(7)} MiB/s  peak RSS ${result.peakRssMiB.toFixed(1)} MiB`,
          );
        } finally {
          await s3.close();
        }
      }
    }
  } finally {
    source.child.kill('SIGTERM');
    await kms.close();
  }
  return results;
}
