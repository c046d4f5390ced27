/**
 * `botvault mirror --git DIR [TARGET...]`: the archive versions of the chosen
 * resources (all of the bucket's when no TARGET is given) replayed into a Git
 * repository, one commit per archive version, oldest first across all of
 * them (by the version's LastModified, i.e. backup time), so `git log`,
 * `git blame` and every Git tool work on a bot's history (issue 15).
 *
 * Each resource has its own folder in DIR, its S3 key without `.zip`
 * (`lex/us-east-1/ALPHABOT01/DRAFT/bot/`); a commit replaces that folder's
 * content with the version's entries, JSON pretty-printed with sorted keys
 * (Lex's key order varies between exports, so only real changes show up in a
 * diff), other entries as their bytes. The commit's dates are the version's,
 * its message the version's change summary (its change record,
 * lib/providers/change-record.ts) with `BotVault-*` trailers naming the
 * key, S3 version id, run and sha256.
 *
 * Incremental: the trailers of the commits already in DIR say what is
 * mirrored; a run adds only the versions newer than each key's newest
 * mirrored one. Nothing unverified is committed: every version is read with
 * readArchive (sha256, MAC) and readEntries (password, CRC of every entry);
 * one that fails is named on stderr and left out, the mirror goes on, and the
 * exit code is 2. Versions are processed one at a time, and only that
 * version's bytes and entries are held in memory.
 */
