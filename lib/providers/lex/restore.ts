/**
 * `botvault restore` of a Lex V2 archive: a bot (new or existing), a locale
 * or a custom vocabulary into an existing bot's DRAFT. Test sets are refused:
 * Lex imports them from an S3 location of the account's own, not an upload.
 *
 * Into another account or region (RestoreEnv.destination, `--to-account` /
 * `--to-region`): the Lex client works there with the destination's
 * credentials, and the archive and its sidecar have their ARNs rewritten
 * first (arn-rewrite.ts) — before any call to Lex, so an ARN that cannot be
 * mapped stops the restore (and the dry run) having asked Lex nothing.
 */
import {
  CreateUploadUrlCommand,
  DescribeBotCommand,
  DescribeImportCommand,
  type ImportResourceSpecification,
  LexModelsV2Client,
  type MergeStrategy,
  paginateListBotLocales,
  paginateListBots,
  StartImportCommand,
} from '@aws-sdk/client-lex-models-v2';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { roleAccount } from '../../core/accounts';
import { checkUploadUrl, putUpload } from '../../core/upload';
import { type ProviderRestore, type RestoreEnv, type RestoreOutcome, RestoreRefusedError, sleep } from '../restore';
import { lexArnPlaces, planArnRewrites, refusalMessage, rewriteLexArchive } from './arn-rewrite';
import { lexDownloadHosts } from './provider';
import { LEX_ID } from './target';

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

