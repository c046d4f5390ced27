/**
 * The deep drill of Kore.ai bot archives (lib/providers/drill.ts): import the
 * archive into a scratch bot through `botvault restore`'s own path
 * (restore.ts: POST /api/public/uploadfile → POST /api/public/bot/import as a
 * new bot, or /api/public/bot/{botId}/import → poll the import status),
 * export the scratch bot through the backup's own path (provider.ts: Bot
 * Export → export status → download), and compare.
 *
 * Kore.ai's public APIs can create, import and export bots but not delete
 * one (Koredotcom/docs, docs/xo/apis/automation/api-list.md: the Bot
 * Definition and Admin APIs list Upload File, Import Bot as a New Bot,
 * Import Bot into an Existing Bot, Bot Import Status, Bot Export, Bot Export
 * Status, but no delete). A new bot per drill would pile up forever, so each
 * host gets ONE scratch bot, `botvault-drill-<hash of the host>`: the first
 * drill there creates it (Import Bot as a New Bot) and records its id in the
 * bucket (an authenticated record, lambdas/deep-drill); every later drill
 * imports into it. Archives of one host are drilled one after the other.
 *
 * The app is an Admin Console app with Bot Definition > Bot Import and Bot
 * Export (config deepDrill.koreaiCredentialsSecret). Its scope cannot be
 * limited to the scratch bot: Admin Console scopes cover every bot of the
 * account (api-introduction.md), so the guard is in the code — it imports
 * only into a bot it created itself, under its scratch name, and never into
 * the id of a configured bot.
 */
import { createHash } from 'node:crypto';
import { readZipEntries } from '../../core/archive/zip';
import type { KeyInfo } from '../definition';
import type { Target } from '../definitions';
import {
  type DrillContext,
  type DrillDeps,
  type DrillSource,
  downloadArchive,
  isScratchBotName,
  notConfigured,
  type ProviderDrill,
  type ScratchBot,
  SCRATCH_BOT_PREFIX,
  waitFor,
} from '../drill';
import { type RestoreEnv, RestoreRefusedError, type RestoreRequest } from '../restore';
import { readKoreDefinition } from './change-summary';
import { koreaiJob } from './keys';
import { KoreaiProvider } from './provider';
import { restoreKoreai } from './restore';
import { KOREAI_BOT_ID, type KoreaiTarget } from './target';

/** The one scratch bot of a Kore.ai host: `botvault-drill-` and 12 hex digits of SHA-256 over the host. */
export function koreaiScratchBotName(host: string): string {
  return `${SCRATCH_BOT_PREFIX}${createHash('sha256').update(`koreai\0${host}`).digest('hex').slice(0, 12)}`;
}

/** The config target whose bot an archive key is (its own target first, else a discovery target of the key's host and export type). */
function targetOf(targets: readonly Target[], resource: KeyInfo): KoreaiTarget | undefined {
  const kore = targets.filter((t): t is KoreaiTarget => t.provider === 'koreai');
  const [, host, , exportType] = resource.key.split('/');
  return (
    kore.find((t) => !t.discover && koreaiJob(t).key === resource.key) ??
    kore.find((t) => t.discover && new URL(t.host).host === host && t.exportType === exportType)
  );
}

/** Keys of config.json that name the bot or are ids Kore.ai gives anew: a scratch bot's differ by nature. */
const CONFIG_IDENTITY = new Set(['name', '_id', 'botId', 'streamId', 'id', 'createdOn', 'modifiedOn', 'createdBy', 'modifiedBy']);

/** config.json as canonical JSON (sorted keys) without the bot's name and ids; undefined when absent or not JSON. */
function configWithoutIds(data: Buffer | undefined): string | undefined {
  if (!data) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(data.toString('utf8'));
  } catch {
    return undefined;
  }
  const canonical = (v: unknown, top: boolean): unknown =>
    Array.isArray(v)
      ? v.map((x) => canonical(x, false))
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v as Record<string, unknown>)
              .filter(([k]) => !(top ? CONFIG_IDENTITY.has(k) : k === '_id'))
              .sort(([x], [y]) => x.localeCompare(y))
              .map(([k, x]) => [k, canonical(x, false)]),
          )
        : v;
  return JSON.stringify(canonical(doc, true));
}

