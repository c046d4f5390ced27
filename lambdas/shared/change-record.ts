/**
 * StoreArchive's side of the change history (issue 15): before a new version
 * is written, what changed in the bot since the version it replaces (the
 * current one, which the conditional write names), and after it is written,
 * the change record `<key>.changes.json` (lib/providers/change-record.ts).
 *
 * The version compared with is read back and checked like every reader
 * checks (sha256, MAC, password, CRC of every entry) before a byte of it is
 * believed. A summary that cannot be made never fails the backup: the record
 * then says `unavailable` and why. Only archives that unpack to at most
 * SUMMARY_MAX_UNPACKED_BYTES (declared in the central directory, which the
 * zip reader holds every entry to) are summarized: both versions' entries are
 * held in memory for the comparison, in a 1 GB function, and a bot
 * definition is kilobytes to a few megabytes.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, type HeadObjectCommandOutput, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { canonicalJson } from '../../lib/core/archive/canonical-json';
import type { ArchiveLimits } from '../../lib/core/archive/limits';
import { bufferByteSource } from '../../lib/core/archive/byte-source';
import { withZip, type ZipArchive } from '../../lib/core/archive/zip';
import type { Job } from '../../lib/core/contracts';
import { logger } from '../../lib/core/logger';
import { checkMac, type MacKey, macMetadata } from '../../lib/core/mac';
import { changeRecordKey, MAC_METADATA, PASSWORD_SECRET_METADATA, RUN_ID_METADATA, SHA256_METADATA } from '../../lib/core/names';
import { CHANGE_RECORD_FORMAT, type ChangeRecord, changeRecordSchema } from '../../lib/providers/change-record';
import { changeSummary, definitionName } from '../../lib/providers/change-summaries';
import { type BotChange, changeLine, clipLine } from '../../lib/providers/changes';
import { headerSafe } from './restore-info';

/** What each of the two compared archives may unpack to, for the summary to read it into memory. */
const SUMMARY_MAX_UNPACKED_BYTES = 64 * 1024 * 1024;

/** Every entry, when the archive's declared uncompressed size is within the summary's bound; else why not. */
export async function boundedEntries(zip: ZipArchive, what: string): Promise<Map<string, Buffer> | { unavailable: string }> {
  const unpacked = zip.entries.reduce((sum, e) => sum + e.size, 0);
  if (unpacked > SUMMARY_MAX_UNPACKED_BYTES) return { unavailable: `${what} unpacks to more than ${SUMMARY_MAX_UNPACKED_BYTES} bytes` };
  return zip.readAll();
}

/** The largest record written with the utterances' texts (readers refuse more than 1 MiB). */
const MAX_RECORD_BYTES = 900 * 1024;

/** What changed with the version about to be written, as the record will say it. */
export type ChangeOutcome = Pick<ChangeRecord, 'status' | 'previous' | 'changes'> & {
  readonly reason?: string;
  /** The bot's name as the new export states it (lines name the bot by it when the job has no name). */
  readonly botName?: string;
};

export interface SummarizeChangeParams {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly job: Job;
  /** The version the write replaces (HeadObject of the stable key); undefined for the first backup. */
  readonly current: HeadObjectCommandOutput | undefined;
  /** Where `current` lives when not at the job's key (its legacy key). @default job.key */
  readonly currentKey?: string;
  /** The new archive's entries; undefined when they could not be read for the summary (`why`). */
  readonly entries: Map<string, Buffer> | { readonly unavailable: string };
  /** The password that opened the new archive, and the secret it came from (headerSafe form, as stored). */
  readonly password?: string;
  readonly passwordSecret?: string;
  readonly limits?: ArchiveLimits;
  readonly mac?: MacKey;
}

const unavailable = (reason: string, previous: ChangeOutcome['previous'] = null): ChangeOutcome => ({
  status: 'unavailable',
  previous,
  changes: [],
  reason,
});

