/**
 * One StoreArchive measurement, run in a fresh child process per case so its
 * peak RSS (the kernel's high-water mark, `process.resourceUsage().maxRSS`)
 * belongs to that case alone. Argument: JSON of {@link StoreCase}. Prints one
 * JSON line ({@link StoreCaseResult}) on stdout.
 *
 * Modes, all reading the same bytes from the zip source (zip-source.ts) and
 * writing them to the same local S3 server:
 *  - `storeArchive`: the StoreArchive Lambda's core (lambdas/store-archive):
 *    download guard → spool (memory, or a file above 64 MiB) with count and
 *    SHA-256 → zip check and content hash → HeadObject → one conditional
 *    PutObject with its checksum and its MAC, asked of a KMS simulator
 *    (lambdas/shared/archive-store.ts);
 *  - `naive`: read the whole body into one Buffer, then one PutObject;
 *  - `raw`: the response stream piped into one streaming PutObject with its
 *    Content-Length: no hashing, no checks. The ceiling.
 * Each case counts the S3 requests its measured job sent (every command the
 * S3 client sent, retries included, through a counting middleware).
 */
import http from 'node:http';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { KMSClient } from '@aws-sdk/client-kms';
import { createS3Client } from '../../lambdas/shared/clients';
import { kmsMacKey, type MacKey } from '../../lib/core/mac';
import type { Provider } from '../../lib/providers/types';
import { storeArchive } from '../../lambdas/store-archive/store-archive';

export type StoreMode = 'storeArchive' | 'naive' | 'raw';

interface StoreCase {
  readonly mode: StoreMode;
  readonly bytes: number;
  /** Origin of the zip source, e.g. http://127.0.0.1:4010 */
  readonly source: string;
  readonly bucket: string;
  /** The KMS simulator and HMAC key the storeArchive mode makes its MAC with (store.ts starts it). */
  readonly kms: { readonly url: string; readonly macKeyArn: string };
}

export interface StoreCaseResult {
  readonly mode: StoreMode;
  readonly bytes: number;
  /** Request start to the job's result. */
  readonly seconds: number;
  /** MiB/s over `seconds` */
  readonly throughput: number;
  /** S3 requests the measured job sent, by operation (e.g. {"HeadObject": 1, "PutObject": 1}). */
  readonly requests: Record<string, number>;
  /** Peak RSS of the whole process, MiB. */
  readonly peakRssMiB: number;
  /** Peak RSS after imports and a 1 MiB warm-up of the same mode, before the measured transfer, MiB. */
  readonly warmRssMiB: number;
}

const MiB = 1024 * 1024;

function get(url: string): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    http.get(url, resolve).once('error', reject);
  });
}

async function once(mode: StoreMode, s3: S3Client, c: StoreCase, bytes: number, key: string, mac: MacKey): Promise<void> {
  const url = `${c.source}/zip/${bytes}`;
  if (mode === 'raw') {
    const res = await get(url);
    await s3.send(new PutObjectCommand({ Bucket: c.bucket, Key: key, Body: res, ContentLength: Number(res.headers['content-length']) }));
    return;
  }
  if (mode === 'naive') {
    const res = await get(url);
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    await s3.send(new PutObjectCommand({ Bucket: c.bucket, Key: key, Body: Buffer.concat(chunks) }));
    return;
  }
  const provider = {
    downloadUrl: async () => ({ url, allowedHosts: ['127.0.0.1'] }),
  } as unknown as Provider;
  const result = await storeArchive(
    {
      job: { id: `bench:${key}`, provider: 'lex', key, spec: {} },
      runId: 'bench',
      export: { ref: { exportId: 'bench' }, status: 'READY', polls: 1, waitSeconds: 1, waitedSeconds: 1, withinBudget: true },
    },
    { providerFor: () => provider, s3, bucket: c.bucket, allowedOrigins: [c.source], mac },
  );
  if (result.bytes !== bytes) throw new Error(`StoreArchive stored ${result.bytes} bytes, expected ${bytes}`);
}

/** Counts every S3 command the client sends (each attempt of a retried one too: the retry middleware sits below). */
function countRequests(s3: S3Client): Record<string, number> {
  const counts: Record<string, number> = {};
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const name = ((context as { commandName?: string }).commandName ?? 'unknown').replace(/Command$/, '');
      counts[name] = (counts[name] ?? 0) + 1;
      return next(args);
    },
    { step: 'finalizeRequest', name: 'benchRequestCounter' },
  );
  return counts;
}

async function main(): Promise<void> {
  const c = JSON.parse(process.argv[2] ?? '') as StoreCase;
  const s3 = createS3Client();
  const kms = new KMSClient({ endpoint: c.kms.url, region: 'us-east-1' });
  const mac = kmsMacKey(kms, c.kms.macKeyArn);
  const counts = countRequests(s3);
  await once(c.mode, s3, c, MiB, 'bench/warm-up.zip', mac);
  const warmRssMiB = process.resourceUsage().maxRSS / 1024;
  for (const k of Object.keys(counts)) delete counts[k];
  const started = process.hrtime.bigint();
  await once(c.mode, s3, c, c.bytes, `bench/${c.mode}/${c.bytes}.zip`, mac);
  const ended = process.hrtime.bigint();
  const seconds = Number(ended - started) / 1e9;
  const result: StoreCaseResult = {
    mode: c.mode,
    bytes: c.bytes,
    seconds,
    throughput: c.bytes / MiB / seconds,
    requests: { ...counts },
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    warmRssMiB,
  };
  s3.destroy();
  kms.destroy();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