import { isUtf8 } from 'node:buffer';
import { type Dirent, existsSync, lstatSync, mkdirSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { mkdir, readdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { canonicalJson } from '../core/archive/canonical-json';
import { RUN_ID_METADATA } from '../core/names';
import { definitionName } from '../providers/change-summaries';
import { changeLine, formatChanges } from '../providers/changes';
import { readArchive, readEntries } from './archive';
import { authenticator, type Authenticator } from './authentication';
import { s3Client, cliHome } from './aws';
import { type ChangeRecords, readChangeRecords } from './change-records';
import { GitError, gitVersion, runGit } from './git';
import { loadResources, type Resource } from './list';
import { CliError, formatTime, IntegrityError, printJson } from './output';
import { locate, type LocateOptions } from './resolve';
import { displayName, matchResources, noSuchResource } from './targets';
import type { S3Client } from '@aws-sdk/client-s3';

export interface MirrorCommandOptions extends LocateOptions {
  /** The repository: created (and `git init`ed) when missing or empty. */
  readonly git: string;
  readonly json: boolean;
  /** Mirror versions whose MAC is missing or wrong (their commits carry `BotVault-Authenticated: no`). */
  readonly acceptUnverified?: boolean;
}

/** Who the mirror's commits are by: they are BotVault's record, not an operator's work. */
const IDENTITY = { name: 'BotVault', email: 'botvault@localhost' };

/** The trailers every mirror commit carries; the mirror reads them back to know what it holds. */
const TRAILER = {
  target: 'BotVault-Target',
  key: 'BotVault-Key',
  version: 'BotVault-Version',
  run: 'BotVault-Run',
  sha256: 'BotVault-Sha256',
  authenticated: 'BotVault-Authenticated',
} as const;

/** S3's version id of an object stored without versioning (ListObjectVersions says "null"). */
const NO_VERSION = 'null';

type ArchiveVersion = Resource['versions'][number];

interface Commit {
  commit: string;
  key: string;
  versionId: string;
  sha256: string;
  runId: string | null;
  time: string;
  summary: string;
}

interface Problem {
  key: string;
  versionId: string;
  reason: string;
}

/** What DIR's history already holds of one key, from its commits' trailers. */
interface Mirrored {
  readonly versionIds: Set<string>;
  /** sha256 of the newest commit of the key (for a bucket without versioning, whose one version has no id). */
  newestSha256?: string;
  /** Author date (= the version's LastModified) of the newest commit of the key, seconds. */
  newestSeconds: number;
}

interface Planned {
  readonly resource: Resource;
  readonly version: ArchiveVersion;
}

// ---- the repository ----

type DirState = { kind: 'missing' } | { kind: 'empty' } | { kind: 'repo' };

/**
 * What DIR is, refusing what the mirror must not write into: a file, a
 * directory with content that is not the top of a git repository (it would
 * mix the mirror with unrelated files), and a repository with uncommitted
 * changes (each commit stages whole folders; those changes would be committed
 * as if they came from a backup, or be overwritten).
 */
async function inspectDir(dir: string): Promise<DirState> {
  if (!existsSync(dir)) return { kind: 'missing' };
  if (!statSync(dir).isDirectory()) throw new CliError(`--git ${dir} is a file, not a directory: give a directory (it is created when missing)`);
  if (readdirSync(dir).length === 0) return { kind: 'empty' };
  let top: string;
  try {
    top = (await runGit(dir, ['rev-parse', '--show-toplevel'])).stdout.trim();
  } catch (err) {
    if (!(err instanceof GitError)) throw err;
    if (!/not a git repository/i.test(err.stderr)) throw new CliError(`cannot use ${dir} as a git repository: ${err.stderr.trim()}`);
    throw new CliError(
      `${dir} is not empty and not a git repository: mirror writes only into a new or empty directory, or into a repository (such as one an earlier mirror made)`,
    );
  }
  if (realpathSync(top) !== realpathSync(dir)) {
    throw new CliError(
      `${dir} is not empty and not the top of a git repository (it is inside ${top}): give a new or empty directory, or the repository's top directory`,
    );
  }
  const status = (await runGit(dir, ['status', '--porcelain', '--untracked-files=all'])).stdout.split('\n').filter(Boolean);
  if (status.length) {
    const shown = status.slice(0, 5).map((l) => l.trim());
    throw new CliError(
      `${dir} has uncommitted changes (git status --porcelain: ${shown.join(', ')}${status.length > shown.length ? `, and ${status.length - shown.length} more` : ''}): ` +
        'commit or discard them first; each mirror commit replaces whole folders',
    );
  }
  return { kind: 'repo' };
}

const FIELD = '\x1f';
const RECORD = '\x1e';

/** Key → what is mirrored of it, from the trailers of every commit reachable from HEAD; empty for a repository without commits. */
async function readMirrored(dir: string): Promise<Map<string, Mirrored>> {
  const out = new Map<string, Mirrored>();
  const head = await runGit(dir, ['rev-parse', '--verify', '-q', 'HEAD'], { okCodes: [1] });
  if (head.code !== 0) return out;
  const trailer = (key: string) => `%(trailers:key=${key},valueonly,separator=%x1d)`;
  const format = `%x1e%at%x1f${trailer(TRAILER.key)}%x1f${trailer(TRAILER.version)}%x1f${trailer(TRAILER.sha256)}`;
  // Newest first (git log's order): the first commit seen of a key is its newest.
  const log = await runGit(dir, ['log', `--format=${format}`, 'HEAD']);
  for (const record of log.stdout.split(RECORD)) {
    const [seconds, key, version, sha256] = record.split(FIELD).map((f) => f.trim().split('\x1d')[0]!.trim());
    if (!key || !version) continue; // not a mirror commit
    let m = out.get(key);
    if (!m) {
      m = { versionIds: new Set(), newestSeconds: Number(seconds) || 0, ...(sha256 ? { newestSha256: sha256 } : {}) };
      out.set(key, m);
    }
    m.versionIds.add(version);
  }
  return out;
}

// ---- what to mirror ----

/**
 * The versions of one resource still to mirror, oldest first, and the ones
 * left out: already mirrored, or older than the newest mirrored one (a
 * version that failed verification in an earlier mirror stays out: the
 * history is not rewritten to fit it in).
 */
function planResource(resource: Resource, mirrored: Mirrored | undefined): { todo: ArchiveVersion[]; already: number; older: ArchiveVersion[] } {
  const oldestFirst = [...resource.versions].reverse();
  // Without versioning the one version has no id, and "null" names every object ever stored there: whether
  // it is mirrored shows only once its sha256 is known (the command compares it with the newest commit's).
  if (!mirrored || oldestFirst.every((v) => !v.versionId)) return { todo: oldestFirst, already: 0, older: [] };
  const id = (v: ArchiveVersion) => v.versionId ?? NO_VERSION;
  let newest = -1;
  oldestFirst.forEach((v, i) => {
    if (mirrored.versionIds.has(id(v))) newest = i;
  });
  if (newest === -1 && oldestFirst.some((v) => v.versionId)) {
    // None of the mirrored versions is in the bucket any more (expired by the lifecycle rule): what the
    // mirror holds ends at its newest commit's date, which is that version's LastModified.
    oldestFirst.forEach((v, i) => {
      if (v.lastModified && Math.floor(v.lastModified.getTime() / 1000) <= mirrored.newestSeconds) newest = i;
    });
  }
  const upTo = oldestFirst.slice(0, newest + 1);
  const already = upTo.filter((v) => mirrored.versionIds.has(id(v))).length;
  const older = upTo.filter((v) => !mirrored.versionIds.has(id(v)));
  return { todo: oldestFirst.slice(newest + 1), already, older };
}

/**
 * All resources' versions in one sequence, oldest first by LastModified. A
 * merge, not a sort: each resource's own order (S3's, newest first, kept by
 * loadResources) is never changed by two versions sharing a timestamp.
 */
function mergeByTime(lists: { resource: Resource; todo: ArchiveVersion[] }[]): Planned[] {
  const queues = lists.filter((l) => l.todo.length).map((l) => ({ resource: l.resource, todo: l.todo, next: 0 }));
  const out: Planned[] = [];
  const time = (v: ArchiveVersion | undefined) => v?.lastModified?.getTime() ?? 0;
  for (;;) {
    let best: (typeof queues)[number] | undefined;
    for (const q of queues) {
      if (q.next >= q.todo.length) continue;
      if (!best || time(q.todo[q.next]) < time(best.todo[best.next])) best = q;
    }
    if (!best) return out;
    out.push({ resource: best.resource, version: best.todo[best.next++]! });
  }
}

// ---- one version's files ----

/** A resource's folder in DIR: its key without `.zip`. */
const folderOf = (key: string) => key.replace(/\.zip$/i, '');

/**
 * Why `name` may not be written as a path (undefined when it may). The zip
 * reader already refuses an archive with a `..`, absolute or drive-letter
 * entry name (zip.js 2.24, node_modules/@zip.js/zip.js/lib/core/zip-reader.js
 * `isUnsafeFilename`, at its default strictness; lib/core/archive/zip.ts
 * checks sizes, CRCs and overlaps, not names); the check is repeated here so
 * the mirror's guarantee does not rest on a dependency's default, and it
 * refuses what zip.js lets through: `.` and empty segments (ambiguous: `a//b`
 * and `./a/b` would name `a/b` twice), control characters, and a `.git`
 * segment (git's own folder: git would take it for a nested repository).
 * Backslashes count as separators for the check, since Windows reads them so.
 */
function pathProblem(name: string): string | undefined {
  if (name === '') return 'it is empty';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is looked for
  if (/[\x00-\x1f\x7f]/.test(name)) return 'it holds a control character';
  if (/^[\\/]/.test(name) || /^[A-Za-z]:/.test(name)) return 'it is an absolute path';
  const segments = name.split(/[\\/]/);
  if (segments.includes('..')) return 'it climbs out of its folder (..)';
  if (segments.some((s) => s === '' || s === '.')) return 'it has an empty or "." segment';
  if (segments.some((s) => s.toLowerCase() === '.git')) return "it would write into git's own .git folder";
  return undefined;
}

/**
 * The files a version's folder gets, path (inside the folder) → bytes: JSON
 * entries pretty-printed with sorted keys and a trailing newline, everything
 * else as stored. A CliError names an entry that cannot be written where it
 * says: a bad path, a name that is both a file and a folder, a path inside
 * another resource's folder.
 */
function folderFiles(entries: ReadonlyMap<string, Buffer>, folder: string, otherFolders: ReadonlySet<string>): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const [name, data] of entries) {
    const problem = pathProblem(name);
    if (problem) throw new IntegrityError(`entry ${JSON.stringify(name)} cannot be written: ${problem}`);
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (entries.has(parent)) throw new IntegrityError(`entry ${JSON.stringify(name)} cannot be written: ${parent} is a file in the archive too`);
      if (otherFolders.has(`${folder}/${parent}`)) {
        throw new IntegrityError(`entry ${JSON.stringify(name)} cannot be written: ${folder}/${parent} is the folder of another resource`);
      }
    }
    if (otherFolders.has(`${folder}/${name}`))
      throw new IntegrityError(`entry ${JSON.stringify(name)} cannot be written: it is the folder of another resource`);
    files.set(name, normalized(name, data));
  }
  return files;
}

