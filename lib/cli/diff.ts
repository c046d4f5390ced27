/**
 * `botvault diff TARGET [--from V1] [--to V2]`: what changed in a bot between
 * two stored versions (default: the previous one and the current one).
 *
 * Both versions are read from S3 and checked against their sha256, and their
 * zip entries (CRC-checked) are compared file by file: the definition files
 * of a Lex export (Bot.json, BotLocale.json, each intent's and slot type's
 * JSON) or a Kore.ai export (botDefinition.json with the dialogs, config.json,
 * …). Each changed file gets a unified diff of its pretty-printed JSON, so a
 * reordered or re-indented export shows only real changes. Zip bytes and
 * entry times are not compared: two exports of an unchanged bot differ there.
 */
import { createHash } from 'node:crypto';
import { createTwoFilesPatch } from 'diff';
import { canonicalJson } from '../core/archive/canonical-json';
import { checkVersion, readArchive, readEntries, type ArchiveBytes } from './archive';
import { authenticator } from './authentication';
import { type BotChange, formatChanges } from '../providers/changes';
import { changeSummary } from '../providers/change-summaries';
import { s3Client, cliHome } from './aws';
import { loadResources } from './list';
import { CliError, formatTime, printJson } from './output';
import { locate, type LocateOptions } from './resolve';
import { displayName, resolveResource } from './targets';
import { RUN_ID_METADATA } from '../core/names';

export interface DiffCommandOptions extends LocateOptions {
  readonly from?: string;
  readonly to?: string;
  readonly context: number;
  readonly json: boolean;
  /** Compare versions whose MAC is missing or wrong (the output says UNVERIFIED). */
  readonly acceptUnverified?: boolean;
  /** Print each changed file's unified diff after the summary. */
  readonly files?: boolean;
}

interface VersionRef {
  versionId: string | null;
  sha256: string;
  lastModified: string | null;
  runId: string | null;
  /** Its MAC verified with the stack's key (false only with --accept-unverified). */
  authenticated: boolean;
}

interface ArchiveDiff {
  target: string;
  key: string;
  from: VersionRef;
  to: VersionRef;
  added: string[];
  removed: string[];
  changed: { path: string; patch: string }[];
  unchanged: number;
  /** What changed in the bot's own terms (lib/providers/change-summaries.ts); null when the provider has no summary. */
  changes: BotChange[] | null;
}

/**
 * Pretty-printed JSON with sorted keys where the entry is JSON (Lex's key
 * order varies between exports: only real changes show), its text otherwise;
 * binary entries as a one-line summary.
 */
function normalizeEntry(path: string, data: Buffer): string {
  if (data.includes(0)) return `(binary, ${data.length} bytes, sha256 ${createHash('sha256').update(data).digest('hex')})\n`;
  const text = data.toString('utf8');
  if (/\.json$/i.test(path)) {
    try {
      return `${canonicalJson(JSON.parse(text), 2)}\n`;
    } catch {
      // not valid JSON: compare the text as it is
    }
  }
  return text.endsWith('\n') ? text : `${text}\n`;
}

/** The file-level comparison of two archives' entries (pure: the command feeds it what it read). */
function compareEntries(
  before: Map<string, Buffer>,
  after: Map<string, Buffer>,
  labels: { from: string; to: string },
  context = 3,
): Pick<ArchiveDiff, 'added' | 'removed' | 'changed' | 'unchanged'> {
  const added = [...after.keys()].filter((p) => !before.has(p)).sort();
  const removed = [...before.keys()].filter((p) => !after.has(p)).sort();
  const changed: ArchiveDiff['changed'] = [];
  let unchanged = 0;
  for (const path of [...before.keys()].filter((p) => after.has(p)).sort()) {
    const a = normalizeEntry(path, before.get(path)!);
    const b = normalizeEntry(path, after.get(path)!);
    if (a === b) {
      unchanged++;
      continue;
    }
    // The package starts each patch with a "=====" rule line; unified diff tools do not need it.
    const patch = createTwoFilesPatch(`a/${path}`, `b/${path}`, a, b, labels.from, labels.to, { context }).replace(/^=+\n/, '');
    changed.push({ path, patch });
  }
  return { added, removed, changed, unchanged };
}

