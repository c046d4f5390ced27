/**
 * A local Kore.ai public Bot Export API for the Kore.ai provider: point a
 * target's `host` at `sim.url`.
 *
 * It reproduces what BotVault depends on and can be hurt by (see
 * shared/REFERENCE.md, "Kore.ai public API"):
 * - JWT auth in the `auth` header, verified for real with jose: HS256 signed
 *   with the app's client secret, `appId` naming a known client id, `sub`,
 *   `iat` and an unexpired `exp`, and a never-reused `jti` when the app
 *   enforces JTI. Apps may be limited to some bots (403 for the others).
 * - The export lifecycle: POST .../export → 200 `{status: 'pending', _id: 'ber-…'}`
 *   → GET .../export/status reports the bot's LATEST export (per bot, not per
 *   request) → on success a `downloadURL` (spelt that way) that is freshly
 *   signed on every status call and expires → the zip, served by this server.
 * - Per-bot rate limiting in a rolling 60 s window and Kore's 429 body.
 * - Injectable faults on the API and on the download.
 * - The Admin API's Get Bots (`GET /api/public/bots?offset=&limit=`), which
 *   only an Admin Console app (`KoreApp.admin`) may call, paged at most 50
 *   bots a page, with the documented reply `{total, availableMore, bots}`:
 *   every bot with all its documented fields, including `jwtApps`, the bot's
 *   apps WITH their `clientSecret`s (as the real one answers: Koredotcom/docs
 *   docs/xo/apis/automation/get-bots.md, "Sample Response"). Admin APIs are
 *   rate limited per account (60 a minute, docs/xo/apis/automation/rate-limit.md).
 *
 * Semantics worth knowing when writing tests against it:
 * - A failed export's status is
 *   `{_id, botId, status: 'failed', message: '<reason>', createdOn, lMod, ...}`:
 *   the reason is the top-level string field `message` (Kore's export status
 *   field for it is undocumented; this simulator picks `message`). There is
 *   no `downloadURL`, `fileId` or `fileSize` unless `status` is 'success'.
 * - A status call for a bot that was never exported answers 404.
 * - A second export while one is pending is accepted and becomes the latest:
 *   status then reports only the newer one, so a client that does not match
 *   `_id` is misled (as on the real service).
 * - Faults are read when a call arrives, so `setFaults` also changes exports
 *   already started. `rateLimitBurst` and `serverErrors` count down from the
 *   moment they are set (`setFaults` restarts them).
 * - Order of checks on an API call: route → auth (401) → app allowed for the
 *   bot (403) → bot exists (404) → `serverErrors` (503, 500, 503, …) →
 *   `rateLimitBurst` (429) → rolling rate limit (429) → body validation (400)
 *   → the operation. Only calls that got past the rate limit count towards it,
 *   so a client that backs off is not locked out by its own rejected calls.
 * - Archives are built when the export starts (a snapshot) and cached: every
 *   successful download of that export serves the same bytes (`archiveFor`).
 *   They are deterministic per bot state (fixed entry times, no export id
 *   inside): two exports of an unchanged bot are byte-identical, and
 *   `modifyBot` changes what later 'latest' exports contain. 'published'
 *   exports hold `publishedDialogs` (default: the bot's initial dialogs), which
 *   `modifyBot` never changes.
 * - `foreignStatus`: status reports another user's successful export of the
 *   bot (its own `_id`, `createdBy` and a working `downloadURL`); it is not
 *   listed in `exports`.
 * - Downloads need no `auth` header (the URL is signed); one that carries one
 *   is still recorded in `seenJwts` and flagged `withAuth` in `calls`, so tests
 *   can prove the JWT never left for the download host.
 * - Get Bots: what `offset` counts is documented both ways — "the page number
 *   from which to start fetching" (developer.kore.ai/v9-0/docs/bots/api-guide/get-bots-api,
 *   and public scripts that add 1 per page) and "the number from which to start
 *   fetching" (Koredotcom/docs get-bots.md) — so `listOffset` picks one
 *   ('page', the default, or 'item'). What a `limit` above 50 does is not
 *   documented ("The maximum applicable limit is 50"): `listLimitAbove50`
 *   clamps it (default) or answers 400. Without `limit` a page is 50. The
 *   bots are listed in the order `bots` gives them (then imported ones).
 *   Order of checks: route → auth (401) → Admin Console app (403) →
 *   `listFaults` → account rate limit (429) → query validation (400).
 *
 * - Imports (uploadfile → POST /api/public/bot/import, a new bot, or
 *   /api/public/bot/{botId}/import → GET /api/public/bot/import/status/{bir};
 *   Koredotcom/docs import-bot-as-new-bot.md, import-bot-into-an-existing-bot.md,
 *   bot-import-status.md): the start reply carries both documented ids, `_id`
 *   and `bir`, and `streamRefId`, the archive's refId; the status on success
 *   `streamId`, the bot's id. A new bot takes the request's `name` (optional:
 *   "If not provided, it is fetched from the existing bot's copy"), and its
 *   'latest' export is the imported definition with the bot's own stream id
 *   in botDefinition.json `_id` (a real export holds its bot's id there) and
 *   that name in config.json and localeData.<defaultLanguage>.name; refId and
 *   everything else stay the archive's. It is listed by Get Bots with its
 *   creation time (`KoreBot.createdOn` for bots given up front). The
 *   `lossyImport` fault drops dialogs and utterances (KoreLossyImport).
 * - There is no delete-bot route: Kore.ai's public API has none
 *   (Koredotcom/docs docs/xo/apis/automation/api-list.md lists the Bot
 *   Definition and Admin APIs, and no delete), so bots, once created, stay.
 *
 * Nothing here ever writes to the console: JWTs and client secrets are
 * credentials, and error bodies never echo the token.
 */
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { decodeJwt, jwtVerify, type JWTPayload } from 'jose';
import { bufferByteSource } from '../../lib/core/archive/byte-source';
import { withZip } from '../../lib/core/archive/zip';
import { koreExportEntries, type KoreBotModel } from '../generators/koreai-export';
import { writeZip } from '../generators/zip-writer';
import { listen, parseJsonObject, readBody, sendBrokenDownload, sendJson } from './http';

export interface KoreBot {
  /** 'st-<uuid>', as Kore.ai stream ids are. */
  botId: string;
  botName: string;
  /** The in-development dialogs ('latest' exports). @default ['Welcome'] */
  dialogs?: string[];
  /** The published dialogs ('published' exports). @default the initial `dialogs` */
  publishedDialogs?: string[];
  /** Languages (the first is the default); several make a multilingual bot. @default ['en'] */
  languages?: string[];
  /**
   * When the bot was created: Get Bots' `createdOn`, so a test can hold a
   * scratch bot "2 days old". @default a fixed day per bot in listing order
   * (2024-01-01, 2024-01-02, …); bots created by an import: the import's time
   */
  createdOn?: Date | number | string;
}