/**
 * `canonicalJson(value, 2)` and a newline for an entry named *.json that is
 * UTF-8 JSON; its bytes otherwise. The exact archive stays in S3 (the
 * commit's BotVault-Sha256 names it for `botvault get`); the folder is for
 * reading and diffing.
 */
function normalized(name: string, data: Buffer): Buffer {
  // A lossy decode would "parse" and then write changed text: only valid UTF-8 is re-serialized.
  if (!/\.json$/i.test(name) || !isUtf8(data)) return data;
  try {
    return Buffer.from(`${canonicalJson(JSON.parse(data.toString('utf8')), 2)}\n`, 'utf8');
  } catch {
    return data; // not JSON after all: as stored
  }
}

/**
 * Empties `abs` (the folder `rel` in DIR), keeping the folders of other
 * resources nested in it (a locale `…/locales/en_US` holds the custom
 * vocabulary `…/locales/en_US/custom-vocabulary`). True when nothing is left.
 */
async function clearFolder(abs: string, rel: string, keep: ReadonlySet<string>): Promise<boolean> {
  let names: Dirent[];
  try {
    names = await readdir(abs, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
  let empty = true;
  for (const d of names) {
    const childRel = `${rel}/${d.name}`;
    const childAbs = join(abs, d.name);
    if (keep.has(childRel)) {
      empty = false;
    } else if (d.isDirectory()) {
      if (await clearFolder(childAbs, childRel, keep)) await rmdir(childAbs);
      else empty = false;
    } else {
      await rm(childAbs, { force: true }); // a symbolic link is removed, never followed
    }
  }
  return empty;
}

/** A symbolic link on the way to a folder would send the writes outside DIR: refused. */
function checkNoLinks(dir: string, folder: string): void {
  const parts = folder.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const rel = parts.slice(0, i).join('/');
    let link = false;
    try {
      link = lstatSync(join(dir, rel)).isSymbolicLink();
    } catch {
      return; // does not exist yet: nothing below it does either
    }
    if (link)
      throw new CliError(`${join(dir, rel)} is a symbolic link: mirror writes only into real folders inside ${dir}; remove it from the repository`);
  }
}

/** The name a change line starts with: the bot's name as its export records it (definitionName), else its id. */
function botNameOf(resource: Resource, entries: ReadonlyMap<string, Buffer>): string {
  return definitionName(resource.provider, entries) ?? resource.botId ?? displayName(resource);
}

/** The one-line summary and the lines of the commit body, from the version's change record. */
function summaryOf(
  bot: string,
  records: ChangeRecords,
  archive: { versionId?: string; sha256: string },
  warn: (line: string) => void,
  where: string,
): { summary: string; lines: string[] } {
  const found = records.forVersion(archive);
  const none = { summary: oneLine(`${bot}: no change record stored for this version`), lines: [] };
  if (!found) return none;
  const { record } = found;
  if (record.archive.sha256 !== archive.sha256) {
    warn(`not using the change record of ${where}: it describes sha256 ${record.archive.sha256}, and the version is ${archive.sha256}`);
    return none;
  }
  // A record used only because of --accept-unverified says so in the commit, where its text goes.
  const flag = found.authenticated ? [] : ['(change record UNVERIFIED: its MAC is missing or wrong; used with --accept-unverified)'];
  if (record.status === 'first') return { summary: oneLine(`${bot}: first backup`), lines: flag };
  if (record.status === 'unavailable')
    return { summary: oneLine(`${bot}: summary unavailable: ${record.reason ?? 'no reason recorded'}`), lines: flag };
  const summary = changeLine(bot, record.changes) ?? `${bot}: no change to the bot's definition`;
  return { summary: oneLine(summary), lines: [...formatChanges(record.changes).map(oneLine), ...flag] };
}

/** Record text goes into a commit message: no line breaks or control characters of its own. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is replaced
const oneLine = (s: string) => s.replace(/[\x00-\x1f\x7f]+/g, ' ').trim();

// ---- the command ----

export async function mirrorCommand(targets: readonly string[], opts: MirrorCommandOptions): Promise<number> {
  await gitVersion(); // before anything else: without git there is nothing to do
  const dir = resolve(opts.git);
  const state = await inspectDir(dir);
  const { bucket, macKeyArn } = await locate(opts, { bucket: true, macKey: opts.acceptUnverified ? 'optional' : 'required' });
  const warn = (line: string) => process.stderr.write(`botvault: warning: ${line}\n`);
  const s3 = s3Client(opts);
  const auth = authenticator(macKeyArn, opts, warn);
  try {
    const all = await loadResources(s3, bucket!, undefined, await cliHome(opts));
    let chosen = all;
    if (targets.length) {
      const keys = new Set<string>();
      for (const t of targets) {
        // Every resource a target names: a bot id covers the bot's export and its locales' exports alike.
        const matched = matchResources(t, all);
        if (!matched.length) throw noSuchResource(t, all, bucket!);
        for (const r of matched) keys.add(r.key);
      }
      chosen = all.filter((r) => keys.has(r.key));
    }
    if (state.kind !== 'repo') {
      mkdirSync(dir, { recursive: true });
      await runGit(dir, ['init', '-q']);
    }
    return await mirror({ s3, bucket: bucket!, auth, dir, all, chosen, opts, warn });
  } finally {
    s3.destroy();
    auth.close();
  }
}

async function mirror(c: {
  s3: S3Client;
  bucket: string;
  auth: Authenticator;
  dir: string;
  all: readonly Resource[];
  chosen: readonly Resource[];
  opts: MirrorCommandOptions;
  warn: (line: string) => void;
}): Promise<number> {
  const { s3, bucket, auth, dir, opts, warn } = c;
  const mirrored = await readMirrored(dir);
  // Every folder another resource may own, whether chosen this time or mirrored before. Only keys of
  // BotVault's layout (keyInfo names their target) count: a `.zip` planted at any other key cannot
  // reserve a folder inside a real bot's and so block its versions.
  const folders = new Set([...c.all.filter((r) => r.id !== undefined).map((r) => folderOf(r.key)), ...[...mirrored.keys()].map(folderOf)]);

  let already = 0;
  const notMirrored: Problem[] = [];
  const skipped: Problem[] = [];
  const lists = c.chosen.map((resource) => {
    const plan = planResource(resource, mirrored.get(resource.key));
    already += plan.already;
    for (const v of plan.older) {
      const reason = `older than the mirror's newest version of ${resource.key}`;
      skipped.push({ key: resource.key, versionId: v.versionId ?? NO_VERSION, reason });
      process.stderr.write(`botvault: skipped: ${resource.key} version ${v.versionId ?? NO_VERSION}: ${reason}\n`);
    }
    return { resource, todo: plan.todo };
  });
  const plan = mergeByTime(lists);

  const commits: Commit[] = [];
  const records = new Map<string, ChangeRecords>();
  /** Versions still to come per key: a key's change records are dropped once its last one is done. */
  const left = new Map<string, number>();
  for (const { resource } of plan) left.set(resource.key, (left.get(resource.key) ?? 0) + 1);
  /**
   * Keys stopped for this run: a version that could not be read for a reason that may pass (network,
   * KMS, Secrets Manager) holds back the key's later versions, so the next mirror retries it in order
   * instead of finding it older than what was committed after it.
   */
  const stopped = new Map<string, string>();
  for (const { resource, version } of plan) {
    const key = resource.key;
    const versionId = version.versionId ?? NO_VERSION;
    const refuse = (reason: string) => {
      notMirrored.push({ key, versionId, reason });
      process.stderr.write(`botvault: not mirrored: ${key} version ${versionId}: ${oneLine(reason)}\n`);
    };
    left.set(key, (left.get(key) ?? 1) - 1);
    for (const k of records.keys()) if (k !== key && left.get(k) === 0) records.delete(k);
    const held = stopped.get(key);
    if (held) {
      refuse(`waits for an earlier version of the key, which could not be read (${held}); run the mirror again`);
      continue;
    }
    const folder = folderOf(key);
    const keyProblem = pathProblem(folder);
    if (keyProblem) {
      refuse(`its key cannot be a folder: ${keyProblem}`);
      continue;
    }
    // One version at a time: its bytes, entries and files live only in this iteration.
    let files: Map<string, Buffer>;
    let archive: Awaited<ReturnType<typeof readArchive>>;
    let bot: string;
    try {
      archive = await readArchive(s3, bucket, resource, version.versionId, auth);
      const known = mirrored.get(key);
      if (!version.versionId && known?.newestSha256 === archive.sha256) {
        already++; // no versioning: the current object is what the mirror's newest commit of the key holds
        continue;
      }
      const { entries } = await readEntries(archive, `version ${versionId}`, opts);
      bot = botNameOf(resource, entries);
      files = folderFiles(entries, folder, new Set([...folders].filter((f) => f !== folder)));
    } catch (err) {
      if (!(err instanceof CliError)) throw err;
      refuse(err.message);
      // Not what BotVault stored: left out for good, the versions after it go on. Anything else may pass.
      if (!(err instanceof IntegrityError)) stopped.set(key, oneLine(err.message).slice(0, 200));
      continue;
    }
    let keyRecords = records.get(key);
    if (!keyRecords) {
      // Without the utterances' texts: a commit message names counts, and every key's records stay in memory for its run.
      keyRecords = await readChangeRecords(s3, bucket, key, auth, warn, { members: false });
      records.set(key, keyRecords);
    }
    const where = `${key} version ${versionId}`;
    const { summary, lines } = summaryOf(bot, keyRecords, { versionId: version.versionId, sha256: archive.sha256 }, warn, where);
    const time = version.lastModified ?? archive.lastModified ?? new Date();
    const runId = archive.metadata[RUN_ID_METADATA] ? oneLine(archive.metadata[RUN_ID_METADATA]) || null : null;
    const trailers = [
      `${TRAILER.target}: ${oneLine(displayName(resource))}`,
      `${TRAILER.key}: ${key}`,
      `${TRAILER.version}: ${oneLine(versionId)}`,
      ...(runId ? [`${TRAILER.run}: ${runId}`] : []),
      `${TRAILER.sha256}: ${archive.sha256}`,
      ...(archive.authenticated ? [] : [`${TRAILER.authenticated}: no (its MAC is missing or wrong; mirrored with --accept-unverified)`]),
    ];
    const message = [summary, '', ...(lines.length ? [...lines, ''] : []), ...trailers, ''].join('\n');
    const made = await commitFolder(dir, folder, files, folders, message, time, where);
    const commit: Commit = { commit: made.commit, key, versionId, sha256: archive.sha256, runId, time: time.toISOString(), summary };
    commits.push(commit);
    const m = mirrored.get(key) ?? { versionIds: new Set<string>(), newestSeconds: 0 };
    m.versionIds.add(versionId);
    m.newestSha256 = archive.sha256;
    mirrored.set(key, m);
    if (!opts.json) {
      process.stdout.write(`${made.short} ${key} ${versionId} ${formatTime(time)} ${summary}${archive.authenticated ? '' : ' UNVERIFIED'}\n`);
    }
  }

  const bots = new Set(commits.map((x) => x.key)).size;
  if (opts.json) {
    printJson({ dir, commits, notMirrored, skipped, alreadyMirrored: already });
  } else {
    const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
    process.stdout.write(
      `mirrored ${plural(commits.length, 'version')} of ${plural(bots, 'bot')} into ${dir} (${already + skipped.length} skipped, ${notMirrored.length} not mirrored)\n`,
    );
  }
  return notMirrored.length ? 2 : 0;
}

