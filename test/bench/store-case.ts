/**
 * One StoreArchive measurement, run in a fresh child process per case so its
 * peak RSS (the kernel's high-water mark, `process.resourceUsage().maxRSS`)
 * belongs to that case alone. Argument: JSON of {@link StoreCase}. Prints one
 * JSON line ({@link StoreCaseResult}) on stdout.
 *
 * Modes, all reading the same bytes from the zip source (zip-source.ts) and
 * writing them to the same local S3 server:
 *  - `storeArchive`: the StoreArchive Lambda's core (lambdas/store-archive):
 *    download guard → count, SHA-256 and zip check → multipart upload to the
 *    staging key → CopyObject with the hash as metadata → HeadObject check;
 *  - `naive`: read the whole body into one Buffer, then one PutObject;
 *  - `raw`: the response stream piped into one streaming PutObject with its
 *    Content-Length: no hashing, no checks, no copy. The ceiling;
 *  - `rawMultipart`: the response stream piped into the same multipart upload
 *    StoreArchive uses (part-upload.ts, same part size and queue), no hashing,
 *    no checks, no copy: what the protocol alone costs on this S3 server.
 */
import http from 'node:http';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { PART_SIZE, QUEUE_SIZE } from '../../lambdas/shared/archive-store';
import { createS3Client } from '../../lambdas/shared/clients';
import { uploadStream } from '../../lambdas/shared/part-upload';
import type { Provider } from '../../lib/providers/types';
import { storeArchive } from '../../lambdas/store-archive/store-archive';

export type StoreMode = 'storeArchive' | 'naive' | 'raw' | 'rawMultipart';

interface StoreCase {
  readonly mode: StoreMode;
  readonly bytes: number;
  /** Origin of the zip source, e.g. http://127.0.0.1:4010 */
  readonly source: string;
  readonly bucket: string;
}

export interface StoreCaseResult {
  readonly mode: StoreMode;
  readonly bytes: number;
  /** Request start to the job's result (for storeArchive: through the copy, HeadObject check and staging delete). */
  readonly seconds: number;
  /** MiB/s over `seconds` */
  readonly throughput: number;
  /**
   * storeArchive only: request start to the end of the staging upload (the streamed, hashed and
   * checked bytes are in S3), before the copy to the stable key. Otherwise equal to `seconds`.
   */
  readonly streamSeconds: number;
  /** MiB/s over `streamSeconds` */
  readonly streamThroughput: number;
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

async function once(mode: StoreMode, s3: S3Client, c: StoreCase, bytes: number, key: string): Promise<void> {
  const url = `${c.source}/zip/${bytes}`;
  if (mode === 'raw') {
    const res = await get(url);
    await s3.send(new PutObjectCommand({ Bucket: c.bucket, Key: key, Body: res, ContentLength: Number(res.headers['content-length']) }));
    return;
  }
  if (mode === 'rawMultipart') {
    const res = await get(url);
    await uploadStream({ s3, bucket: c.bucket, key, body: res, partSize: PART_SIZE, queueSize: QUEUE_SIZE });
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
    { providerFor: () => provider, s3, bucket: c.bucket, allowedOrigins: [c.source] },
  );
  if (result.bytes !== bytes) throw new Error(`StoreArchive stored ${result.bytes} bytes, expected ${bytes}`);
}

/** Records when the last upload of the staged bytes (CompleteMultipartUpload, or PutObject for one part) ended. */
function watchStagingUploads(s3: S3Client): { lastEnd?: bigint } {
  const seen: { lastEnd?: bigint } = {};
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      const name = (context as { commandName?: string }).commandName;
      const key = (args.input as { Key?: string }).Key ?? '';
      if ((name === 'CompleteMultipartUploadCommand' || name === 'PutObjectCommand') && key.startsWith('staging/'))
        seen.lastEnd = process.hrtime.bigint();
      return out;
    },
    { step: 'initialize', name: 'benchStagingTimer' },
  );
  return seen;
}

async function main(): Promise<void> {
  const c = JSON.parse(process.argv[2] ?? '') as StoreCase;
  const s3 = createS3Client();
  const staging = watchStagingUploads(s3);
  await once(c.mode, s3, c, MiB, 'bench/warm-up.zip');
  const warmRssMiB = process.resourceUsage().maxRSS / 1024;
  staging.lastEnd = undefined;
  const started = process.hrtime.bigint();
  await once(c.mode, s3, c, c.bytes, `bench/${c.mode}/${c.bytes}.zip`);
  const ended = process.hrtime.bigint();
  const seconds = Number(ended - started) / 1e9;
  if (c.mode === 'storeArchive' && staging.lastEnd === undefined) throw new Error('StoreArchive made no staging upload that the benchmark could see');
  const streamSeconds = Number((staging.lastEnd ?? ended) - started) / 1e9;
  const result: StoreCaseResult = {
    mode: c.mode,
    bytes: c.bytes,
    seconds,
    throughput: c.bytes / MiB / seconds,
    streamSeconds,
    streamThroughput: c.bytes / MiB / streamSeconds,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    warmRssMiB,
  };
  s3.destroy();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
