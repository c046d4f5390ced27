/**
 * `botvault get TARGET [--version ID] [-o FILE]`: downloads one archive
 * version and checks it against the sha256 BotVault stored with it and its
 * MAC (lib/cli/authentication.ts).
 *
 * The bytes stream to `<file>.partial` through a hash; only when the digest
 * matches the object's `sha256` metadata and the MAC verifies is the file
 * renamed into place. A
 * mismatch (a corrupt object, or one changed outside BotVault) leaves no
 * file behind: an operator restoring a bot must never pick up bad bytes.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { authenticator } from './authentication';
import { aws, httpStatus, s3Client, cliHome } from './aws';
import { loadResources } from './list';
import { CliError, formatBytes, printJson } from './output';
import { locate, type LocateOptions } from './resolve';
import { defaultFileName, displayName, listSome, resolveResource } from './targets';
import { SHA256_METADATA } from '../core/names';

export interface GetCommandOptions extends LocateOptions {
  readonly version?: string;
  readonly output?: string;
  /** Overwrite the file when it exists. */
  readonly force?: boolean;
  readonly json: boolean;
  /** Keep a version with no sha256 metadata or no valid MAC (the output says UNVERIFIED). */
  readonly acceptUnverified?: boolean;
}

export async function getCommand(target: string, opts: GetCommandOptions): Promise<number> {
  const { bucket, macKeyArn } = await locate(opts, { bucket: true, macKey: opts.acceptUnverified ? 'optional' : 'required' });
  const s3 = s3Client(opts);
  const warn = (line: string) => process.stderr.write(`botvault: warning: ${line}\n`);
  const auth = authenticator(macKeyArn, opts, warn);
  try {
    const resource = resolveResource(target, await loadResources(s3, bucket!, undefined, await cliHome(opts)), bucket!);
    const known = resource.versions.map((v) => v.versionId).filter((v): v is string => Boolean(v));
    if (opts.version && known.length && !known.includes(opts.version)) {
      throw new CliError(`${displayName(resource)} has no version "${opts.version}"; versions (newest first): ${listSome(known)}`);
    }
    const file = resolve(opts.output ?? defaultFileName(resource, opts.version));
    // `<id>-current.zip` names a different version after every backup: an earlier download is not overwritten silently.
    if (!opts.force && existsSync(file)) {
      throw new CliError(`${file} exists: pass --force to overwrite it, or -o to name another file; nothing was downloaded`);
    }
    const partial = `${file}.partial`;

    const res = await aws(`GetObject s3://${bucket}/${resource.key}`, async () => {
      try {
        return await s3.send(new GetObjectCommand({ Bucket: bucket, Key: resource.key, VersionId: opts.version }));
      } catch (err) {
        const name = (err as Error).name;
        if (name === 'NoSuchVersion' || name === 'InvalidArgument' || (opts.version && httpStatus(err) === 404)) {
          throw new CliError(`${displayName(resource)} has no version "${opts.version}": see \`botvault list ${displayName(resource)}\``);
        }
        if (name === 'NoSuchKey') throw new CliError(`${resource.key} was deleted while fetching it; see \`botvault list\``);
        throw err;
      }
    });
    const expected = res.Metadata?.[SHA256_METADATA]?.toLowerCase();

    const hash = createHash('sha256');
    let bytes = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        bytes += chunk.length;
        done(null, chunk);
      },
    });
    let sha256: string;
    let authenticated: boolean;
    try {
      await pipeline(res.Body as Readable, tap, createWriteStream(partial));
      sha256 = hash.digest('hex');
      if (res.ContentLength !== undefined && bytes !== res.ContentLength) {
        throw new CliError(`download of ${resource.key} was cut short: got ${bytes} of ${res.ContentLength} bytes; nothing written, try again`);
      }
      if (expected && sha256 !== expected) {
        throw new CliError(
          `sha256 mismatch for ${resource.key}${res.VersionId ? ` version ${res.VersionId}` : ''}: the bytes hash to ${sha256} but BotVault stored ${expected}; ` +
            'the object was corrupted or changed outside BotVault. Nothing written; fetch an older --version (see `botvault list`)',
        );
      }
      if (!expected && !opts.acceptUnverified) {
        throw new CliError(
          `${resource.key} has no sha256 metadata, so nothing vouches for its bytes (not stored by BotVault, or its metadata was lost). Nothing written; --accept-unverified keeps it anyway`,
        );
      }
      const version = res.VersionId && res.VersionId !== 'null' ? res.VersionId : opts.version;
      authenticated = await auth.check(
        { kind: 'archive', key: resource.key, bytes, sha256, metadata: res.Metadata ?? {} },
        `${resource.key}${version ? ` version ${version}` : ''}`,
      );
      await rename(partial, file);
    } catch (err) {
      await rm(partial, { force: true });
      if (err instanceof CliError) throw err;
      // A connection cut mid-body, a full disk, a directory that does not exist: say what and that nothing was kept.
      const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new CliError(`could not save ${resource.key} to ${file}: ${reason}; nothing written`);
    }

    const result = {
      path: file,
      key: resource.key,
      target: displayName(resource),
      versionId: res.VersionId ?? null,
      bytes,
      sha256,
      verified: Boolean(expected),
      authenticated,
    };
    // Not written by BotVault (or metadata lost in a copy), kept with --accept-unverified: say so.
    if (!expected) warn(`${resource.key} has no sha256 metadata: kept UNVERIFIED (--accept-unverified)`);
    if (opts.json) printJson(result);
    else
      process.stdout.write(
        `${file}  ${formatBytes(bytes)} (${bytes} bytes)  sha256 ${sha256}${expected && authenticated ? ' (verified, MAC authentic)' : ' (UNVERIFIED)'}\n`,
      );
    return 0;
  } finally {
    s3.destroy();
    auth.close();
  }
}