export interface KoreApp {
  clientId: string;
  clientSecret: string;
  /** Require a `jti` claim and refuse any jti this app has used before. */
  enforceJti?: boolean;
  /** botIds this app may export. @default all bots */
  bots?: string[];
  /**
   * An app created in the Admin Console (API scope Profile Management > Role
   * Management): the only kind that may call Get Bots. Like any app without
   * `bots`, it may export every bot of the account (Admin Console scope Bot
   * Definition > Bot Export). Admin apps are not listed in any bot's `jwtApps`.
   */
  admin?: boolean;
}

/** Faults of the Admin API's Get Bots, counted over its calls that pass auth (the first is 1). */
interface KoreListFaults {
  /** These calls answer 429 with Kore's rate-limit body. */
  rateLimitOnCalls?: number[];
  /** These calls answer 503. */
  serverErrorOnCalls?: number[];
  /** Every call answers the first page, whatever `offset` asks (a listing that never advances). */
  ignoreOffset?: boolean;
  /** Replies carry no `availableMore` (only `total` tells whether more follow). */
  withoutAvailableMore?: boolean;
}

interface KoreFaults {
  /** The export's status stays 'pending' this long after it started. */
  exportLatencyMs?: number;
  /** The export ends 'failed'; the status carries this reason in `message` (true: a generic reason). */
  failExport?: string | boolean;
  /** The export stays 'pending' forever. */
  neverFinish?: boolean;
  /** The next N export-or-status calls answer 429 with Kore's rate-limit body. */
  rateLimitBurst?: number;
  /** The next N export-or-status calls answer 503, 500, 503, ... */
  serverErrors?: number;
  /** Status reports someone else's (successful) export of the bot, with a different `_id`. */
  foreignStatus?: boolean;
  /**
   * What the download URL does:
   * ok: the zip; truncate: Content-Length of the whole zip, then a clean close after half;
   * reset: chunked, then the socket is destroyed mid-body; notzip: 200 with an HTML page;
   * forbidden: always 403; redirectInternal: 302 to the instance metadata address.
   */
  download?: 'ok' | 'truncate' | 'reset' | 'notzip' | 'forbidden' | 'redirectInternal';
  /**
   * The host (and optional port) put in `downloadURL`, e.g. 'kore-files.corp.internal'
   * (on-prem installs have been seen to hand out internal hosts).
   * @default the simulator's own 127.0.0.1:PORT
   */
  downloadHost?: string;
  /** Imports into this bot (or, set on the new bot's name via `newBotFaults`, of a new bot) end 'failed' with this reason. */
  failImport?: string;
  /** An import's status stays 'pending' this long. */
  importLatencyMs?: number;
  /**
   * Imports into this bot (set in `newBotFaults`: of a new bot) silently lose
   * part of the definition, as users report real imports do: see
   * KoreLossyImport. What was lost is in the import's `losses`.
   */
  lossyImport?: KoreLossyImport;
}

/**
 * What a lossy import loses, in the imported botDefinition.json: whole
 * dialogs (`dropDialogs`: the dialog, its dialogComponents and its
 * utterances), and of each dialog it applies to (every dialog with
 * utterances, or those named in `dialogs`), per language, the LAST
 * utterances (`sentences[]` whose taskId is one of the dialog's components,
 * in the file's order) — `dropUtterancesPerDialog` of them when it is 1 or
 * more (all, at most), or that fraction of them (rounded) when it is between
 * 0 and 1. Dialogs are named as in dialogs[].localeData.<defaultLanguage>.name.
 */
interface KoreLossyImport {
  dropUtterancesPerDialog?: number;
  dialogs?: string[];
  dropDialogs?: string[];
}

/** What a lossy import lost: a dialog's utterances in one language, or a whole dialog. */
interface KoreImportLoss {
  dialog: string;
  /** Utterance losses: the language, the dialog's utterances in it in the archive, those dropped. */
  language?: string;
  total?: number;
  dropped: string[];
  /** E.g. 'dialog BookTable (en): 2 of 5 utterances missing', 'dialog Refund missing'. */
  summary: string;
}

/** A bot import (uploadfile → import → import/status), as of now. */
interface KoreImport {
  bir: string;
  /** The bot imported into: the existing bot's id, or the new bot's once it exists. */
  botId?: string;
  /** True for /api/public/bot/import (a new bot). */
  newBot: boolean;
  /** The request body as received. */
  body: unknown;
  /** pending | success | failed, as of the last status call. */
  status: string;
  /** What a lossyImport fault lost once the import applied ([] when nothing). */
  losses?: KoreImportLoss[];
}

export interface KoreSimulatorOptions {
  apps: KoreApp[];
  bots: KoreBot[];
  faults?: Record<string, KoreFaults>;
  /** Export + status calls allowed per bot in a rolling 60 s window. @default 60 */
  rateLimitPerMinute?: number;
  /** Lifetime of a downloadURL after the status call that handed it out. @default 300_000 */
  urlTtlMs?: number;
  /** The clock (ms since epoch) for JWT times, latency, rate windows and URL expiry. @default Date.now */
  now?: () => number;
  port?: number;
  /** What Get Bots' `offset` counts: pages of `limit` bots, or bots. @default 'page' */
  listOffset?: 'page' | 'item';
  /** What Get Bots does with a `limit` above 50: serve 50, or answer 400. @default 'clamp' */
  listLimitAbove50?: 'clamp' | 'reject';
  /** Admin API calls allowed per account in a rolling 60 s window. @default 60 */
  adminRateLimitPerMinute?: number;
}

interface KoreCall {
  op: 'Export' | 'ExportStatus' | 'Download' | 'UploadFile' | 'Import' | 'ImportStatus' | 'ListBots';
  botId?: string;
  /** ListBots only: the query's `offset` and `limit` as sent (absent when not sent). */
  offset?: string;
  limit?: string;
  exportId?: string;
  status: number;
  /** Why auth was refused: missing-token | malformed | unknown-app | bad-signature | expired | bad-claims | jti-missing | jti-replayed | app-not-allowed | not-admin-app. */
  authError?: string;
  /** Download only: the request carried an `auth` header (it never should). */
  withAuth?: boolean;
}

interface KoreExport {
  id: string;
  botId: string;
  exportType: string;
  /** The request body as received. */
  body: unknown;
  /** pending | success | failed, as of now. */
  status: string;
}

