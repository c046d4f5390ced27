/**
 * `botvault restore TARGET [--version ID] [--to-bot NAME|ID] [--merge S] [--dry-run]`:
 * puts a stored archive version back into the provider.
 *
 * Every restore first reads the version from S3 and checks it against its
 * sha256, opens every zip entry (CRC-checked), finds the target bot and
 * completes the parameters a new bot needs (flags, then the restore sidecar
 * captured at backup time, then the archive itself). Only then does it
 * change anything — and with `--dry-run` it stops there.
 *
 * Lex V2: CreateUploadUrl → PUT the zip to the presigned URL (https to S3,
 * or an allowlisted local origin; never a redirect) → StartImport → poll
 * DescribeImport. An existing bot is imported with FailOnConflict unless
 * `--merge` says otherwise, so by default Lex refuses to overwrite anything.
 *
 * Kore.ai: POST /api/public/uploadfile (multipart) → fileId → POST
 * /api/public/bot/{botId}/import (existing bot) or /api/public/bot/import
 * (new bot) → poll GET /api/public/bot/import/status/{bir}.
 *
 * Exit codes: 0 restored (or a dry run that found nothing wrong), 1 the
 * provider reported the import as failed (its reasons are printed), 2 it
 * could not start (one line saying why).
 */
import http from 'node:http';
import https from 'node:https';
import {
  CreateUploadUrlCommand,
  DescribeBotCommand,
  DescribeImportCommand,
  LexModelsV2Client,
  ListBotsCommand,
  StartImportCommand,
  type ImportResourceSpecification,
  type MergeStrategy,
} from '@aws-sdk/client-lex-models-v2';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import type { BotVaultConfig } from '../config/config';
import { koreaiBotName, koreaiErrorText, koreaiJwt } from '../providers/koreai/provider';
import { lexDownloadHosts } from '../providers/lex/provider';
import { assessUrl, guardedLookup, redactUrl } from '../core/download-guard';
import { checkVersion, readArchive, readEntries, readRestoreInfo, type ArchiveBytes } from './archive';
import { aws, s3Client, type AwsOptions } from './aws';
import { loadResources, type Resource } from './list';
import { CliError, printJson } from './output';
import { locate, readConfig, type LocateOptions } from './resolve';
import { displayName, resolveResource } from './targets';
import type { KoreaiTarget } from '../providers/koreai/target';
import { koreaiJob } from '../providers/koreai/keys';
import type { RestoreInfo } from '../providers/definitions';

export const MERGE_STRATEGIES = ['FailOnConflict', 'Overwrite', 'Append'] as const;

export interface RestoreCommandOptions extends LocateOptions {
  readonly version?: string;
  readonly toBot?: string;
  readonly merge?: (typeof MERGE_STRATEGIES)[number];
  readonly dryRun: boolean;
  readonly json: boolean;
  /** Lex, new bot: the bot's IAM role. */
  readonly roleArn?: string;
  /** Lex, new bot: COPPA flag. */
  readonly childDirected?: boolean;
  /** Lex, new bot: idle session timeout. */
  readonly idleSessionTtl?: number;
  /** How often the import status is polled. */
  readonly pollMs: number;
  /** Give up following the import after this long (the import goes on at the provider). */
  readonly timeout: number;
}

/** What a restore did (or, in a dry run, would do); `--json` prints exactly this. */
export interface RestoreReport {
  target: string;
  provider: string;
  key: string;
  versionId: string | null;
  sha256: string;
  verified: boolean;
  entries: number;
  dryRun: boolean;
  destination: { botId: string | null; botName: string | null; existing: boolean };
  mergeStrategy: string | null;
  importId: string | null;
  status: 'DRY_RUN' | 'COMPLETED' | 'FAILED' | 'TIMED_OUT';
  failureReasons: string[];
  /** Where the details for a new bot came from, e.g. "sidecar", "flags", "archive". */
  sources: Record<string, string>;
  notes: string[];
}

interface Context {
  readonly opts: RestoreCommandOptions;
  readonly config?: BotVaultConfig;
  readonly resource: Resource;
  readonly archive: ArchiveBytes;
  readonly entries: Map<string, Buffer>;
  /** The archive's password (a password-protected Lex export): passed to StartImport, never shown. */
  readonly password?: string;
  readonly info?: RestoreInfo;
  readonly allowedOrigins: string[];
  readonly warn: (line: string) => void;
}

