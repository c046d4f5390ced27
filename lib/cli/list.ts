/**
 * `botvault list [TARGET]`: the backed-up resources and their versions. Each
 * resource has one stable key (README "S3 layout"), so its S3 object versions
 * are its history: date, size, sha256 (object metadata) and version id, which
 * `botvault get --version` takes.
 */
import { HeadObjectCommand, ListObjectVersionsCommand, paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { aws, cliHome, httpStatus, s3Client } from './aws';
import type { Home } from '../core/accounts';
import { CliError, formatBytes, formatTable, formatTime, onTerminal, printJson, printLines, shortHash } from './output';
import { locate, type LocateOptions } from './resolve';
import { displayName, matchResources, noSuchResource } from './targets';
import type { KeyInfo } from '../providers/definition';
import { ARCHIVE_PREFIXES, keyInfo } from '../providers/definitions';
import { RUN_ID_METADATA } from '../core/names';

export interface ListCommandOptions extends LocateOptions {
  readonly json: boolean;
}

interface ArchiveVersion {
  readonly key: string;
  /** Undefined when the bucket (or the S3-compatible server) has no versioning. */
  readonly versionId?: string;
  readonly isLatest: boolean;
  readonly lastModified?: Date;
  readonly size?: number;
}

export interface Resource extends KeyInfo {
  /** The legacy key that holds this resource's versions from before account ids, when it has any. */
  readonly earlierKey?: string;
  /** Newest first. */
  readonly versions: ArchiveVersion[];
}

/** Top-level prefixes that hold archives: one per provider (`lex/`, ...), never `runs/` or `ticks/`. */
const archivePrefixes = () => ARCHIVE_PREFIXES;

const noBucket = (bucket: string) => new CliError(`bucket ${bucket} does not exist: check --bucket or the stack's ArchiveBucketName output`);

/**
 * Every archive version under the provider prefixes. Falls back to the
 * current objects when the server has no versioning API (s3rver answers
 * ListObjectVersions with NotImplemented), so the command still works there.
 */
async function listArchiveVersions(s3: S3Client, bucket: string): Promise<ArchiveVersion[]> {
  const versions: ArchiveVersion[] = [];
  for (const prefix of archivePrefixes()) {
    // The SDK has no paginator for ListObjectVersions (two markers): paged by hand.
    let keyMarker: string | undefined;
    let versionIdMarker: string | undefined;
    try {
      do {
        const page = await aws(`ListObjectVersions s3://${bucket}/${prefix}`, () =>
          s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionIdMarker })),
        );
        for (const v of page.Versions ?? []) {
          if (!v.Key?.endsWith('.zip')) continue;
          // "null" is S3's version id of an object stored while versioning was off.
          versions.push({
            key: v.Key,
            versionId: v.VersionId && v.VersionId !== 'null' ? v.VersionId : undefined,
            isLatest: v.IsLatest ?? false,
            lastModified: v.LastModified,
            size: v.Size,
          });
        }
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        versionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
      } while (keyMarker);
    } catch (err) {
      if ((err as Error).name === 'NoSuchBucket') throw noBucket(bucket);
      if (err instanceof CliError || !isUnsupported(err)) throw err;
      versions.push(...(await listCurrent(s3, bucket, prefix)));
    }
  }
  return versions;
}

function isUnsupported(err: unknown): boolean {
  const name = (err as Error).name;
  return name === 'NotImplemented' || name === 'MethodNotAllowed' || httpStatus(err) === 501 || httpStatus(err) === 405;
}

async function listCurrent(s3: S3Client, bucket: string, prefix: string): Promise<ArchiveVersion[]> {
  const out: ArchiveVersion[] = [];
  await aws(`ListObjectsV2 s3://${bucket}/${prefix}`, async () => {
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix }))
      for (const o of page.Contents ?? [])
        if (o.Key?.endsWith('.zip')) out.push({ key: o.Key, isLatest: true, lastModified: o.LastModified, size: o.Size });
  });
  return out;
}

/**
 * Versions grouped by key, resources sorted by key, each resource's versions newest first.
 *
 * A legacy key (Lex `lex/<region>/…`, before account ids) holds the history of the home bot whose
 * archives now go to `lex/<account>/<region>/…`. An unchanged bot keeps its current version there
 * (StoreArchive compares with it and writes nothing), so a legacy key alone carries the resource's job
 * id; once the new key has versions, the new key carries the id and the legacy key is named by its key
 * (`earlierKey` points there from the new one: `botvault history` says so).
 */