export interface KoreSimulator {
  /** http://127.0.0.1:PORT: the API host, and the origin of the download URLs. */
  url: string;
  close(): Promise<void>;
  setFaults(botId: string, f: KoreFaults): void;
  /** Every export, status and download call, in order (unroutable requests are not recorded). */
  calls: KoreCall[];
  exports: Map<string, KoreExport>;
  /** The exact bytes a successful download of this export serves. */
  archiveFor(exportId: string): Buffer;
  /** Changes the in-development dialogs, i.e. what later 'latest' exports contain. */
  modifyBot(botId: string, change: { dialogs?: string[] }): void;
  /** Every bot import by bir. */
  imports: Map<string, KoreImport>;
  /** Files stored by /api/public/uploadfile, by fileId. */
  uploads: Map<string, Buffer>;
  /** The id of the bot named `botName`, if any. */
  botIdByName(botName: string): string | undefined;
  /** Faults for imports that create a new bot (they have no bot id yet). */
  newBotFaults: KoreFaults;
  /** Every `auth` header value received, API and downloads alike. */
  seenJwts: string[];
  /** Replaces the Get Bots faults (and restarts their call count). */
  setListFaults(f: KoreListFaults): void;
}

// ---------------------------------------------------------------------------

/** Kore's error body: `{"errors":[{"msg","code"}]}`. */
class KoreError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly authError?: string,
  ) {
    super(message);
  }
}
const badRequest = (message: string) => new KoreError(400, message);

export const RATE_LIMIT_MESSAGE = 'Rate limit for this API has been reached';
const DEFAULT_FAILURE = 'Bot export failed: an internal error occurred while exporting the bot.';
const RATE_WINDOW_MS = 60_000;
/** Entry times are fixed so that an unchanged bot exports to identical bytes. */
const ARCHIVE_MTIME = new Date(Date.UTC(2024, 0, 1));
const BOT_ID = /^st-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const EXPORT_TYPES = ['latest', 'published'];
/** The documented exportOptions values; anything else is a 400. */
const EXPORT_OPTIONS: Record<string, readonly string[]> = {
  settings: ['botSettings', 'botVariables', 'ivrSettings', 'genAIandLLMSettings'],
  tasks: ['botTask', 'knowledgeGraph', 'smallTalk'],
  nlpData: ['utterances', 'patterns', 'traits', 'rules', 'concepts', 'synonyms', 'standardResponses', 'nlpSettings'],
};
const SUBTASK_KINDS = ['dialogs', 'alerts', 'actions'];

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
/** A stable, id-shaped hex string derived from the given parts (Kore ids are 24-hex Mongo ids). */
const stableId = (...parts: string[]) => createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 24);

/**
 * Changes one JSON file of an imported export in place, rewritten as Kore
 * writes it (4-space indent) only if `change` changed something, so an import
 * into the bot the archive came from keeps its files byte for byte.
 */
function rewriteKoreJson(files: Map<string, Buffer>, name: string, change: (json: Record<string, unknown>) => void): void {
  const data = files.get(name);
  if (!data) return;
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch {
    return;
  }
  if (!isObject(json)) return;
  const before = JSON.stringify(json);
  change(json);
  if (JSON.stringify(json) !== before) files.set(name, Buffer.from(JSON.stringify(json, null, 4), 'utf8'));
}

/** Applies a lossyImport fault to an imported export's botDefinition.json: what it lost. */
function loseParts(files: Map<string, Buffer>, lossy: KoreLossyImport | undefined): KoreImportLoss[] {
  if (!lossy) return [];
  const losses: KoreImportLoss[] = [];
  rewriteKoreJson(files, 'botDefinition.json', (def) => {
    const lang = typeof def.defaultLanguage === 'string' ? def.defaultLanguage : 'en';
    const dialogs = (Array.isArray(def.dialogs) ? def.dialogs : []).filter(isObject);
    const components = (Array.isArray(def.dialogComponents) ? def.dialogComponents : []).filter(isObject);
    const nameOf = (d: Record<string, unknown>) => {
      const locale = isObject(d.localeData) ? d.localeData[lang] : undefined;
      return String(isObject(locale) && typeof locale.name === 'string' ? locale.name : d.lname);
    };
    /** The dialog a component belongs to: its dialogId, or (older exports) a node of the dialog naming it. */
    const dialogOfComponent = new Map<unknown, string>();
    for (const d of dialogs) {
      for (const c of components) if (c.dialogId === d._id) dialogOfComponent.set(c._id, nameOf(d));
      for (const n of Array.isArray(d.nodes) ? d.nodes.filter(isObject) : []) dialogOfComponent.set(n.componentId, nameOf(d));
    }
    const dialogOf = (sentence: Record<string, unknown>) => dialogOfComponent.get(sentence.taskId);
    const gone = new Set(lossy.dropDialogs ?? []);
    if (gone.size) {
      const removed = dialogs.filter((d) => gone.has(nameOf(d)));
      const removedIds = new Set(removed.map((d) => d._id));
      // A dialog's components: those naming it (dialogId) and those its nodes show (componentId).
      const ownComponent = (c: Record<string, unknown>) =>
        removedIds.has(c.dialogId) || removed.some((d) => Array.isArray(d.nodes) && d.nodes.some((n) => isObject(n) && n.componentId === c._id));
      def.dialogs = dialogs.filter((d) => !removedIds.has(d._id));
      def.dialogComponents = components.filter((c) => !ownComponent(c));
      const sentences = (Array.isArray(def.sentences) ? def.sentences : []).filter(isObject);
      def.sentences = sentences.filter((s) => !gone.has(dialogOf(s) ?? ''));
      for (const d of removed)
        losses.push({
          dialog: nameOf(d),
          dropped: sentences.filter((s) => dialogOf(s) === nameOf(d)).map((s) => String(s.sentence)),
          summary: `dialog ${nameOf(d)} missing`,
        });
    }
    const n = lossy.dropUtterancesPerDialog;
    if (n === undefined) return;
    const sentences = (Array.isArray(def.sentences) ? def.sentences : []).filter(isObject);
    const drop = new Set<Record<string, unknown>>();
    const groups = new Map<string, Record<string, unknown>[]>();
    for (const s of sentences) {
      const dialog = dialogOf(s);
      if (dialog === undefined || (lossy.dialogs && !lossy.dialogs.includes(dialog))) continue;
      const key = `${dialog}\0${String(s.language ?? lang)}`;
      groups.set(key, [...(groups.get(key) ?? []), s]);
    }
    for (const [key, group] of groups) {
      const [dialog, language] = key.split('\0') as [string, string];
      const count = Math.min(group.length, Math.max(0, n >= 1 ? Math.floor(n) : Math.round(group.length * n)));
      if (count === 0) continue;
      const dropped = group.slice(group.length - count);
      for (const s of dropped) drop.add(s);
      losses.push({
        dialog,
        language,
        total: group.length,
        dropped: dropped.map((s) => String(s.sentence)),
        summary: `dialog ${dialog} (${language}): ${count} of ${group.length} utterances missing`,
      });
    }
    def.sentences = sentences.filter((s) => !drop.has(s));
  });
  return losses;
}

