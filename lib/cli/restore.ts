/**
 * `botvault restore TARGET [--version ID] [--to-bot NAME|ID] [--merge S] [--dry-run]
 *   [--to-account ID|NAME] [--to-region REGION] [--role-to-assume ARN] [--external-id ID] [--map-arn FROM=TO ...]`:
 * puts a stored archive version back into the provider (its restore in
 * lib/providers/<name>/restore.ts).
 *
 * Into another account or region (Lex): `--to-account` names an entry of the
 * config's `accounts` (by id or name; `home` is the caller's own account),
 * `--to-region` the region (default: the archive's). In a member account the
 * CLI assumes the restore role with STS AssumeRole (the SDK's
 * fromTemporaryCredentials): `--role-to-assume`, by default the member
 * template's restore role `arn:<partition>:iam::<account>:role/BotVaultRestore`
 * (lib/constructs/member-account-role.ts, restoreRoleName), with the entry's
 * `externalId` (or `--external-id`), and checks with GetCallerIdentity that
 * the session is in that account. Every ARN of the archive and its sidecar
 * naming the source account or region is rewritten (lib/providers/lex/arn-rewrite.ts);
 * the dry run shows the rewrites, and an ARN of a third account stops the
 * restore (exit 2) unless `--map-arn` maps it.
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
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { BotVaultConfig } from '../config/config';
import { accountNamed, accountRefProblem, HOME_ACCOUNT, REGION, roleAccount } from '../core/accounts';
import { archiveLimitsFromConfig } from '../core/archive/limits';
import { BotVaultError } from '../core/errors';
import { cachedSecretReader } from '../core/secrets';
import { type ArnMapping, ArnMappingError, parseArnMapping } from '../providers/lex/arn-rewrite';
import type { KeyInfo } from '../providers/definition';
import {
  type RestoreDestination,
  type RestoreOutcome,
  type RestorePlan,
  RestoreRefusedError,
  type RestoreRequest,
  restoreFor,
} from '../providers/restore';
import { checkVersion, readArchive, readEntries, readRestoreInfo } from './archive';
import { authenticator } from './authentication';
import { aws, s3Client, cliHome } from './aws';
import { loadResources } from './list';
import { CliError, onTerminal, printJson, shortHash, TTY_COLUMNS } from './output';
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
  /** Lex: restore into this account (`home`, or an id or name of the config's `accounts`), its ARNs rewritten. */
  readonly toAccount?: string;
  /** Lex: restore into this region (default with --to-account: the archive's), its ARNs rewritten. */
  readonly toRegion?: string;
  /** The role to assume in --to-account (default: the account's BotVaultRestore role). */
  readonly roleToAssume?: string;
  /** The external ID for that role (default: the `accounts` entry's externalId). */
  readonly externalId?: string;
  /** `FROM=TO` (or `FROM*=TO*`) ARN mappings, for ARNs the rewrite cannot map itself. */
  readonly mapArn?: readonly string[];
}

/** The member template's restore role (lib/constructs/member-account-role.ts: restoreRoleName default, no path). */
const RESTORE_ROLE_NAME = 'BotVaultRestore';
/** The session name the destination's CloudTrail shows for a restore. */
const RESTORE_SESSION = 'botvault-restore';

/** The flags of a restore into another account or region, checked before anything is read. */
interface CrossAccountFlags {
  readonly mappings: readonly ArnMapping[];
}

function crossAccountFlags(opts: RestoreCommandOptions): CrossAccountFlags | undefined {
  const elsewhere = opts.toAccount !== undefined || opts.toRegion !== undefined;
  if (!elsewhere) {
    const stray = [
      opts.roleToAssume !== undefined && '--role-to-assume',
      opts.externalId !== undefined && '--external-id',
      opts.mapArn?.length && '--map-arn',
    ].filter(Boolean);
    if (stray.length) throw new CliError(`${stray.join(', ')} go${stray.length === 1 ? 'es' : ''} with --to-account or --to-region`);
    return undefined;
  }
  if (opts.toRegion !== undefined && !REGION.test(opts.toRegion))
    throw new CliError(`--to-region ${opts.toRegion}: not an AWS region (such as us-east-1 or eu-west-1)`);
  if (opts.roleToAssume !== undefined && !roleAccount(opts.roleToAssume))
    throw new CliError(`--role-to-assume ${opts.roleToAssume}: not an IAM role ARN (arn:aws:iam::111122223333:role/BotVaultRestore)`);
  try {
    return { mappings: (opts.mapArn ?? []).map(parseArnMapping) };
  } catch (err) {
    if (err instanceof ArnMappingError) throw new CliError(err.message);
    throw err;
  }
}

