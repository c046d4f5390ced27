/**
 * Reading one stored archive version for `restore` and `diff`: the bytes,
 * checked against the sha256 BotVault stored with them, and the restore
 * sidecar (`<archive key>.restore.json`, lib/core/contracts.ts) that
 * belongs to that version.
 *
 * Bot archives are small (definitions, not data), so a version is held in
 * memory; a mismatch is a CliError and nothing of it is used.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { cachedSecretReader, passwordFromSecret } from '../core/secrets';
import { bufferByteSource } from '../core/archive/byte-source';
import type { ArchiveLimits } from '../core/archive/limits';
import { withZip, ZipArchiveError, ZipPasswordError, ZipUnsupportedError } from '../core/archive/zip';
import type { Authenticator } from './authentication';
import { aws, httpStatus, type AwsOptions } from './aws';
import type { Resource } from './list';
import { CliError, IntegrityError } from './output';
import { displayName, listSome } from './targets';
import type { KeyInfo } from '../providers/definition';
import { restoreInfoSchema, restoreInfoSha256, type RestoreInfo } from '../providers/definitions';
import { PASSWORD_SECRET_METADATA, RESTORE_INFO_SHA256_METADATA, restoreInfoKey, SHA256_METADATA } from '../core/names';

/** A restore sidecar is a few kilobytes of JSON; a larger object under its key is not one (and is not read into memory). */
const MAX_SIDECAR_BYTES = 1024 * 1024;
/** Archives larger than this are refused: a bot definition is kilobytes to a few megabytes. */
const MAX_ARCHIVE_BYTES = 512 * 1024 * 1024;

export interface ArchiveBytes {
  readonly key: string;
  /** The S3 version id (undefined on a server without versioning). */
  readonly versionId?: string;
  readonly data: Buffer;
  readonly sha256: string;
  /** True when the object carried sha256 metadata and the bytes matched it. */
  readonly verified: boolean;
  /** True when its MAC verified with the stack's key (false only with --accept-unverified). */
  readonly authenticated: boolean;
  readonly metadata: Record<string, string>;
  readonly lastModified?: Date;
}

/** The version ids `--version` may name: the resource's, newest first. */
export function checkVersion(resource: Resource, version: string | undefined, flag = '--version'): void {
  const known = resource.versions.map((v) => v.versionId).filter((v): v is string => Boolean(v));
  if (version && known.length && !known.includes(version)) {
    throw new CliError(`${displayName(resource)} has no version "${version}" (${flag}); versions (newest first): ${listSome(known)}`);
  }
}

/**
 * GetObject of one version, sha256-checked against its metadata and its MAC
 * verified (authentication.ts). A mismatch is a CliError.
 */
export async function readArchive(
  s3: S3Client,
  bucket: string,
  resource: Resource,
  versionId: string | undefined,
  auth: Authenticator,
): Promise<ArchiveBytes> {
  const res = await aws(`GetObject s3://${bucket}/${resource.key}`, async () => {
    try {
      return await s3.send(new GetObjectCommand({ Bucket: bucket, Key: resource.key, VersionId: versionId }));
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'NoSuchVersion' || name === 'InvalidArgument' || (versionId && httpStatus(err) === 404)) {
        throw new CliError(`${displayName(resource)} has no version "${versionId}": see \`botvault list ${displayName(resource)}\``);
      }
      if (name === 'NoSuchKey') throw new CliError(`${resource.key} was deleted meanwhile; see \`botvault list\``);
      throw err;
    }
  });
  if ((res.ContentLength ?? 0) > MAX_ARCHIVE_BYTES) {
    throw new CliError(
      `${resource.key} is ${res.ContentLength} bytes, more than the ${MAX_ARCHIVE_BYTES} a bot archive can plausibly be; not reading it`,
    );
  }
  let data: Buffer;
  try {
    data = Buffer.from(await res.Body!.transformToByteArray());
  } catch (err) {
    throw new CliError(`reading ${resource.key} was cut short (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); try again`);
  }
  if (res.ContentLength !== undefined && data.length !== res.ContentLength) {
    throw new CliError(`reading ${resource.key} was cut short: got ${data.length} of ${res.ContentLength} bytes; try again`);
  }
  const sha256 = createHash('sha256').update(data).digest('hex');
  const expected = res.Metadata?.[SHA256_METADATA]?.toLowerCase();
  if (expected && expected !== sha256) {
    throw new IntegrityError(
      `sha256 mismatch for ${resource.key}${res.VersionId ? ` version ${res.VersionId}` : ''}: the bytes hash to ${sha256} but BotVault stored ${expected}; ` +
        'the object was corrupted or changed outside BotVault. Nothing was used; pick another --version (see `botvault list`)',
    );
  }
  const version = res.VersionId && res.VersionId !== 'null' ? res.VersionId : versionId;
  if (!expected && !auth.acceptUnverified) {
    throw new IntegrityError(
      `${resource.key}${version ? ` version ${version}` : ''} has no sha256 metadata, so nothing vouches for its bytes (not stored by BotVault, or its metadata was lost). Nothing of it was used; --accept-unverified uses it anyway`,
    );
  }
  const authenticated = await auth.check(
    { kind: 'archive', key: resource.key, bytes: data.length, sha256, metadata: res.Metadata ?? {} },
    `${resource.key}${version ? ` version ${version}` : ''}`,
  );
  return {
    key: resource.key,
    versionId: version,
    data,
    sha256,
    verified: Boolean(expected),
    authenticated,
    metadata: res.Metadata ?? {},
    lastModified: res.LastModified,
  };
}