/** Files added, removed and changed (JSON compared by value), for archives the provider's summary finds nothing in. */
function fileChanges(before: ReadonlyMap<string, Buffer>, after: ReadonlyMap<string, Buffer>): BotChange[] {
  const same = (path: string, a: Buffer, b: Buffer) => {
    if (a.equals(b)) return true;
    if (!/\.json$/i.test(path)) return false;
    try {
      return canonicalJson(JSON.parse(a.toString('utf8'))) === canonicalJson(JSON.parse(b.toString('utf8')));
    } catch {
      return false;
    }
  };
  const added = [...after.keys()].filter((p) => !before.has(p));
  const removed = [...before.keys()].filter((p) => !after.has(p));
  const changed = [...after.keys()].filter((p) => before.has(p) && !same(p, before.get(p)!, after.get(p)!));
  const parts = [...(added.length ? [`+${added.length} added`] : []), ...(removed.length ? [`-${removed.length} removed`] : [])];
  if (changed.length) parts.push(`${changed.length} changed`);
  return parts.length
    ? [{ subject: 'files', detail: parts.join(', '), ...(added.length ? { added } : {}), ...(removed.length ? { removed } : {}) }]
    : [];
}

/** What changed since the current version; never throws (a failure is an `unavailable` outcome naming why). */
export async function summarizeChange(p: SummarizeChangeParams): Promise<ChangeOutcome> {
  const outcome = await compare(p);
  const botName = 'unavailable' in p.entries ? undefined : definitionName(p.job.provider, p.entries);
  return botName ? { ...outcome, botName } : outcome;
}

async function compare(p: SummarizeChangeParams): Promise<ChangeOutcome> {
  if (!p.current) return { status: 'first', previous: null, changes: [] };
  const sha256 = p.current.Metadata?.[SHA256_METADATA];
  if (!sha256 || p.current.ContentLength === undefined) return unavailable('the version before it was not stored by BotVault (no sha256)');
  const key = p.currentKey ?? p.job.key;
  const previous = {
    ...(p.current.VersionId && p.current.VersionId !== 'null' ? { versionId: p.current.VersionId } : {}),
    sha256,
    ...(key !== p.job.key ? { key } : {}),
  };
  if ('unavailable' in p.entries) return unavailable(p.entries.unavailable, previous);
  const metadata = p.current.Metadata ?? {};
  const secret = metadata[PASSWORD_SECRET_METADATA];
  if (secret && secret !== p.passwordSecret) return unavailable('the version before it is encrypted with the password of another secret', previous);
  try {
    const res = await p.s3.send(
      new GetObjectCommand({
        Bucket: p.bucket,
        Key: key,
        // The very version compared against: by its id, or (no versioning) only while it is still the one with that ETag.
        ...(previous.versionId ? { VersionId: previous.versionId } : { IfMatch: p.current.ETag }),
      }),
    );
    const data = Buffer.from(await res.Body!.transformToByteArray());
    const actual = createHash('sha256').update(data).digest('hex');
    if (actual !== sha256) return unavailable('the version before it does not match its sha256', previous);
    if (p.mac) {
      const verdict = await checkMac(p.mac, { kind: 'archive', key, bytes: data.length, sha256, metadata: res.Metadata ?? {} });
      if (verdict.status !== 'authentic') return unavailable(`the version before it is not authenticated (${verdict.status})`, previous);
    }
    const open = { ...(secret && p.password !== undefined ? { password: p.password } : {}), ...(p.limits ? { limits: p.limits } : {}) };
    const before = await withZip(bufferByteSource(data), open, (zip) => boundedEntries(zip, 'the version before it'));
    if ('unavailable' in before) return unavailable(before.unavailable, previous);
    const changes = changeSummary(p.job.provider, before, p.entries);
    if (changes === undefined) return unavailable(`no change summary for provider ${p.job.provider}`, previous);
    return { status: 'summarized', previous, changes: changes.length ? changes : fileChanges(before, p.entries) };
  } catch (err) {
    logger.warn('Could not summarize the change; the archive is stored without a summary', {
      job: p.job.id,
      key: p.job.key,
      error: (err as Error).name,
      reason: (err as Error).message,
    });
    return unavailable(`the version before it could not be read (${(err as Error).name})`, previous);
  }
}

/**
 * The job result's one line (`Alpha (en_US): intent Cancel added`, `Alpha:
 * first backup`), clipped; undefined when nothing changed at all (an
 * archive written again with `changeDetection: "always"`).
 */
export function outcomeLine(bot: string, outcome: Pick<ChangeOutcome, 'status' | 'reason' | 'changes'>): string | undefined {
  if (outcome.status === 'first') return clipLine(`${bot}: first backup`);
  if (outcome.status === 'unavailable') return clipLine(`${bot}: changed (no summary: ${outcome.reason ?? 'unavailable'})`);
  return changeLine(bot, outcome.changes);
}

