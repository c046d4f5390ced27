/**
 * Amazon Lex V2 (model building API) as a BotVault provider.
 *
 * Exports: CreateExport → DescribeExport until Completed → download the
 * presigned URL DescribeExport hands out (valid 5 minutes after each call, so
 * it is fetched fresh right before the download) → DeleteExport.
 * Discovery: ListBots / ListBotVersions / ListBotLocales with nextToken paging.
 *
 * SDK errors are mapped by `name` onto BotVault's named errors, which the
 * state machine retries (RateLimitedError, ProviderUnavailableError) or fails
 * the job with (ProviderRequestError, ProviderAuthError).
 */
import {
  CreateExportCommand,
  DeleteExportCommand,
  DescribeBotAliasCommand,
  DescribeBotCommand,
  DescribeExportCommand,
  type ExportResourceSpecification,
  type LexModelsV2Client,
  ListTagsForResourceCommand,
  paginateListBotAliases,
  paginateListBotLocales,
  paginateListBots,
  paginateListBotVersions,
} from '@aws-sdk/client-lex-models-v2';
import type { ExportRef, Job } from '../../core/contracts';
import {
  BotVaultError,
  InvalidInputError,
  ProviderAuthError,
  ProviderRequestError,
  ProviderUnavailableError,
  RateLimitedError,
} from '../../core/errors';
import { logger } from '../../core/logger';
import { isScratchBotName } from '../scratch-names';
import { passwordFromSecret, type SecretReader } from '../../core/secrets';
import type { ArchivePassword, ArchiveReader, CheckResult, DownloadTarget, PlanContext, Provider } from '../types';
import { scrubText } from '../../core/scrub';
import { globMatcher } from '../../core/schemas';
import { HOME_ACCOUNT, type Location, locate } from '../../core/accounts';
import { type LexSpec, lexJob, lexSpecSchema, locationSpec, specForTarget } from './keys';
import type { LexTarget } from './target';
import type { Target, RestoreDetails } from '../definitions';
import { lexAliasInfoSchema, type LexAliasInfo } from './restore-info';

export interface LexProviderDeps {
  /** Lex in the functions' own account and region, with their own credentials. */
  readonly lex: LexModelsV2Client;
  /**
   * Lex at a job's account and region, through its member role where it has one (lambdas/shared/clients.ts
   * caches one client per region and role). A job planned before account ids names neither: `lex` serves it.
   * @default - `lex` for every job (tests of one account and region)
   */
  readonly lexAt?: (where: LexEndpoint) => LexModelsV2Client;
  /** Reads `passwordSecret` values; required only for targets that set one. */
  readonly secrets?: SecretReader;
  /** Parallel discovery calls (ListBotVersions / ListBotLocales); low to stay under Lex's list quotas. @default 4 */
  readonly discoveryConcurrency?: number;
}

/**
 * Hosts a Lex presigned download URL may point at: the S3 endpoints of the
 * region Lex runs in (plus the global endpoint), in virtual-hosted and path
 * style, including the legacy dash and dual-stack forms. Deliberately not
 * `*.amazonaws.com`: that suffix also covers names anyone can point anywhere
 * they like (EC2 public DNS names, ELB and API Gateway hosts), which would
 * turn the host rule into no rule at all.
 */
export function lexDownloadHosts(region: string): string[] {
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  const bases = [`s3.${suffix}`, `s3.${region}.${suffix}`, `s3-${region}.${suffix}`, `s3.dualstack.${region}.${suffix}`];
  return bases.flatMap((b) => [b, `*.${b}`]);
}

/** Where a Lex client sends its calls: the region, and the member role that reaches the account (none at home). */
export type LexEndpoint = Pick<Location, 'region' | 'roleArn' | 'externalId'>;

// ---- error mapping ----

// STS answers throttling with `Throttling` (and the older `RequestLimitExceeded`), not Lex's ThrottlingException.
const RATE_LIMITED = new Set(['ThrottlingException', 'TooManyRequestsException', 'LimitExceededException', 'Throttling', 'RequestLimitExceeded']);
const UNAVAILABLE = new Set([
  'ConflictException',
  'InternalServerException',
  'ServiceQuotaExceededException',
  'PreconditionFailedException',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
const BAD_REQUEST = new Set(['ValidationException', 'ResourceNotFoundException', 'BadRequestException']);
const AUTH = new Set([
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  // STS AssumeRole of a member role that does not trust BotVault, or without the right external ID; STS's spelling of an expired token.
  'AccessDenied',
  'ExpiredToken',
  'MissingAuthenticationTokenException',
]);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
]);