function groupResources(versions: readonly ArchiveVersion[], home?: Home): Resource[] {
  const byKey = new Map<string, ArchiveVersion[]>();
  for (const v of versions) byKey.set(v.key, [...(byKey.get(v.key) ?? []), v]);
  const keys = [...byKey.keys()].sort((a, b) => a.localeCompare(b));
  const where = home?.account ? home : { ...home, ...inferHomeAccount(keys) };
  const resources: Resource[] = keys.map((key) => ({
    ...keyInfo(key, where.region ? (where as Home) : undefined),
    versions: [...byKey.get(key)!].sort(
      (a, b) => Number(b.isLatest) - Number(a.isLatest) || (b.lastModified?.getTime() ?? 0) - (a.lastModified?.getTime() ?? 0),
    ),
  }));
  const successors = new Map(resources.filter((r) => !r.legacy && r.id).map((r) => [r.id!, r]));
  return resources.map((r) => {
    const successor = r.legacy && r.id ? successors.get(r.id) : undefined;
    if (!successor) return r;
    (successor as { earlierKey?: string }).earlierKey = r.key;
    // Its id stays (the mirror keeps a folder only for resources of a known id): supersededBy marks it.
    return { ...r, supersededBy: successor.key };
  });
}

/**
 * The home account when the CLI could not learn it (no BOTVAULT_ACCOUNT_ID, STS unreachable): only the home
 * account ever had legacy `lex/<region>/<path>` keys, so the one account whose `lex/<account>/<region>/<path>`
 * twins them is home. None or several: unknown, and every new key's id carries its account.
 */
function inferHomeAccount(keys: readonly string[]): { account?: string } {
  const present = new Set(keys);
  const candidates = new Set<string>();
  for (const key of keys) {
    const m = /^lex\/(\d{12})\/([^/]+)\/(.+)$/.exec(key);
    if (m && present.has(`lex/${m[2]}/${m[3]}`)) candidates.add(m[1]!);
  }
  return candidates.size === 1 ? { account: [...candidates][0]! } : {};
}

/** The bucket's resources, narrowed to `target` when given (unknown target: CliError listing the known ones). */
export async function loadResources(s3: S3Client, bucket: string, target?: string, home?: Home): Promise<Resource[]> {
  const resources = groupResources(await listArchiveVersions(s3, bucket), home);
  if (target === undefined) return resources;
  const matched = matchResources(target, resources);
  if (matched.length === 0) throw noSuchResource(target, resources, bucket);
  return matched;
}

/** Runs `fn` over `items`, at most `limit` at a time, keeping order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

export async function listCommand(target: string | undefined, opts: ListCommandOptions): Promise<number> {
  const { bucket } = await locate(opts, { bucket: true });
  const s3 = s3Client(opts);
  try {
    const resources = await loadResources(s3, bucket!, target, await cliHome(opts));
    // sha256 and run id are object metadata: one HeadObject per version, a few at a time.
    const flat = resources.flatMap((r) => r.versions.map((v) => ({ r, v })));
    const heads = await mapLimit(flat, 8, async ({ v }) => {
      const head = await aws(`HeadObject s3://${bucket}/${v.key}`, () =>
        s3.send(new HeadObjectCommand({ Bucket: bucket, Key: v.key, VersionId: v.versionId })),
      );
      return head.Metadata ?? {};
    });
    const rows = flat.map(({ r, v }, i) => ({
      target: displayName(r),
      key: v.key,
      versionId: v.versionId ?? null,
      current: v.isLatest,
      lastModified: v.lastModified?.toISOString() ?? null,
      bytes: v.size ?? null,
      sha256: heads[i]!.sha256 ?? null,
      runId: heads[i]![RUN_ID_METADATA] ?? null,
    }));
    if (opts.json) {
      printJson(rows);
      return 0;
    }
    if (rows.length === 0) {
      process.stdout.write(`no archives in s3://${bucket} yet: start a backup with \`botvault run --wait\`\n`);
      return 0;
    }
    const version = (r: (typeof rows)[number]) => `${r.versionId ?? '-'}${r.current ? ' (current)' : ''}`;
    let lines: string[];
    if (onTerminal()) {
      // 120 columns with a Kore.ai target and a 32-character S3 version id: each target on a line of its own above
      // its versions, a short hash, no run (`botvault history` has it).
      const table = formatTable(
        ['TARGET / DATE', 'SIZE', 'SHA256', 'VERSION'],
        rows.map((r) => [
          `  ${formatTime(r.lastModified ?? undefined)}`,
          formatBytes(r.bytes ?? undefined),
          shortHash(r.sha256 ?? undefined),
          version(r),
        ]),
        [1],
      );
      lines = [table[0]!, ...table.slice(1).flatMap((line, i) => (rows[i]!.key !== rows[i - 1]?.key ? [rows[i]!.target, line] : [line]))];
    } else {
      lines = formatTable(
        ['TARGET', 'DATE', 'SIZE', 'SHA256', 'VERSION', 'RUN'],
        rows.map((r) => [
          r.target,
          formatTime(r.lastModified ?? undefined),
          formatBytes(r.bytes ?? undefined),
          r.sha256 ?? '-',
          version(r),
          r.runId ?? '-',
        ]),
        [2],
      );
    }
    printLines([
      ...lines,
      `${resources.length} resource${resources.length === 1 ? '' : 's'}, ${rows.length} version${rows.length === 1 ? '' : 's'} in s3://${bucket}`,
    ]);
    return 0;
  } finally {
    s3.destroy();
  }
}
