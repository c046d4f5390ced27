/**
 * `botvault history TARGET`: the timeline of one bot's archive versions,
 * newest first — time, run, size, sha256 and what changed in the bot with
 * that version (its change record, lib/providers/change-record.ts).
 *
 * Each version's metadata (size, sha256, run id) is checked with its MAC
 * (HeadObject; the bytes are not downloaded: `get`, `diff`, `restore` and
 * `mirror` check those), and each change record is used only when its own
 * sha256 and MAC verify and it names this key (change-records.ts). A version
 * whose metadata does not verify is shown as REFUSED, with why, and nothing
 * of it (its run, its record) is shown; the command goes on with the other
 * versions and exits 2. With `--accept-unverified` it is shown, marked
 * UNVERIFIED, and so is a change record whose MAC does not verify (an
 * authentic record of a version always wins over one that is not).
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { RUN_ID_METADATA, SHA256_METADATA } from '../core/names';
import type { ChangeRecord } from '../providers/change-record';
import { formatChanges } from '../providers/changes';
import { authenticator } from './authentication';
import { aws, s3Client, cliHome } from './aws';
import { readChangeRecords } from './change-records';
import { loadResources, mapLimit } from './list';
import { formatBytes, formatTime, IntegrityError, onTerminal, printJson, printLines, shortHash, TTY_COLUMNS } from './output';
import { locate, type LocateOptions } from './resolve';
import { displayName, resolveResource } from './targets';

export interface HistoryCommandOptions extends LocateOptions {
  readonly json: boolean;
  /** Show at most this many versions (the newest). @default all */
  readonly limit?: number;
  /** Show versions whose MAC is missing or wrong (marked UNVERIFIED). */
  readonly acceptUnverified?: boolean;
}

interface HistoryEntry {
  versionId: string | null;
  current: boolean;
  time: string | null;
  runId: string | null;
  bytes: number | null;
  sha256: string | null;
  /** The version's metadata verified with the stack's key (false only with --accept-unverified). */
  authenticated: boolean;
  /** Why the version's metadata was refused (its MAC is missing or wrong); its run and record are then not shown. */
  refused: string | null;
  /** The change record's MAC verified (false only with --accept-unverified); null without a record. */
  changesAuthenticated: boolean | null;
  /** What changed with it; null when no usable change record exists (stored before change records, or it could not be written). */
  changes: Pick<ChangeRecord, 'status' | 'reason' | 'previous' | 'changes'> | null;
}

/** The summary lines of one version, as the timeline prints them under it. */
function describe(entry: HistoryEntry): string[] {
  if (entry.refused) return [`REFUSED: ${entry.refused}`];
  const c = entry.changes;
  if (!c) return ['(no change record: stored before change records, or it could not be written; `botvault diff` compares any two versions)'];
  if (c.status === 'first') return ['first backup'];
  if (c.status === 'unavailable') return [`changed; no summary: ${c.reason ?? 'unavailable'}`];
  const lines = c.changes.length ? formatChanges(c.changes) : ["no change to the bot's definition"];
  return entry.changesAuthenticated === false ? [...lines, '(change record UNVERIFIED: its MAC is missing or wrong)'] : lines;
}

/** Record text comes from the bucket: no control characters reach the terminal. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is replaced
const printable = (s: string) => s.replace(/[\x00-\x1f\x7f]/g, '?');

/** A two-space indented line broken at spaces into lines of at most TTY_COLUMNS, continued four spaces in. */
function wrap(line: string): string[] {
  const lines: string[] = [];
  let rest = line;
  while ([...rest].length > TTY_COLUMNS) {
    const cut = rest.lastIndexOf(' ', TTY_COLUMNS);
    // No space to break at past the indent: printLines cuts it with an ellipsis.
    if (cut <= 4) break;
    lines.push(rest.slice(0, cut));
    rest = `    ${rest.slice(cut + 1)}`;
  }
  return [...lines, rest];
}