type SdkError = Error & { code?: string; $fault?: string; $metadata?: { httpStatusCode?: number } };

/** Maps an SDK or network error onto a named BotVault error; anything else (a bug) is returned unchanged. */
export function mapLexError(err: unknown, what: string): Error {
  if (err instanceof BotVaultError || !(err instanceof Error)) return err as Error;
  const e = err as SdkError;
  const status = e.$metadata?.httpStatusCode;
  const message = `Lex ${what} failed: ${e.name}${e.message ? `: ${e.message}` : ''}`;
  if (RATE_LIMITED.has(e.name) || status === 429) return new RateLimitedError(message, { cause: err });
  if (AUTH.has(e.name)) return new ProviderAuthError(message, { cause: err });
  if (BAD_REQUEST.has(e.name)) return new ProviderRequestError(message, { cause: err });
  if (UNAVAILABLE.has(e.name) || (e.code && NETWORK_CODES.has(e.code))) return new ProviderUnavailableError(message, { cause: err });
  if (status !== undefined) {
    if (status >= 500 || e.$fault === 'server') return new ProviderUnavailableError(message, { cause: err });
    if (status === 401 || status === 403) return new ProviderAuthError(message, { cause: err });
    if (status >= 400) return new ProviderRequestError(message, { cause: err });
  }
  return err;
}

// ---- the provider ----