/** What a broken Kore.ai download link serves in place of the zip ('notzip'). */
const koreErrorPage = () => Buffer.from('<html><head><title>Kore.ai</title></head><body>Service temporarily unavailable</body></html>\n');

// ---- archives ----

interface ArchiveContent {
  botId: string;
  botName: string;
  exportType: string;
  dialogs: string[];
  includeDialogs: boolean;
  includeUtterances: boolean;
  settings: string[];
  languages?: string[];
}

/**
 * The entries of a Kore.ai bot export in the real layout
 * (test/generators/koreai-export.ts names the facts). Dialogs are left out
 * when the export options leave out bot tasks, utterances when they leave out
 * nlpData utterances; the settings asked for are recorded in exportOptions.
 */
function archiveEntries(c: ArchiveContent): { name: string; data: string | Uint8Array }[] {
  const model: KoreBotModel = {
    botId: c.botId,
    botName: c.botName,
    ...(c.languages ? { languages: c.languages } : {}),
    dialogs: (c.includeDialogs ? c.dialogs : []).map((name) => ({ name })),
    envVariables: c.settings.includes('botVariables') ? [{ key: 'supportEmail', value: 'help@example.com' }] : [],
  };
  return koreExportEntries(model, { exportType: c.exportType as 'latest' | 'published', utterances: c.includeUtterances, settings: c.settings });
}

async function buildZip(entries: { name: string; data: string | Uint8Array }[]): Promise<Buffer> {
  return writeZip(entries, { mtime: ARCHIVE_MTIME, style: 'kore' });
}

// ---- request validation ----

interface ExportRequest {
  exportType: string;
  settings: string[];
  includeDialogs: boolean;
  includeUtterances: boolean;
  /** subTasks.dialogs when given: only those dialogs are exported. */
  onlyDialogs?: string[];
}

function validateExportBody(body: Record<string, unknown>): ExportRequest {
  const bad = (msg: string) => new KoreError(400, msg);
  if (typeof body.exportType !== 'string' || !EXPORT_TYPES.includes(body.exportType)) {
    throw bad(`exportType must be one of ${EXPORT_TYPES.join(', ')}`);
  }
  const selected: Record<string, string[] | undefined> = {};
  if (body.exportOptions !== undefined) {
    if (!isObject(body.exportOptions)) throw bad('exportOptions must be an object');
    for (const [key, values] of Object.entries(body.exportOptions)) {
      const allowed = EXPORT_OPTIONS[key];
      if (!allowed) throw bad(`exportOptions.${key} is not a valid option; valid options: ${Object.keys(EXPORT_OPTIONS).join(', ')}`);
      if (!isStringArray(values)) throw bad(`exportOptions.${key} must be an array of strings`);
      const unknown = values.filter((v) => !allowed.includes(v));
      if (unknown.length) throw bad(`exportOptions.${key} has invalid value(s) ${unknown.join(', ')}; valid values: ${allowed.join(', ')}`);
      selected[key] = values;
    }
  }
  let onlyDialogs: string[] | undefined;
  if (body.subTasks !== undefined) {
    if (!isObject(body.subTasks)) throw bad('subTasks must be an object');
    for (const [key, values] of Object.entries(body.subTasks)) {
      if (!SUBTASK_KINDS.includes(key)) throw bad(`subTasks.${key} is not valid; valid keys: ${SUBTASK_KINDS.join(', ')}`);
      if (!isStringArray(values)) throw bad(`subTasks.${key} must be an array of strings`);
    }
    if (isStringArray(body.subTasks.dialogs)) onlyDialogs = body.subTasks.dialogs;
  }
  for (const flag of ['allTasks', 'customDashboards', 'IncludeDependentTasks']) {
    if (body[flag] !== undefined && typeof body[flag] !== 'boolean') throw bad(`${flag} must be a boolean`);
  }
  // Without exportOptions Kore exports everything.
  const settings = selected.settings ?? (selected.tasks || selected.nlpData ? [] : [...EXPORT_OPTIONS.settings!]);
  const includeDialogs = selected.tasks ? selected.tasks.includes('botTask') : !(selected.settings || selected.nlpData);
  const includeUtterances = selected.nlpData ? selected.nlpData.includes('utterances') : !(selected.settings || selected.tasks);
  return { exportType: body.exportType, settings, includeDialogs, includeUtterances, ...(onlyDialogs ? { onlyDialogs } : {}) };
}

// ---------------------------------------------------------------------------

interface BotState {
  bot: KoreBot;
  dialogs: string[];
  publishedDialogs: string[];
  /**
   * The in-development definition as the last import left it (the imported
   * zip's entries, in order); 'latest' exports serve it verbatim (export
   * options aside) until modifyBot changes the dialogs.
   */
  imported?: { name: string; data: string | Uint8Array }[];
  /** When it was created (Get Bots `createdOn`); undefined: a fixed day by listing order. */
  createdAt?: number;
}

interface ExportState {
  id: string;
  botId: string;
  exportType: string;
  body: unknown;
  createdBy: string;
  createdAt: number;
  archive: Buffer;
  fileId: string;
  /** Someone else's export, reported by the foreignStatus fault. */
  foreign: boolean;
}

