/**
 * The restore drill: proves, on a schedule, that the latest archive of every
 * backed-up resource could be restored today. For each archive key under the
 * provider prefixes (`lex/`, `koreai/`) it reads the current version back and
 *  - streams it through SHA-256 and compares with the `sha256` metadata
 *    StoreArchive wrote (bit rot, a partial overwrite, an edit outside
 *    BotVault), then checks its MAC with the stack's HMAC key (a version
 *    planted by someone who can write the bucket but not use the key);
 *  - opens the zip and inflates every entry through its CRC-32 check (a zip
 *    that hashes right but cannot be unpacked — the provider's own bug — is
 *    as useless for a restore as a corrupted one); a password-protected
 *    export is decrypted with the password of the secret its
 *    `password-secret` metadata names, as a restore would.
 * Both reads pin the version id from HeadObject, so a backup landing
 * meanwhile cannot mix two versions. Memory stays flat: the hash sees a
 * stream, and lib/core/archive/zip.ts reads the central directory and the
 * entries through ranged GETs in 1 MiB blocks, never the whole object.
 *
 * Pure core: the handler injects the S3 client and the metrics sink.
 */
import type { ArchiveLimits } from '../../lib/core/archive/limits';
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { s3ByteSource } from '../../lib/core/archive/s3-byte-source';
import { withZip } from '../../lib/core/archive/zip';
import { ARCHIVE_PREFIXES } from '../../lib/providers/definitions';
import { BotVaultError } from '../../lib/core/errors';
import { checkMac, type MacKey } from '../../lib/core/mac';
import { passwordFromSecret, type SecretReader } from '../../lib/core/secrets';
import { PASSWORD_SECRET_METADATA, SHA256_METADATA } from '../../lib/core/names';

/** At least one archive failed the drill; the message names them. */
export class RestoreDrillFailedError extends BotVaultError {
  override readonly name = 'RestoreDrillFailedError';
}

/** The part of Powertools Metrics the drill needs. */
export interface MetricsSink {
  addMetric(name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number): unknown;
  publishStoredMetrics(): unknown;
}

export interface DrillDeps {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly metrics: MetricsSink;
  /** Archives checked at once. @default 4 */
  readonly concurrency?: number;
  /** Log one line per archive (never object contents). */
  readonly log?: (message: string, fields: Record<string, unknown>) => void;
  /** Reads the passwords of password-protected exports (their `password-secret` metadata). */
  readonly secrets?: SecretReader;
  /** Config `archiveLimits` (BOTVAULT_ARCHIVE_LIMITS). @default the zip reader's (lib/core/archive/limits.ts) */
  readonly limits?: ArchiveLimits | undefined;
  /** The stack's HMAC key (BOTVAULT_MAC_KEY_ID): an archive whose MAC is missing or wrong fails the drill. @default none (tests of other concerns) */
  readonly mac?: MacKey;
}

export interface DrillResult {
  readonly key: string;
  readonly versionId?: string;
  readonly ok: boolean;
  readonly bytes?: number;
  readonly entries?: number;
  readonly problem?: string;
}

export interface DrillReport {
  readonly checked: number;
  readonly failed: number;
  readonly results: DrillResult[];
}

/** Every archive key (current objects ending in .zip) under the provider prefixes. */
async function listArchiveKeys(s3: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  for (const prefix of ARCHIVE_PREFIXES) {
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix }))
      for (const o of page.Contents ?? []) if (o.Key?.endsWith('.zip')) keys.push(o.Key);
  }
  return keys.sort();
}