/**
 * Replaces `folder`'s content with `files` and commits it, dated and signed
 * as BotVault. A failure on the way puts the work tree back (it was clean
 * before) and stops the mirror: it is DIR's problem, not the version's.
 */
async function commitFolder(
  dir: string,
  folder: string,
  files: ReadonlyMap<string, Buffer>,
  folders: ReadonlySet<string>,
  message: string,
  time: Date,
  where: string,
): Promise<{ commit: string; short: string }> {
  checkNoLinks(dir, folder);
  const nested = new Set([...folders].filter((f) => f.startsWith(`${folder}/`)));
  // git keeps whole seconds; the ISO form without milliseconds is one git parses on every version.
  const date = `${time.toISOString().slice(0, 19)}Z`;
  const env = {
    GIT_AUTHOR_NAME: IDENTITY.name,
    GIT_AUTHOR_EMAIL: IDENTITY.email,
    GIT_AUTHOR_DATE: date,
    GIT_COMMITTER_NAME: IDENTITY.name,
    GIT_COMMITTER_EMAIL: IDENTITY.email,
    GIT_COMMITTER_DATE: date,
  };
  try {
    await clearFolder(join(dir, folder), folder, nested);
    for (const [name, data] of files) {
      const path = join(dir, folder, name);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, data);
    }
    // -f: a .gitignore in the repository must not leave part of a version out; the folder is BotVault's.
    // Stages the folder as it now is on disk, deletions included; nested resources' folders, kept on disk, stay as they are.
    // A folder with nothing on disk and nothing tracked has nothing to stage (git add would fail on the pathspec).
    const tracked = (await runGit(dir, ['ls-files', '--', folder])).stdout.trim() !== '';
    if (files.size || tracked) await runGit(dir, ['add', '-A', '-f', '--', folder]);
    // --allow-empty: an archive whose files did not change (a re-export) is still a version, and gets its commit.
    await runGit(dir, ['commit', '-q', '--allow-empty', '--cleanup=verbatim', '-F', '-'], { input: message, env });
    const [commit, short] = (await runGit(dir, ['log', '-1', '--format=%H%x1f%h'])).stdout.trim().split(FIELD) as [string, string];
    return { commit, short };
  } catch (err) {
    const why = err instanceof GitError ? err.stderr.trim() || err.message : (err as Error).message;
    await putBack(dir, folder);
    throw new CliError(`cannot commit ${where} in ${dir}: ${why}; the work tree was put back as it was, and the mirror stopped`);
  }
}

/** Undoes a half-made commit: the index and the folder as HEAD has them (or as nothing, before the first commit). */
async function putBack(dir: string, folder: string): Promise<void> {
  try {
    const head = await runGit(dir, ['rev-parse', '--verify', '-q', 'HEAD'], { okCodes: [1] });
    if (head.code === 0) {
      await runGit(dir, ['reset', '-q', '--hard', 'HEAD']);
      await runGit(dir, ['clean', '-f', '-d', '-q', '--', folder]);
    } else {
      await runGit(dir, ['rm', '-r', '-q', '--cached', '--ignore-unmatch', '--', folder]);
      await rm(join(dir, folder), { recursive: true, force: true });
    }
  } catch {
    // The error that stopped the mirror is the one to report; `git status` shows what is left.
  }
}
