/**
 * `botvault restore TARGET [--version ID] [--to-bot NAME|ID] [--merge S] [--dry-run]`:
 * puts a stored archive version back into the provider (its restore in
 * lib/providers/<name>/restore.ts).
 *
 * Every restore first reads the version from S3 and checks it against its
 * sha256 and its MAC (lib/cli/authentication.ts), opens every zip entry (CRC-checked), finds the target bot and
 * completes the parameters a new bot needs (flags, then the restore sidecar
 * captured at backup time, then the archive itself). Only then does it
 * change anything — and with `--dry-run` it stops there (a Lex dry run asks
 * for an upload URL, which changes no bot, to check it as the restore would).
 *
 * Exit codes: 0 restored (or a dry run that found nothing wrong), 1 the
 * provider reported the import as failed (its reasons are printed), 2 it
 * could not start (one line saying why). A dry run runs the very plan a
 * restore runs (lib/providers/restore.ts) and exits as the restore would:
 * 2 for what the restore refuses, 1 for an import the provider is known to
 * refuse (Lex FailOnConflict into a bot or locale that exists).
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { archiveLimitsFromConfig } from '../core/archive/limits';
import { BotVaultError } from '../core/errors';
import { cachedSecretReader } from '../core/secrets';
import { type RestoreOutcome, type RestorePlan, RestoreRefusedError, type RestoreRequest, restoreFor } from '../providers/restore';
import { checkVersion, readArchive, readEntries, readRestoreInfo } from './archive';
import { authenticator } from './authentication';
import { aws, s3Client, cliHome } from './aws';
import { loadResources } from './list';
import { CliError, printJson } from './output';
import { type LocateOptions, locate, readConfig } from './resolve';
import { displayName, resolveResource } from './targets';

export interface RestoreCommandOptions extends LocateOptions, Omit<RestoreRequest, 'region'> {
  /** Plan and check everything a restore checks, start nothing. */
  readonly dryRun: boolean;
  /** S3 version id (default: the current version). */
  readonly version?: string;
  /** Restore a version that carries no sha256 metadata or no valid MAC (nothing vouches for its bytes). */
  readonly acceptUnverified?: boolean;
  readonly json: boolean;
}

/** What a restore did (or, in a dry run, would do); `--json` prints exactly this. */
interface RestoreReport extends RestoreOutcome {
  target: string;
  provider: string;
  key: string;
  versionId: string | null;
  sha256: string;
  verified: boolean;
  /** Its MAC verified with the stack's key (false only with --accept-unverified). */
  authenticated: boolean;
  entries: number;
  dryRun: boolean;
}

