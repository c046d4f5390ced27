/**
 * The deep drill of Lex V2 bot archives (lib/providers/drill.ts): import the
 * archive as a new scratch bot through `botvault restore`'s own path
 * (restore.ts: CreateUploadUrl → PUT → StartImport with the scratch name,
 * the drill's bot role and the drill tag → DescribeImport), build every
 * locale (BuildBotLocale → DescribeBotLocale until Built), export the
 * scratch bot through the backup's own path (provider.ts: CreateExport →
 * DescribeExport → download → DeleteExport), and delete it (DeleteBot).
 *
 * Quotas (Lex V2 Developer Guide, "Quotas"): bots per account (100 by
 * default) and parallel locale builds per account (5 by default) are read
 * from Service Quotas where it answers, and the drill waits for a free
 * slot rather than fail: it counts the account's bots (ListBots) before it
 * creates one, holds at most `parallelLocaleBuilds` builds at once, and
 * waits out Lex's own refusals (ServiceQuotaExceededException,
 * ConflictException, ThrottlingException) until its deadline.
 *
 * Only bot archives (`…/bot.zip`) are drilled: a locale or custom vocabulary
 * archive restores into an existing bot, and a drill never touches one.
 */
import {
  BuildBotLocaleCommand,
  DeleteBotCommand,
  DescribeBotCommand,
  DescribeBotLocaleCommand,
  DescribeImportCommand,
  type LexModelsV2Client,
  ListTagsForResourceCommand,
  paginateListBotLocales,
  paginateListBots,
} from '@aws-sdk/client-lex-models-v2';
import { createHash } from 'node:crypto';
import { readZipEntries } from '../../core/archive/zip';
import type { Job } from '../../core/contracts';
import type { KeyInfo } from '../definition';
import type { RestoreInfo } from '../definitions';
import {
  DRILL_TAG,
  type DrillContext,
  type DrillDeps,
  type DrillSource,
  downloadArchive,
  isScratchBotName,
  type LexQuotas,
  notConfigured,
  type ProviderDrill,
  type ScratchBot,
  SCRATCH_BOT_PREFIX,
  type StepOutcome,
  type SweptBot,
  waitFor,
} from '../drill';
import { RestoreRefusedError } from '../restore';
import { lexJob } from './keys';
import { LexProvider } from './provider';
import { readLexDefinition } from './change-summary';
import { restoreLex } from './restore';

/** Lex V2's documented defaults, used where Service Quotas cannot say (Lex V2 Developer Guide, "Quotas"). */
export const LEX_DEFAULT_QUOTAS: LexQuotas = {
  botsPerAccount: 100,
  parallelLocaleBuilds: 5,
  source: { botsPerAccount: 'default', parallelLocaleBuilds: 'default' },
};

/** Lex's answers that mean "not now": wait and ask again (ServiceQuotaExceededException is 402, per the model). */
const BUSY = new Set([
  'ServiceQuotaExceededException',
  'ConflictException',
  'ThrottlingException',
  'PreconditionFailedException',
  'TooManyRequestsException',
]);
/** Bot statuses that end by themselves (the lexv2-models model's BotStatus). */
const BOT_TRANSIENT = new Set(['Creating', 'Importing', 'Updating', 'Versioning']);
/** Locale statuses of a finished build (BotLocaleStatus): Built, or ReadyExpressTesting (usable, still optimizing). */
const LOCALE_BUILT = new Set(['Built', 'ReadyExpressTesting']);
const LOCALE_FAILED = new Set(['Failed']);

/**
 * StartImport is not asked for with less time than this before the steps' deadline: an import, a build and an
 * export of even a small bot take longer, and an import begun then would only leave a bot to clean up.
 */
const MIN_START_MS = 30_000;
const minStartMs = (ctx: DrillContext) => Math.max(MIN_START_MS, 2 * ctx.pollMs);

const errorName = (err: unknown) => (err as Error | undefined)?.name ?? 'Error';
const isBusy = (err: unknown) =>
  BUSY.has(errorName(err)) || (err instanceof RestoreRefusedError && [...BUSY].some((name) => err.message.includes(name)));

/** A counting semaphore: at most `capacity` holders at once, the rest wait in order. */
class Slots {
  private used = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly capacity: () => Promise<number>) {}
  async acquire(): Promise<() => void> {
    const capacity = Math.max(1, await this.capacity());
    if (this.used >= capacity) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.used++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used--;
      this.waiting.shift()?.();
    };
  }
}