/** Checks one archive's current version: sha256 against its metadata, its MAC, then every zip entry's CRC-32. */
export async function drillArchive(
  s3: S3Client,
  bucket: string,
  key: string,
  opts: { secrets?: SecretReader | undefined; limits?: ArchiveLimits | undefined; mac?: MacKey | undefined } = {},
): Promise<DrillResult> {
  const { secrets, limits } = opts;
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const versionId = head.VersionId && head.VersionId !== 'null' ? head.VersionId : undefined;
  const size = head.ContentLength ?? 0;
  const expected = head.Metadata?.[SHA256_METADATA]?.toLowerCase();
  const base = { key, ...(versionId ? { versionId } : {}), bytes: size };
  if (!expected) return { ...base, ok: false, problem: 'no sha256 metadata: not stored by BotVault, or its metadata was lost' };

  const get = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  const hash = createHash('sha256');
  let read = 0;
  for await (const chunk of get.Body as Readable) {
    hash.update(chunk as Buffer);
    read += (chunk as Buffer).length;
  }
  const actual = hash.digest('hex');
  if (read !== size) return { ...base, ok: false, problem: `read ${read} of ${size} bytes` };
  if (actual !== expected) return { ...base, ok: false, problem: `sha256 mismatch: the bytes hash to ${actual}, the metadata says ${expected}` };
  if (opts.mac) {
    // HeadObject and GetObject name the same version: its metadata is the one the MAC covers.
    const verdict = await checkMac(opts.mac, { kind: 'archive', key, bytes: read, sha256: actual, metadata: head.Metadata ?? {} });
    if (verdict.status !== 'authentic') return { ...base, ok: false, problem: `not authenticated: ${verdict.reason}` };
  }

  const secret = head.Metadata?.[PASSWORD_SECRET_METADATA];
  let password: string | undefined;
  if (secret) {
    if (!secrets)
      return { ...base, ok: false, problem: `it is password-protected (secret ${decodeURIComponent(secret)}) and the drill has no secret reader` };
    try {
      password = passwordFromSecret(await secrets(decodeURIComponent(secret)));
    } catch (err) {
      return { ...base, ok: false, problem: `it is password-protected and its password cannot be read: ${(err as Error).message}` };
    }
  }
  try {
    const opts = { ...(password !== undefined ? { password } : {}), ...(limits ? { limits } : {}) };
    const entries = await withZip(s3ByteSource(s3, bucket, key, size, versionId), opts, (zip) => zip.verify());
    if (entries === 0) return { ...base, ok: false, problem: 'the zip has no entries' };
    return { ...base, ok: true, entries };
  } catch (err) {
    return { ...base, ok: false, problem: `the zip does not open cleanly: ${(err as Error).message}` };
  }
}

/** Runs the drill over every archive; emits DrillArchivesChecked and DrillFailures; throws when any failed. */
export async function runDrill(_input: unknown, deps: DrillDeps): Promise<DrillReport> {
  const keys = await listArchiveKeys(deps.s3, deps.bucket);
  const results: DrillResult[] = new Array(keys.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(deps.concurrency ?? 4, keys.length) }, async () => {
      while (next < keys.length) {
        const i = next++;
        const key = keys[i]!;
        let r: DrillResult;
        try {
          r = await drillArchive(deps.s3, deps.bucket, key, { secrets: deps.secrets, limits: deps.limits, mac: deps.mac });
        } catch (err) {
          // Could not even read it (deleted meanwhile, access denied, S3 unavailable): that is a failed drill too.
          r = { key, ok: false, problem: `cannot read it: ${(err as Error).name}: ${(err as Error).message}` };
        }
        results[i] = r;
        deps.log?.(r.ok ? 'Archive restorable' : 'Archive NOT restorable', { ...r });
      }
    }),
  );
  const failed = results.filter((r) => !r.ok);
  deps.metrics.addMetric('DrillArchivesChecked', MetricUnit.Count, results.length);
  deps.metrics.addMetric('DrillFailures', MetricUnit.Count, failed.length);
  deps.metrics.publishStoredMetrics();
  if (failed.length > 0) {
    const list = failed.slice(0, 10).map((r) => `${r.key}${r.versionId ? ` (version ${r.versionId})` : ''}: ${r.problem}`);
    throw new RestoreDrillFailedError(
      `Restore drill: ${failed.length} of ${results.length} archives are not restorable: ${list.join('; ')}${failed.length > 10 ? `; and ${failed.length - 10} more` : ''}`,
    );
  }
  return { checked: results.length, failed: 0, results };
}