function parseSpec(job: Job): LexSpec {
  const parsed = lexSpecSchema.safeParse(job.spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidInputError(`Job ${job.id} has an invalid Lex spec: job.spec.${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

function resourceSpecification(spec: LexSpec): ExportResourceSpecification {
  const { botId, botVersion, localeId, testSetId } = spec;
  switch (spec.kind) {
    case 'bot':
      return { botExportSpecification: { botId, botVersion } };
    case 'botLocale':
      return { botLocaleExportSpecification: { botId, botVersion, localeId } };
    case 'customVocabulary':
      return { customVocabularyExportSpecification: { botId, botVersion, localeId } };
    case 'testSet':
      return { testSetExportSpecification: { testSetId } };
    case 'discoveryFailed':
      throw new InvalidInputError('A failed discovery has nothing to export.');
  }
}

/** Runs `fn` over `items`, at most `limit` at a time, keeping the input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export class LexProvider implements Provider {
  readonly name = 'lex';

  constructor(private readonly deps: LexProviderDeps) {}

  async plan(target: Target, context: PlanContext): Promise<Job[]> {
    if (target.provider !== 'lex') throw new InvalidInputError(`The Lex provider cannot plan a ${String(target.provider)} target.`);
    if (!target.discover) {
      const where = locate(target.account, target.region, context.home, context.accounts);
      return [lexJob(context.home, specForTarget(target, where))];
    }
    // One account and region after the other: each pages through its own ListBots under its own quotas.
    const jobs: Job[] = [];
    for (const ref of target.accounts ?? [HOME_ACCOUNT]) {
      for (const region of target.regions ?? [context.home.region]) {
        const where = locate(ref, region, context.home, context.accounts);
        jobs.push(...(await this.discoverAt(target, where, context)));
      }
    }
    return jobs;
  }

  /**
   * Discovery in one account and region. A member account whose role cannot be assumed (not deployed,
   * wrong external ID) or whose Lex refuses the listing must not cost the other accounts their backups:
   * its failure becomes one job that fails at StartExport with the error, so the run manifest, the
   * run's Fail and the alarms name it. Throttling and outages still fail Plan, which the state machine retries.
   */
  private async discoverAt(target: LexTarget, where: Location, context: PlanContext): Promise<Job[]> {
    try {
      return await this.discover(target, where, context);
    } catch (err) {
      if (!(err instanceof ProviderAuthError || err instanceof ProviderRequestError)) throw err;
      logger.error('Lex discovery failed in one account and region; its bots are not backed up this run', {
        account: where.account,
        region: where.region,
        errorName: err.name,
        errorMessage: scrubText(err.message),
      });
      const failed: LexSpec = {
        kind: 'discoveryFailed',
        fileFormat: 'LexJson',
        ...locationSpec(where),
        error: `${err.name}: ${scrubText(err.message)}`,
      };
      return [lexJob(context.home, failed)];
    }
  }

  async start(job: Job): Promise<ExportRef> {
    const spec = parseSpec(job);
    if (spec.kind === 'discoveryFailed') {
      throw new ProviderAuthError(`Lex discovery in account ${spec.account} region ${spec.region} failed: ${spec.error ?? 'no reason recorded'}`);
    }
    const filePassword = spec.passwordSecret ? await this.password(spec.passwordSecret) : undefined;
    const res = await this.call(`CreateExport for ${job.id}`, () =>
      this.client(spec).send(
        new CreateExportCommand({
          resourceSpecification: resourceSpecification(spec),
          fileFormat: spec.fileFormat,
          // Only here, only in this call: the password never enters the job, the ref or a log.
          ...(filePassword ? { filePassword } : {}),
        }),
      ),
    );
    if (!res.exportId) throw new ProviderUnavailableError(`Lex CreateExport for ${job.id} returned no exportId.`);
    logger.info('Export started', { job: job.id, exportId: res.exportId, status: res.exportStatus });
    return { exportId: res.exportId };
  }

  async check(job: Job, ref: ExportRef): Promise<CheckResult> {
    const res = await this.describe(job, ref);
    switch (res.exportStatus) {
      case 'Completed':
        return { status: 'READY' };
      case 'Failed':
        return {
          status: 'FAILED',
          // Lex's words, which may quote a URL (an S3 location with its signature): scrubbed before they become a cause.
          reasons: res.failureReasons?.length ? res.failureReasons.map(scrubText) : ['Lex reported the export as Failed without a reason'],
        };
      case 'Deleting':
        // Someone deleted the export: it will never complete, so waiting out the budget would only delay the failure.
        return { status: 'FAILED', reasons: [`export ${ref.exportId} is being deleted`] };
      case 'InProgress':
        return { status: 'IN_PROGRESS' };
      default:
        // An unknown status: keep polling; the budget bounds the wait.
        logger.warn('Unknown Lex export status; treating it as in progress', { job: job.id, exportId: ref.exportId, status: res.exportStatus });
        return { status: 'IN_PROGRESS' };
    }
  }

  async downloadUrl(job: Job, ref: ExportRef): Promise<DownloadTarget> {
    const res = await this.describe(job, ref);
    if (res.exportStatus !== 'Completed') {
      throw new ProviderRequestError(
        `Lex export ${ref.exportId} for ${job.id} is ${res.exportStatus ?? 'in an unknown state'}, not Completed: nothing to download.`,
      );
    }
    if (!res.downloadUrl)
      throw new ProviderUnavailableError(`Lex export ${ref.exportId} for ${job.id} is Completed but came without a download URL.`);
    const region = await this.client(parseSpec(job)).config.region();
    return { url: res.downloadUrl, allowedHosts: lexDownloadHosts(region) };
  }

  async cleanup(job: Job, ref: ExportRef): Promise<void> {
    try {
      await this.client(parseSpec(job)).send(new DeleteExportCommand({ exportId: ref.exportId }));
    } catch (err) {
      // Already gone (deleted earlier, or expired after 7 days): that is what cleanup wanted. DeleteExport
      // declares no ResourceNotFoundException: Lex answers a gone export with 412 PreconditionFailedException
      // ("Failed to retrieve resource since it does not exist"); a 404 is accepted too, in case it ever does.
      const name = (err as Error).name;
      if (name === 'PreconditionFailedException' || name === 'ResourceNotFoundException') {
        logger.info('Export already gone; nothing to clean up', { job: job.id, exportId: ref.exportId, error: name });
        return;
      }
      throw mapLexError(err, `DeleteExport ${ref.exportId} for ${job.id}`);
    }
  }

  /**
   * What a Lex export leaves out and a restore needs (the restore sidecar):
   * DescribeBot (role, data privacy, idle TTL, type), every alias with its
   * locale settings (Lambda code hooks) and conversation logs (ListBotAliases,
   * paged, then DescribeBotAlias each), and the bot's tags. Test sets have no
   * bot: nothing to record.
   *
   * The bot's ARN (for ListTagsForResource) takes its partition and account
   * from the bot's role ARN: Lex can only use a role passed by the bot's own
   * account (iam:PassRole does not cross accounts), so no STS call is needed.
   */
  async restoreInfo(job: Job, _archive: ArchiveReader): Promise<RestoreDetails | undefined> {
    const spec = parseSpec(job);
    if (spec.kind === 'testSet' || spec.kind === 'discoveryFailed' || !spec.botId) return undefined;
    const botId = spec.botId;
    const lex = this.client(spec);
    const bot = await this.call(`DescribeBot ${botId}`, () => lex.send(new DescribeBotCommand({ botId })));
    if (
      !bot.botName ||
      !bot.roleArn ||
      !bot.dataPrivacy ||
      bot.dataPrivacy.childDirected === undefined ||
      bot.idleSessionTTLInSeconds === undefined
    ) {
      throw new ProviderUnavailableError(`Lex DescribeBot ${botId} left out the bot's name, role, data privacy or idle session TTL.`);
    }

    const aliasIds: string[] = [];
    for await (const page of this.pages(`ListBotAliases for ${botId}`, paginateListBotAliases({ client: lex, pageSize: 100 }, { botId }))) {
      for (const a of page.botAliasSummaries ?? []) if (a.botAliasId) aliasIds.push(a.botAliasId);
    }
    const aliases = await mapLimit(aliasIds, this.deps.discoveryConcurrency ?? 4, async (botAliasId): Promise<LexAliasInfo> => {
      const a = await this.call(`DescribeBotAlias ${botAliasId} of ${botId}`, () => lex.send(new DescribeBotAliasCommand({ botId, botAliasId })));
      // Only what CreateBotAlias takes; status, history and timestamps are not restored.
      return lexAliasInfoSchema.parse({
        botAliasId,
        botAliasName: a.botAliasName,
        description: a.description,
        botVersion: a.botVersion,
        botAliasLocaleSettings: a.botAliasLocaleSettings,
        conversationLogSettings: a.conversationLogSettings,
        sentimentAnalysisSettings: a.sentimentAnalysisSettings,
      });
    });

    const role = /^arn:([^:]+):iam::(\d{12}):/.exec(bot.roleArn);
    if (!role) throw new ProviderUnavailableError(`Lex DescribeBot ${botId} returned a role ARN that names no account: ${bot.roleArn}.`);
    const region = await lex.config.region();
    const resourceARN = `arn:${role[1]}:lex:${region}:${role[2]}:bot/${botId}`;
    const tagged = await this.call(`ListTagsForResource for bot ${botId}`, () => lex.send(new ListTagsForResourceCommand({ resourceARN })));

    return {
      lex: {
        botId,
        botName: bot.botName,
        ...(bot.description ? { description: bot.description } : {}),
        roleArn: bot.roleArn,
        dataPrivacy: { childDirected: bot.dataPrivacy.childDirected },
        idleSessionTTLInSeconds: bot.idleSessionTTLInSeconds,
        ...(bot.botType ? { botType: bot.botType } : {}),
        aliases,
        tags: { ...(tagged.tags ?? {}) },
      },
    };
  }

  async archivePassword(job: Job): Promise<ArchivePassword | undefined> {
    const spec = parseSpec(job);
    if (!spec.passwordSecret) return undefined;
    return { password: await this.password(spec.passwordSecret), secret: spec.passwordSecret };
  }

  // ---- internals ----

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw mapLexError(err, what);
    }
  }

  /** The SDK's paginator (it follows nextToken), its errors mapped like every other Lex call's. */
  private async *pages<T>(what: string, paginator: AsyncIterable<T>): AsyncGenerator<T> {
    try {
      for await (const page of paginator) yield page;
    } catch (err) {
      throw mapLexError(err, what);
    }
  }

  private describe(job: Job, ref: ExportRef) {
    const lex = this.client(parseSpec(job));
    return this.call(`DescribeExport ${ref.exportId} for ${job.id}`, () => lex.send(new DescribeExportCommand({ exportId: ref.exportId })));
  }

  /** The client for a job's (or a discovery's) account and region. */
  private client(where: { region?: string; roleArn?: string; externalId?: string }): LexModelsV2Client {
    if (!this.deps.lexAt || where.region === undefined) return this.deps.lex;
    return this.deps.lexAt({
      region: where.region,
      ...(where.roleArn ? { roleArn: where.roleArn } : {}),
      ...(where.externalId ? { externalId: where.externalId } : {}),
    });
  }

  /** The export password: the secret's string, or its `password` field when the secret is JSON. */
  private async password(secretId: string): Promise<string> {
    if (!this.deps.secrets) throw new InvalidInputError(`Target needs secret "${secretId}" but no secret reader is configured.`);
    return passwordFromSecret(await this.deps.secrets(secretId));
  }

  private async discover(t: LexTarget, where: Location, context: PlanContext): Promise<Job[]> {
    const lex = this.client(where);
    const at = locationSpec(where);
    const include = (t.include ?? []).map(globMatcher);
    const exclude = (t.exclude ?? []).map(globMatcher);
    const wanted = (name: string) => (include.length === 0 || include.some((m) => m(name))) && !exclude.some((m) => m(name));
    const mode = t.versions ?? 'DRAFT';
    const password = t.passwordSecret ? { passwordSecret: t.passwordSecret } : {};

    const bots: { botId: string; botName: string }[] = [];
    for await (const page of this.pages(`ListBots in ${where.account} ${where.region}`, paginateListBots({ client: lex, pageSize: 100 }, {}))) {
      for (const b of page.botSummaries ?? []) {
        if (!b.botId || !b.botName || !wanted(b.botName)) continue;
        if (b.botStatus === 'Deleting') continue; // an export of a bot being deleted can only fail
        if (isScratchBotName(b.botName)) {
          // The deep drill's scratch bot (lib/providers/drill.ts): a copy of an archive, deleted by the drill, never backed up.
          logger.info('Discovery skips a deep drill scratch bot', { botId: b.botId, botName: b.botName });
          continue;
        }
        bots.push({ botId: b.botId, botName: b.botName });
      }
    }

    const perBot = await mapLimit(bots, this.deps.discoveryConcurrency ?? 4, async (bot) => {
      const versions = mode === 'DRAFT' ? ['DRAFT'] : await this.versionsToExport(lex, bot.botId, mode);
      if (versions.length === 0) {
        logger.warn('Discovered bot has no numbered version; skipped (versions: "latest")', { botId: bot.botId, botName: bot.botName });
        return [];
      }
      const jobs: Job[] = [];
      for (const botVersion of versions) {
        jobs.push(lexJob(context.home, { kind: 'bot', botId: bot.botId, botVersion, fileFormat: 'LexJson', ...password, ...at }, bot.botName));
        if (t.locales) {
          for (const localeId of await this.localesOf(lex, bot.botId, botVersion)) {
            const spec: LexSpec = { kind: 'botLocale', botId: bot.botId, botVersion, localeId, fileFormat: 'LexJson', ...password, ...at };
            jobs.push(lexJob(context.home, spec, bot.botName));
          }
        }
      }
      return jobs;
    });
    const jobs = perBot.flat();
    logger.info('Lex discovery finished', {
      account: where.account,
      region: where.region,
      bots: bots.length,
      jobs: jobs.length,
      versions: mode,
      locales: Boolean(t.locales),
    });
    return jobs;
  }

  /** 'latest': the highest numbered version (none when the bot was never versioned); 'all': DRAFT and every numbered one. */
  private async versionsToExport(lex: LexModelsV2Client, botId: string, mode: 'latest' | 'all'): Promise<string[]> {
    const numbered: number[] = [];
    for await (const page of this.pages(`ListBotVersions for ${botId}`, paginateListBotVersions({ client: lex, pageSize: 100 }, { botId }))) {
      for (const v of page.botVersionSummaries ?? []) {
        if (v.botVersion && /^[1-9][0-9]*$/.test(v.botVersion) && v.botStatus !== 'Deleting') numbered.push(Number(v.botVersion));
      }
    }
    numbered.sort((a, b) => a - b);
    if (mode === 'latest') return numbered.length ? [String(numbered[numbered.length - 1])] : [];
    return ['DRAFT', ...numbered.map(String)];
  }

  private async localesOf(lex: LexModelsV2Client, botId: string, botVersion: string): Promise<string[]> {
    const locales: string[] = [];
    const paginator = paginateListBotLocales({ client: lex, pageSize: 100 }, { botId, botVersion });
    for await (const page of this.pages(`ListBotLocales for ${botId} version ${botVersion}`, paginator)) {
      for (const l of page.botLocaleSummaries ?? []) if (l.localeId) locales.push(l.localeId);
    }
    return locales;
  }
}
