/**
 * Kore.ai (public Bot Export API) as a BotVault provider.
 *
 * Exports: POST /api/public/bot/{botId}/export → GET .../export/status until
 * `success` → download the `downloadURL` of a fresh status call. Every call
 * carries a JWT (HS256, signed with the app's client secret read from Secrets
 * Manager) in the `auth` header; a new one is minted per call so a `jti` is
 * never reused and `exp` stays short.
 *
 * The status API reports a bot's LATEST export, not a given request's, so
 * every status is matched against our export's `_id`: someone else's export
 * is never downloaded in our name.
 *
 * Kore.ai keeps no export resources to delete: cleanup does nothing.
 *
 * Discovery (`"discover": true`) lists the account's bots with the Admin
 * API's Get Bots and plans one job per bot whose name the patterns select.
 * Its reply lists every bot's apps WITH their client secrets: it is parsed
 * into ids and names at once (listedBotSchema), and nothing else of it is
 * kept, logged, or quoted in an error (client.ts `sensitiveReply`).
 */
// zod/mini: bundled into the Lambdas (lib/core/schemas.ts says why).
import * as z from 'zod/mini';
import { type DiscoveredKoreBot, type KoreaiSpec, koreaiJob, koreaiSpecSchema } from './keys';
import { nonEmptyString, type ExportRef, type Job } from '../../core/contracts';
import { downloadAllowlist } from '../../core/env';
import { InvalidInputError, ProviderRequestError, ProviderUnavailableError, RateLimitedError } from '../../core/errors';
import { logger } from '../../core/logger';
import { isScratchBotName } from '../scratch-names';
import { globMatcher } from '../../core/schemas';
import type { SecretReader } from '../../core/secrets';
import type { ArchiveReader, CheckResult, DownloadTarget, PlanContext, Provider } from '../types';
import type { RestoreDetails, Target } from '../definitions';
import { koreaiCall, koreaiErrorText } from './client';
import { koreaiBotName } from './export-format';
import { KOREAI_BOT_ID, type KoreaiTarget } from './target';