export async function restoreCommand(target: string, opts: RestoreCommandOptions): Promise<number> {
  const config = readConfig(opts.config);
  const { bucket } = await locate(opts, { bucket: true }, config);
  const s3 = s3Client(opts);
  const warn = (line: string) => process.stderr.write(`botvault: warning: ${line}\n`);
  let report: RestoreReport;
  try {
    const resource = resolveResource(target, await loadResources(s3, bucket!), bucket!);
    checkVersion(resource, opts.version);
    const archive = await readArchive(s3, bucket!, resource, opts.version);
    if (!archive.verified) warn(`${resource.key} has no sha256 metadata: its bytes cannot be verified`);
    const { entries, password } = await readEntries(archive, 'the archive', opts);
    const info = await readRestoreInfo(s3, bucket!, archive, warn);
    const allowedOrigins = [...(config?.downloadAllowlist ?? [])];
    const ctx: Context = { opts, config, resource, archive, entries, ...(password !== undefined ? { password } : {}), info, allowedOrigins, warn };
    if (resource.provider === 'lex') report = await restoreLex(ctx);
    else if (resource.provider === 'koreai') report = await restoreKoreai(ctx);
    else throw new CliError(`${displayName(resource)}: restoring ${resource.provider} archives is not supported`);
  } finally {
    s3.destroy();
  }
  if (opts.json) printJson(report);
  else for (const line of describe(report)) process.stdout.write(`${line}\n`);
  return report.status === 'COMPLETED' || report.status === 'DRY_RUN' ? 0 : 1;
}

