/**
 * `botvault status [RUN]`: a run's manifest (README "S3 layout":
 * `runs/<yyyy>/<mm>/<dd>/<runId>.json`) as a table.
 *
 * The manifest, not the execution history, is the record: it survives the
 * 90 days Step Functions keeps history, and it is what the run stored. Its
 * MAC is checked first: a manifest planted to hide a failed run is refused.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { authenticator, type Authenticator } from './authentication';
import { MANIFEST_PREFIX } from '../core/names';
import type { RunManifest } from '../core/run-manifest';
import { aws, httpStatus, s3Client } from './aws';
import { CliError, formatBytes, formatTable, formatTime, printJson, readableCause } from './output';
import { locate, type LocateOptions } from './resolve';

export interface StatusCommandOptions extends LocateOptions {
  readonly json: boolean;
  /** Show a manifest whose MAC is missing or wrong (a warning says UNVERIFIED). */
  readonly acceptUnverified?: boolean;
}

/** The manifest at `key`, or undefined when there is none; with `auth`, its MAC is checked first (authentication.ts). */
export async function readManifest(s3: S3Client, bucket: string, key: string, auth?: Authenticator): Promise<RunManifest | undefined> {
  try {
    const res = await aws(`GetObject s3://${bucket}/${key}`, () => s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
    const body = Buffer.from(await res.Body!.transformToByteArray());
    if (auth) {
      const sha256 = createHash('sha256').update(body).digest('hex');
      await auth.check({ kind: 'manifest', key, bytes: body.length, sha256, metadata: res.Metadata ?? {} }, `run manifest ${key}`);
    }
    return JSON.parse(body.toString('utf8')) as RunManifest;
  } catch (err) {
    if ((err as Error).name === 'NoSuchKey' || httpStatus(err) === 404) return undefined;
    if ((err as Error).name === 'NoSuchBucket')
      throw new CliError(`bucket ${bucket} does not exist: check --bucket or the stack's ArchiveBucketName output`);
    throw err;
  }
}

async function listAll(s3: S3Client, bucket: string, prefix: string): Promise<{ keys: { key: string; lastModified?: Date }[] }> {
  const keys: { key: string; lastModified?: Date }[] = [];
  await aws(`ListObjectsV2 s3://${bucket}/${prefix}`, async () => {
    try {
      for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix }))
        for (const o of page.Contents ?? []) if (o.Key) keys.push({ key: o.Key, lastModified: o.LastModified });
    } catch (err) {
      if ((err as Error).name === 'NoSuchBucket')
        throw new CliError(`bucket ${bucket} does not exist: check --bucket or the stack's ArchiveBucketName output`);
      throw err;
    }
  });
  return { keys };
}

/**
 * The newest manifest's key. Keys sort by date (`runs/yyyy/mm/dd/<runId>.json`),
 * so the newest day is the last key's day; within that day run ids do not
 * sort by time, so LastModified decides. One listing of `runs/` (a page per
 * 1,000 runs: about three pages for three years of nightly runs) rather than
 * walking "folders" with a delimiter, which not every S3-compatible server
 * answers correctly (s3rver returns no CommonPrefixes for nested keys).
 */
async function latestManifestKey(s3: S3Client, bucket: string): Promise<string | undefined> {
  const { keys } = await listAll(s3, bucket, MANIFEST_PREFIX);
  return newestManifest(keys);
}

/** Pure part of latestManifestKey: the newest day's most recently written manifest. */
export function newestManifest(keys: readonly { key: string; lastModified?: Date }[]): string | undefined {
  const manifests = keys.filter((k) => /^runs\/\d{4}\/\d{2}\/\d{2}\/[^/]+\.json$/.test(k.key));
  if (manifests.length === 0) return undefined;
  const day = manifests
    .map((k) => k.key.slice(0, 'runs/yyyy/mm/dd/'.length))
    .sort()
    .at(-1)!;
  return manifests
    .filter((k) => k.key.startsWith(day))
    .sort((a, b) => (a.lastModified?.getTime() ?? 0) - (b.lastModified?.getTime() ?? 0) || a.key.localeCompare(b.key))
    .at(-1)!.key;
}

/**
 * The manifest key for RUN: a manifest key as is, an execution ARN's name, or
 * a run id (execution name), looked up under `runs/` because a run id does
 * not say which day it ran.
 */
async function manifestKeyFor(s3: S3Client, bucket: string, run: string): Promise<string | undefined> {
  if (run.startsWith(MANIFEST_PREFIX) && run.endsWith('.json')) return run;
  const runId = run.startsWith('arn:') ? run.split(':').at(-1)! : run;
  const file = `/${runId.replace(/\//g, '_')}.json`;
  const { keys } = await listAll(s3, bucket, MANIFEST_PREFIX);
  // Newest first: a re-used name (after 90 days) should show the latest run.
  return keys.filter((k) => k.key.endsWith(file)).sort((a, b) => b.key.localeCompare(a.key))[0]?.key;
}

/** The table `status` prints: one row per job. */
export function formatManifest(manifest: RunManifest, bucket: string, key: string): string[] {
  const c = manifest.counts;
  const head = [
    `run ${manifest.runId} (${manifest.trigger})  started ${formatTime(manifest.startedAt)}  took ${manifest.durationSeconds} s`,
    `${c.succeeded} stored, ${c.unchanged} unchanged, ${c.failed} failed of ${c.total}; manifest s3://${bucket}/${key}`,
  ];
  if (manifest.results.length === 0) return [...head, '(no jobs: the run had nothing to back up)'];
  const rows = manifest.results.map((r) => [
    r.status,
    r.target,
    formatBytes(r.bytes),
    r.versionId ?? '-',
    r.sha256 ? r.sha256.slice(0, 12) : '-',
    r.status === 'FAILED' ? `${r.error ?? 'Error'}: ${readableCause(r.cause) ?? ''}`.trim() : (r.key ?? '-'),
  ]);
  return [...head, '', ...formatTable(['STATUS', 'TARGET', 'SIZE', 'VERSION', 'SHA256', 'KEY / ERROR'], rows, [2])];
}

/** Exit code: 0 when the run backed up everything, 1 when some job failed (handy in monitoring scripts). */
export async function statusCommand(run: string | undefined, opts: StatusCommandOptions): Promise<number> {
  const { bucket, macKeyArn } = await locate(opts, { bucket: true, macKey: opts.acceptUnverified ? 'optional' : 'required' });
  const s3 = s3Client(opts);
  const auth = authenticator(macKeyArn, opts, (line) => process.stderr.write(`botvault: warning: ${line}\n`));
  try {
    const key = run ? await manifestKeyFor(s3, bucket!, run) : await latestManifestKey(s3, bucket!);
    if (!key) {
      throw new CliError(
        run
          ? `no run "${run}" in s3://${bucket}/${MANIFEST_PREFIX}: give a run id (execution name) or manifest key; \`botvault status\` shows the latest`
          : `no runs in s3://${bucket}/${MANIFEST_PREFIX} yet: start one with \`botvault run --wait\``,
      );
    }
    const manifest = await readManifest(s3, bucket!, key, auth);
    if (!manifest) throw new CliError(`manifest s3://${bucket}/${key} disappeared while reading it; try again`);
    if (opts.json) printJson(manifest);
    else for (const line of formatManifest(manifest, bucket!, key)) process.stdout.write(`${line}\n`);
    return manifest.counts.failed > 0 ? 1 : 0;
  } finally {
    s3.destroy();
    auth.close();
  }
}
