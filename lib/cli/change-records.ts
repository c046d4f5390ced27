/**
 * Reading the change records of one archive key (`<key>.changes.json`,
 * lib/providers/change-record.ts) for `history` and `mirror`: every version
 * of the record object, each checked like everything else BotVault reads —
 * its sha256 against its bytes and its MAC with the stack's key — and parsed;
 * one that fails is named in a warning and not used (a version without a
 * usable record shows "no change record"; its archive is unaffected).
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import { changeRecordKey, SHA256_METADATA } from '../core/names';
import { type ChangeRecord, changeRecordSchema } from '../providers/change-record';
import type { Authenticator } from './authentication';
import { aws, httpStatus } from './aws';
import { mapLimit } from './list';
import { CliError } from './output';

/** A change record is a few kilobytes of JSON (utterances included); a larger object under its key is not one. */
const MAX_RECORD_BYTES = 1024 * 1024;
/** Record versions fetched at once. */
const CONCURRENCY = 8;

interface VersionChanges {
  readonly record: ChangeRecord;
  /** Its MAC verified (false only with --accept-unverified). */
  readonly authenticated: boolean;
}

export interface ChangeRecords {
  /** The record of one archive version, when a usable one exists. */
  forVersion(archive: { readonly versionId?: string | undefined; readonly sha256?: string | undefined }): VersionChanges | undefined;
}

/** The record object's version ids, newest first; [undefined] (the current object) without a versioning API. */
async function recordVersions(s3: S3Client, bucket: string, key: string): Promise<(string | undefined)[]> {
  const ids: { id: string | undefined; latest: boolean; time: number }[] = [];
  let keyMarker: string | undefined;
  let versionIdMarker: string | undefined;
  try {
    do {
      const page = await s3.send(
        new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker }),
      );
      for (const v of page.Versions ?? []) {
        if (v.Key !== key) continue;
        ids.push({
          id: v.VersionId && v.VersionId !== 'null' ? v.VersionId : undefined,
          latest: v.IsLatest ?? false,
          time: v.LastModified?.getTime() ?? 0,
        });
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      versionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
    } while (keyMarker);
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'NotImplemented' || name === 'MethodNotAllowed' || httpStatus(err) === 501 || httpStatus(err) === 405) return [undefined];
    throw err;
  }
  ids.sort((a, b) => Number(b.latest) - Number(a.latest) || b.time - a.time);
  return ids.map((v) => v.id);
}

async function readOne(
  s3: S3Client,
  bucket: string,
  key: string,
  versionId: string | undefined,
  archiveKey: string,
  auth: Authenticator,
  warn: (line: string) => void,
): Promise<VersionChanges | undefined> {
  const where = `${key}${versionId ? ` version ${versionId}` : ''}`;
  let body: Buffer;
  let metadata: Record<string, string>;
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
    if ((res.ContentLength ?? 0) > MAX_RECORD_BYTES) {
      (res.Body as { destroy?: () => void } | undefined)?.destroy?.();
      warn(`ignoring ${where}: ${res.ContentLength} bytes, more than a change record can be`);
      return undefined;
    }
    body = Buffer.from(await res.Body!.transformToByteArray());
    metadata = res.Metadata ?? {};
  } catch (err) {
    if ((err as Error).name === 'NoSuchKey' || httpStatus(err) === 404) return undefined;
    throw new CliError(`cannot read ${where}: ${(err as Error).name}: ${(err as Error).message}`);
  }
  const sha256 = createHash('sha256').update(body).digest('hex');
  if (metadata[SHA256_METADATA] !== sha256) {
    warn(`ignoring ${where}: its bytes do not match its sha256 metadata`);
    return undefined;
  }
  const verdict = await auth.verdict({ kind: 'changes', key, bytes: body.length, sha256, metadata }, where);
  if (verdict.status !== 'authentic' && !auth.acceptUnverified) {
    warn(`not using ${where}: it is not authenticated (${verdict.reason}); --accept-unverified would use it`);
    return undefined;
  }
  let record: ChangeRecord;
  try {
    record = changeRecordSchema.parse(JSON.parse(body.toString('utf8')));
  } catch {
    warn(`ignoring ${where}: not a change record BotVault can read`);
    return undefined;
  }
  if (record.key !== archiveKey) {
    warn(`ignoring ${where}: it describes ${record.key}, not ${archiveKey}`);
    return undefined;
  }
  return { record, authenticated: verdict.status === 'authentic' };
}

export async function readChangeRecords(
  s3: S3Client,
  bucket: string,
  archiveKey: string,
  auth: Authenticator,
  warn: (line: string) => void,
  opts: { /** Keep the utterances', values' and phrases' texts (`added`, `removed`). @default true */ members?: boolean } = {},
): Promise<ChangeRecords> {
  const key = changeRecordKey(archiveKey);
  const ids = await aws(`ListObjectVersions s3://${bucket}/${key}`, () => recordVersions(s3, bucket, key));
  const read = await mapLimit(ids, CONCURRENCY, (id) =>
    aws(`GetObject s3://${bucket}/${key}`, () => readOne(s3, bucket, key, id, archiveKey, auth, warn)),
  );
  // Newest first: a record written again for the same archive version (a retried job) replaces the older one,
  // but an authentic record always wins over one that is not (used only with --accept-unverified): a
  // planted record cannot displace the genuine one.
  const byVersion = new Map<string, VersionChanges>();
  const bySha = new Map<string, VersionChanges>();
  const better = (was: VersionChanges | undefined, r: VersionChanges) => !was || (!was.authenticated && r.authenticated);
  for (const found of read) {
    if (!found) continue;
    const r =
      opts.members === false
        ? { ...found, record: { ...found.record, changes: found.record.changes.map(({ added: _a, removed: _r, ...c }) => c) } }
        : found;
    const { versionId, sha256 } = r.record.archive;
    if (versionId && better(byVersion.get(versionId), r)) byVersion.set(versionId, r);
    if (better(bySha.get(sha256), r)) bySha.set(sha256, r);
  }
  return {
    forVersion: (archive) =>
      (archive.versionId ? byVersion.get(archive.versionId) : undefined) ??
      (!archive.versionId && archive.sha256 ? bySha.get(archive.sha256) : undefined),
  };
}