function describe(r: RestoreReport): string[] {
  const version = `${r.target} version ${r.versionId ?? 'current'} (sha256 ${r.sha256}${r.verified ? ' verified' : ' NOT verified'}, ${r.entries} entries)`;
  const dest = `${r.destination.existing ? 'existing' : 'new'} bot ${r.destination.botName ?? '?'}${r.destination.botId ? ` (${r.destination.botId})` : ''}`;
  const merge = r.mergeStrategy ? `, merge ${r.mergeStrategy}` : '';
  const lines: string[] = [];
  if (r.status === 'DRY_RUN') {
    lines.push(`dry run: ${version} can be restored into ${dest}${merge}`);
    for (const [what, from] of Object.entries(r.sources)) lines.push(`  ${what}: ${from}`);
    for (const note of r.notes) lines.push(`  note: ${note}`);
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

function baseReport(
  ctx: Context,
): Omit<RestoreReport, 'destination' | 'mergeStrategy' | 'importId' | 'status' | 'failureReasons' | 'sources' | 'notes'> {
  return {
    target: displayName(ctx.resource),
    provider: ctx.resource.provider,
    key: ctx.resource.key,
    versionId: ctx.archive.versionId ?? null,
    sha256: ctx.archive.sha256,
    verified: ctx.archive.verified,
    entries: ctx.entries.size,
    dryRun: ctx.opts.dryRun,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------
// Lex V2

const LEX_ID = /^[0-9A-Z]{10}$/;

interface LexBot {
  botId: string;
  botName: string;
  roleArn?: string;
  dataPrivacy?: { childDirected: boolean };
  idleSessionTTLInSeconds?: number;
}

const botJsonSchema = z.object({
  name: z.string().optional(),
  dataPrivacy: z.object({ childDirected: z.boolean() }).optional(),
  idleSessionTTLInSeconds: z.number().int().optional(),
});

function lexClient(o: AwsOptions): LexModelsV2Client {
  return new LexModelsV2Client(o.region ? { region: o.region } : {});
}

async function describeBot(lex: LexModelsV2Client, botId: string): Promise<LexBot | undefined> {
  try {
    const b = await aws(`DescribeBot ${botId}`, () => lex.send(new DescribeBotCommand({ botId })));
    return {
      botId,
      botName: b.botName!,
      roleArn: b.roleArn,
      dataPrivacy: b.dataPrivacy?.childDirected === undefined ? undefined : { childDirected: b.dataPrivacy.childDirected },
      idleSessionTTLInSeconds: b.idleSessionTTLInSeconds,
    };
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') return undefined;
    throw err;
  }
}

async function findBotByName(lex: LexModelsV2Client, botName: string): Promise<LexBot | undefined> {
  let nextToken: string | undefined;
  do {
    const page = await aws('ListBots', () =>
      lex.send(new ListBotsCommand({ filters: [{ name: 'BotName', values: [botName], operator: 'EQ' }], maxResults: 100, nextToken })),
    );
    const hit = page.botSummaries?.find((b) => b.botName === botName && b.botId);
    if (hit) return describeBot(lex, hit.botId!);
    nextToken = page.nextToken;
  } while (nextToken);
  return undefined;
}

/** The archive's one top-level folder's Bot.json (a bot export), parsed leniently. */
function botJsonOf(entries: Map<string, Buffer>): z.infer<typeof botJsonSchema> | undefined {
  const name = [...entries.keys()].find((n) => /^[^/]+\/Bot\.json$/.test(n));
  if (!name) return undefined;
  try {
    return botJsonSchema.parse(JSON.parse(entries.get(name)!.toString('utf8')));
  } catch {
    return undefined;
  }
}

/**
 * What the archive's manifest says it is. Real exports write `Manifest.json`
 * with `{"metaData":{"resourceType":"BOT",...}}` (seen in Lex console and API
 * exports 2021-2024); Lex's import documentation shows `manifest.json`,
 * `metadata` and `Bot` / `BotLocale`. Both are read, the type compared
 * case- and underscore-insensitively (README "Export formats").
 */
export function lexManifest(entries: Map<string, Buffer>): { file?: string; type?: string } {
  const file = [...entries.keys()].find((n) => n.toLowerCase() === 'manifest.json');
  if (!file) return {};
  try {
    const m = JSON.parse(entries.get(file)!.toString('utf8')) as { metaData?: { resourceType?: unknown }; metadata?: { resourceType?: unknown } };
    const type = (m.metaData ?? m.metadata)?.resourceType;
    return { file, ...(typeof type === 'string' ? { type } : {}) };
  } catch {
    return { file };
  }
}

const sameType = (a: string, b: string) => a.replace(/_/g, '').toUpperCase() === b.replace(/_/g, '').toUpperCase();

async function restoreLex(ctx: Context): Promise<RestoreReport> {
  const { opts, resource, info, entries } = ctx;
  const isLocale = Boolean(resource.localeId) && /\/locales\/[^/]+\.zip$/.test(resource.key);
  const isVocabulary = Boolean(resource.localeId) && /\/locales\/[^/]+\/custom-vocabulary\.zip$/.test(resource.key);
  const isBot = /\/bot\.zip$/.test(resource.key);
  if (!isBot && !isLocale && !isVocabulary) {
    // Lex imports test sets from an S3 location of the account's own (StartImport testSetImportResourceSpecification), not from an upload.
    throw new CliError(
      `${displayName(resource)}: test set archives cannot be restored by botvault; download it with \`botvault get\` and import it in the Lex Test Workbench`,
    );
  }
  const expectedType = isBot ? 'BOT' : isVocabulary ? 'CUSTOM_VOCABULARY' : 'BOT_LOCALE';
  const manifest = lexManifest(entries);
  if (!manifest.file) {
    const unpacked = entries.has('Bot.json') || [...entries.keys()].some((n) => /^BotLocales\//.test(n));
    throw new CliError(
      `${resource.key} has no Manifest.json at its root, so it is not a Lex export and Lex would not import it` +
        (unpacked ? ': it holds an unpacked bot folder (Bot.json at the root); an export holds Manifest.json beside a <BotName>/ folder' : '') +
        '; not restoring it',
    );
  }
  if (!manifest.type || !sameType(manifest.type, expectedType)) {
    throw new CliError(
      `${resource.key} is not a Lex ${expectedType} export (its ${manifest.file} says ${manifest.type ?? 'nothing'}); not restoring it`,
    );
  }
  if (opts.merge === 'Append' && !isVocabulary)
    throw new CliError('--merge Append is only for custom vocabulary imports in Lex V2; use FailOnConflict (the default) or Overwrite');

  const lex = lexClient(opts);
  const sources: Record<string, string> = {};
  const notes: string[] = [];
  try {
    const wanted = opts.toBot ?? info?.lex?.botId ?? resource.botId!;
    let existing: LexBot | undefined;
    if (LEX_ID.test(wanted)) existing = await describeBot(lex, wanted);
    if (!existing) existing = await findBotByName(lex, wanted);
    if (!existing && LEX_ID.test(wanted) && opts.toBot !== undefined) {
      throw new CliError(
        `--to-bot ${wanted}: no Lex bot has that id${opts.region ? ` in ${opts.region}` : ''}; to create a new bot, give --to-bot a new bot name`,
      );
    }
    const merge: MergeStrategy = opts.merge ?? 'FailOnConflict';

    let spec: ImportResourceSpecification;
    let destination: RestoreReport['destination'];
    if (isVocabulary || isLocale) {
      // Both go into an existing bot's DRAFT locale; they differ in the import specification and what conflicts.
      const what = isVocabulary ? 'a custom vocabulary' : 'a locale archive';
      if (!existing) {
        throw new CliError(
          `${what} restores into an existing bot, and bot ${wanted} does not exist; restore the bot's archive first, or name one with --to-bot`,
        );
      }
      const target = { botId: existing.botId, botVersion: 'DRAFT', localeId: resource.localeId! };
      spec = isVocabulary ? { customVocabularyImportSpecification: target } : { botLocaleImportSpecification: target };
      destination = { botId: existing.botId, botName: existing.botName, existing: true };
      if (merge === 'FailOnConflict') {
        notes.push(
          isVocabulary
            ? `FailOnConflict: the import fails, changing nothing, if locale ${resource.localeId} already has a custom vocabulary; --merge Overwrite replaces it, --merge Append adds the archive's phrases`
            : `FailOnConflict: the import fails, changing nothing, if locale ${resource.localeId} already exists in the bot; --merge Overwrite replaces it`,
        );
      }
    } else {
      const fromArchive = botJsonOf(entries);
      const pick = <T>(what: string, ...candidates: [string, T | undefined][]): T | undefined => {
        const hit = candidates.find(([, v]) => v !== undefined);
        if (hit) sources[what] = hit[0];
        return hit?.[1];
      };
      const botName = existing?.botName ?? (opts.toBot && !LEX_ID.test(opts.toBot) ? opts.toBot : (info?.lex?.botName ?? fromArchive?.name));
      if (!botName) throw new CliError(`cannot tell the new bot's name (no restore sidecar, no Bot.json name): give --to-bot NAME`);
      const roleArn = pick<string>(
        'roleArn',
        ['--role-arn', opts.roleArn],
        [existing ? 'the existing bot' : 'restore sidecar', existing?.roleArn ?? info?.lex?.roleArn],
      );
      const childDirected = pick<boolean>(
        'dataPrivacy.childDirected',
        ['--child-directed', opts.childDirected],
        [existing ? 'the existing bot' : 'restore sidecar', existing?.dataPrivacy?.childDirected ?? info?.lex?.dataPrivacy.childDirected],
        ['the archive (Bot.json)', fromArchive?.dataPrivacy?.childDirected],
      );
      const idle = pick<number>(
        'idleSessionTTLInSeconds',
        ['--idle-session-ttl', opts.idleSessionTtl],
        [existing ? 'the existing bot' : 'restore sidecar', existing?.idleSessionTTLInSeconds ?? info?.lex?.idleSessionTTLInSeconds],
        ['the archive (Bot.json)', fromArchive?.idleSessionTTLInSeconds],
      );
      const missing = [
        !roleArn && "--role-arn ARN (the bot's IAM role; exports do not hold it)",
        childDirected === undefined && '--child-directed true|false',
      ].filter(Boolean);
      if (missing.length)
        throw new CliError(
          `restoring into ${existing ? 'bot' : 'new bot'} ${botName} needs ${missing.join(' and ')}${info ? '' : ' (this version has no restore sidecar)'}`,
        );
      spec = {
        botImportSpecification: {
          botName,
          roleArn: roleArn!,
          dataPrivacy: { childDirected: childDirected! },
          ...(idle !== undefined ? { idleSessionTTLInSeconds: idle } : {}),
          ...(!existing && info?.lex && Object.keys(info.lex.tags).length ? { botTags: info.lex.tags } : {}),
        },
      };
      destination = { botId: existing?.botId ?? null, botName, existing: Boolean(existing) };
      if (existing && merge === 'FailOnConflict')
        notes.push(
          "FailOnConflict: Lex stops at the first resource that already exists and changes nothing; --merge Overwrite replaces the bot's DRAFT definition with the archive's",
        );
      // Lex creates TestBotAlias (TSTALIASID) with every bot; only the operator's own aliases need recreating.
      const aliases = (info?.lex?.aliases ?? []).filter((a) => a.botAliasId !== 'TSTALIASID');
      if (!existing && aliases.length) {
        notes.push(
          `the bot had ${aliases.length} alias${aliases.length === 1 ? '' : 'es'} (${aliases.map((a) => a.botAliasName).join(', ')}); imports do not create aliases: recreate them after building a version (their settings are in the restore sidecar)`,
        );
      }
    }
    const base = { ...baseReport(ctx), destination, mergeStrategy: merge, sources, notes };
    if (opts.dryRun) return { ...base, importId: null, status: 'DRY_RUN', failureReasons: [] };

    // ---- from here on the provider is changed ----
    const upload = await aws('CreateUploadUrl', () => lex.send(new CreateUploadUrlCommand({})));
    if (!upload.importId || !upload.uploadUrl) throw new CliError('Lex CreateUploadUrl answered without an importId and uploadUrl');
    const region = opts.region ?? (await lex.config.region());
    await putUpload(upload.uploadUrl, ctx.archive.data, { allowedHosts: lexDownloadHosts(region), allowedOrigins: ctx.allowedOrigins });
    // A password-protected export is uploaded as stored and opened by Lex with its password (never shown).
    await aws('StartImport', () =>
      lex.send(
        new StartImportCommand({
          importId: upload.importId,
          resourceSpecification: spec,
          mergeStrategy: merge,
          ...(ctx.password !== undefined ? { filePassword: ctx.password } : {}),
        }),
      ),
    );

    const deadline = Date.now() + opts.timeout * 1000;
    for (;;) {
      const d = await aws(`DescribeImport ${upload.importId}`, () => lex.send(new DescribeImportCommand({ importId: upload.importId })));
      if (d.importStatus === 'Completed') {
        return {
          ...base,
          destination: { ...destination, botId: d.importedResourceId ?? destination.botId },
          importId: upload.importId,
          status: 'COMPLETED',
          failureReasons: [],
        };
      }
      if (d.importStatus === 'Failed' || d.importStatus === 'Deleting') {
        return { ...base, importId: upload.importId, status: 'FAILED', failureReasons: d.failureReasons ?? [`import ${d.importStatus}`] };
      }
      if (Date.now() > deadline) return { ...base, importId: upload.importId, status: 'TIMED_OUT', failureReasons: [] };
      await sleep(opts.pollMs);
    }
  } catch (err) {
    throw lexCliError(err) ?? err;
  } finally {
    lex.destroy();
  }
}

/** Lex's own refusals (validation, conflicts, quotas) as one line. */
function lexCliError(err: unknown): CliError | undefined {
  if (err instanceof CliError || !(err instanceof Error) || !('$metadata' in err)) return undefined;
  return new CliError(`Lex refused the restore: ${err.name}: ${err.message}`);
}

/**
 * PUT to a presigned upload URL, guarded like a download (download-guard):
 * https to the provider's hosts (or an allowlisted origin), public addresses
 * only, never a redirect. The URL is a credential: errors show it redacted.
 */
export async function putUpload(
  url: string,
  data: Buffer,
  guard: { allowedHosts: readonly string[]; allowedOrigins: readonly string[] },
): Promise<void> {
  let target: URL;
  let allowlisted: boolean;
  try {
    ({ url: target, allowlisted } = assessUrl(url, guard));
  } catch (err) {
    throw new CliError(`refusing to upload the archive: ${(err as Error).message.replace(/^Refusing to download /, '')}`);
  }
  const shown = redactUrl(target);
  const transport = target.protocol === 'https:' ? https : http;
  await new Promise<void>((resolve, reject) => {
    const req = transport.request(target, {
      method: 'PUT',
      headers: { 'content-length': data.length, 'content-type': 'application/zip', 'user-agent': 'botvault' },
      agent: false,
      ...(allowlisted ? {} : { lookup: guardedLookup(shown) }),
      timeout: 60_000,
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 60 s')));
    req.on('error', (e: NodeJS.ErrnoException) => reject(new CliError(`upload to ${shown} failed: ${e.code ?? e.message}`)));
    req.on('response', (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) return res.on('end', () => resolve());
      if (status >= 300 && status < 400)
        return reject(new CliError(`upload to ${shown} was answered with a redirect (HTTP ${status}); BotVault never follows one`));
      reject(new CliError(`upload to ${shown} failed: HTTP ${status}${status === 403 ? ' (the upload URL expired or was refused)' : ''}`));
    });
    req.end(data);
  });
}

// ---------------------------------------------------------------------------
// Kore.ai

const KOREAI_BOT_ID = /^st-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const koreaiStartSchema = z.object({ bir: z.string().min(1).optional(), _id: z.string().min(1).optional(), status: z.string().optional() });
const koreaiStatusSchema = z.object({
  status: z.string().optional(),
  streamId: z.string().optional(),
  message: z.string().optional(),
  statusLogs: z
    .array(z.object({ status: z.string().optional(), message: z.string().optional(), taskName: z.string().optional() }).loose())
    .optional(),
});

/** The config target an archive key belongs to: it names the host, the credentials secret and whether JTI is enforced. */
function koreaiTargetFor(config: BotVaultConfig | undefined, key: string): KoreaiTarget {
  const targets = (config?.targets ?? []).filter((t): t is KoreaiTarget => t.provider === 'koreai');
  const hit = targets.find((t) => koreaiJob(t).key === key);
  if (!hit) {
    throw new CliError(
      `${key}: no Kore.ai target in the config backs it up, so its host and credentials secret are unknown; pass --config with the config that has it`,
    );
  }
  return hit;
}

async function readSecret(secretId: string, o: AwsOptions): Promise<string> {
  const sm = new SecretsManagerClient(o.region ? { region: o.region } : {});
  try {
    const res = await aws(`GetSecretValue ${secretId}`, async () => {
      try {
        return await sm.send(new GetSecretValueCommand({ SecretId: secretId }));
      } catch (err) {
        if ((err as Error).name === 'ResourceNotFoundException')
          throw new CliError(`credentials secret "${secretId}" does not exist (or has no current value) in Secrets Manager`);
        throw err;
      }
    });
    const value = res.SecretString ?? (res.SecretBinary ? Buffer.from(res.SecretBinary).toString('utf8') : undefined);
    if (!value) throw new CliError(`credentials secret "${secretId}" has no value`);
    return value;
  } finally {
    sm.destroy();
  }
}

async function restoreKoreai(ctx: Context): Promise<RestoreReport> {
  const { opts, resource, entries, info } = ctx;
  if (!entries.has('botDefinition.json') || !entries.has('config.json')) {
    throw new CliError(`${resource.key} is not a Kore.ai bot export (no botDefinition.json and config.json); not restoring it`);
  }
  const target = koreaiTargetFor(ctx.config, resource.key);
  const base = new URL(target.host);
  if (base.protocol !== 'https:' && !ctx.allowedOrigins.includes(base.origin)) {
    throw new CliError(`Kore.ai host ${base.origin} is not https; plain http is allowed only for origins in downloadAllowlist (local simulators)`);
  }
  const secretValue = await readSecret(target.credentialsSecret, opts);
  // Signing once up front proves the secret's shape before anything is sent (the value itself is never shown).
  const jwt = async () => {
    try {
      return await koreaiJwt(secretValue, target.credentialsSecret, target.enforceJti);
    } catch (err) {
      throw new CliError((err as Error).message);
    }
  };
  await jwt();

  const call = async (method: 'GET' | 'POST', path: string, body?: string | FormData, json = true): Promise<unknown> => {
    const url = new URL(path, base);
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { auth: await jwt(), accept: 'application/json', ...(body !== undefined && json ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body } : {}),
        // A redirect would carry the auth header wherever it points: never follow one.
        redirect: 'manual',
        signal: AbortSignal.timeout(60_000),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      throw new CliError(`Kore.ai ${method} ${url.pathname} failed: ${e.name === 'TimeoutError' ? 'no answer in 60 s' : (e.cause?.code ?? e.name)}`);
    }
    const text = await res.text().catch(() => '');
    if (!res.ok) {
      const detail = koreaiErrorText(text);
      const hint =
        res.status === 401 || res.status === 403
          ? ` (check the app's client id and secret in ${target.credentialsSecret}, and that the app has the Bot Import scope)`
          : '';
      throw new CliError(`Kore.ai ${method} ${url.pathname} answered HTTP ${res.status}${detail ? `: ${detail}` : ''}${hint}`);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new CliError(`Kore.ai ${method} ${url.pathname} answered HTTP ${res.status} with a body that is not JSON`);
    }
  };

  const wanted = opts.toBot ?? info?.koreai?.botId ?? resource.botId!;
  const existing = KOREAI_BOT_ID.test(wanted);
  const notes: string[] = [];
  if (opts.merge && opts.merge !== 'Overwrite')
    throw new CliError(`--merge ${opts.merge}: a Kore.ai import replaces the bot's in-development definition; the only strategy is Overwrite`);
  if (existing) {
    // The export status call is read-only: it proves the credentials and that the app may see the bot.
    try {
      await call('GET', `/api/public/bot/${encodeURIComponent(wanted)}/export/status`);
    } catch (err) {
      if (!(err instanceof CliError) || !/HTTP 404: No bot export found/.test(err.message)) {
        throw err instanceof CliError && /HTTP 404/.test(err.message)
          ? new CliError(`Kore.ai bot ${wanted} was not found at ${base.origin}; give --to-bot a new bot name to import as a new bot`)
          : err;
      }
    }
    if (opts.merge !== 'Overwrite' && !opts.dryRun) {
      throw new CliError(
        `importing into existing Kore.ai bot ${wanted} replaces its in-development definition: pass --merge Overwrite to do that, or --to-bot NAME to import as a new bot`,
      );
    }
    notes.push("the import replaces the bot's in-development definition; publish it in the Bot Builder to make it live");
  }
  let archiveName: string | undefined;
  try {
    archiveName = koreaiBotName(JSON.parse(entries.get('botDefinition.json')!.toString('utf8')));
  } catch {
    // the import validates the definition; the name is only for the report
  }
  const botName = existing ? (info?.koreai?.botName ?? archiveName ?? null) : wanted;
  const destination = { botId: existing ? wanted : null, botName, existing };
  const sources: Record<string, string> = { credentials: `secret ${target.credentialsSecret}` };
  const reportBase = { ...baseReport(ctx), destination, mergeStrategy: existing ? 'Overwrite' : null, sources, notes };
  if (opts.dryRun) {
    if (existing && opts.merge !== 'Overwrite') notes.push('a real restore needs --merge Overwrite');
    return { ...reportBase, importId: null, status: 'DRY_RUN', failureReasons: [] };
  }

  // ---- from here on the provider is changed ----
  const form = new FormData();
  form.set('file', new Blob([new Uint8Array(ctx.archive.data)], { type: 'application/zip' }), 'bot.zip');
  form.set('fileContext', 'bulkImport');
  form.set('fileExtension', 'zip');
  const uploaded = z.object({ fileId: z.string().min(1) }).safeParse(await call('POST', '/api/public/uploadfile', form, false));
  if (!uploaded.success) throw new CliError('Kore.ai uploadfile answered without a fileId');
  const body = { uploadMode: 'ZIP', zipInfo: uploaded.data.fileId, ...(existing ? {} : { name: wanted }) };
  const started = koreaiStartSchema.safeParse(
    await call('POST', existing ? `/api/public/bot/${encodeURIComponent(wanted)}/import` : '/api/public/bot/import', JSON.stringify(body)),
  );
  const bir = started.success ? (started.data.bir ?? started.data._id) : undefined;
  if (!bir) throw new CliError('Kore.ai bot import answered without an import request id (bir)');

  const deadline = Date.now() + opts.timeout * 1000;
  for (;;) {
    const parsed = koreaiStatusSchema.safeParse(await call('GET', `/api/public/bot/import/status/${encodeURIComponent(bir)}`));
    if (!parsed.success) throw new CliError(`Kore.ai import status for ${bir} was not the expected JSON object`);
    const s = parsed.data.status?.toLowerCase();
    if (s === 'success') {
      return {
        ...reportBase,
        destination: { ...destination, botId: parsed.data.streamId ?? destination.botId },
        importId: bir,
        status: 'COMPLETED',
        failureReasons: [],
      };
    }
    if (s === 'failed' || s === 'error' || s === 'failure') {
      const reasons = [parsed.data.message, ...(parsed.data.statusLogs ?? []).filter((l) => l.status === 'failed').map((l) => l.message)].filter(
        (m): m is string => Boolean(m),
      );
      return {
        ...reportBase,
        importId: bir,
        status: 'FAILED',
        failureReasons: [...new Set(reasons.map((r) => koreaiErrorText(JSON.stringify({ message: r }))))],
      };
    }
    if (Date.now() > deadline) return { ...reportBase, importId: bir, status: 'TIMED_OUT', failureReasons: [] };
    await sleep(opts.pollMs);
  }
}