export async function restoreCommand(target: string, opts: RestoreCommandOptions): Promise<number> {
  const config = readConfig(opts.config);
  const { bucket, macKeyArn } = await locate(opts, { bucket: true, macKey: opts.acceptUnverified ? 'optional' : 'required' }, config);
  const s3 = s3Client(opts);
  const warn = (line: string) => process.stderr.write(`botvault: warning: ${line}\n`);
  const auth = authenticator(macKeyArn, opts, warn);
  let report: RestoreReport;
  try {
    const resource = resolveResource(target, await loadResources(s3, bucket!, undefined, await cliHome(opts)), bucket!);
    checkVersion(resource, opts.version);
    const archive = await readArchive(s3, bucket!, resource, opts.version, auth);
    if (!archive.verified) warn(`${resource.key} has no sha256 metadata: restoring it UNVERIFIED (--accept-unverified)`);
    const limits = config ? archiveLimitsFromConfig(config.archiveLimits) : undefined;
    const { entries, password } = await readEntries(archive, 'the archive', opts, limits);
    const info = await readRestoreInfo(s3, bucket!, archive, resource, warn, auth);
    const restore = restoreFor(resource.provider);
    if (!restore) throw new CliError(`${displayName(resource)}: restoring ${resource.provider} archives is not supported`);
    const sm = new SecretsManagerClient(opts.region ? { region: opts.region } : {});
    const sts = new STSClient(opts.region ? { region: opts.region } : {});
    let account: Promise<string> | undefined;
    const callerAccount = () =>
      (account ??= aws('STS GetCallerIdentity', () => sts.send(new GetCallerIdentityCommand({}))).then((id) => {
        if (!id.Account) throw new CliError('STS GetCallerIdentity named no account');
        return id.Account;
      }));
    let outcome: RestoreOutcome;
    let plan: RestorePlan | undefined;
    try {
      // The same plan for a dry run and a real restore: every check runs in both; only a real one starts it.
      plan = await restore(
        { resource, data: archive.data, entries, ...(password !== undefined ? { password } : {}), ...(info ? { info } : {}) },
        opts,
        { targets: config?.targets ?? [], allowedOrigins: config?.downloadAllowlist ?? [], secrets: cachedSecretReader(sm), aws, callerAccount },
      );
      const { start: _start, close: _close, conflicts, ...planned } = plan;
      outcome = opts.dryRun ? { ...planned, importId: null, status: 'DRY_RUN', failureReasons: conflicts } : await plan.start();
    } catch (err) {
      // The provider refused, or its API did: one line, exit 2 (nothing was changed, or the import never started).
      if (err instanceof RestoreRefusedError || err instanceof BotVaultError) throw new CliError(err.message.replace(/\.$/, ''));
      throw err;
    } finally {
      plan?.close();
      sm.destroy();
      sts.destroy();
    }
    report = {
      target: displayName(resource),
      provider: resource.provider,
      key: resource.key,
      versionId: archive.versionId ?? null,
      sha256: archive.sha256,
      verified: archive.verified,
      authenticated: archive.authenticated,
      entries: entries.size,
      dryRun: opts.dryRun,
      ...outcome,
    };
  } finally {
    s3.destroy();
    auth.close();
  }
  if (opts.json) printJson(report);
  else for (const line of describe(report)) process.stdout.write(`${line}\n`);
  // A dry run exits as the restore would: 1 when the provider is known to refuse the import.
  return report.status === 'COMPLETED' || (report.status === 'DRY_RUN' && report.failureReasons.length === 0) ? 0 : 1;
}

function describe(r: RestoreReport): string[] {
  const version = `${r.target} version ${r.versionId ?? 'current'} (sha256 ${r.sha256}${r.verified && r.authenticated ? ' verified, MAC authentic' : ' UNVERIFIED'}, ${r.entries} entries)`;
  const dest = `${r.destination.existing ? 'existing' : 'new'} bot ${r.destination.botName ?? '?'}${r.destination.botId ? ` (${r.destination.botId})` : ''}`;
  const merge = r.mergeStrategy ? `, merge ${r.mergeStrategy}` : '';
  const lines: string[] = [];
  if (r.status === 'DRY_RUN') {
    const refused = r.failureReasons.length > 0;
    lines.push(`dry run: ${version} ${refused ? 'cannot be restored' : 'can be restored'} into ${dest}${merge}`);
    for (const [what, from] of Object.entries(r.sources)) lines.push(`  ${what}: ${from}`);
    for (const note of r.notes) lines.push(`  note: ${note}`);
    for (const reason of r.failureReasons) lines.push(`  the import would fail: ${reason}`);
    lines.push('nothing was changed');
    return lines;
  }
  lines.push(`restoring ${version} into ${dest}${merge}`);
  for (const note of r.notes) lines.push(`  note: ${note}`);
  if (r.status === 'COMPLETED')
    lines.push(
      `import ${r.importId}: COMPLETED; bot ${r.destination.botName ?? ''}${r.destination.botId ? ` (${r.destination.botId})` : ''} holds the archive's definition`,
    );
  else if (r.status === 'TIMED_OUT') lines.push(`import ${r.importId}: still running after the --timeout; it goes on at the provider`);
  else lines.push(`import ${r.importId ?? '-'}: FAILED: ${r.failureReasons.join('; ') || 'no reason given'}`);
  return lines;
}