/** The member template's restore role in the account of `backupRoleArn` (same partition and account, role BotVaultRestore). */
function defaultRestoreRole(backupRoleArn: string): string {
  const [, partition, account] = /^arn:([^:]+):iam::(\d{12}):role\//.exec(backupRoleArn) ?? [];
  return `arn:${partition}:iam::${account}:role/${RESTORE_ROLE_NAME}`;
}

/**
 * Where a restore into another account or region goes: the account (an `accounts` entry, or the
 * caller's own for `home`), the region, and, in a member account, credentials of the restore role
 * there. The role is assumed here, once (the credentials refresh before they expire), and the session
 * is checked to be in the account: a dry run proves the role as the restore would use it.
 */
async function resolveDestination(
  opts: RestoreCommandOptions,
  flags: CrossAccountFlags,
  config: BotVaultConfig | undefined,
  resource: KeyInfo,
  callerAccount: () => Promise<string>,
  cliRegion: () => Promise<string>,
): Promise<RestoreDestination> {
  const region = opts.toRegion ?? resource.region ?? (await cliRegion());
  const ref = opts.toAccount ?? HOME_ACCOUNT;
  const accounts = config?.accounts ?? [];
  const entry = accountNamed(ref, accounts);
  const base = { region, mappings: flags.mappings };
  let account: string;
  let roleArn: string | undefined;
  let externalId = opts.externalId;
  if (entry) {
    account = entry.id;
    roleArn = opts.roleToAssume ?? defaultRestoreRole(entry.roleArn);
    externalId ??= entry.externalId;
  } else {
    account = await callerAccount();
    if (ref !== HOME_ACCOUNT && ref !== account) {
      throw new CliError(
        `--to-account ${accountRefProblem(ref, accounts) ?? `${ref}: not an entry of the config's accounts`}${config ? '' : ' (no config file: pass --config)'}`,
      );
    }
    roleArn = opts.roleToAssume;
  }
  if (!roleArn) return { account, ...base };
  if (roleAccount(roleArn) !== account) throw new CliError(`--role-to-assume ${roleArn} is not a role of account ${account}`);
  const stsRegion = await cliRegion();
  const assumed = fromTemporaryCredentials({
    params: { RoleArn: roleArn, RoleSessionName: RESTORE_SESSION, DurationSeconds: 3600, ...(externalId ? { ExternalId: externalId } : {}) },
    clientConfig: { region: stsRegion },
  });
  // One session for every client of the restore: the same credentials until 5 minutes before they expire.
  let session: ReturnType<typeof assumed> | undefined;
  const credentials = async () => {
    const current = session && (await session.catch(() => undefined));
    if (!current || (current.expiration && current.expiration.getTime() - Date.now() < 300_000)) session = assumed();
    return session!;
  };
  const sts = new STSClient({ region: stsRegion, credentials });
  try {
    const id = await aws(`STS AssumeRole ${roleArn}${externalId ? ` (external ID ${externalId})` : ''}`, () =>
      sts.send(new GetCallerIdentityCommand({})),
    );
    if (id.Account !== account) throw new CliError(`the session of ${roleArn} is in account ${id.Account ?? '(none)'}, not ${account}`);
  } finally {
    sts.destroy();
  }
  return { account, ...base, roleArn, credentials };
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
  const flags = crossAccountFlags(opts);
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
    if (flags && resource.provider !== 'lex')
      throw new CliError(`${displayName(resource)}: --to-account and --to-region are for Lex archives (a Kore.ai bot restores to its target's host)`);
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
      const destination = flags ? await resolveDestination(opts, flags, config, resource, callerAccount, () => sts.config.region()) : undefined;
      // The same plan for a dry run and a real restore: every check runs in both; only a real one starts it.
      plan = await restore(
        { resource, data: archive.data, entries, ...(password !== undefined ? { password } : {}), ...(info ? { info } : {}) },
        opts,
        {
          targets: config?.targets ?? [],
          allowedOrigins: config?.downloadAllowlist ?? [],
          secrets: cachedSecretReader(sm),
          aws,
          // Into another account: a new bot's role is checked against the destination's account.
          callerAccount: destination ? async () => destination.account : callerAccount,
          ...(destination ? { destination } : {}),
        },
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
  else {
    // On a terminal: a short hash, and every line wrapped (never cut: an ARN is the point) to TTY_COLUMNS.
    const terminal = onTerminal();
    for (const line of describe(report, terminal)) for (const part of terminal ? wrapLine(line) : [line]) process.stdout.write(`${part}\n`);
  }
  // A dry run exits as the restore would: 1 when the provider is known to refuse the import.
  return report.status === 'COMPLETED' || (report.status === 'DRY_RUN' && report.failureReasons.length === 0) ? 0 : 1;
}

/**
 * `line` as lines of at most `width` columns: broken after a space, `.`, `/`, `:` or `,` where one
 * is near the end, the rest indented under the line's own indent. Nothing is cut.
 */
function wrapLine(line: string, width = TTY_COLUMNS): string[] {
  if (line.length <= width) return [line];
  const indent = ' '.repeat(Math.min((/^ */.exec(line)?.[0].length ?? 0) + 4, width / 2));
  const out: string[] = [];
  let rest = line;
  while (rest.length > width) {
    const head = rest.slice(0, width);
    const at = Math.max(...[' ', '.', '/', ':', ','].map((c) => head.lastIndexOf(c))) + 1;
    const cut = at > indent.length + width / 4 ? at : width;
    out.push(head.slice(0, cut).trimEnd());
    rest = indent + rest.slice(cut).trimStart();
  }
  out.push(rest);
  return out;
}

/** The rewrite table: each ARN rewritten (from, to, why, where), then those kept and why. */
function describeArns(arns: NonNullable<RestoreReport['arns']>): string[] {
  const lines: string[] = [];
  const n = arns.rewritten.length;
  lines.push(
    `  ARN rewrites (${n}) from account ${arns.from.account ?? '?'} region ${arns.from.region ?? '?'}${n ? ':' : ': none, no ARN names the source'}`,
  );
  for (const r of arns.rewritten) {
    lines.push(`    ${r.from}`, `      → ${r.to} (${r.rule === 'mapped' ? `--map-arn ${r.mapping}` : r.rule})`);
    for (const w of r.where) lines.push(`      in ${w}`);
  }
  if (arns.kept.length) {
    lines.push(`  ARNs kept (${arns.kept.length}):`);
    for (const k of arns.kept) {
      lines.push(`    ${k.arn}: ${k.reason}`);
      for (const w of k.where) lines.push(`      in ${w}`);
    }
  }
  return lines;
}

function describe(r: RestoreReport, terminal = false): string[] {
  const sha = terminal ? shortHash(r.sha256) : r.sha256;
  const version = `${r.target} version ${r.versionId ?? 'current'} (sha256 ${sha}${r.verified && r.authenticated ? ' verified, MAC authentic' : ' UNVERIFIED'}, ${r.entries} entries)`;
  const dest = `${r.destination.existing ? 'existing' : 'new'} bot ${r.destination.botName ?? '?'}${r.destination.botId ? ` (${r.destination.botId})` : ''}`;
  const merge = r.mergeStrategy ? `, merge ${r.mergeStrategy}` : '';
  const elsewhere =
    r.destination.account !== undefined
      ? [
          `  into account ${r.destination.account} region ${r.destination.region}${r.arns?.roleArn ? ` as ${r.arns.roleArn}` : " with the CLI's own credentials"}`,
        ]
      : [];
  const lines: string[] = [];
  if (r.status === 'DRY_RUN') {
    const refused = r.failureReasons.length > 0;
    lines.push(`dry run: ${version} ${refused ? 'cannot be restored' : 'can be restored'} into ${dest}${merge}`, ...elsewhere);
    for (const [what, from] of Object.entries(r.sources)) lines.push(`  ${what}: ${from}`);
    if (r.arns) lines.push(...describeArns(r.arns));
    for (const note of r.notes) lines.push(`  note: ${note}`);
    for (const reason of r.failureReasons) lines.push(`  the import would fail: ${reason}`);
    lines.push('nothing was changed');
    return lines;
  }
  lines.push(`restoring ${version} into ${dest}${merge}`, ...elsewhere);
  if (r.arns) lines.push(...describeArns(r.arns));
  for (const note of r.notes) lines.push(`  note: ${note}`);
  if (r.status === 'COMPLETED')
    lines.push(
      `import ${r.importId}: COMPLETED; bot ${r.destination.botName ?? ''}${r.destination.botId ? ` (${r.destination.botId})` : ''} holds the archive's definition`,
    );
  else if (r.status === 'TIMED_OUT') lines.push(`import ${r.importId}: still running after the --timeout; it goes on at the provider`);
  else lines.push(`import ${r.importId ?? '-'}: FAILED: ${r.failureReasons.join('; ') || 'no reason given'}`);
  return lines;
}