/**
 * The sidecar captured with this archive version: the newest sidecar version
 * whose `archive.versionId` (or, without versioning, `archive.sha256`) is
 * this one's. Undefined when there is none (older backups, or details that
 * could not be captured); an unreadable sidecar is ignored the same way,
 * with a warning, since restore can still go on from flags and the archive.
 */
/**
 * Why a sidecar may not be used with this archive version, or undefined when
 * it may. The sidecar is a separate object anyone who can write the bucket
 * can rewrite, so nothing in it is taken on trust: it must name the target
 * and the bot of the archive's own key (so it cannot point a restore at
 * another bot), and its details must hash to the `restore-info-sha256` the
 * archive version was stored with (so a role or setting changed in it since
 * is not used).
 */
export function sidecarProblem(info: RestoreInfo, archive: Pick<ArchiveBytes, 'metadata'>, resource: KeyInfo): string | undefined {
  if (info.provider !== resource.provider || (resource.id !== undefined && info.target !== resource.id)) {
    return `it is for ${info.target}, not for ${resource.id ?? resource.key}`;
  }
  const named = info.lex?.botId ?? info.koreai?.botId;
  if (resource.botId !== undefined && named !== resource.botId) {
    return `it names bot ${named ?? '(none)'}, and the archive is bot ${resource.botId}'s`;
  }
  const stored = archive.metadata[RESTORE_INFO_SHA256_METADATA];
  if (!stored) return `the archive version was stored without ${RESTORE_INFO_SHA256_METADATA} metadata, so nothing vouches for it`;
  if (restoreInfoSha256({ id: info.target, provider: info.provider }, info) !== stored) {
    return `its details are not the ones the archive version was stored with (${RESTORE_INFO_SHA256_METADATA} differs): it was changed since`;
  }
  return undefined;
}

/**
 * The sidecar captured with this archive version, when one exists and passes
 * sidecarProblem; one that does not is named in a warning and not used.
 */