async function describeBot(lex: LexModelsV2Client, aws: RestoreEnv['aws'], botId: string): Promise<LexBot | undefined> {
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

async function findBotByName(lex: LexModelsV2Client, aws: RestoreEnv['aws'], botName: string): Promise<LexBot | undefined> {
  const pages = paginateListBots({ client: lex, pageSize: 100 }, { filters: [{ name: 'BotName', values: [botName], operator: 'EQ' }] });
  const hit = await aws('ListBots', async () => {
    for await (const page of pages) {
      const found = page.botSummaries?.find((b) => b.botName === botName && b.botId);
      if (found) return found;
    }
    return undefined;
  });
  return hit ? describeBot(lex, aws, hit.botId!) : undefined;
}

/** The archive's one top-level folder's Bot.json (a bot export), parsed leniently. */
function botJsonOf(entries: ReadonlyMap<string, Buffer>): z.infer<typeof botJsonSchema> | undefined {
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
function lexManifest(entries: ReadonlyMap<string, Buffer>): { file?: string; type?: string } {
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

/**
 * Lex V2: CreateUploadUrl → PUT the zip to the presigned URL (https to S3,
 * or an allowlisted local origin; never a redirect) → StartImport → poll
 * DescribeImport. An existing bot is imported with FailOnConflict unless
 * `--merge` says otherwise, so by default Lex refuses to overwrite anything.
 */
/**
 * A new bot gets the sidecar's role only when that role is in the account
 * the bot is created in: Lex runs the bot under it, and a role of another
 * account (a rewritten sidecar, or a backup of another account's bot) is
 * not one to adopt silently. `--role-arn` names a role explicitly.
 */
async function checkRoleAccount(roleArn: string, botName: string, env: RestoreEnv): Promise<void> {
  const roleAccount = /^arn:[^:]+:iam::(\d{12}):role\//.exec(roleArn)?.[1];
  const account = await env.callerAccount();
  if (roleAccount !== account) {
    throw new RestoreRefusedError(
      `the restore sidecar's role ${roleArn} is ${roleAccount ? `in account ${roleAccount}` : 'not an IAM role ARN'}, and new bot ${botName} would be created in account ${account}: give the bot's role with --role-arn`,
    );
  }
}

/**
 * The Lex V2 service-linked role (`role/aws-service-role/lexv2.amazonaws.com/AWSServiceRoleForLexV2Bots_<suffix>`;
 * Lex V2 Developer Guide, "Using service-linked roles for Amazon Lex V2"): its suffix, when `roleArn` is one.
 */
const serviceLinkedSuffix = (roleArn: string): string | undefined =>
  /^arn:[^:]+:iam::\d{12}:role\/aws-service-role\/lexv2\.amazonaws\.com\/AWSServiceRoleForLexV2Bots_([\w+=,.@-]*)$/.exec(roleArn)?.[1];

export const restoreLex: ProviderRestore = async (source, opts, env) => {
  const { resource } = source;
  let { info, entries, data } = source;
  const aws = env.aws;
  const dest = env.destination;
  const isLocale = Boolean(resource.localeId) && /\/locales\/[^/]+\.zip$/.test(resource.key);
  const isVocabulary = Boolean(resource.localeId) && /\/locales\/[^/]+\/custom-vocabulary\.zip$/.test(resource.key);
  const isBot = /\/bot\.zip$/.test(resource.key);
  if (!isBot && !isLocale && !isVocabulary) {
    // Lex imports test sets from an S3 location of the account's own (StartImport testSetImportResourceSpecification), not from an upload.
    throw new RestoreRefusedError(
      `${resource.id ?? resource.key}: test set archives cannot be restored by botvault; download it with \`botvault get\` and import it in the Lex Test Workbench`,
    );
  }
  const expectedType = isBot ? 'BOT' : isVocabulary ? 'CUSTOM_VOCABULARY' : 'BOT_LOCALE';
  const manifest = lexManifest(entries);
  if (!manifest.file) {
    const unpacked = entries.has('Bot.json') || [...entries.keys()].some((n) => /^BotLocales\//.test(n));
    throw new RestoreRefusedError(
      `${resource.key} has no Manifest.json at its root, so it is not a Lex export and Lex would not import it` +
        (unpacked ? ': it holds an unpacked bot folder (Bot.json at the root); an export holds Manifest.json beside a <BotName>/ folder' : '') +
        '; not restoring it',
    );
  }
  if (!manifest.type || !sameType(manifest.type, expectedType)) {
    throw new RestoreRefusedError(
      `${resource.key} is not a Lex ${expectedType} export (its ${manifest.file} says ${manifest.type ?? 'nothing'}); not restoring it`,
    );
  }
  if (opts.merge === 'Append' && !isVocabulary)
    throw new RestoreRefusedError('--merge Append is only for custom vocabulary imports in Lex V2; use FailOnConflict (the default) or Overwrite');

  const notes: string[] = [];
  let arns: RestoreOutcome['arns'];
  let sidecarRoleRewritten = false;
  if (dest) {
    // The source: the key's account and region (a key that names no account: the sidecar role's).
    const from = { account: resource.account ?? (info?.lex ? roleAccount(info.lex.roleArn) : undefined), region: resource.region };
    const plan = planArnRewrites(lexArnPlaces(entries, info?.lex), { source: from, destination: dest, mappings: dest.mappings });
    if (plan.refused.length) throw new RestoreRefusedError(refusalMessage(plan));
    const rewritten = await rewriteLexArchive(
      { data, entries, ...(source.password !== undefined ? { password: source.password } : {}), ...(info?.lex ? { info: info.lex } : {}) },
      plan.table,
    );
    sidecarRoleRewritten = Boolean(info?.lex && rewritten.info && rewritten.info.roleArn !== info.lex.roleArn);
    data = rewritten.data;
    entries = rewritten.entries;
    if (info?.lex && rewritten.info) info = { ...info, lex: rewritten.info };
    arns = {
      from,
      rewritten: plan.rewritten,
      kept: plan.kept,
      ...(dest.roleArn ? { roleArn: dest.roleArn } : {}),
      ...(rewritten.changedEntries.length ? { uploadSha256: createHash('sha256').update(data).digest('hex') } : {}),
    };
    if (rewritten.changedEntries.length) {
      const n = rewritten.changedEntries.length;
      notes.push(
        `${n} entr${n === 1 ? 'y has' : 'ies have'} ARNs rewritten: the upload is the archive rebuilt with them${source.password !== undefined ? ', encrypted again with its password' : ''}`,
      );
    }
    for (const flag of plan.unusedMappings) notes.push(`--map-arn ${flag} matched no ARN of this archive or its sidecar`);
  }

  const region = dest?.region ?? opts.region;
  const lex = new LexModelsV2Client({ ...(region ? { region } : {}), ...(dest?.credentials ? { credentials: dest.credentials } : {}) });
  const sources: Record<string, string> = {};
  const conflicts: string[] = [];
  try {
    // The bot of the archive's own key, never one named by the sidecar: another bot needs --to-bot.
    const wanted = opts.toBot ?? resource.botId!;
    let existing: LexBot | undefined;
    if (LEX_ID.test(wanted)) existing = await describeBot(lex, aws, wanted);
    if (!existing) existing = await findBotByName(lex, aws, wanted);
    if (!existing && LEX_ID.test(wanted) && opts.toBot !== undefined) {
      throw new RestoreRefusedError(
        `--to-bot ${wanted}: no Lex bot has that id${dest ? ` in account ${dest.account} ${dest.region}` : region ? ` in ${region}` : ''}; to create a new bot, give --to-bot a new bot name`,
      );
    }
    const merge: MergeStrategy = opts.merge ?? 'FailOnConflict';

    let spec: ImportResourceSpecification;
    let destination: RestoreOutcome['destination'];
    let aliasesToRecreate: readonly unknown[] | undefined;
    if (isVocabulary || isLocale) {
      // Both go into an existing bot's DRAFT locale; they differ in the import specification and what conflicts.
      const what = isVocabulary ? 'a custom vocabulary' : 'a locale archive';
      if (!existing) {
        throw new RestoreRefusedError(
          `${what} restores into an existing bot, and bot ${wanted} does not exist; restore the bot's archive first, or name one with --to-bot`,
        );
      }
      const target = { botId: existing.botId, botVersion: 'DRAFT', localeId: resource.localeId! };
      spec = isVocabulary ? { customVocabularyImportSpecification: target } : { botLocaleImportSpecification: target };
      destination = { botId: existing.botId, botName: existing.botName, existing: true, ...where(dest) };
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
      if (!botName) throw new RestoreRefusedError(`cannot tell the new bot's name (no restore sidecar, no Bot.json name): give --to-bot NAME`);
      const roleArn = pick<string>(
        'roleArn',
        ['--role-arn', opts.roleArn],
        [
          existing ? 'the existing bot' : sidecarRoleRewritten ? 'restore sidecar (ARN rewritten)' : 'restore sidecar',
          existing?.roleArn ?? info?.lex?.roleArn,
        ],
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
      if (roleArn && sources.roleArn?.startsWith('restore sidecar')) await checkRoleAccount(roleArn, botName, env);
      const suffix = dest && roleArn && sources.roleArn?.startsWith('restore sidecar') ? serviceLinkedSuffix(roleArn) : undefined;
      if (suffix !== undefined && !existing)
        notes.push(
          `the bot's role ${roleArn} is a Lex V2 service-linked role: it must exist in account ${dest!.account} (IAM CreateServiceLinkedRole, service lexv2.amazonaws.com${suffix ? `, custom suffix ${suffix}` : ''}), or give --role-arn`,
        );
      const missing = [
        !roleArn && "--role-arn ARN (the bot's IAM role; exports do not hold it)",
        childDirected === undefined && '--child-directed true|false',
      ].filter(Boolean);
      if (missing.length)
        throw new RestoreRefusedError(
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
      destination = { botId: existing?.botId ?? null, botName, existing: Boolean(existing), ...where(dest) };
      if (existing && merge === 'FailOnConflict')
        notes.push(
          "FailOnConflict: Lex stops at the first resource that already exists and changes nothing; --merge Overwrite replaces the bot's DRAFT definition with the archive's",
        );
      // Lex creates TestBotAlias (TSTALIASID) with every bot; only the operator's own aliases need recreating.
      const aliases = (info?.lex?.aliases ?? []).filter((a) => a.botAliasId !== 'TSTALIASID');
      if (!existing && aliases.length) {
        notes.push(
          `the bot had ${aliases.length} alias${aliases.length === 1 ? '' : 'es'} (${aliases.map((a) => a.botAliasName).join(', ')}); imports do not create aliases: recreate them after building a version (${dest ? "their settings, ARNs rewritten, are the --json report's aliases" : 'their settings are in the restore sidecar'})`,
        );
        if (dest) aliasesToRecreate = aliases;
      }
    }
    if (merge === 'FailOnConflict' && existing) {
      // What Lex is sure to refuse, read without changing anything, so that a dry run fails as the import would.
      if (isBot)
        conflicts.push(
          `Bot ${existing.botName} (${existing.botId}) already exists and the merge strategy is FailOnConflict: nothing would be changed`,
        );
      else if (isLocale && (await draftLocales(lex, aws, existing.botId)).includes(resource.localeId!))
        conflicts.push(
          `Locale ${resource.localeId} of bot ${existing.botId} already exists and the merge strategy is FailOnConflict: nothing would be changed`,
        );
    }
    const lexRegion = region ?? (await lex.config.region());
    const guard = { allowedHosts: lexDownloadHosts(lexRegion), allowedOrigins: env.allowedOrigins };
    // An upload URL changes nothing in the bot (an import starts only with StartImport), and a dry run checks it as a restore would.
    const upload = await aws('CreateUploadUrl', () => lex.send(new CreateUploadUrlCommand({})));
    if (!upload.importId || !upload.uploadUrl) throw new RestoreRefusedError('Lex CreateUploadUrl answered without an importId and uploadUrl');
    const { importId, uploadUrl } = upload;
    checkUploadUrl(uploadUrl, guard);
    const base = {
      destination,
      mergeStrategy: merge,
      sources,
      notes,
      ...(arns ? { arns } : {}),
      ...(aliasesToRecreate ? { aliases: aliasesToRecreate } : {}),
    };
    const start = async (): Promise<RestoreOutcome> => {
      // ---- from here on the provider is changed ----
      await putUpload(uploadUrl, data, guard);
      // A password-protected export is uploaded as stored and opened by Lex with its password (never shown).
      await aws('StartImport', () =>
        lex.send(
          new StartImportCommand({
            importId,
            resourceSpecification: spec,
            mergeStrategy: merge,
            ...(source.password !== undefined ? { filePassword: source.password } : {}),
          }),
        ),
      );

      const deadline = Date.now() + opts.timeout * 1000;
      for (;;) {
        const d = await aws(`DescribeImport ${importId}`, () => lex.send(new DescribeImportCommand({ importId })));
        if (d.importStatus === 'Completed') {
          return {
            ...base,
            destination: { ...destination, botId: d.importedResourceId ?? destination.botId },
            importId,
            status: 'COMPLETED',
            failureReasons: [],
          };
        }
        if (d.importStatus === 'Failed' || d.importStatus === 'Deleting') {
          return { ...base, importId, status: 'FAILED', failureReasons: d.failureReasons ?? [`import ${d.importStatus}`] };
        }
        if (Date.now() > deadline) return { ...base, importId, status: 'TIMED_OUT', failureReasons: [] };
        await sleep(opts.pollMs);
      }
    };
    return {
      ...base,
      conflicts,
      start: () => start().catch((err: unknown) => Promise.reject(lexRestoreRefusedError(err) ?? err)),
      close: () => lex.destroy(),
    };
  } catch (err) {
    lex.destroy();
    throw lexRestoreRefusedError(err) ?? err;
  }
};

/** The destination's account and region, for the outcome (nothing without a RestoreDestination). */
const where = (dest: RestoreEnv['destination']) => (dest ? { account: dest.account, region: dest.region } : {});

/** The locales of a bot's DRAFT (ListBotLocales). */
async function draftLocales(lex: LexModelsV2Client, aws: RestoreEnv['aws'], botId: string): Promise<string[]> {
  const pages = paginateListBotLocales({ client: lex, pageSize: 100 }, { botId, botVersion: 'DRAFT' });
  return aws(`ListBotLocales ${botId}`, async () => {
    const ids: string[] = [];
    for await (const page of pages) for (const l of page.botLocaleSummaries ?? []) if (l.localeId) ids.push(l.localeId);
    return ids;
  });
}

/** Lex's own refusals (validation, conflicts, quotas) as one line. */
function lexRestoreRefusedError(err: unknown): RestoreRefusedError | undefined {
  if (err instanceof RestoreRefusedError || !(err instanceof Error) || !('$metadata' in err)) return undefined;
  return new RestoreRefusedError(`Lex refused the restore: ${err.name}: ${err.message}`);
}