export async function startKoreSimulator(opts: KoreSimulatorOptions): Promise<KoreSimulator> {
  const now = opts.now ?? Date.now;
  const limit = opts.rateLimitPerMinute ?? 60;
  const urlTtlMs = opts.urlTtlMs ?? 300_000;

  const apps = new Map<string, KoreApp>();
  for (const app of opts.apps) apps.set(app.clientId, { ...app });
  const bots = new Map<string, BotState>();
  for (const bot of opts.bots) {
    if (!BOT_ID.test(bot.botId)) throw new Error(`KoreBot botId must be 'st-<uuid>' (lower-case hex): ${bot.botId}`);
    const dialogs = [...(bot.dialogs ?? ['Welcome'])];
    bots.set(bot.botId, {
      bot: { ...bot },
      dialogs,
      publishedDialogs: [...(bot.publishedDialogs ?? dialogs)],
      ...(bot.createdOn !== undefined ? { createdAt: new Date(bot.createdOn).getTime() } : {}),
    });
  }

  const faults = new Map<string, KoreFaults>();
  /** What is left of the countdown faults, per bot. */
  const remaining = new Map<string, { rateLimited: number; serverErrors: number; served5xx: number }>();
  const setFaults = (botId: string, f: KoreFaults) => {
    faults.set(botId, { ...f });
    remaining.set(botId, { rateLimited: f.rateLimitBurst ?? 0, serverErrors: f.serverErrors ?? 0, served5xx: 0 });
  };
  for (const [botId, f] of Object.entries(opts.faults ?? {})) setFaults(botId, f);
  const faultsFor = (botId: string): KoreFaults => faults.get(botId) ?? {};

  const exportStates = new Map<string, ExportState>();
  const exportsView = new Map<string, KoreExport>();
  /** The latest export per bot: the only one the status API reports. */
  const latest = new Map<string, string>();
  const foreignExports = new Map<string, string>();
  /** Admitted call times per bot, for the rolling window. */
  const windows = new Map<string, number[]>();
  /** Used jtis per app (enforceJti). */
  const usedJtis = new Map<string, Set<string>>();
  /** Download signatures handed out: each status call signs a new URL. */
  const issued = new Map<string, { exportId: string; expiresAt: number }>();
  const signingKey = randomBytes(32);
  const calls: KoreCall[] = [];
  const seenJwts: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let url = '';

  function statusOf(e: ExportState, at = now()): 'pending' | 'success' | 'failed' {
    if (e.foreign) return 'success';
    const f = faultsFor(e.botId);
    if (f.neverFinish || at - e.createdAt < (f.exportLatencyMs ?? 0)) return 'pending';
    return f.failExport ? 'failed' : 'success';
  }

  // ---- auth ----

  /** Verifies the `auth` JWT and returns the app it was signed for. Never puts the token in an error. */
  async function authenticate(req: IncomingMessage): Promise<KoreApp> {
    const header = req.headers.auth;
    const token = Array.isArray(header) ? header[0] : header;
    if (!token) throw new KoreError(401, 'Missing auth token: send the JWT in the "auth" header', 'missing-token');
    let claims: JWTPayload;
    try {
      claims = decodeJwt(token);
    } catch {
      throw new KoreError(401, 'Invalid auth token: not a JWT', 'malformed');
    }
    // The app is found by the (unverified) appId, then the token is verified with that app's secret.
    const app = typeof claims.appId === 'string' ? apps.get(claims.appId) : undefined;
    if (!app) throw new KoreError(401, 'Invalid auth token: unknown appId', 'unknown-app');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, new TextEncoder().encode(app.clientSecret), {
        algorithms: ['HS256'],
        requiredClaims: ['exp', 'iat', 'sub'],
        currentDate: new Date(now()),
      }));
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ERR_JWT_EXPIRED') throw new KoreError(401, 'Invalid auth token: the token has expired', 'expired');
      if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED')
        throw new KoreError(401, 'Invalid auth token: exp, iat and sub claims are required', 'bad-claims');
      throw new KoreError(401, 'Invalid auth token: signature verification failed', 'bad-signature');
    }
    if (app.enforceJti) {
      if (typeof payload.jti !== 'string' || payload.jti === '')
        throw new KoreError(401, 'Invalid auth token: jti claim is required for this app', 'jti-missing');
      let used = usedJtis.get(app.clientId);
      if (!used) usedJtis.set(app.clientId, (used = new Set()));
      if (used.has(payload.jti)) throw new KoreError(401, 'Invalid auth token: jti has already been used', 'jti-replayed');
      used.add(payload.jti);
    }
    return app;
  }

  // ---- operations ----

  type Reply = { status: number; body: Record<string, unknown> };

  function admit(botId: string): void {
    const left = remaining.get(botId);
    if (left && left.serverErrors > 0) {
      left.serverErrors--;
      // Alternate the two status codes a flaky gateway answers with.
      const status = left.served5xx++ % 2 === 0 ? 503 : 500;
      throw new KoreError(status, status === 503 ? 'Service Unavailable' : 'Internal Server Error');
    }
    if (left && left.rateLimited > 0) {
      left.rateLimited--;
      throw new KoreError(429, RATE_LIMIT_MESSAGE);
    }
    const t = now();
    const recent = (windows.get(botId) ?? []).filter((at) => t - at < RATE_WINDOW_MS);
    if (recent.length >= limit) {
      windows.set(botId, recent);
      throw new KoreError(429, RATE_LIMIT_MESSAGE);
    }
    recent.push(t);
    windows.set(botId, recent);
  }

  const createdByFor = (clientId: string) => `u-${stableId('user', clientId)}`;

  async function newExport(state: BotState, req: ExportRequest, body: unknown, createdBy: string, foreign: boolean): Promise<ExportState> {
    const source = req.exportType === 'published' ? state.publishedDialogs : state.dialogs;
    const dialogs = req.onlyDialogs ? source.filter((d) => req.onlyDialogs!.includes(d)) : [...source];
    const archive = await buildZip(
      req.exportType === 'latest' && state.imported && !req.onlyDialogs
        ? state.imported
        : archiveEntries({
            botId: state.bot.botId,
            botName: state.bot.botName,
            exportType: req.exportType,
            dialogs,
            includeDialogs: req.includeDialogs,
            includeUtterances: req.includeUtterances,
            settings: req.settings,
            ...(state.bot.languages ? { languages: state.bot.languages } : {}),
          }),
    );
    const e: ExportState = {
      id: `ber-${randomUUID()}`,
      botId: state.bot.botId,
      exportType: req.exportType,
      body,
      createdBy,
      createdAt: now(),
      archive,
      fileId: stableId('file', randomUUID()),
      foreign,
    };
    exportStates.set(e.id, e);
    return e;
  }

  async function startExport(state: BotState, app: KoreApp, raw: Buffer, call: KoreCall): Promise<Reply> {
    const body = parseJsonObject(raw, badRequest);
    const req = validateExportBody(body);
    const e = await newExport(state, req, body, createdByFor(app.clientId), false);
    call.exportId = e.id;
    latest.set(e.botId, e.id);
    exportsView.set(e.id, {
      id: e.id,
      botId: e.botId,
      exportType: e.exportType,
      body,
      get status() {
        return statusOf(e);
      },
    });
    return {
      status: 200,
      body: {
        status: 'pending',
        streamId: e.botId,
        createdBy: e.createdBy,
        exportType: e.exportType,
        requestType: 'Botexport',
        _id: e.id,
        createdOn: new Date(e.createdAt).toISOString(),
      },
    };
  }

  async function exportStatus(state: BotState, call: KoreCall): Promise<Reply> {
    const botId = state.bot.botId;
    const f = faultsFor(botId);
    let id = latest.get(botId);
    if (f.foreignStatus) {
      id = foreignExports.get(botId);
      if (!id) {
        const e = await newExport(
          state,
          { exportType: 'latest', settings: [...EXPORT_OPTIONS.settings!], includeDialogs: true, includeUtterances: true },
          { exportType: 'latest' },
          `u-${stableId('someone-else', botId)}`,
          true,
        );
        foreignExports.set(botId, (id = e.id));
      }
    }
    const e = id ? exportStates.get(id) : undefined;
    if (!e) throw new KoreError(404, 'No bot export found for this bot');
    call.exportId = e.id;
    const t = now();
    const status = statusOf(e, t);
    const finishedAt = e.createdAt + (faultsFor(botId).exportLatencyMs ?? 0);
    const body: Record<string, unknown> = {
      _id: e.id,
      botId,
      streamId: botId,
      status,
      exportType: e.exportType,
      requestType: 'Botexport',
      createdBy: e.createdBy,
      createdOn: new Date(e.createdAt).toISOString(),
      lMod: new Date(status === 'pending' || e.foreign ? e.createdAt : Math.min(t, finishedAt)).toISOString(),
    };
    if (status === 'failed') body.message = typeof f.failExport === 'string' ? f.failExport : DEFAULT_FAILURE;
    if (status === 'success') {
      body.downloadURL = sign(e.id, t, f.downloadHost);
      body.fileId = e.fileId;
      body.fileSize = e.archive.length;
    }
    return { status: 200, body };
  }

  function sign(exportId: string, at: number, downloadHost: string | undefined): string {
    const exp = at + urlTtlMs;
    // A nonce makes every status call hand out a distinct URL, so tests can tell them apart.
    const sig = createHmac('sha256', signingKey).update(`${exportId}\n${exp}\n${randomUUID()}`).digest('hex');
    issued.set(sig, { exportId, expiresAt: exp });
    const origin = downloadHost ? `http://${downloadHost}` : url;
    return `${origin}/downloads/${exportId}?sig=${sig}&exp=${exp}`;
  }

  // ---- imports: uploadfile → bot import → import status ----

  const uploads = new Map<string, Buffer>();
  const importStates = new Map<string, { view: KoreImport; createdAt: number; fileId: string; name?: string; settled: boolean; createdBy: string }>();
  const importsView = new Map<string, KoreImport>();
  const newBotFaults: KoreFaults = {};

  async function uploadFile(req: IncomingMessage, raw: Buffer): Promise<Reply> {
    let form: FormData;
    try {
      form = await new Response(raw, { headers: { 'content-type': String(req.headers['content-type'] ?? '') } }).formData();
    } catch {
      throw new KoreError(400, 'The request must be multipart/form-data with a file');
    }
    const file = form.get('file');
    if (form.get('fileContext') !== 'bulkImport') throw new KoreError(400, 'fileContext must be bulkImport');
    const ext = form.get('fileExtension');
    if (ext !== 'zip' && ext !== 'json') throw new KoreError(400, 'fileExtension must be zip or json');
    if (!file || typeof file === 'string') throw new KoreError(400, 'file is required');
    const fileId = stableId('upload', randomUUID());
    uploads.set(fileId, Buffer.from(await file.arrayBuffer()));
    return { status: 200, body: { fileId, hash: createHash('md5').update(uploads.get(fileId)!).digest('hex') } };
  }

  async function startImport(app: KoreApp, botId: string | undefined, raw: Buffer): Promise<Reply> {
    const body = parseJsonObject(raw, badRequest);
    if (body.uploadMode !== 'ZIP')
      throw new KoreError(400, 'This simulator imports uploadMode ZIP only (zipInfo: the fileId of an exported bot zip)');
    if (typeof body.zipInfo !== 'string' || !uploads.has(body.zipInfo)) throw new KoreError(400, 'zipInfo must be the fileId of an uploaded file');
    if (body.name !== undefined && (typeof body.name !== 'string' || body.name === '')) throw new KoreError(400, 'name must be a non-empty string');
    const bir = `bir-${randomUUID()}`;
    const createdBy = createdByFor(app.clientId);
    const view: KoreImport = { bir, ...(botId ? { botId } : {}), newBot: !botId, body, status: 'pending' };
    importStates.set(bir, {
      view,
      createdAt: now(),
      fileId: body.zipInfo,
      ...(typeof body.name === 'string' ? { name: body.name } : {}),
      settled: false,
      createdBy,
    });
    importsView.set(bir, view);
    // The documented replies differ: `_id` (Koredotcom/docs import-bot-as-new-bot.md, 2024) or `bir` and
    // `streamId` (developer.kore.ai v10-2 "Import Bot as a New Bot API"): both are sent. `streamRefId` is
    // the archive's refId (the docs' sample answers the refId of the exported bot it imports).
    const refId = await archiveRefId(body.zipInfo);
    return {
      status: 200,
      body: {
        _id: bir,
        ...(refId ? { streamRefId: refId } : {}),
        status: 'pending',
        ...(botId ? { streamId: botId } : {}),
        statusLogs: [{ taskType: 'importRequest', taskName: typeof body.name === 'string' ? body.name : 'importRequest', status: 'success' }],
        createdBy,
        requestType: 'Botimport',
        bir,
        createdOn: new Date(now()).toISOString(),
      },
    };
  }

  /** The `refId` of an uploaded export's botDefinition.json, if it is one. */
  async function archiveRefId(fileId: string): Promise<string | undefined> {
    try {
      const files = await withZip(bufferByteSource(uploads.get(fileId)!), {}, (zip) => zip.readAll());
      const refId = (JSON.parse(files.get('botDefinition.json')?.toString('utf8') ?? '') as { refId?: unknown }).refId;
      return typeof refId === 'string' ? refId : undefined;
    } catch {
      return undefined;
    }
  }

  /** Applies an import once its latency has passed: the bot's in-development copy becomes the zip's definition, or nothing changes. */
  async function settleImport(i: { view: KoreImport; createdAt: number; fileId: string; name?: string; settled: boolean }): Promise<void> {
    const f = i.view.botId ? faultsFor(i.view.botId) : newBotFaults;
    if (i.settled || now() - i.createdAt < (f.importLatencyMs ?? 0)) return;
    i.settled = true;
    const fail = (reason: string) => Object.assign(i.view, { status: 'failed', reason });
    if (f.failImport) return void fail(f.failImport);
    let files: Map<string, Buffer>;
    try {
      files = await withZip(bufferByteSource(uploads.get(i.fileId)!), {}, (zip) => zip.readAll());
    } catch {
      return void fail('Bot import failed: the uploaded file is not a valid bot export zip');
    }
    let definition: {
      defaultLanguage?: unknown;
      localeData?: unknown;
      dialogs?: { lname?: unknown; localeData?: Record<string, { name?: unknown }> }[];
    };
    try {
      definition = JSON.parse(files.get('botDefinition.json')?.toString('utf8') ?? '') as typeof definition;
      JSON.parse(files.get('config.json')?.toString('utf8') ?? '');
    } catch {
      return void fail('Bot import failed: botDefinition.json and config.json are required');
    }
    // Real exports name a dialog per language (dialogs[].localeData.<lang>.name), with lname its lower-cased form.
    const lang = typeof definition.defaultLanguage === 'string' ? definition.defaultLanguage : 'en';
    i.view.losses = loseParts(files, f.lossyImport);
    definition = JSON.parse(files.get('botDefinition.json')!.toString('utf8')) as typeof definition;
    const dialogs = (definition.dialogs ?? []).map((d) => String(d.localeData?.[lang]?.name ?? d.lname));
    let state = i.view.botId ? bots.get(i.view.botId) : undefined;
    if (!state) {
      const botId = `st-${randomUUID()}`;
      const named = (definition.localeData as Record<string, { name?: unknown }> | undefined)?.[lang]?.name;
      const botName = i.name ?? (typeof named === 'string' ? named : 'Imported bot');
      state = { bot: { botId, botName }, dialogs, publishedDialogs: [], createdAt: now() };
      bots.set(botId, state);
      i.view.botId = botId;
      // A new bot's export is its own: its stream id in `_id` (refId stays the archive's: see startImport)
      // and, when the import named it, that name in config.json and localeData.<defaultLanguage>.name
      // (whether the other languages' names change too is unconfirmed; they are left as they are).
      rewriteKoreJson(files, 'botDefinition.json', (d) => {
        d._id = botId;
        const locale = isObject(d.localeData) ? d.localeData[lang] : undefined;
        if (i.name !== undefined && isObject(locale) && 'name' in locale) locale.name = i.name;
      });
      if (i.name !== undefined) rewriteKoreJson(files, 'config.json', (c) => void (c.name = i.name));
    } else {
      // An import into an existing bot keeps that bot's id in the export.
      const id = state.bot.botId;
      rewriteKoreJson(files, 'botDefinition.json', (d) => void (d._id = id));
    }
    state.dialogs = dialogs;
    state.imported = [...files].map(([name, data]) => ({ name, data: new Uint8Array(data) }));
    i.view.status = 'success';
  }

  async function importStatus(bir: string): Promise<Reply> {
    const i = importStates.get(bir);
    if (!i) throw new KoreError(404, 'Import request not found');
    await settleImport(i);
    const v = i.view as KoreImport & { reason?: string };
    return {
      status: 200,
      body: {
        _id: bir,
        ...(v.botId ? { streamId: v.botId } : {}),
        status: v.status,
        requestType: 'Botimport',
        createdBy: i.createdBy,
        createdOn: new Date(i.createdAt).toISOString(),
        statusLogs: [{ taskType: 'importRequest', status: v.status === 'failed' ? 'failed' : 'success', ...(v.reason ? { message: v.reason } : {}) }],
        ...(v.reason ? { message: v.reason } : {}),
      },
    };
  }

  async function handleImportApi(
    req: IncomingMessage,
    res: ServerResponse,
    op: 'UploadFile' | 'Import' | 'ImportStatus',
    arg?: string,
  ): Promise<void> {
    const call: KoreCall = { op, status: 500, ...(op === 'Import' && arg ? { botId: arg } : {}) };
    return answer(req, res, call, async () => {
      const raw = await readBody(req);
      const app = await authenticate(req);
      if (op === 'UploadFile') return uploadFile(req, raw);
      if (op === 'ImportStatus') return importStatus(arg!);
      if (arg !== undefined) botFor(app, arg);
      return startImport(app, arg, raw);
    });
  }

  // ---- Admin API: Get Bots ----

  const LIST_MAX_LIMIT = 50;
  const adminLimit = opts.adminRateLimitPerMinute ?? 60;
  let adminWindow: number[] = [];
  let listFaults: KoreListFaults = {};
  let listCalls = 0;
  /** When each bot was created (listing field `createdOn`): a fixed day per bot, in listing order. */
  const createdOn = (index: number) => new Date(Date.UTC(2024, 0, 1) + index * 86_400_000).toISOString();
  const accountId = stableId('account', ...opts.apps.map((a) => a.clientId));

  /** The bot apps that may call the bot's APIs, as Get Bots lists them: with their client secrets. */
  function jwtAppsOf(botId: string): Record<string, unknown>[] {
    return [...apps.values()]
      .filter((a) => !a.admin && (!a.bots || a.bots.includes(botId)))
      .map((a) => ({
        clientId: a.clientId,
        clientSecret: a.clientSecret,
        jtiClaimEnforced: Boolean(a.enforceJti),
        jweEncryptionEnforced: false,
        createdOn: createdOn(0),
      }));
  }

  /** One bot as Get Bots lists it (Koredotcom/docs get-bots.md, "Sample Response"). */
  function listedBot(state: BotState, index: number): Record<string, unknown> {
    return {
      _id: state.bot.botId,
      accountId,
      purpose: 'customer',
      createdOn: state.createdAt !== undefined ? new Date(state.createdAt).toISOString() : createdOn(index),
      createdBy: createdByFor('owner'),
      type: 'default',
      defaultLanguage: state.bot.languages?.[0] ?? 'en',
      isDeflect: false,
      resourceid: 'btstreams',
      status: state.publishedDialogs.length ? 'published' : 'configured',
      icon: stableId('icon', state.bot.botId),
      name: state.bot.botName,
      description: `${state.bot.botName} (simulated)`,
      isLinkedTo: [],
      containsPanelOrWidget: false,
      jwtApps: jwtAppsOf(state.bot.botId),
    };
  }

  /** A non-negative whole number from the query, or the default when absent; 400 otherwise. */
  function queryNumber(query: URLSearchParams, name: string, fallback: number): number {
    const raw = query.get(name);
    if (raw === null) return fallback;
    if (!/^\d{1,9}$/.test(raw)) throw new KoreError(400, `${name} must be a non-negative integer`);
    return Number(raw);
  }

  function listBots(query: URLSearchParams): Reply {
    const n = ++listCalls;
    if (listFaults.serverErrorOnCalls?.includes(n)) throw new KoreError(503, 'Service Unavailable');
    if (listFaults.rateLimitOnCalls?.includes(n)) throw new KoreError(429, RATE_LIMIT_MESSAGE);
    const t = now();
    adminWindow = adminWindow.filter((at) => t - at < RATE_WINDOW_MS);
    if (adminWindow.length >= adminLimit) throw new KoreError(429, RATE_LIMIT_MESSAGE);
    adminWindow.push(t);

    let limit = queryNumber(query, 'limit', LIST_MAX_LIMIT);
    if (limit === 0) throw new KoreError(400, 'limit must be between 1 and 50');
    if (limit > LIST_MAX_LIMIT) {
      if (opts.listLimitAbove50 === 'reject') throw new KoreError(400, 'limit must be between 1 and 50');
      limit = LIST_MAX_LIMIT;
    }
    const offset = listFaults.ignoreOffset ? 0 : queryNumber(query, 'offset', 0);
    const all = [...bots.values()];
    const start = (opts.listOffset ?? 'page') === 'page' ? offset * limit : offset;
    const page = all.slice(start, start + limit).map((state) => listedBot(state, all.indexOf(state)));
    return {
      status: 200,
      body: {
        total: all.length,
        ...(listFaults.withoutAvailableMore ? {} : { availableMore: start + page.length < all.length }),
        bots: page,
      },
    };
  }

  function handleListBots(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): Promise<void> {
    const call: KoreCall = {
      op: 'ListBots',
      status: 500,
      ...(query.get('offset') === null ? {} : { offset: query.get('offset')! }),
      ...(query.get('limit') === null ? {} : { limit: query.get('limit')! }),
    };
    return answer(req, res, call, async () => {
      await readBody(req);
      const app = await authenticate(req);
      if (!app.admin) {
        throw new KoreError(403, 'This API is available only to apps created in the Admin Console', 'not-admin-app');
      }
      return listBots(query);
    });
  }

  // ---- HTTP ----

  const send = (res: ServerResponse, status: number, body: unknown) =>
    sendJson(res, status, body, { 'content-type': 'application/json; charset=utf-8' });
  const sendError = (res: ServerResponse, status: number, msg: string) => send(res, status, { errors: [{ msg, code: status }] });

  /** Keeps the JWT a call carries (`auth` header), to prove later where it went; true if there was one. */
  function recordJwt(req: IncomingMessage): boolean {
    const auth = req.headers.auth;
    if (auth === undefined) return false;
    seenJwts.push(...(Array.isArray(auth) ? auth : [auth]));
    return true;
  }

  /** The bot an API call names: 403 if the app may not touch it, 404 if there is none. */
  function botFor(app: KoreApp, botId: string): BotState {
    if (app.bots && !app.bots.includes(botId)) throw new KoreError(403, 'This app is not authorized to access this bot', 'app-not-allowed');
    const state = bots.get(botId);
    if (!state) throw new KoreError(404, 'Bot not found');
    return state;
  }

  /**
   * Runs an API call and sends its reply or error, recording the call and its
   * JWT. Anything unexpected becomes a bare 500: its message is not echoed, as
   * it could quote the request.
   */
  async function answer(req: IncomingMessage, res: ServerResponse, call: KoreCall, run: () => Promise<Reply>): Promise<void> {
    recordJwt(req);
    try {
      const reply = await run();
      call.status = reply.status;
      send(res, reply.status, reply.body);
    } catch (err) {
      const e = err instanceof KoreError ? err : new KoreError(500, 'Internal Server Error');
      call.status = e.status;
      if (e.authError) call.authError = e.authError;
      if (!res.headersSent) sendError(res, e.status, e.message);
      else res.destroy();
    } finally {
      calls.push(call);
    }
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, op: 'Export' | 'ExportStatus', botId: string): Promise<void> {
    const call: KoreCall = { op, botId, status: 500 };
    return answer(req, res, call, async () => {
      const raw = await readBody(req);
      const app = await authenticate(req);
      const state = botFor(app, botId);
      admit(botId);
      return op === 'Export' ? startExport(state, app, raw, call) : exportStatus(state, call);
    });
  }

  function handleDownload(req: IncomingMessage, res: ServerResponse, exportId: string, query: URLSearchParams): void {
    const call: KoreCall = { op: 'Download', exportId, status: 0 };
    if (recordJwt(req)) call.withAuth = true;
    calls.push(call);
    const fail = (status: number, msg: string) => {
      call.status = status;
      sendError(res, status, msg);
    };
    const e = exportStates.get(exportId);
    if (e) call.botId = e.botId;
    const grant = issued.get(query.get('sig') ?? '');
    if (!grant || grant.exportId !== exportId || query.get('exp') !== String(grant.expiresAt)) return fail(403, 'Invalid download link');
    if (now() > grant.expiresAt) return fail(403, 'The download link has expired');
    if (!e) return fail(404, 'File not found');

    const archive = e.archive;
    const fault = e.foreign ? 'ok' : (faultsFor(e.botId).download ?? 'ok');
    switch (fault) {
      case 'forbidden':
        return fail(403, 'Access denied');
      case 'redirectInternal':
      case 'notzip':
      case 'truncate':
      case 'reset':
        call.status = sendBrokenDownload(res, fault, archive, koreErrorPage, timers);
        return;
      case 'ok':
        break;
    }
    call.status = 200;
    res.writeHead(200, {
      'content-type': 'application/zip',
      'content-length': archive.length,
      'content-disposition': `attachment; filename="${e.botId}.zip"`,
    });
    res.end(req.method === 'HEAD' ? undefined : archive);
  }

  const server = createServer((req, res) => {
    const parsed = new URL(req.url ?? '/', 'http://simulator');
    const method = req.method ?? 'GET';
    const dl = /^\/downloads\/([^/]+)$/.exec(parsed.pathname);
    if (dl && (method === 'GET' || method === 'HEAD')) {
      req.resume();
      handleDownload(req, res, decodeURIComponent(dl[1]!), parsed.searchParams);
      return;
    }
    if (method === 'GET' && parsed.pathname === '/api/public/bots') return void handleListBots(req, res, parsed.searchParams);
    if (method === 'POST' && parsed.pathname === '/api/public/uploadfile') return void handleImportApi(req, res, 'UploadFile');
    const imp = /^\/api\/public\/bot\/(?:([^/]+)\/)?import$/.exec(parsed.pathname);
    if (imp && method === 'POST' && imp[1] !== 'import')
      return void handleImportApi(req, res, 'Import', imp[1] === undefined ? undefined : decodeURIComponent(imp[1]));
    const impStatus = /^\/api\/public\/bot\/import\/status\/([^/]+)$/.exec(parsed.pathname);
    if (impStatus && method === 'GET') return void handleImportApi(req, res, 'ImportStatus', decodeURIComponent(impStatus[1]!));
    const api = /^\/api\/public\/bot\/([^/]+)\/export(\/status)?$/.exec(parsed.pathname);
    if (api && method === (api[2] ? 'GET' : 'POST')) {
      void handleApi(req, res, api[2] ? 'ExportStatus' : 'Export', decodeURIComponent(api[1]!));
      return;
    }
    req.resume();
    sendError(res, 404, `Cannot ${method} ${parsed.pathname}`);
  });
  const listening = await listen(server, opts.port);
  url = listening.url;

  return {
    url,
    calls,
    exports: exportsView,
    seenJwts,
    imports: importsView,
    uploads,
    newBotFaults,
    botIdByName: (botName) => [...bots.values()].find((b) => b.bot.botName === botName)?.bot.botId,
    setFaults,
    setListFaults(f) {
      listFaults = { ...f };
      listCalls = 0;
    },
    modifyBot(botId, change) {
      const s = bots.get(botId);
      if (!s) throw new Error(`modifyBot: unknown bot ${botId}`);
      if (change.dialogs) {
        s.dialogs = [...change.dialogs];
        s.imported = undefined;
      }
    },
    archiveFor(exportId) {
      const e = exportStates.get(exportId);
      if (!e) throw new Error(`archiveFor: unknown export ${exportId}`);
      return e.archive;
    },
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return listening.close();
    },
  };
}