export async function readRestoreInfo(
  s3: S3Client,
  bucket: string,
  archive: ArchiveBytes,
  resource: KeyInfo,
  warn: (line: string) => void,
  auth: Authenticator,
): Promise<RestoreInfo | undefined> {
  const key = restoreInfoKey(archive.key);
  const matches = (info: RestoreInfo) =>
    info.archive.key === archive.key &&
    (archive.versionId && info.archive.versionId ? info.archive.versionId === archive.versionId : info.archive.sha256 === archive.sha256);

  let candidates: (string | undefined)[] = [undefined];
  try {
    const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
    const versions = (page.Versions ?? []).filter((v) => v.Key === key);
    versions.sort((a, b) => Number(b.IsLatest) - Number(a.IsLatest) || (b.LastModified?.getTime() ?? 0) - (a.LastModified?.getTime() ?? 0));
    if (versions.length) candidates = versions.map((v) => (v.VersionId && v.VersionId !== 'null' ? v.VersionId : undefined));
    else if (page.Versions) return undefined;
  } catch {
    // No versioning API (s3rver): only the current sidecar can be read.
  }
  for (const versionId of candidates.slice(0, 50)) {
    let text: string;
    let metadata: Record<string, string>;
    try {
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
      if ((res.ContentLength ?? 0) > MAX_SIDECAR_BYTES) {
        (res.Body as { destroy?: () => void } | undefined)?.destroy?.(); // not read: closing the connection is cheaper
        warn(`ignoring ${key}${versionId ? ` version ${versionId}` : ''}: ${res.ContentLength} bytes, more than a restore sidecar can be`);
        continue;
      }
      text = await res.Body!.transformToString();
      metadata = res.Metadata ?? {};
    } catch (err) {
      if ((err as Error).name === 'NoSuchKey' || httpStatus(err) === 404) return undefined;
      throw awsOr(err, key);
    }
    let parsed: RestoreInfo;
    try {
      parsed = restoreInfoSchema.parse(JSON.parse(text));
    } catch {
      warn(`ignoring ${key}${versionId ? ` version ${versionId}` : ''}: not a restore sidecar BotVault can read`);
      continue;
    }
    if (!matches(parsed)) continue;
    const where = `${key}${versionId ? ` version ${versionId}` : ''}`;
    const problem = sidecarProblem(parsed, archive, resource);
    if (problem) {
      warn(`not using ${where}: ${problem}`);
      continue;
    }
    const body = Buffer.from(text, 'utf8');
    const sha256 = createHash('sha256').update(body).digest('hex');
    // KMS could not be asked: a CliError stops the restore, rather than going on without the sidecar as if it were forged.
    const verdict = await auth.verdict({ kind: 'sidecar', key, bytes: body.length, sha256, metadata }, where);
    if (verdict.status === 'authentic') return parsed;
    if (auth.acceptUnverified) {
      warn(`${where} is not authenticated (${verdict.reason}): using it UNVERIFIED (--accept-unverified)`);
      return parsed;
    }
    warn(`not using ${where}: it is not authenticated (${verdict.reason}); --accept-unverified would use it`);
  }
  return undefined;
}

function awsOr(err: unknown, key: string): Error {
  return err instanceof Error ? new CliError(`cannot read ${key}: ${err.name}: ${err.message}`) : new CliError(`cannot read ${key}`);
}

/** An archive version's entries, decrypted when it is password-protected. */
export interface ArchiveEntries {
  readonly entries: Map<string, Buffer>;
  /** The password that opened it (restore passes it on to the provider's import); undefined when not encrypted. */
  readonly password?: string;
  /** The secret the password came from (its `password-secret` metadata). */
  readonly passwordSecret?: string;
}

/**
 * Opens an archive version in memory: every entry inflated and checked
 * (CRC-32, size, AES authentication code). A password-protected export is
 * decrypted with the password of the secret named in its `password-secret`
 * metadata, read with the operator's own credentials; the password is never
 * printed. Failures are CliErrors naming what to do.
 */
export async function readEntries(archive: ArchiveBytes, what: string, opts: AwsOptions = {}, limits?: ArchiveLimits): Promise<ArchiveEntries> {
  const where = `${what} of ${archive.key}${archive.versionId ? ` (version ${archive.versionId})` : ''}`;
  const secretRef = archive.metadata[PASSWORD_SECRET_METADATA];
  const passwordSecret = secretRef ? decodeURIComponent(secretRef) : undefined;
  let password: string | undefined;
  if (passwordSecret) {
    const client = new SecretsManagerClient(opts.region ? { region: opts.region } : {});
    try {
      password = passwordFromSecret(await aws(`GetSecretValue ${passwordSecret}`, () => cachedSecretReader(client)(passwordSecret)));
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError(`${where} is password-protected and its password (secret ${passwordSecret}) cannot be read: ${(err as Error).message}`);
    } finally {
      client.destroy();
    }
  }
  try {
    const open = { ...(password !== undefined ? { password } : {}), ...(limits ? { limits } : {}) };
    const entries = await withZip(bufferByteSource(archive.data), open, (zip) => zip.readAll());
    return { entries, ...(password !== undefined ? { password, passwordSecret } : {}) };
  } catch (err) {
    if (err instanceof ZipPasswordError) {
      throw new IntegrityError(
        passwordSecret
          ? `${where} does not decrypt with the password in secret ${passwordSecret} (was the secret changed after this backup?): ${err.message}`
          : `${where} is password-protected but records no password secret (password-secret metadata): unpack it with its password and import it by hand`,
      );
    }
    if (err instanceof ZipArchiveError || err instanceof ZipUnsupportedError) throw new IntegrityError(`${where} is not a sound zip: ${err.message}`);
    throw err;
  }
}