/** The archive's Bot.json (`<Bot>/Bot.json`), read leniently: what StartImport needs for a new bot. */
function botSettings(entries: ReadonlyMap<string, Buffer>): { childDirected?: boolean; idleSessionTTLInSeconds?: number } {
  const name = [...entries.keys()].find((n) => /^[^/]+\/Bot\.json$/.test(n));
  try {
    const bot = JSON.parse(entries.get(name ?? '')?.toString('utf8') ?? '{}') as {
      dataPrivacy?: { childDirected?: unknown };
      idleSessionTTLInSeconds?: unknown;
    };
    return {
      ...(typeof bot.dataPrivacy?.childDirected === 'boolean' ? { childDirected: bot.dataPrivacy.childDirected } : {}),
      ...(Number.isInteger(bot.idleSessionTTLInSeconds) ? { idleSessionTTLInSeconds: bot.idleSessionTTLInSeconds as number } : {}),
    };
  } catch {
    return {};
  }
}

export function lexDrill(deps: DrillDeps): ProviderDrill {
  const lex = deps.lex;
  if (!lex) return notConfigured('lex', "deepDrill.lexBotRoleArn (the scratch bots' IAM role) is not configured");
  const client: LexModelsV2Client = lex.client;
  const partition = /^arn:([^:]+):/.exec(lex.roleArn)?.[1] ?? 'aws';
  const botArn = (botId: string) => `arn:${partition}:lex:${lex.home.region}:${lex.home.account}:bot/${botId}`;

  let quotas: Promise<LexQuotas> | undefined;
  const currentQuotas = () => {
    quotas ??= (lex.quotas?.() ?? Promise.resolve(LEX_DEFAULT_QUOTAS)).catch(() => LEX_DEFAULT_QUOTAS);
    return quotas;
  };
  // Shared by every archive of this run: the account's parallel builds, and the bots this run is creating now.
  const builds = new Slots(async () => (await currentQuotas()).parallelLocaleBuilds);
  let creating = 0;

  const listBots = async (ctx: DrillContext, filter?: string) => {
    const bots: { botId: string; botName?: string; botStatus?: string; lastUpdatedDateTime?: Date }[] = [];
    const input = filter ? { filters: [{ name: 'BotName' as const, values: [filter], operator: 'CO' as const }] } : {};
    await ctx.call('lex:ListBots', async () => {
      for await (const page of paginateListBots({ client, pageSize: 1000 }, input))
        for (const b of page.botSummaries ?? []) if (b.botId) bots.push(b as (typeof bots)[number]);
    });
    return bots;
  };

  /** Waits until the account has room for one more bot (bots per account), counting the bots this run is creating. */
  async function reserveBot(ctx: DrillContext): Promise<StepOutcome> {
    const { botsPerAccount } = await currentQuotas();
    let count = 0;
    const free = await waitFor(
      ctx,
      async () => {
        count = (await listBots(ctx)).length;
        if (count + creating >= botsPerAccount) return false;
        creating++;
        return true;
      },
      true,
    );
    return free
      ? { ok: true }
      : {
          ok: false,
          reasons: [
            `the account holds ${count} bots (quota: ${botsPerAccount} bots per account): no room for a scratch bot before the drill's deadline`,
          ],
        };
  }

  /** DescribeImport until the import ends or the deadline comes, waiting out throttling. */
  async function pollImport(
    importId: string,
    ctx: DrillContext,
  ): Promise<{ status: 'Completed' | 'Failed' | 'Deleting' | 'running'; botId?: string; reasons: readonly string[] }> {
    let last: { importStatus?: string; importedResourceId?: string; failureReasons?: string[] } = {};
    const ended = await waitFor(ctx, async () => {
      try {
        last = await ctx.call('lex:DescribeImport', () => client.send(new DescribeImportCommand({ importId })));
      } catch (err) {
        if (errorName(err) === 'ResourceNotFoundException') {
          last = { importStatus: 'Failed', failureReasons: [`DescribeImport: import ${importId} not found`] };
          return true;
        }
        // Throttled, or any other answer: the import runs at Lex all the same; ask again until the deadline.
        ctx.log('DescribeImport did not answer: asking again', { importId, error: errorName(err) });
        return false;
      }
      return last.importStatus === 'Completed' || last.importStatus === 'Failed' || last.importStatus === 'Deleting';
    });
    const status = ended ? (last.importStatus as 'Completed' | 'Failed' | 'Deleting') : 'running';
    return { status, ...(last.importedResourceId ? { botId: last.importedResourceId } : {}), reasons: last.failureReasons ?? [] };
  }

  async function findByName(name: string, ctx: DrillContext): Promise<ScratchBot | undefined> {
    const hit = (await listBots(ctx, name)).find((b) => b.botName === name);
    return hit ? { id: hit.botId, name } : undefined;
  }

  return {
    drillable: (resource: KeyInfo) => /\/bot\.zip$/.test(resource.key) && resource.botId !== undefined,

    async importArchive(source: DrillSource, name: string, ctx: DrillContext) {
      const settings = botSettings(source.entries);
      if (settings.childDirected === undefined)
        return { ok: false, reasons: ["the archive's Bot.json states no dataPrivacy.childDirected, which a new bot needs"] };
      const reserved = await reserveBot(ctx);
      if (!reserved.ok) return reserved;
      try {
        // The restore's own plan: the scratch bot's tag rides in as the "sidecar's" tags (StartImport botTags), the
        // drill's role as --role-arn; no alias, no other setting of the real bot is carried over.
        const info: RestoreInfo = {
          schemaVersion: 1,
          provider: 'lex',
          target: source.resource.id ?? source.resource.key,
          capturedAt: new Date(ctx.now()).toISOString(),
          runId: ctx.runId,
          archive: {
            key: source.resource.key,
            ...(source.versionId ? { versionId: source.versionId } : {}),
            sha256: createHash('sha256').update(source.data).digest('hex'),
          },
          lex: {
            botId: source.resource.botId!,
            botName: name,
            roleArn: lex.roleArn,
            dataPrivacy: { childDirected: settings.childDirected },
            idleSessionTTLInSeconds: settings.idleSessionTTLInSeconds ?? 300,
            aliases: [],
            tags: { [DRILL_TAG.key]: DRILL_TAG.value },
          },
        };
        // What the restore's plan did so far: once StartImport is accepted, the import is this run's, whatever
        // happens to the calls after it (a throttled DescribeImport must not start the whole restore again).
        let importId: string | undefined;
        let accepted = false;
        const env = {
          targets: [],
          allowedOrigins: deps.allowedOrigins,
          secrets: deps.secrets,
          aws: async <T>(what: string, call: () => Promise<T>) => {
            if (what === 'StartImport' && ctx.deadline - ctx.now() < minStartMs(ctx))
              throw new Error(
                `${Math.max(0, Math.round((ctx.deadline - ctx.now()) / 1000))} s left before the drill's deadline: too little to start an import (nothing was imported)`,
              );
            const out = await ctx.call(`lex:${what.split(' ')[0]}`, call);
            if (what === 'CreateUploadUrl') importId = (out as { importId?: string }).importId;
            if (what === 'StartImport') accepted = true;
            return out;
          },
          callerAccount: async () => lex.home.account,
        };
        let outcome: Awaited<ReturnType<Awaited<ReturnType<typeof restoreLex>>['start']>> | undefined;
        let refused: string | undefined;
        await waitFor(
          ctx,
          async () => {
            const timeout = Math.max(1, Math.floor((ctx.deadline - ctx.now()) / 1000));
            try {
              const plan = await restoreLex(
                {
                  resource: source.resource,
                  data: source.data,
                  entries: source.entries,
                  ...(source.password !== undefined ? { password: source.password } : {}),
                  info,
                },
                { toBot: name, roleArn: lex.roleArn, merge: 'FailOnConflict', pollMs: ctx.pollMs, timeout, region: lex.home.region },
                env,
              );
              try {
                if (plan.destination.existing) {
                  refused = `a bot named ${name} exists already (${plan.destination.botId}): the drill imports only into a new bot`;
                  return true;
                }
                outcome = await plan.start();
                ctx.count('s3:PutObject (upload)');
                return true;
              } finally {
                plan.close();
              }
            } catch (err) {
              // Accepted: the import runs at Lex whatever the caller hears; it is polled below, never started again.
              if (accepted) return true;
              if (isBusy(err)) {
                ctx.log('Lex is busy or at a quota: waiting to import again', { key: source.resource.key, error: (err as Error).message });
                return false;
              }
              refused = (err as Error).message;
              return true;
            }
          },
          true,
        );
        if (refused) {
          // A refusal after the upload may still have created the bot: find it, so that it is deleted.
          const bot = refused.startsWith('a bot named') ? undefined : await findByName(name, ctx).catch(() => undefined);
          return { ok: false, reasons: [refused], ...(bot ? { bot } : {}) };
        }
        if (!outcome && accepted && importId) {
          // StartImport was accepted and a later call failed (DescribeImport throttled past the SDK's retries): poll it.
          const polled = await pollImport(importId, ctx);
          if (polled.status === 'Completed' && polled.botId) return { ok: true, bot: { id: polled.botId, name } };
          const bot = polled.botId ? { id: polled.botId, name } : await findByName(name, ctx).catch(() => undefined);
          if (polled.status === 'running')
            return {
              ok: false,
              reasons: [`import ${importId} was still running at the drill's deadline`],
              ...(bot ? { bot } : { pendingImport: importId }),
            };
          return { ok: false, reasons: polled.reasons.length ? polled.reasons : [`import ${importId} ${polled.status}`], ...(bot ? { bot } : {}) };
        }
        if (!outcome) {
          const bot = await findByName(name, ctx).catch(() => undefined);
          return {
            ok: false,
            reasons: ["Lex stayed busy (quota, throttling or a conflicting operation) until the drill's deadline"],
            ...(bot ? { bot } : {}),
          };
        }
        if (outcome.status === 'COMPLETED' && outcome.destination.botId) return { ok: true, bot: { id: outcome.destination.botId, name } };
        // Failed or still running: whatever Lex created under the scratch name is deleted like a finished bot.
        const bot = await findByName(name, ctx).catch(() => undefined);
        const reasons =
          outcome.status === 'TIMED_OUT' ? [`import ${outcome.importId} was still running at the drill's deadline`] : outcome.failureReasons;
        return {
          ok: false,
          reasons: reasons.length ? reasons : [`import ${outcome.importId} ${outcome.status}`],
          // Still running and no bot yet: the delete phase polls it until its bot exists, then deletes that.
          ...(bot ? { bot } : outcome.status === 'TIMED_OUT' ? { pendingImport: outcome.importId } : {}),
        };
      } finally {
        creating--;
      }
    },

    async settleImport(importId: string, name: string, ctx: DrillContext) {
      const polled = await pollImport(importId, ctx);
      if (polled.botId) return { id: polled.botId, name };
      if (polled.status === 'running')
        throw new Error(`import ${importId} was still running at the drill's end: the next drill's sweep deletes its bot`);
      return findByName(name, ctx);
    },

    async build(bot: ScratchBot, ctx: DrillContext) {
      // The bot itself first: an import leaves it Importing or Creating for a while.
      let status: string | undefined;
      await waitFor(ctx, async () => {
        status = (await ctx.call('lex:DescribeBot', () => client.send(new DescribeBotCommand({ botId: bot.id })))).botStatus;
        return !BOT_TRANSIENT.has(status ?? '');
      });
      if (status === 'Failed' || BOT_TRANSIENT.has(status ?? '')) return { ok: false, reasons: [`the scratch bot is ${status}, not Available`] };
      const locales: string[] = [];
      await ctx.call('lex:ListBotLocales', async () => {
        for await (const page of paginateListBotLocales({ client, pageSize: 100 }, { botId: bot.id, botVersion: 'DRAFT' }))
          for (const l of page.botLocaleSummaries ?? []) if (l.localeId) locales.push(l.localeId);
      });
      if (!locales.length) return { ok: false, reasons: ['the imported bot has no locale to build'] };
      // One locale of a bot at a time: Lex may refuse a second build of the same bot while one runs (ConflictException);
      // bots build in parallel, up to the account's parallel locale builds.
      const results: StepOutcome[] = [];
      for (const localeId of locales) results.push(await buildLocale(bot, localeId, ctx));
      const reasons = results.flatMap((r, i) => (r.ok ? [] : (r.reasons ?? ['build failed']).map((x) => `${locales[i]}: ${x}`)));
      return reasons.length ? { ok: false, reasons } : { ok: true };
    },

    async reExport(bot: ScratchBot, _source: DrillSource, ctx: DrillContext) {
      const provider = new LexProvider({ lex: client });
      const job: Job = lexJob(lex.home, {
        kind: 'bot',
        botId: bot.id,
        botVersion: 'DRAFT',
        fileFormat: 'LexJson',
        account: lex.home.account,
        region: lex.home.region,
      });
      const ref = await ctx.call('lex:CreateExport', () => provider.start(job));
      try {
        let failed: readonly string[] | undefined;
        const ready = await waitFor(ctx, async () => {
          const r = await ctx.call('lex:DescribeExport', () => provider.check(job, ref));
          if (r.status === 'FAILED') failed = r.reasons ?? ['the export failed'];
          return r.status !== 'IN_PROGRESS';
        });
        if (failed) throw new Error(`Lex export ${ref.exportId} of the scratch bot failed: ${failed.join('; ')}`);
        if (!ready) throw new Error(`Lex export ${ref.exportId} of the scratch bot was still in progress at the drill's deadline`);
        const target = await ctx.call('lex:DescribeExport', () => provider.downloadUrl(job, ref));
        const data = await downloadArchive(target, deps.allowedOrigins, ctx);
        return await readZipEntries(data);
      } finally {
        await ctx.call('lex:DeleteExport', () => provider.cleanup(job, ref)).catch(() => undefined);
      }
    },

    async deleteBot(bot: ScratchBot, ctx: DrillContext) {
      await deleteScratchBot(bot.id, ctx);
      return 'deleted' as const;
    },

    async sweep(olderThanMs: number, ctx: DrillContext): Promise<SweptBot[]> {
      const swept: SweptBot[] = [];
      for (const b of await listBots(ctx, SCRATCH_BOT_PREFIX)) {
        const age = ctx.now() - (b.lastUpdatedDateTime?.getTime() ?? ctx.now());
        if (!isScratchBotName(b.botName) || age < olderThanMs || b.botStatus === 'Deleting') continue;
        const entry = { provider: 'lex', id: b.botId, name: b.botName!, ageHours: Math.round(age / 3_600_000) };
        try {
          await deleteScratchBot(b.botId, ctx);
          swept.push({ ...entry, deleted: true });
        } catch (err) {
          swept.push({ ...entry, deleted: false, error: `${errorName(err)}: ${(err as Error).message}` });
        }
      }
      return swept;
    },

    async scratchBotsNow(ctx: DrillContext) {
      return (await listBots(ctx, SCRATCH_BOT_PREFIX))
        .filter((b) => isScratchBotName(b.botName) && b.botStatus !== 'Deleting')
        .map((b) => ({ id: b.botId, name: b.botName! }));
    },

    withoutBotName(entries: ReadonlyMap<string, Buffer>, placeholder: string) {
      const out = new Map<string, Buffer>();
      for (const [name, data] of entries) {
        const parts = name.split('/');
        // Every export holds Manifest.json beside one folder named after the bot (README "Export formats").
        const renamed = parts.length > 1 ? [placeholder, ...parts.slice(1)].join('/') : name;
        if (parts.length === 2 && parts[1] === 'Bot.json') {
          try {
            out.set(renamed, Buffer.from(JSON.stringify({ ...(JSON.parse(data.toString('utf8')) as object), name: placeholder }), 'utf8'));
            continue;
          } catch {
            // not JSON: compared as it is
          }
        }
        out.set(renamed, data);
      }
      return out;
    },

    totalOf(entries: ReadonlyMap<string, Buffer>, change, noun) {
      const locale = change.scope ? readLexDefinition(entries).locales.get(change.scope) : undefined;
      if (!locale) return undefined;
      const intent = /^intent (.+)$/.exec(change.subject)?.[1];
      if (intent !== undefined && noun.startsWith('utterance')) return locale.intents.get(intent)?.utterances.length;
      const slotType = /^slot type (.+)$/.exec(change.subject)?.[1];
      if (slotType !== undefined && noun.startsWith('value')) return locale.slotTypes.get(slotType)?.values.size;
      if (change.subject === 'custom vocabulary' && noun.startsWith('phrase')) return locale.vocabulary?.size;
      return undefined;
    },
  };

  /** One locale's build: a slot of the account's parallel builds, BuildBotLocale (waiting out refusals), then DescribeBotLocale until it ends. */
  async function buildLocale(bot: ScratchBot, localeId: string, ctx: DrillContext): Promise<StepOutcome> {
    const release = await builds.acquire();
    try {
      let refused: string | undefined;
      const started = await waitFor(
        ctx,
        async () => {
          try {
            await ctx.call('lex:BuildBotLocale', () => client.send(new BuildBotLocaleCommand({ botId: bot.id, botVersion: 'DRAFT', localeId })));
            return true;
          } catch (err) {
            if (BUSY.has(errorName(err))) {
              ctx.log('Lex refused a locale build for now (parallel builds or a conflicting operation): waiting', {
                botId: bot.id,
                localeId,
                error: errorName(err),
              });
              return false;
            }
            refused = `BuildBotLocale: ${errorName(err)}: ${(err as Error).message}`;
            return true;
          }
        },
        true,
      );
      if (refused) return { ok: false, reasons: [refused] };
      if (!started) return { ok: false, reasons: ["Lex would not start the build before the drill's deadline (parallel locale builds)"] };
      let last: { botLocaleStatus?: string; failureReasons?: string[] } = {};
      const ended = await waitFor(ctx, async () => {
        last = await ctx.call('lex:DescribeBotLocale', () =>
          client.send(new DescribeBotLocaleCommand({ botId: bot.id, botVersion: 'DRAFT', localeId })),
        );
        return LOCALE_BUILT.has(last.botLocaleStatus ?? '') || LOCALE_FAILED.has(last.botLocaleStatus ?? '') || last.botLocaleStatus === 'NotBuilt';
      });
      if (!ended) return { ok: false, reasons: [`still ${last.botLocaleStatus ?? 'building'} at the drill's deadline`] };
      if (LOCALE_BUILT.has(last.botLocaleStatus ?? '')) return { ok: true };
      return { ok: false, reasons: last.failureReasons?.length ? last.failureReasons : [`the build ended ${last.botLocaleStatus}`] };
    } finally {
      release();
    }
  }

  /**
   * DeleteBot of a scratch bot, and only of one: its name must be a scratch
   * name and it must carry the drill tag (the IAM says the same; this says
   * it before asking). Then waits until the bot is gone, so that "no scratch
   * bot left" is a fact when the report says it.
   */
  async function deleteScratchBot(botId: string, ctx: DrillContext): Promise<void> {
    let described: { botName?: string };
    try {
      described = await ctx.call('lex:DescribeBot', () => client.send(new DescribeBotCommand({ botId })));
    } catch (err) {
      if (errorName(err) === 'ResourceNotFoundException') return;
      throw err;
    }
    if (!isScratchBotName(described.botName)) throw new Error(`refusing to delete bot ${botId} (${described.botName}): not a scratch bot's name`);
    const tags =
      (await ctx.call('lex:ListTagsForResource', () => client.send(new ListTagsForResourceCommand({ resourceARN: botArn(botId) })))).tags ?? {};
    if (tags[DRILL_TAG.key] !== DRILL_TAG.value)
      throw new Error(`refusing to delete bot ${botId} (${described.botName}): it has no ${DRILL_TAG.key} tag`);
    // A bot still importing or building refuses deletion for a moment (ConflictException): wait it out, until ctx.deadline
    // (the delete phase gets the hard deadline: the function's end less what the report needs), never past it.
    let deleteError: unknown;
    let lastRefusal = '';
    const accepted = await waitFor(ctx, async () => {
      try {
        await ctx.call('lex:DeleteBot', () => client.send(new DeleteBotCommand({ botId, skipResourceInUseCheck: true })));
        return true;
      } catch (err) {
        if (errorName(err) === 'ResourceNotFoundException') return true;
        if (!BUSY.has(errorName(err))) {
          deleteError = err;
          return true;
        }
        lastRefusal = `${errorName(err)}: ${(err as Error).message}`;
        // DeleteBot declares no ResourceNotFoundException: Lex answers a bot already gone with 412, one already
        // being deleted with 409. Look before asking again, or the loop would spin until the deadline.
        try {
          const now = await ctx.call('lex:DescribeBot', () => client.send(new DescribeBotCommand({ botId })));
          return now.botStatus === 'Deleting';
        } catch (describeErr) {
          if (errorName(describeErr) === 'ResourceNotFoundException') return true;
          throw describeErr;
        }
      }
    });
    if (deleteError) throw deleteError;
    if (!accepted)
      throw new Error(`DeleteBot of bot ${botId} was not accepted before the drill's end${lastRefusal ? ` (last answer ${lastRefusal})` : ''}`);
    const gone = await waitFor(ctx, async () => {
      try {
        await ctx.call('lex:DescribeBot', () => client.send(new DescribeBotCommand({ botId })));
        return false;
      } catch (err) {
        if (errorName(err) === 'ResourceNotFoundException') return true;
        throw err;
      }
    });
    if (!gone) throw new Error(`bot ${botId} was still being deleted at the drill's end (DeleteBot was accepted)`);
  }
}