export function koreaiDrill(deps: DrillDeps): ProviderDrill {
  const kore = deps.koreai;
  if (!kore)
    return notConfigured('koreai', 'deepDrill.koreaiCredentialsSecret (an Admin Console app with Bot Import and Bot Export) is not configured');
  const configuredBots = new Set(kore.targets.flatMap((t) => (t.provider === 'koreai' && t.botId ? [t.botId] : [])));
  const provider = new KoreaiProvider({ secrets: deps.secrets, allowedOrigins: deps.allowedOrigins });

  /** The archive's target with the drill's app: the credentials the import and the re-export use. */
  const drillTarget = (t: KoreaiTarget, botId: string): KoreaiTarget => {
    const { discover: _discover, adminCredentialsSecret: _admin, include: _include, exclude: _exclude, ...rest } = t;
    return { ...rest, botId, credentialsSecret: kore.credentialsSecret };
  };

  const hostOf = (resource: KeyInfo) => resource.key.split('/')[1] ?? '';

  const importInto = async (source: DrillSource, ctx: DrillContext): Promise<{ ok: boolean; reasons?: readonly string[]; bot?: ScratchBot }> => {
    const target = targetOf(kore.targets, source.resource);
    if (!target) return { ok: false, reasons: [`${source.resource.key}: no Kore.ai target of the config backs it up, so its host is unknown`] };
    const host = hostOf(source.resource);
    const name = koreaiScratchBotName(host);
    // The record is trusted only when it verifies; one that cannot be read now (S3, KMS) or does not verify fails
    // the archive: a new bot is made only when there is no record, or Kore.ai no longer has the recorded bot.
    let recorded: ScratchBot | undefined;
    try {
      recorded = await kore.scratchBots.get(host);
    } catch (err) {
      return {
        ok: false,
        reasons: [`the scratch bot record of ${host} cannot be used (no bot is made, the record is kept): ${(err as Error).message}`],
      };
    }
    let existing: ScratchBot | undefined;
    if (recorded) {
      // Never a bot the config backs up or the bucket holds archives of, and only one of the drill's own name.
      const archived = await kore.archivedBotIds();
      if (recorded.name !== name || !KOREAI_BOT_ID.test(recorded.id) || configuredBots.has(recorded.id) || archived.has(recorded.id))
        return {
          ok: false,
          reasons: [
            `refusing the recorded scratch bot ${recorded.id} (${recorded.name}) of ${host}: not the drill's own (its name, or a bot BotVault backs up)`,
          ],
        };
      // And at Kore.ai: the bot is there under the scratch name (Get Bots with the drill's admin app), or it is gone.
      let listed: { botId: string; name?: string }[];
      try {
        listed = await ctx.call('koreai:bots', () =>
          provider.listBots({ ...drillTarget(target, source.resource.botId!), adminCredentialsSecret: kore.credentialsSecret }),
        );
      } catch (err) {
        return { ok: false, reasons: [`Kore.ai Get Bots, to check the recorded scratch bot ${recorded.id}: ${(err as Error).message}`] };
      }
      const at = listed.find((b) => b.botId === recorded.id);
      if (at && at.name !== name)
        return {
          ok: false,
          reasons: [`refusing to import into bot ${recorded.id}: Kore.ai names it ${JSON.stringify(at.name ?? '')}, not the scratch name ${name}`],
        };
      if (at) existing = recorded;
      else ctx.log('The recorded Kore.ai scratch bot is gone: a new one is made', { host, botId: recorded.id });
    }
    const env: RestoreEnv = {
      // restoreKoreai finds the archive's host and credentials in the target of its key: that target, with the drill's app.
      targets: [drillTarget(target, source.resource.botId!)],
      allowedOrigins: deps.allowedOrigins,
      secrets: deps.secrets,
      aws: (_what, call) => call(),
      callerAccount: async () => '',
    };
    const timeout = Math.max(1, Math.floor((ctx.deadline - ctx.now()) / 1000));
    const request: RestoreRequest = existing
      ? { toBot: existing.id, merge: 'Overwrite', pollMs: ctx.pollMs, timeout }
      : { toBot: name, pollMs: ctx.pollMs, timeout };
    let plan: Awaited<ReturnType<typeof restoreKoreai>>;
    try {
      plan = await ctx.call('koreai:restore plan', () => restoreKoreai(source, request, env));
    } catch (err) {
      return { ok: false, reasons: [(err as Error).message] };
    }
    try {
      // The restore's start(): uploadfile, import, then import/status until it settles (its polls are not counted one by one).
      const outcome = await ctx.call('koreai:import', () => plan.start());
      ctx.count('koreai:uploadfile');
      ctx.count('koreai:import/status');
      const botId = outcome.destination.botId ?? existing?.id;
      if (!existing && botId && KOREAI_BOT_ID.test(botId)) await kore.scratchBots.put(host, { id: botId, name });
      if (outcome.status !== 'COMPLETED' || !botId)
        return {
          ok: false,
          reasons: outcome.failureReasons.length ? outcome.failureReasons : [`import ${outcome.importId} ${outcome.status}`],
          ...(botId ? { bot: { id: botId, name } } : {}),
        };
      return { ok: true, bot: { id: botId, name } };
    } catch (err) {
      return { ok: false, reasons: [err instanceof RestoreRefusedError ? err.message : `${(err as Error).name}: ${(err as Error).message}`] };
    } finally {
      plan.close();
    }
  };

  return {
    drillable: (resource: KeyInfo) => /^koreai\/[^/]+\/[^/]+\/[^/]+\/bot\.zip$/.test(resource.key) && resource.botId !== undefined,

    // Archives of one host are drilled one after the other: its one scratch bot holds one definition at a time.
    exclusive: (resource: KeyInfo) => `koreai:${hostOf(resource)}`,

    importArchive: (source: DrillSource, _name: string, ctx: DrillContext) => importInto(source, ctx),

    async reExport(bot: ScratchBot, source: DrillSource, ctx: DrillContext) {
      {
        const target = targetOf(kore.targets, source.resource);
        if (!target) throw new Error(`${source.resource.key}: no Kore.ai target of the config backs it up`);
        // The scratch bot's in-development definition (what the import changed), with the backup's own export options.
        const job = koreaiJob({ ...drillTarget(target, bot.id), exportType: 'latest' });
        const ref = await ctx.call('koreai:export', () => provider.start(job));
        let failed: readonly string[] | undefined;
        const ready = await waitFor(ctx, async () => {
          const r = await ctx.call('koreai:export/status', () => provider.check(job, ref));
          if (r.status === 'FAILED') failed = r.reasons ?? ['the export failed'];
          return r.status !== 'IN_PROGRESS';
        });
        if (failed) throw new Error(`Kore.ai export of the scratch bot failed: ${failed.join('; ')}`);
        if (!ready) throw new Error("Kore.ai export of the scratch bot was still pending at the drill's deadline");
        const target2 = await ctx.call('koreai:export/status', () => provider.downloadUrl(job, ref));
        return await readZipEntries(await downloadArchive(target2, deps.allowedOrigins, ctx));
      }
    },

    async deleteBot(bot: ScratchBot) {
      if (!isScratchBotName(bot.name)) throw new Error(`refusing to touch Kore.ai bot ${bot.id}: not a scratch bot's name`);
      // No public delete API: the host's one scratch bot stays for the next drill (see the top of this file).
      return 'kept' as const;
    },

    // One scratch bot per host, reused: nothing piles up, nothing to sweep.
    sweep: async () => [],

    async scratchBotsNow() {
      const hosts = new Set(kore.targets.flatMap((t) => (t.provider === 'koreai' ? [new URL(t.host).host] : [])));
      const bots: ScratchBot[] = [];
      for (const host of hosts) {
        const bot = await kore.scratchBots.get(host).catch(() => undefined);
        if (bot) bots.push(bot);
      }
      return bots;
    },

    withoutBotName(entries: ReadonlyMap<string, Buffer>, placeholder: string) {
      const out = new Map(entries);
      for (const file of ['botDefinition.json', 'config.json']) {
        const data = out.get(file);
        if (!data) continue;
        try {
          const doc = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
          if (file === 'config.json') doc.name = placeholder;
          // Real exports keep the bot's name in localeData.<lang>.name (README "Export formats"), one per language.
          const locales = doc.localeData as Record<string, Record<string, unknown> | undefined> | undefined;
          if (locales && typeof locales === 'object')
            for (const l of Object.values(locales)) if (l && typeof l === 'object' && 'name' in l) l.name = placeholder;
          out.set(file, Buffer.from(JSON.stringify(doc), 'utf8'));
        } catch {
          // not JSON: compared as it is
        }
      }
      return out;
    },

    // The change summary reads botDefinition.json, otherChanges config.json; any other file is compared by its presence.
    summarised: (path: string) => path === 'botDefinition.json' || path === 'config.json',

    otherChanges(before: ReadonlyMap<string, Buffer>, after: ReadonlyMap<string, Buffer>) {
      // config.json (bot settings, environment variables, bot functions): compared whole, its name and ids aside.
      const [b, a] = [configWithoutIds(before.get('config.json')), configWithoutIds(after.get('config.json'))];
      if (b === undefined || a === undefined || b === a) return [];
      return [{ subject: 'config.json', detail: 'bot settings changed' }];
    },

    totalOf(entries: ReadonlyMap<string, Buffer>, change, noun) {
      const def = readKoreDefinition(entries);
      if (change.subject === 'knowledge graph' && noun.startsWith('question')) return def.faqs.size;
      const dialog = /^dialog (.+)$/.exec(change.subject)?.[1];
      if (dialog === undefined) return undefined;
      const lname = [...def.dialogs].find(([, d]) => d.name === dialog)?.[0];
      if (lname === undefined) return undefined;
      const key = `${lname}\0${change.scope ?? ''}`;
      if (noun.startsWith('utterance')) return def.utterances.get(key)?.length;
      if (noun.startsWith('pattern')) return def.patterns.get(key)?.length;
      return undefined;
    },
  };
}