const ref = (a: ArchiveBytes): VersionRef => ({
  versionId: a.versionId ?? null,
  sha256: a.sha256,
  lastModified: a.lastModified?.toISOString() ?? null,
  runId: a.metadata[RUN_ID_METADATA] ?? null,
  authenticated: a.authenticated,
});

export async function diffCommand(target: string, opts: DiffCommandOptions): Promise<number> {
  const { bucket, macKeyArn } = await locate(opts, { bucket: true, macKey: opts.acceptUnverified ? 'optional' : 'required' });
  const s3 = s3Client(opts);
  const auth = authenticator(macKeyArn, opts, (line) => process.stderr.write(`botvault: warning: ${line}\n`));
  let result: ArchiveDiff;
  try {
    const resource = resolveResource(target, await loadResources(s3, bucket!, undefined, await cliHome(opts)), bucket!);
    checkVersion(resource, opts.to, '--to');
    checkVersion(resource, opts.from, '--from');
    const ids = resource.versions.map((v) => v.versionId);
    if (ids.some((v) => v === undefined) && !(opts.from && opts.to)) {
      throw new CliError(
        `s3://${bucket} keeps no versions of ${resource.key} (bucket versioning is off): nothing to compare; turn versioning on, or pass --from and --to`,
      );
    }
    const toId = opts.to ?? ids[0]!;
    const toIndex = ids.indexOf(toId);
    const fromId = opts.from ?? ids[toIndex + 1];
    if (!fromId) {
      throw new CliError(
        `${displayName(resource)} has no version older than ${toId}${ids.length === 1 ? ' (it has one version so far)' : ''}: nothing to compare; see \`botvault list ${displayName(resource)}\``,
      );
    }
    if (fromId === toId) throw new CliError(`--from and --to name the same version ${toId}: nothing to compare`);
    const [from, to] = await Promise.all([readArchive(s3, bucket!, resource, fromId, auth), readArchive(s3, bucket!, resource, toId, auth)]);
    const [before, after] = (await Promise.all([readEntries(from, `version ${fromId}`, opts), readEntries(to, `version ${toId}`, opts)])).map(
      (r) => r.entries,
    ) as [Map<string, Buffer>, Map<string, Buffer>];
    result = {
      target: displayName(resource),
      key: resource.key,
      from: ref(from),
      to: ref(to),
      ...compareEntries(before, after, { from: `version ${fromId}`, to: `version ${toId}` }, opts.context),
      changes: changeSummary(resource.provider, before, after) ?? null,
    };
  } finally {
    s3.destroy();
    auth.close();
  }
  if (opts.json) {
    printJson(result);
    return 0;
  }
  const side = (r: VersionRef) =>
    `${r.versionId ?? 'current'} (${formatTime(r.lastModified ?? undefined)}${r.runId ? `, run ${r.runId}` : ''}${r.authenticated ? '' : ', UNVERIFIED'})`;
  const out: string[] = [`${result.target}: ${side(result.from)} → ${side(result.to)}`];
  if (result.changes) {
    if (result.changes.length === 0) out.push("no change to the bot's definition");
    for (const line of formatChanges(result.changes)) out.push(`  ${line}`);
    out.push('');
  }
  for (const p of result.added) out.push(`added    ${p}`);
  for (const p of result.removed) out.push(`removed  ${p}`);
  for (const c of result.changed) out.push(`changed  ${c.path}`);
  out.push(`${result.added.length} added, ${result.removed.length} removed, ${result.changed.length} changed, ${result.unchanged} unchanged`);
  if (opts.files) for (const c of result.changed) out.push('', ...c.patch.trimEnd().split('\n'));
  else if (result.changed.length) out.push('(--files shows the unified diff of each changed file)');
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}