export async function historyCommand(target: string, opts: HistoryCommandOptions): Promise<number> {
  const { bucket, macKeyArn } = await locate(opts, { bucket: true, macKey: opts.acceptUnverified ? 'optional' : 'required' });
  const s3 = s3Client(opts);
  const warn = (line: string) => process.stderr.write(`botvault: warning: ${line}\n`);
  const auth = authenticator(macKeyArn, opts, warn);
  try {
    const resource = resolveResource(target, await loadResources(s3, bucket!, undefined, await cliHome(opts)), bucket!);
    const versions = opts.limit ? resource.versions.slice(0, opts.limit) : resource.versions;
    const [records, heads] = await Promise.all([
      readChangeRecords(s3, bucket!, resource.key, auth, warn),
      mapLimit(versions, 8, (v) =>
        aws(`HeadObject s3://${bucket}/${v.key}`, () => s3.send(new HeadObjectCommand({ Bucket: bucket, Key: v.key, VersionId: v.versionId }))),
      ),
    ]);
    const entries: HistoryEntry[] = [];
    for (const [i, v] of versions.entries()) {
      const head = heads[i]!;
      const metadata = head.Metadata ?? {};
      const sha256 = metadata[SHA256_METADATA] ?? null;
      const where = `${resource.key}${v.versionId ? ` version ${v.versionId}` : ''}`;
      let authenticated = false;
      let refused: string | null = null;
      try {
        authenticated = await auth.check(
          { kind: 'archive', key: resource.key, bytes: head.ContentLength ?? 0, sha256: sha256 ?? '', metadata },
          where,
        );
      } catch (err) {
        if (!(err instanceof IntegrityError)) throw err;
        refused = err.message;
        warn(err.message);
      }
      const found = refused ? undefined : records.forVersion({ versionId: v.versionId, sha256: sha256 ?? undefined });
      // A record names the sha256 of the version it describes: one that disagrees with the version's own is not its record.
      const record = found && found.record.archive.sha256 === sha256 ? found.record : undefined;
      entries.push({
        versionId: v.versionId ?? null,
        current: v.isLatest,
        time: v.lastModified?.toISOString() ?? null,
        runId: refused ? null : (metadata[RUN_ID_METADATA] ?? null),
        bytes: head.ContentLength ?? null,
        sha256: refused ? null : sha256,
        authenticated,
        refused,
        changesAuthenticated: record ? found!.authenticated : null,
        changes: record
          ? { status: record.status, ...(record.reason ? { reason: record.reason } : {}), previous: record.previous, changes: record.changes }
          : null,
      });
    }
    const code = entries.some((e) => e.refused) ? 2 : 0;
    if (opts.json) {
      printJson({
        target: displayName(resource),
        key: resource.key,
        ...(resource.earlierKey ? { earlierKey: resource.earlierKey } : {}),
        versions: entries,
      });
      return code;
    }
    const shown = entries.length < resource.versions.length ? `${entries.length} of ${resource.versions.length}` : `${entries.length}`;
    const count = `${shown} version${entries.length === 1 ? '' : 's'}, newest first`;
    // On a terminal: no key (the target names it), a short hash, the run on a line of its own, long change lines wrapped.
    const compact = onTerminal();
    const out = [compact ? `${displayName(resource)}: ${count}` : `${displayName(resource)} (s3://${bucket}/${resource.key}): ${count}`];
    for (const e of entries) {
      const run = e.runId ? `run ${e.runId}` : 'run -';
      const version = `version ${e.versionId ?? '-'}${e.current ? ' (current)' : ''}${e.authenticated || e.refused ? '' : ' UNVERIFIED'}`;
      const time = formatTime(e.time ?? undefined);
      const size = formatBytes(e.bytes ?? undefined);
      const described = describe(e).map((line) => `  ${printable(line)}`);
      if (compact)
        out.push('', [time, size, `sha256 ${e.sha256 ? shortHash(e.sha256) : '-'}`, version].join('  '), `  ${run}`, ...described.flatMap(wrap));
      else out.push('', [time, run, size, `sha256 ${e.sha256 ?? '-'}`, version].join('  '), ...described);
    }
    // Versions from before account ids stay at their legacy key (lib/providers/lex/keys.ts): say where.
    if (resource.earlierKey) out.push('', `earlier versions (before account ids in keys): botvault history ${resource.earlierKey}`);
    printLines(out);
    return code;
  } finally {
    s3.destroy();
    auth.close();
  }
}