export interface KoreaiProviderDeps {
  /** Reads `credentialsSecret`. */
  readonly secrets: SecretReader;
  /** @default guardedFetch (lib/core/guarded-fetch.ts), the download guard on every API call */
  readonly fetch?: (url: URL, init: RequestInit) => Promise<Response>;
  /** Origins that may be plain http (local simulators). @default BOTVAULT_DOWNLOAD_ALLOWLIST */
  readonly allowedOrigins?: readonly string[];
  /** Per-request timeout. @default 30 s */
  readonly requestTimeoutMs?: number;
  /**
   * Discovery: the waits before each retry of a Get Bots page that answered
   * 429 or 5xx (or did not answer); after the last, the error goes to the
   * state machine, which retries Plan. @default [2000, 8000]
   */
  readonly listRetryDelaysMs?: readonly number[];
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/*
 * Get Bots, the Admin API's bot list: `GET https://{host}/api/public/bots?offset=0&limit=50`
 * with `auth: <JWT>` of an app "created only from Admin Console", API scope
 * "Admin Console: Profile Management > Role Management" (Koredotcom/docs
 * docs/xo/apis/automation/get-bots.md; developer.kore.ai/docs/bots/api-guide/get-bots-api).
 * - `limit`: "The maximum applicable limit is 50" (every version of the page).
 * - `offset`: documented three ways: "the page number from which to start
 *   fetching ... 0, which is the first page" (developer.kore.ai v9-0, v10-2),
 *   "the number from which to start fetching" (Koredotcom/docs get-bots.md),
 *   and "the number of pages to skip or retrieve ... with a maximum value of
 *   10" (developer.kore.ai/docs, current). A public deployment script pages
 *   with offset 0, 1, 2, ... and limit 50 until `availableMore` is false. So
 *   pages are asked for by page number, and the second page tells which
 *   reading the server follows: if it begins with the first page's second
 *   bot, `offset` counts bots, and it is advanced by bots from then on.
 *   (If offset stops at 10 pages, an account of more than 550 bots fails
 *   discovery with the API's own error at offset 11, rather than being
 *   silently half backed up.)
 * - Reply: `{"total": 169, "availableMore": true, "bots": [{"_id": "st-…",
 *   "name": "…", "status": "published", "type": "default", …, "jwtApps":
 *   [{"clientId": "cs-…", "clientSecret": "…", …}]}]}` (get-bots.md "Sample
 *   Response"; older samples, developer.kore.ai v9-0, have no `jwtApps`).
 *   More pages follow while `availableMore` is true; `moreAvailable`
 *   (undocumented) is read too; without either, while fewer than `total`
 *   bots were listed, or without that either, while pages come back full.
 * - Rate limit: admin APIs 60 a minute and 1,800 an hour per account
 *   (docs/xo/apis/automation/rate-limit.md); over it, 429 "Rate limit for
 *   this API has been reached".
 */
/** Get Bots' largest page (get-bots.md: "The maximum applicable limit is 50"). */
const KOREAI_LIST_LIMIT = 50;
/** A listing that has not ended after this many pages (10,000 bots) is not believed. */
const MAX_LIST_PAGES = 200;
const GET_BOTS_SCOPE =
  'the Admin Console API scope Profile Management > Role Management (Get Bots answers only apps created in the Admin Console, not Bot Builder apps)';

/**
 * The only parts of a listed bot that are read: everything else, `jwtApps`
 * with their client secrets among it, is dropped by the parse (zod objects
 * strip unknown keys).
 */
const listedBotSchema = z.object({ _id: z.string(), name: z.optional(z.string()) });
/** The paging fields are read only when they have the documented type; the bots are checked one by one. */
const listingSchema = z.object({
  bots: z.array(z.unknown()),
  total: z.catch(z.optional(z.number()), undefined),
  availableMore: z.catch(z.optional(z.boolean()), undefined),
  moreAvailable: z.catch(z.optional(z.boolean()), undefined),
});

/** One Get Bots page, reduced to what discovery needs. */
interface ListedPage {
  readonly bots: DiscoveredKoreBot[];
  /** Entries in the reply, valid or not. */
  readonly size: number;
  readonly more: boolean | undefined;
  readonly total: number | undefined;
}

const startReplySchema = z.object({ _id: nonEmptyString(), status: z.optional(z.string()) });
const statusReplySchema = z.object({
  _id: z.optional(z.string()),
  status: z.optional(z.string()),
  downloadURL: z.optional(z.string()),
  message: z.optional(z.string()),
  error: z.optional(z.unknown()),
  errors: z.optional(z.unknown()),
});
type StatusReply = z.infer<typeof statusReplySchema>;

function parseSpec(job: Job): KoreaiSpec {
  const parsed = koreaiSpecSchema.safeParse(job.spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidInputError(`Job ${job.id} has an invalid Kore.ai spec: job.spec.${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

export class KoreaiProvider implements Provider {
  readonly name = 'koreai';

  constructor(private readonly deps: KoreaiProviderDeps) {}

  async plan(target: Target, _context: PlanContext): Promise<Job[]> {
    if (target.provider !== 'koreai') throw new InvalidInputError(`The Kore.ai provider cannot plan a ${String(target.provider)} target.`);
    if (!target.discover) return [koreaiJob(target)];
    return this.discover(target);
  }

  async start(job: Job): Promise<ExportRef> {
    const spec = parseSpec(job);
    const reply = await this.call(spec, job, 'POST', 'export', spec.body);
    const parsed = startReplySchema.safeParse(reply);
    if (!parsed.success) throw new ProviderUnavailableError(`Kore.ai export of ${job.id} answered without an export _id.`);
    logger.info('Export started', { job: job.id, exportId: parsed.data._id, status: parsed.data.status });
    return { exportId: parsed.data._id };
  }

  async check(job: Job, ref: ExportRef): Promise<CheckResult> {
    const status = await this.status(job, ref);
    if (status.kind === 'foreign') {
      return {
        status: 'FAILED',
        reasons: [
          `the status API now reports export ${status.reply._id ?? '(no id)'}, not ours (${ref.exportId}): another export of this bot was started meanwhile and replaced ours; the next run backs it up again`,
        ],
      };
    }
    const s = status.reply.status?.toLowerCase();
    switch (s) {
      case 'success':
        if (!status.reply.downloadURL) {
          logger.warn('Kore.ai reports success without a downloadURL; polling on', { job: job.id, exportId: ref.exportId });
          return { status: 'IN_PROGRESS' };
        }
        return { status: 'READY' };
      case 'failed':
      case 'error':
      case 'failure':
        return { status: 'FAILED', reasons: [failureReason(status.reply)] };
      case 'pending':
      case 'inprogress':
      case 'in_progress':
      case 'running':
        return { status: 'IN_PROGRESS' };
      default:
        logger.warn('Unknown Kore.ai export status; treating it as in progress', {
          job: job.id,
          exportId: ref.exportId,
          status: status.reply.status,
        });
        return { status: 'IN_PROGRESS' };
    }
  }

  async downloadUrl(job: Job, ref: ExportRef): Promise<DownloadTarget> {
    const spec = parseSpec(job);
    const status = await this.status(job, ref);
    if (status.kind === 'foreign') {
      throw new ProviderRequestError(
        `Kore.ai export ${ref.exportId} for ${job.id} was replaced by another export of the bot (${status.reply._id ?? 'no id'}): nothing of ours to download.`,
      );
    }
    if (status.reply.status?.toLowerCase() !== 'success' || !status.reply.downloadURL) {
      throw new ProviderRequestError(
        `Kore.ai export ${ref.exportId} for ${job.id} is ${status.reply.status ?? 'in an unknown state'}, not success with a downloadURL: nothing to download.`,
      );
    }
    return { url: status.reply.downloadURL, allowedHosts: [new URL(spec.host).hostname, ...spec.downloadHosts] };
  }

  /**
   * The restore sidecar: the bot id and its name, which an import into a new
   * bot needs. The name comes from the archive's botDefinition.json (read from
   * the staged object; no API call, so no rate limit or admin credentials),
   * else from the job (discovery); omitted when neither has it.
   */
  async restoreInfo(job: Job, archive: ArchiveReader): Promise<RestoreDetails> {
    const spec = parseSpec(job);
    let botName: string | undefined;
    const definition = await archive.readEntry('botDefinition.json', 16 * 1024 * 1024);
    if (definition) {
      try {
        botName = koreaiBotName(JSON.parse(definition.toString('utf8')));
      } catch {
        logger.warn('botDefinition.json in the Kore.ai export is not JSON; the sidecar records no bot name', { job: job.id });
      }
    }
    botName ??= job.name;
    return { koreai: { botId: spec.botId, ...(botName ? { botName } : {}) } };
  }

  async cleanup(_job: Job, _ref: ExportRef): Promise<void> {
    // Kore.ai has no API to delete an export; its download link simply expires.
  }

  // ---- discovery ----

  /** Every bot of the target's account that its patterns select, one job each (by listing order). */
  private async discover(t: KoreaiTarget): Promise<Job[]> {
    const include = (t.include ?? []).map(globMatcher);
    const exclude = (t.exclude ?? []).map(globMatcher);
    const wanted = (name: string) => (include.length === 0 || include.some((m) => m(name))) && !exclude.some((m) => m(name));
    const host = new URL(t.host).origin;
    const { listed, pages, offsetCounts } = await this.listAll(t);

    const jobs: Job[] = [];
    for (const bot of listed.values()) {
      if (isScratchBotName(bot.name)) {
        // The deep drill's scratch bot of this host (lib/providers/koreai/drill.ts): reused by every drill, never backed up.
        logger.info('Discovery skips the deep drill scratch bot', { host, botId: bot.botId, botName: bot.name });
        continue;
      }
      if (wanted(bot.name ?? '')) jobs.push(koreaiJob(t, bot));
    }
    logger.info('Kore.ai discovery finished', { host, pages, offsetCounts, listed: listed.size, jobs: jobs.length, exportType: t.exportType });
    return jobs;
  }

  /** Every bot of the account, as Get Bots lists it with `t`'s admin app (adminCredentialsSecret): the deep drill's check of its scratch bot. */
  async listBots(t: KoreaiTarget): Promise<DiscoveredKoreBot[]> {
    return [...(await this.listAll(t)).listed.values()];
  }

  private async listAll(t: KoreaiTarget): Promise<{ listed: Map<string, DiscoveredKoreBot>; pages: number; offsetCounts: 'pages' | 'bots' }> {
    const host = new URL(t.host).origin;

    const listed = new Map<string, DiscoveredKoreBot>();
    let offsetCounts: 'pages' | 'bots' = 'pages';
    let offset = 0;
    let firstPage: string[] = [];
    let total: number | undefined;
    let pages = 0;
    for (;;) {
      if (pages === MAX_LIST_PAGES) {
        throw new ProviderRequestError(
          `Kore.ai Get Bots at ${host} still had more bots after ${MAX_LIST_PAGES} pages of ${KOREAI_LIST_LIMIT}: not believed, and nothing is backed up from it.`,
        );
      }
      const page = await this.listPage(t, offset);
      pages++;
      total = page.total ?? total;
      const ids = page.bots.map((b) => b.botId);
      let added = 0;
      for (const bot of page.bots) {
        if (listed.has(bot.botId)) continue;
        listed.set(bot.botId, bot);
        added++;
      }
      // The second page (offset 1) starts with the first page's second bot: offset counts bots, not pages.
      if (pages === 2 && firstPage.length > 1 && ids[0] === firstPage[1]) offsetCounts = 'bots';
      if (pages === 1) firstPage = ids;
      const more = page.more ?? (page.total !== undefined ? listed.size < page.total : page.size >= KOREAI_LIST_LIMIT);
      if (!more || page.size === 0) break;
      if (added === 0) {
        throw new ProviderRequestError(
          `Kore.ai Get Bots at ${host}: the page at offset ${offset} listed no bot that earlier pages had not, yet says more follow; stopping rather than paging forever (nothing is backed up from this listing).`,
        );
      }
      offset = offsetCounts === 'pages' ? offset + 1 : offset + page.size;
    }
    if (total !== undefined && listed.size < total) {
      logger.warn('Kore.ai Get Bots listed fewer bots than its total', { host, listed: listed.size, total });
    }
    return { listed, pages, offsetCounts };
  }

  /**
   * One Get Bots page with the admin app's JWT, parsed into bot ids and names
   * at once. A 429 or 5xx is retried here (listRetryDelaysMs) before it goes
   * to the state machine, which would start the listing over.
   */
  private async listPage(t: KoreaiTarget, offset: number): Promise<ListedPage> {
    const delays = this.deps.listRetryDelaysMs ?? [2000, 8000];
    const sleep = this.deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const what = `Kore.ai GET /api/public/bots (offset ${offset}) at ${new URL(t.host).origin}`;
    for (let attempt = 0; ; attempt++) {
      let raw: unknown;
      try {
        raw = await koreaiCall(
          { host: new URL(t.host).origin, credentialsSecret: t.adminCredentialsSecret!, enforceJti: t.enforceJti },
          this.clientDeps(),
          {
            method: 'GET',
            path: `/api/public/bots?offset=${offset}&limit=${KOREAI_LIST_LIMIT}`,
            what,
            scope: GET_BOTS_SCOPE,
            sensitiveReply: true,
          },
        );
      } catch (err) {
        const transient = err instanceof RateLimitedError || err instanceof ProviderUnavailableError;
        if (!transient || attempt >= delays.length) throw err;
        logger.warn('Kore.ai Get Bots page failed; retrying', { offset, attempt: attempt + 1, error: err.name, delayMs: delays[attempt] });
        await sleep(delays[attempt]!);
        continue;
      }
      return parseListing(raw, what);
    }
  }

  // ---- internals ----

  /** The latest export's status, marked foreign when its `_id` is not ours. */
  private async status(job: Job, ref: ExportRef): Promise<{ kind: 'ours' | 'foreign'; reply: StatusReply }> {
    const spec = parseSpec(job);
    const raw = await this.call(spec, job, 'GET', 'export/status');
    const parsed = statusReplySchema.safeParse(raw);
    if (!parsed.success) throw new ProviderUnavailableError(`Kore.ai export status for ${job.id} was not the expected JSON object.`);
    const reply = parsed.data;
    if (reply._id !== ref.exportId) {
      logger.warn('Kore.ai status reports an export that is not ours', {
        job: job.id,
        exportId: ref.exportId,
        reported: reply._id,
        status: reply.status,
      });
      return { kind: 'foreign', reply };
    }
    return { kind: 'ours', reply };
  }

  private clientDeps() {
    return {
      secrets: this.deps.secrets,
      ...(this.deps.fetch ? { fetch: this.deps.fetch } : {}),
      allowedOrigins: this.deps.allowedOrigins ?? downloadAllowlist(),
      timeoutMs: this.deps.requestTimeoutMs ?? 30_000,
    };
  }

  /** One authenticated call to the bot's export API (client.ts); the JWT never leaves it. */
  private call(spec: KoreaiSpec, job: Job, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    return koreaiCall({ host: spec.host, credentialsSecret: spec.credentialsSecret, enforceJti: spec.enforceJti }, this.clientDeps(), {
      method,
      path: `/api/public/bot/${encodeURIComponent(spec.botId)}/${path}`,
      body,
      what: `Kore.ai ${method} .../${path} for ${job.id}`,
      scope: 'the Bot Export API scope for this bot',
    });
  }
}

function failureReason(reply: StatusReply): string {
  const candidates = [reply.message, typeof reply.error === 'string' ? reply.error : undefined];
  const text = candidates.find((c): c is string => typeof c === 'string' && c.trim() !== '');
  return text ? koreaiErrorText(JSON.stringify({ message: text })) : `Kore.ai reported the export as ${reply.status} without a reason`;
}

/**
 * A Get Bots reply reduced to ids, names and the paging fields. Entries
 * without a stream id are skipped (counted in a warning, never quoted): an
 * export needs one. Errors name the call, never the reply.
 */
function parseListing(raw: unknown, what: string): ListedPage {
  const parsed = listingSchema.safeParse(raw);
  if (!parsed.success) throw new ProviderUnavailableError(`${what} answered without a "bots" list.`);
  const bots: DiscoveredKoreBot[] = [];
  let skipped = 0;
  for (const entry of parsed.data.bots) {
    const bot = listedBotSchema.safeParse(entry);
    if (!bot.success || !KOREAI_BOT_ID.test(bot.data._id)) {
      skipped++;
      continue;
    }
    bots.push({ botId: bot.data._id, ...(bot.data.name !== undefined ? { name: bot.data.name } : {}) });
  }
  if (skipped) logger.warn('Kore.ai Get Bots listed entries without a stream id; skipped', { what, skipped });
  const { total, availableMore, moreAvailable } = parsed.data;
  return { bots, size: parsed.data.bots.length, more: availableMore ?? moreAvailable, total };
}