export interface WriteChangeRecordParams {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly job: Job;
  readonly runId: string;
  readonly archive: { versionId?: string; sha256: string };
  readonly outcome: ChangeOutcome;
  readonly mac?: MacKey;
}

/** Writes the record of a new version; never throws (the archive is what matters): 'unavailable' when it could not be written. */
export async function writeChangeRecord(p: WriteChangeRecordParams): Promise<'written' | 'unavailable'> {
  const key = changeRecordKey(p.job.key);
  try {
    const record: ChangeRecord = changeRecordSchema.parse({
      format: CHANGE_RECORD_FORMAT,
      provider: p.job.provider,
      target: p.job.id,
      key: p.job.key,
      runId: p.runId,
      recordedAt: new Date().toISOString(),
      archive: { ...(p.archive.versionId ? { versionId: p.archive.versionId } : {}), sha256: p.archive.sha256 },
      previous: p.outcome.previous,
      ...(p.outcome.botName ? { botName: p.outcome.botName } : {}),
      status: p.outcome.status,
      ...(p.outcome.reason ? { reason: p.outcome.reason } : {}),
      changes: p.outcome.changes,
    });
    let body = `${JSON.stringify(record, null, 2)}\n`;
    // Readers take records up to 1 MiB (lib/cli/change-records.ts): a change of thousands of utterances keeps its counts, not its texts.
    if (Buffer.byteLength(body) > MAX_RECORD_BYTES)
      body = `${JSON.stringify({ ...record, changes: record.changes.map(({ added: _a, removed: _r, ...c }) => c) }, null, 2)}\n`;
    const sha256 = createHash('sha256').update(body).digest('hex');
    const metadata: Record<string, string> = { [SHA256_METADATA]: sha256, [RUN_ID_METADATA]: headerSafe(p.runId), source: headerSafe(p.job.id) };
    if (p.mac) metadata[MAC_METADATA] = await macMetadata(p.mac, { kind: 'changes', key, bytes: Buffer.byteLength(body), sha256, metadata });
    await p.s3.send(new PutObjectCommand({ Bucket: p.bucket, Key: key, Body: body, ContentType: 'application/json', Metadata: metadata }));
    return 'written';
  } catch (err) {
    logger.warn('Could not write the change record; the archive itself is stored', {
      job: p.job.id,
      key,
      error: (err as Error).name,
      reason: (err as Error).message,
    });
    return 'unavailable';
  }
}

/**
 * The record of a version this run already stored in an attempt whose answer
 * was lost (a retried StoreArchive, archive-store.ts): the current record when
 * it is that version's and authentic; else one is written now, `unavailable`
 * (the version it replaced is no longer known here), so that every version
 * has its record and the run still names the bot. Never throws.
 */
export async function recordOfStoredVersion(
  p: Omit<WriteChangeRecordParams, 'outcome'>,
): Promise<{ line: string | undefined; changeRecord: 'written' | 'unavailable' }> {
  const key = changeRecordKey(p.job.key);
  try {
    const res = await p.s3.send(new GetObjectCommand({ Bucket: p.bucket, Key: key }));
    const body = Buffer.from(await res.Body!.transformToByteArray());
    const sha256 = createHash('sha256').update(body).digest('hex');
    const metadata = res.Metadata ?? {};
    const authentic =
      metadata[SHA256_METADATA] === sha256 &&
      (!p.mac || (await checkMac(p.mac, { kind: 'changes', key, bytes: body.length, sha256, metadata })).status === 'authentic');
    const record = authentic ? changeRecordSchema.safeParse(JSON.parse(body.toString('utf8'))) : undefined;
    const r = record?.success ? record.data : undefined;
    if (r && r.runId === p.runId && r.archive.sha256 === p.archive.sha256 && (r.archive.versionId ?? '') === (p.archive.versionId ?? '')) {
      return { line: outcomeLine(r.botName ?? p.job.name ?? p.job.id, r), changeRecord: 'written' };
    }
  } catch {
    // none yet, or unreadable: written below
  }
  const outcome: ChangeOutcome = {
    status: 'unavailable',
    previous: null,
    changes: [],
    reason: 'an earlier attempt of this run stored the version and its answer was lost; `botvault diff` compares it with the one before',
  };
  const changeRecord = await writeChangeRecord({ ...p, outcome });
  return { line: outcomeLine(p.job.name ?? p.job.id, outcome), changeRecord };
}
