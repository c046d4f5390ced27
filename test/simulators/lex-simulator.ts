/**
 * A local Amazon Lex V2 model-building API (restJson1) for the real
 * `@aws-sdk/client-lex-models-v2` client: point it here with `endpoint` or
 * `AWS_ENDPOINT_URL_LEX_MODELS_V2=<url>`.
 *
 * It reproduces what BotVault depends on and can be hurt by (see
 * shared/REFERENCE.md): the export lifecycle (CreateExport → DescribeExport
 * until Completed → a presigned download valid a few minutes after each
 * DescribeExport → DeleteExport), discovery with paging, the error wire format
 * (`x-amzn-errortype` + `{"message"}`), and injectable faults on the API and
 * on the download.
 *
 * Behaviour worth knowing when writing tests against it:
 * - Like Lex, numbered bot versions are immutable: `modifyBot` changes what a
 *   DRAFT export contains; versions keep the intents the bot was added with.
 * - An archive is built once, when its export is created (a snapshot), and is
 *   what every successful download of that export serves (`archiveFor`).
 * - Two exports of an unchanged bot have identical entries but not identical
 *   zip bytes: like Lex, each archive's entries are stamped with its export's
 *   time. Change detection must look at the entries, not the zip's hash.
 * - Lists return at most `maxPageSize` items a page (default 10) even when a
 *   larger `maxResults` is asked for, as AWS list APIs may: callers must follow
 *   `nextToken`, and this makes every discovery test exercise paging.
 * - SigV4 signatures are not verified, but an Authorization header is required
 *   (the Lex estate, lex-estate.ts, verifies them and routes each request to a
 *   tenant of this simulator by the signer's account and the signed region).
 *
 * What a restore drill does (routes, shapes and declared errors from the
 * service model as @aws-sdk/client-lex-models-v2 3.1048.0 ships it,
 * dist-cjs/schemas/schemas_0.js and dist-types/commands/*.d.ts):
 * - StartImport of a new bot (botImportSpecification) creates it with the
 *   specification's roleArn, dataPrivacy and idleSessionTTLInSeconds, its
 *   `botTags` as the bot's tags and `testBotAliasTags` as TestBotAlias's; an
 *   import into an existing bot leaves its tags alone ("You can only add tags
 *   when you import a bot", BotImportSpecification). The re-export of an
 *   imported bot is the imported definition in the real layout under the
 *   bot's OWN name: its folder, and Bot.json's name, identifier, version
 *   (DRAFT) and the specification's settings; a new bot's intents, slots and
 *   slot types get new identifiers (renewIdentifiers). Imported locales are
 *   NotBuilt until BuildBotLocale builds them.
 * - BuildBotLocale / DescribeBotLocale, DeleteBot, TagResource /
 *   UntagResource / ListTagsForResource (bot and bot-alias ARNs), the bots and
 *   parallel-builds quotas (`maxBots`, `maxParallelBuilds`) and the lossy-import
 *   fault: see each operation below. Where Lex's answer is unconfirmed an
 *   option picks among the possibilities (botQuotaRefusal, parallelBuildRefusal,
 *   buildConflictScope, deleteInUseError, testAliasBlocksDelete).
 */
import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { bufferByteSource } from '../../lib/core/archive/byte-source';
import { withZip, ZipPasswordError } from '../../lib/core/archive/zip';
import { LOCALE_NAMES, lexExportEntries, lexManifest, lexTestSetZip, sampleLexBot } from '../generators/lex-export';
import { writeZip, type Encryption, type ZipEntryInput } from '../generators/zip-writer';
import { listen, parseJsonObject, readBody, sendBrokenDownload, sendJson, sendText } from './http';

export interface SimBot {
  botId: string;
  botName: string;
  /** Numbered versions ('1', '2', ...); DRAFT always exists. */
  versions?: string[];
  /** @default ['en_US'] */
  locales?: string[];
  intents?: string[];
  /** What DescribeBot, ListBotAliases/DescribeBotAlias and ListTagsForResource report (not in the export). */
  settings?: SimBotSettings;
  /**
   * The bot's botStatus. While it is not Available, CreateExport answers as
   * `exportRefusal` says (what Lex answers is undocumented; README "Export
   * formats"). @default 'Available'
   */
  status?: 'Available' | 'Creating' | 'Versioning' | 'Importing' | 'Updating' | 'Failed' | 'Inactive' | 'Deleting';
  /** Locales whose botLocaleStatus is NotBuilt (their definition still exports, as a DRAFT's does). */
  notBuiltLocales?: string[];
  /** This bot's cipher for password-protected exports. @default the simulator's `encryption` */
  exportEncryption?: Encryption;
  /**
   * When the bot was created: DescribeBot's creationDateTime, and its
   * lastUpdatedDateTime (DescribeBot, ListBots) until something changes it, so
   * a test can hold a bot "2 days old" for a sweep. @default now
   */
  createdAt?: Date | number;
}

/** A bot's settings outside its export; defaults: see `botSettings`. */
interface SimBotSettings {
  description?: string;
  /** @default the Lex service-linked role of the simulator's account (`accountId`, 123456789012) */
  roleArn?: string;
  /** @default { childDirected: false } */
  dataPrivacy?: { childDirected: boolean };
  /** @default 300 */
  idleSessionTTLInSeconds?: number;
  /** @default [TestBotAlias (TSTALIASID) on DRAFT, every locale enabled] */
  aliases?: SimBotAlias[];
  /** @default {} */
  tags?: Record<string, string>;
  /** Tags per alias id, as ListTagsForResource of a bot-alias ARN answers them. @default {} */
  aliasTags?: Record<string, Record<string, string>>;
}

/** A bot alias as DescribeBotAlias reports it. */
export interface SimBotAlias {
  botAliasId: string;
  botAliasName: string;
  description?: string;
  botVersion?: string;
  botAliasLocaleSettings?: Record<
    string,
    { enabled: boolean; codeHookSpecification?: { lambdaCodeHook: { lambdaARN: string; codeHookInterfaceVersion: string } } }
  >;
  conversationLogSettings?: { textLogSettings?: Record<string, unknown>[]; audioLogSettings?: Record<string, unknown>[] };
  sentimentAnalysisSettings?: { detectSentiment: boolean };
}

export interface LexFaults {
  /** The export stays InProgress this long (default 0: Completed on the first DescribeExport). */
  exportLatencyMs?: number;
  /** CreateExport answers only after this long (a slow API call: the job stays in StartExport, its poll budget untouched). */
  createLatencyMs?: number;
  /**
   * CreateExport answers only once this settles (after any createLatencyMs): a test holds a run in
   * StartExport for exactly as long as it needs, however slow the machine. Keep it under the
   * handlers' 30 s API request timeout (lambdas/shared/clients.ts).
   */
  holdCreate?: Promise<unknown>;
  /** The export ends Failed, with these failureReasons (true: a generic reason). */
  failExport?: boolean | string[];
  /** The export stays InProgress forever. */
  neverFinish?: boolean;
  /** The first N CreateExport calls get 429 ThrottlingException. */
  throttleCreate?: number;
  /** Throttling answers carry `Retry-After: <seconds>` (the SDK's retryAfterSeconds). */
  retryAfterSeconds?: number;
  /** The first N DescribeExport calls get 429 ThrottlingException. */
  throttleDescribe?: number;
  /** The N DescribeExport calls after any throttled ones get 200 with a JSON body cut short (the SDK cannot parse it). */
  garbleDescribe?: number;
  /** The first N CreateExport calls get 409 ConflictException. */
  conflictCreate?: number;
  /**
   * What the download URL does:
   * truncate: Content-Length of the whole zip, then the connection closes after half of it;
   * reset: chunked, then the socket is destroyed mid-body;
   * drip: one byte every 200 ms;
   * empty: 200 with no bytes; notzip: 200 with random bytes that are not a zip;
   * forbidden: always 403 (S3's AccessDenied "Request has expired");
   * forbiddenOnce: the first download of each export gets that 403, later ones succeed;
   * redirectInternal: 302 to the instance metadata address.
   */
  download?: 'ok' | 'truncate' | 'reset' | 'drip' | 'empty' | 'notzip' | 'forbidden' | 'forbiddenOnce' | 'redirectInternal';
  /** Imports into this bot (or, in defaultFaults, of a new bot) end Failed with these failureReasons (true: a generic reason). */
  failImport?: boolean | string[];
  /** An import stays InProgress this long before it is applied. */
  importLatencyMs?: number;
  /** What a PUT to an upload URL does: ok, or redirect (307 to the instance metadata address). */
  upload?: 'ok' | 'redirect';
  /** A BuildBotLocale of this bot's locales stays Building this long (DescribeBotLocale), then is Built (or Failed: failBuild). @default 0 */
  buildLatencyMs?: number;
  /** Builds of this bot's locales end Failed with these failureReasons (true: a generic reason). */
  failBuild?: boolean | string[];
  /** After DeleteBot the bot stays Deleting this long (DescribeBot, ListBots), then is gone. @default 500 */
  deleteLatencyMs?: number;
  /**
   * Imports into this bot (in defaultFaults: of a new bot too) silently drop
   * sample utterances, as users report real imports do: see LexLossyImport.
   * What was dropped is in the import's `losses`.
   */
  lossyImport?: LexLossyImport;
}

/**
 * Which sample utterances a lossy import drops: of each intent it applies to
 * (every intent with utterances, or those named in `intents`, in every
 * locale or those in `locales`), the LAST ones in the archive's order —
 * `dropUtterancesPerIntent` of them when it is 1 or more (all, at most), or
 * that fraction of them (rounded) when it is between 0 and 1. An intent left
 * with none exports `sampleUtterances: null`, as Lex writes an empty list.
 */
interface LexLossyImport {
  dropUtterancesPerIntent: number;
  intents?: string[];
  locales?: string[];
}

/** Sample utterances a lossy import dropped from one intent. */
interface SimImportLoss {
  localeId: string;
  intent: string;
  /** The intent's utterances in the archive. */
  total: number;
  /** The utterances dropped, in archive order. */
  dropped: string[];
  /** E.g. 'intent OrderFlowers (en_US): 3 of 7 sample utterances missing'. */
  summary: string;
}

/** An import (CreateUploadUrl → upload → StartImport → DescribeImport), as of now. */
interface SimImport {
  importId: string;
  /** True once a PUT to its upload URL stored a file. */
  uploaded: boolean;
  started: boolean;
  /** InProgress | Completed | Failed once started. */
  status?: string;
  mergeStrategy?: string;
  spec?: unknown;
  /** The bot the import created or changed. */
  importedResourceId?: string;
  failureReasons?: string[];
  /** What a lossyImport fault dropped once the import applied ([] when nothing). */
  losses?: SimImportLoss[];
}

export interface LexSimulatorOptions {
  bots?: SimBot[];
  /** Faults per botId; they replace `defaultFaults` for that bot. */
  faults?: Record<string, LexFaults>;
  defaultFaults?: LexFaults;
  /** Lifetime of a download URL after the DescribeExport that handed it out. @default 300_000 */
  urlTtlMs?: number;
  /** Test set ids that testSetExportSpecification may name. */
  testSets?: string[];
  /**
   * The zip encryption of password-protected exports (CreateExport
   * filePassword). Which one Lex uses is unconfirmed: tests run both.
   * @default 'aes256'
   */
  encryption?: Encryption;
  /** The most items one list page holds, whatever maxResults says. @default 10 */
  maxPageSize?: number;
  /**
   * The account the bots belong to: their default role ARNs are in it and, when
   * it is given, ListTagsForResource takes only bot ARNs of it (as Lex takes
   * only the caller's own). @default '123456789012' (ListTagsForResource then
   * takes the account of the bot's role, as before)
   */
  accountId?: string;
  /**
   * The Lex region: of the download URLs' credential scope and, when it is
   * given, the only region ListTagsForResource takes in bot ARNs. @default 'us-east-1'
   */
  region?: string;
  /**
   * The account's "Bots per account (V2)" quota (Service Quotas code
   * L-36FA8BD2, default 100: AWS General Reference, "Amazon Lex endpoints and
   * quotas"; Lex V2 Developer Guide, "Quotas"), in this account and Region. A
   * StartImport that would create a bot beyond it is refused as
   * `botQuotaRefusal` says; bots still Deleting count. addBot ignores it.
   * @default 100
   */
  maxBots?: number;
  /**
   * How a new bot beyond `maxBots` is refused. Unconfirmed, so both are here:
   * 'StartImport' — StartImport answers 402 ServiceQuotaExceededException (an
   * error the model declares for StartImport: "You have reached a quota for
   * your bot"); 'importFailed' — StartImport is accepted and the import ends
   * Failed with a quota reason. @default 'StartImport'
   */
  botQuotaRefusal?: 'StartImport' | 'importFailed';
  /**
   * "Parallel locale builds per AWS account" (default 5, adjustable through
   * Support only: Lex V2 Developer Guide, "Quotas"; it has no Service Quotas
   * code — the General Reference's Lex table does not list it). A
   * BuildBotLocale while this many locales of this account and Region are
   * Building is refused as `parallelBuildRefusal` says. @default 5
   */
  maxParallelBuilds?: number;
  /**
   * The error of a build beyond `maxParallelBuilds`. Lex documents none for
   * it; BuildBotLocale declares both of these, so either may come:
   * 402 ServiceQuotaExceededException or 429 ThrottlingException.
   * @default 'ServiceQuotaExceededException'
   */
  parallelBuildRefusal?: 'ServiceQuotaExceededException' | 'ThrottlingException';
  /**
   * What a BuildBotLocale conflicts with (409 ConflictException, "the
   * resource is in a conflicting state"): another build of the same bot (any
   * locale), or only of the same locale. Undocumented: build one locale of a
   * bot at a time and both behave the same. @default 'bot'
   */
  buildConflictScope?: 'bot' | 'locale';
  /**
   * DeleteBot of a bot with an alias, without skipResourceInUseCheck: the API
   * reference says "returns a ResourceInUseException", which the service
   * model does not declare; what arrives on the wire is unconfirmed, so any
   * of these (ResourceInUseException 409, ConflictException 409,
   * PreconditionFailedException 412). @default 'ResourceInUseException'
   */
  deleteInUseError?: 'ResourceInUseException' | 'ConflictException' | 'PreconditionFailedException';
  /**
   * Whether the test alias TestBotAlias (TSTALIASID, which every bot has)
   * counts as "an alias" for that check. Unconfirmed; a drill that deletes
   * with skipResourceInUseCheck: true is safe either way. @default false
   */
  testAliasBlocksDelete?: boolean;
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
}

export interface SimCall {
  op: string;
  botId?: string;
  exportId?: string;
  status: number;
}

interface SimExport {
  exportId: string;
  botId?: string;
  /** InProgress | Completed | Failed | Deleting, as of now. */
  status: string;
  deleted: boolean;
  /** The resourceSpecification as requested (never the file password). */
  spec: unknown;
}

export interface LexSimulator {
  /** http://HOST:PORT: the API endpoint, and the origin of the download URLs. */
  url: string;
  close(): Promise<void>;
  addBot(bot: SimBot): void;
  setFaults(botId: string, faults: LexFaults): void;
  /** Changes the bot's settings outside its export (role, aliases, tags, ...): merged into the current ones. */
  setBotSettings(botId: string, settings: SimBotSettings): void;
  /** Every API call and download, in order. */
  calls: SimCall[];
  exports: Map<string, SimExport>;
  /** The exact bytes a successful download of this export serves. */
  archiveFor(exportId: string): Buffer;
  /** Changes what future DRAFT exports of the bot contain. */
  modifyBot(botId: string, change: { intents?: string[]; vocabulary?: { locale: string; phrases: string[] } }): void;
  /** Every import by id: CreateUploadUrl creates one, StartImport starts it. */
  imports: Map<string, SimImport>;
  /** The id of the bot named `botName`, if any (bots created by imports get fresh ids). */
  botIdByName(botName: string): string | undefined;
}

// ---------------------------------------------------------------------------

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}
const throttled = (f: LexFaults) =>
  new ApiError(429, 'ThrottlingException', 'Rate exceeded', f.retryAfterSeconds !== undefined ? { 'retry-after': String(f.retryAfterSeconds) } : {});
const notFound = (what: string) => new ApiError(404, 'ResourceNotFoundException', `${what} does not exist.`);
const invalid = (message: string) => new ApiError(400, 'ValidationException', message);
const goneOnDelete = () => new ApiError(412, 'PreconditionFailedException', 'Failed to retrieve resource since it does not exist');

/** The service model's patterns (lexv2-models 2020-08-07): a malformed id is a 400, before anything is looked up. */
const ID_PATTERN = /^[0-9a-zA-Z]{10}$/;
const VERSION_PATTERN = /^(DRAFT|[0-9]{1,5})$/;
function checkPattern(value: string, pattern: RegExp, where: string): void {
  if (!pattern.test(value))
    throw invalid(
      `1 validation error detected: Value '${value}' at '${where}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern.source}`,
    );
}

interface BotState {
  /**
   * The DRAFT's definition files as the last import left them (paths below the
   * bot's folder, in archive order); undefined while the DRAFT is generated
   * from `draftIntents`. modifyBot drops it.
   */
  imported?: Map<string, string>;
  bot: SimBot;
  /** DRAFT's intents (modifyBot changes them). */
  draftIntents: string[];
  /** The intents every numbered version was created with (immutable). */
  versionIntents: string[];
  /** The DRAFT's custom vocabulary per locale, as CustomVocabulary.json text (set by modifyBot or an import). */
  vocabularies: Map<string, string>;
  createdAt: number;
  updatedAt: number;
  /**
   * The DRAFT's locales' build states, set by imports (NotBuilt) and
   * BuildBotLocale; a locale without one is Built, or NotBuilt when listed in
   * `notBuiltLocales`.
   */
  builds: Map<string, LocaleBuild>;
  /** When DeleteBot was accepted, and how long the bot stays Deleting. */
  deleting?: { at: number; latencyMs: number };
}

/** A locale's build: NotBuilt until built; Building for `latencyMs` after `submittedAt`, then Built or Failed. */
interface LocaleBuild {
  state: 'NotBuilt' | 'Building';
  submittedAt?: number;
  latencyMs: number;
  /** The failureReasons the build ends with; undefined: it succeeds. */
  failure?: string[];
}

interface ExportState {
  exportId: string;
  botId?: string;
  spec: Record<string, unknown>;
  fileFormat: string;
  createdAt: number;
  deleted: boolean;
  deletedAt?: number;
  /** The archive, built at creation; undefined for exports that will fail. */
  archive?: Buffer;
  downloads: number;
  /** The bot was deleted while this export was in progress: it ends Failed. */
  botDeleted?: boolean;
}

type ResourceKind = 'BOT' | 'BOT_LOCALE' | 'CUSTOM_VOCABULARY' | 'TEST_SET';

const DEFAULT_FAILURE = ['Failed to export the resource: an internal error occurred.'];
/** Entry timestamps are derived from this, not the clock, so archives are reproducible. */
const ARCHIVE_EPOCH = Date.UTC(2024, 0, 1);

const epochSeconds = (ms: number) => ms / 1000;

function exportIdFor(n: number): string {
  // Lex ids are 10 upper-case alphanumerics; keep them unique and recognisable.
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let id = '';
  for (const b of randomBytes(7)) id += alphabet[b % alphabet.length];
  return `${id}${String(n % 1000).padStart(3, '0')}`;
}

function amzDate(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** An S3 error document, as the presigned upload and download URLs answer. */
function sendS3Error(res: ServerResponse, status: number, code: string, message: string): void {
  const text = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${randomBytes(8).toString('hex').toUpperCase()}</RequestId></Error>`;
  sendText(res, status, text, { 'content-type': 'application/xml' });
}

/** What a broken presigned download serves in place of the zip ('notzip'): an error page and noise. */
const notZipJunk = () => Buffer.concat([Buffer.from('<html><body>Service Unavailable</body></html>\n'), randomBytes(512)]);

interface ArchiveContent {
  kind: ResourceKind;
  bot?: SimBot;
  botVersion?: string;
  intents: string[];
  locales: string[];
  testSetId?: string;
  /** Imported definition files (BotState.imported) of a DRAFT: exported as they were imported. */
  imported?: Map<string, string>;
  /** The DRAFT's custom vocabularies (BotState.vocabularies). */
  vocabularies?: Map<string, string>;
}

/**
 * The entries of an export in the real layout (test/generators/lex-export.ts
 * names the facts): generated from the bot's intents, or, for a DRAFT changed
 * by an import, the imported files as they were imported. `seed` varies the
 * entry order as between real exports.
 */
function archiveEntries(c: ArchiveContent, seed: number): ZipEntryInput[] {
  if (c.kind === 'TEST_SET') throw new Error('archiveEntries: test sets are built by lexTestSetZip');
  const bot = c.bot!;
  const localeId = c.kind === 'BOT' ? undefined : c.locales[0];
  if (c.imported && c.kind !== 'CUSTOM_VOCABULARY') {
    const root = bot.botName;
    const files: ZipEntryInput[] = [];
    for (const [rel, text] of c.imported) {
      if (rel === 'Bot.json' ? c.kind === 'BOT' : c.locales.some((l) => rel.startsWith(`BotLocales/${l}/`)))
        files.push({ name: `${root}/${rel}`, data: text });
    }
    return [{ name: 'Manifest.json', data: lexManifest(c.kind, 'LexJson', () => (seed % 2) / 2) }, ...files];
  }
  const model = sampleLexBot(bot.botId, bot.botName, c.intents, c.locales);
  if (c.kind === 'CUSTOM_VOCABULARY') {
    const text = c.vocabularies?.get(localeId!);
    if (text !== undefined) {
      const manifest = { name: 'Manifest.json', data: lexManifest('CUSTOM_VOCABULARY', 'TSV', () => (seed % 2) / 2) };
      return [manifest, { name: `${bot.botName}/BotLocales/${localeId}/CustomVocabulary/CustomVocabulary.json`, data: text }];
    }
    for (const l of model.locales) l.customVocabulary = [{ phrase: bot.botName, weight: 3 }];
  }
  return lexExportEntries(model, { kind: c.kind, botVersion: c.botVersion ?? 'DRAFT', seed, ...(localeId ? { localeId } : {}) });
}

/**
 * StartImport's botTags / testBotAliasTags, TagResource's tags: a map of
 * strings, keys 1-128 characters and not `aws:`-prefixed, values at most 256
 * (the AWS tagging rules every Lex TagMap follows), at most 200 of them.
 */
function checkTags(tags: unknown, where: string): asserts tags is Record<string, string> {
  if (!isObject(tags) || Object.values(tags).some((v) => typeof v !== 'string'))
    throw invalid(`1 validation error detected: Value at '${where}' failed to satisfy constraint: Member must be a map of strings`);
  const entries = Object.entries(tags as Record<string, string>);
  if (entries.length > 200)
    throw invalid(`1 validation error detected: Value at '${where}' failed to satisfy constraint: Member must have length less than or equal to 200`);
  for (const [k, v] of entries) {
    if (k.length < 1 || k.length > 128 || v.length > 256)
      throw invalid(
        `1 validation error detected: Value at '${where}' failed to satisfy constraint: tag keys are 1-128 characters, values at most 256`,
      );
    if (k.toLowerCase().startsWith('aws:')) throw invalid(`Tag keys may not start with "aws:": ${k}`);
  }
}

/**
 * Changes one JSON file of an imported definition in place; it is rewritten
 * (minified, as Lex writes its JSON) only if `change` changed something, so
 * an import into the bot the archive came from keeps its files byte for byte.
 */
function rewriteJson(files: Map<string, string>, name: string, change: (json: Record<string, unknown>) => void): void {
  const text = files.get(name);
  if (text === undefined) return;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return;
  }
  if (!isObject(json)) return;
  const before = JSON.stringify(json);
  change(json);
  const after = JSON.stringify(json);
  if (after !== before) files.set(name, after);
}

const IDENTIFIED = /^BotLocales\/[^/]+\/(Intents\/[^/]+\/Intent|Intents\/[^/]+\/Slots\/[^/]+\/Slot|SlotTypes\/[^/]+\/SlotType)\.json$/;

/**
 * Gives the intents, slots and slot types of a definition imported as a new
 * bot identifiers of their own (10 alphanumerics derived from the bot and the
 * file, so the same import gives the same ids), as a bot that Lex creates from
 * an import has new resources. FallbackIntent keeps FALLBCKINT, the built-in
 * intent's identifier in every real export. Nothing refers to these ids by
 * value (slot priorities name slots, slots name their slot types), so only
 * `identifier` changes. Whether Lex keeps an archive's ids is unconfirmed: a
 * comparison of a re-export with its archive must ignore ids and names.
 */
function renewIdentifiers(files: Map<string, string>, botId: string): void {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  for (const name of [...files.keys()].filter((n) => IDENTIFIED.test(n))) {
    rewriteJson(files, name, (json) => {
      if (typeof json.identifier !== 'string' || json.identifier === 'FALLBCKINT') return;
      const digest = createHash('sha256').update(`${botId}\0${name}`).digest();
      json.identifier = [...digest.subarray(0, 10)].map((b) => alphabet[b % alphabet.length]).join('');
    });
  }
}

/** Applies a lossyImport fault to the definition files (`BotLocales/<locale>/Intents/<intent>/Intent.json`): what it dropped. */
function dropUtterances(files: Map<string, string>, lossy: LexLossyImport | undefined): SimImportLoss[] {
  if (!lossy) return [];
  const losses: SimImportLoss[] = [];
  for (const name of [...files.keys()]) {
    const m = /^BotLocales\/([^/]+)\/Intents\/([^/]+)\/Intent\.json$/.exec(name);
    if (!m) continue;
    const [, localeId, intent] = m as unknown as [string, string, string];
    if (lossy.intents && !lossy.intents.includes(intent)) continue;
    if (lossy.locales && !lossy.locales.includes(localeId)) continue;
    rewriteJson(files, name, (json) => {
      const all = json.sampleUtterances;
      if (!Array.isArray(all) || all.length === 0) return;
      const n = lossy.dropUtterancesPerIntent;
      const count = Math.min(all.length, Math.max(0, n >= 1 ? Math.floor(n) : Math.round(all.length * n)));
      if (count === 0) return;
      const dropped = all.slice(all.length - count).map((u: unknown) => (isObject(u) ? String(u.utterance) : String(u)));
      json.sampleUtterances = count === all.length ? null : all.slice(0, all.length - count);
      losses.push({
        localeId,
        intent,
        total: all.length,
        dropped,
        summary: `intent ${intent} (${localeId}): ${count} of ${all.length} sample utterances missing`,
      });
    });
  }
  return losses;
}

/** The locale ids an imported definition holds (`BotLocales/<id>/BotLocale.json`). */
function importedLocales(files: Map<string, string>): string[] {
  return [...files.keys()].flatMap((rel) => /^BotLocales\/([^/]+)\/BotLocale\.json$/.exec(rel)?.[1] ?? []);
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

function requireString(obj: Record<string, unknown>, field: string, where: string): string {
  const v = obj[field];
  if (typeof v !== 'string' || v.length === 0)
    throw invalid(`1 validation error detected: Value at '${where}.${field}' failed to satisfy constraint: Member must not be null`);
  return v;
}

/** The one specification `resourceSpecification` must hold, of those `kinds` (CreateExport, StartImport). */
function oneSpecification(
  body: Record<string, unknown>,
  what: 'export' | 'import',
  kinds: string[],
): { kindKey: string; spec: Record<string, unknown> } {
  const rs = body.resourceSpecification;
  if (!isObject(rs))
    throw invalid("1 validation error detected: Value at 'resourceSpecification' failed to satisfy constraint: Member must not be null");
  const given = kinds.filter((k) => rs[k] !== undefined);
  if (given.length !== 1) throw invalid(`resourceSpecification must contain exactly one ${what} specification.`);
  const kindKey = given[0]!;
  const spec = rs[kindKey];
  if (!isObject(spec)) throw invalid(`resourceSpecification.${kindKey} must be an object.`);
  return { kindKey, spec };
}

/** `body[field]`, which must be one of `allowed`. */
function requireEnum(body: Record<string, unknown>, field: string, allowed: string[]): unknown {
  const value = body[field];
  if (!allowed.includes(String(value))) {
    throw invalid(
      `1 validation error detected: Value '${String(value)}' at '${field}' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(', ')}]`,
    );
  }
  return value;
}

// ---------------------------------------------------------------------------

/**
 * A Lex simulator with the port left out: `startLexSimulator` serves one on
 * a port of its own; the Lex estate (lex-estate.ts) serves several behind one.
 */
export interface LexTenant {
  /** Its state and controls; `url` is `baseUrl`, `close()` only stops its timers (the server is the caller's). */
  readonly sim: LexSimulator;
  /**
   * Answers one request whose `req.url` is below `baseUrl` (the API, or a
   * download or upload URL it handed out). `body`: the request body when the
   * caller has already read it (an API request), else it is read here.
   */
  handle(req: IncomingMessage, res: ServerResponse, body?: Buffer): void;
}

export async function startLexSimulator(opts: LexSimulatorOptions = {}): Promise<LexSimulator> {
  let tenant: LexTenant | undefined;
  // Requests cannot arrive before the URL is returned, so the tenant exists by then.
  const server = createServer((req, res) => tenant!.handle(req, res));
  const listening = await listen(server, opts.port, opts.host);
  tenant = createLexTenant(opts, listening.url);
  const sim = tenant.sim;
  return {
    ...sim,
    async close() {
      await sim.close();
      // Cuts drip downloads too.
      await listening.close();
    },
  };
}

/**
 * A Lex simulator answering below `baseUrl` (its download and upload URLs are
 * made from it); `onCall` sees every call as `calls` records it (a download's
 * or upload's status is filled in once known).
 */
export function createLexTenant(opts: LexSimulatorOptions, baseUrl: string, onCall?: (call: SimCall) => void): LexTenant {
  const accountId = opts.accountId ?? '123456789012';
  const region = opts.region ?? 'us-east-1';
  const urlTtlMs = opts.urlTtlMs ?? 300_000;
  const maxPageSize = opts.maxPageSize ?? 10;
  const maxBots = opts.maxBots ?? 100;
  const maxParallelBuilds = opts.maxParallelBuilds ?? 5;
  const testSets = new Set(opts.testSets ?? []);
  const bots = new Map<string, BotState>();
  const faults = new Map<string, LexFaults>(Object.entries(opts.faults ?? {}));
  const counters = new Map<string, { create: number; describe: number }>();
  const exportStates = new Map<string, ExportState>();
  const exportsView = new Map<string, SimExport>();
  /** Issued download signatures: each DescribeExport hands out a new one. */
  const issued = new Map<string, { exportId: string; expiresAt: number }>();
  const signingKey = randomBytes(32);
  const importStates = new Map<string, ImportState>();
  const importsView = new Map<string, SimImport>();
  const calls: SimCall[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let exportCount = 0;
  const url = baseUrl;
  const record = (c: SimCall) => {
    calls.push(c);
    onCall?.(c);
  };

  const faultsFor = (botId: string | undefined): LexFaults => (botId !== undefined ? faults.get(botId) : undefined) ?? opts.defaultFaults ?? {};
  const counterFor = (botId: string | undefined) => {
    const key = botId ?? '';
    let c = counters.get(key);
    if (!c) counters.set(key, (c = { create: 0, describe: 0 }));
    return c;
  };

  function addBot(bot: SimBot): void {
    if (!/^[0-9A-Za-z]{1,10}$/.test(bot.botId)) throw new Error(`SimBot botId must be 1-10 alphanumerics (Lex ids are 10): ${bot.botId}`);
    for (const v of bot.versions ?? [])
      if (!/^[1-9][0-9]*$/.test(v)) throw new Error(`SimBot ${bot.botId}: versions are numbered ('1', '2', ...); DRAFT is implied: ${v}`);
    const created = bot.createdAt !== undefined ? new Date(bot.createdAt).getTime() : Date.now();
    const intents = [...(bot.intents ?? ['Greeting'])];
    bots.set(bot.botId, {
      bot: { ...bot },
      draftIntents: intents,
      versionIntents: intents,
      vocabularies: new Map(),
      createdAt: created,
      updatedAt: created,
      builds: new Map(),
    });
  }
  for (const bot of opts.bots ?? []) addBot(bot);

  const localesOf = (s: BotState) => (s.imported ? importedLocales(s.imported) : (s.bot.locales ?? ['en_US']));
  const versionsOf = (s: BotState) => ['DRAFT', ...(s.bot.versions ?? [])];

  function botOr404(botId: string): BotState {
    const s = bots.get(botId);
    if (!s) throw notFound(`Bot ${botId}`);
    return s;
  }
  function versionOr404(s: BotState, botVersion: string): void {
    if (!versionsOf(s).includes(botVersion)) throw notFound(`Bot ${s.bot.botId} version ${botVersion}`);
  }

  function statusOf(e: ExportState, now = Date.now()): string {
    if (e.deleted) return 'Deleting';
    if (e.botDeleted) return 'Failed';
    const f = faultsFor(e.botId);
    if (f.neverFinish) return 'InProgress';
    if (now - e.createdAt < (f.exportLatencyMs ?? 0)) return 'InProgress';
    return f.failExport || !e.archive ? 'Failed' : 'Completed';
  }

  /** Forgets the bots whose deletion has finished (called before every API call and lookup). */
  function reap(now = Date.now()): void {
    for (const [id, s] of bots) if (s.deleting && now - s.deleting.at >= s.deleting.latencyMs) bots.delete(id);
  }

  /** The bot's botStatus as DescribeBot and ListBots report it. */
  const botStatusOf = (s: BotState): string => (s.deleting ? 'Deleting' : (s.bot.status ?? 'Available'));

  /** A DRAFT locale's botLocaleStatus as of now, with its build's details. */
  function localeState(s: BotState, localeId: string, now = Date.now()): { status: string; submittedAt?: number; failureReasons?: string[] } {
    const b = s.builds.get(localeId);
    if (!b) return { status: s.bot.notBuiltLocales?.includes(localeId) ? 'NotBuilt' : 'Built' };
    if (b.state === 'NotBuilt') return { status: 'NotBuilt' };
    if (now - b.submittedAt! < b.latencyMs) return { status: 'Building', submittedAt: b.submittedAt! };
    return b.failure
      ? { status: 'Failed', submittedAt: b.submittedAt!, failureReasons: b.failure }
      : { status: 'Built', submittedAt: b.submittedAt! };
  }
  const buildingNow = (s: BotState, now = Date.now()) => localesOf(s).filter((l) => localeState(s, l, now).status === 'Building');

  // ---- paging: opaque tokens bound to the list they came from ----

  function page<T>(items: T[], body: Record<string, unknown>, scope: string): { items: T[]; nextToken?: string } {
    const max = body.maxResults;
    if (max !== undefined && (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 1000)) {
      throw invalid(
        `1 validation error detected: Value '${String(max)}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000`,
      );
    }
    let start = 0;
    if (body.nextToken !== undefined) {
      const decoded = typeof body.nextToken === 'string' ? Buffer.from(body.nextToken, 'base64url').toString('utf8') : '';
      const m = /^(.*)\|(\d+)$/.exec(decoded);
      if (!m || m[1] !== scope) throw invalid('The nextToken is invalid or was issued for another request.');
      start = Number(m[2]);
    }
    const size = Math.min(typeof max === 'number' ? max : 10, maxPageSize);
    const slice = items.slice(start, start + size);
    const next = start + size < items.length ? Buffer.from(`${scope}|${start + size}`).toString('base64url') : undefined;
    return next ? { items: slice, nextToken: next } : { items: slice };
  }

  function sortOrder(body: Record<string, unknown>, attribute: string, defaultOrder: 'Ascending' | 'Descending'): 1 | -1 {
    if (body.sortBy === undefined) return defaultOrder === 'Ascending' ? 1 : -1;
    if (!isObject(body.sortBy) || body.sortBy.attribute !== attribute || !['Ascending', 'Descending'].includes(String(body.sortBy.order))) {
      throw invalid(`sortBy must be {"attribute": "${attribute}", "order": "Ascending" | "Descending"}.`);
    }
    return body.sortBy.order === 'Ascending' ? 1 : -1;
  }

  function nameFilter(body: Record<string, unknown>, filterName: string): (name: string) => boolean {
    if (body.filters === undefined) return () => true;
    if (!Array.isArray(body.filters) || body.filters.length !== 1) throw invalid('filters must hold exactly one filter.');
    const f: unknown = body.filters[0];
    if (
      !isObject(f) ||
      f.name !== filterName ||
      !Array.isArray(f.values) ||
      f.values.length !== 1 ||
      typeof f.values[0] !== 'string' ||
      !['CO', 'EQ', 'NE'].includes(String(f.operator))
    ) {
      throw invalid(`filters[0] must be {"name": "${filterName}", "values": [one value], "operator": "CO" | "EQ" | "NE"}.`);
    }
    const value = f.values[0].toLowerCase();
    const op = f.operator;
    return (name) => {
      const n = name.toLowerCase();
      return op === 'CO' ? n.includes(value) : op === 'EQ' ? n === value : n !== value;
    };
  }

  // ---- operations ----

  type Reply = { status: number; body: Record<string, unknown>; garbled?: boolean };
  type Op = { op: string; botId?: string; exportId?: string };

  async function createExport(body: Record<string, unknown>, call: Op): Promise<Reply> {
    const { kindKey, spec } = oneSpecification(body, 'export', [
      'botExportSpecification',
      'botLocaleExportSpecification',
      'customVocabularyExportSpecification',
      'testSetExportSpecification',
    ]);
    const fileFormat = requireEnum(body, 'fileFormat', ['LexJson', 'TSV', 'CSV']);
    if (
      body.filePassword !== undefined &&
      (typeof body.filePassword !== 'string' || body.filePassword.length < 1 || body.filePassword.length > 1024)
    ) {
      throw invalid('filePassword must be a string of 1 to 1024 characters.');
    }

    let content: ArchiveContent;
    let botId: string | undefined;
    if (kindKey === 'testSetExportSpecification') {
      const testSetId = requireString(spec, 'testSetId', `resourceSpecification.${kindKey}`);
      if (fileFormat !== 'CSV') throw invalid('Test sets can only be exported as CSV.');
      if (!testSets.has(testSetId)) throw notFound(`Test set ${testSetId}`);
      content = { kind: 'TEST_SET', intents: [], locales: [], testSetId };
    } else {
      botId = requireString(spec, 'botId', `resourceSpecification.${kindKey}`);
      call.botId = botId;
      const botVersion = requireString(spec, 'botVersion', `resourceSpecification.${kindKey}`);
      checkPattern(botId, ID_PATTERN, `resourceSpecification.${kindKey}.botId`);
      checkPattern(botVersion, VERSION_PATTERN, `resourceSpecification.${kindKey}.botVersion`);
      const state = botOr404(botId);
      versionOr404(state, botVersion);
      refuseUnlessAvailable(state);
      const intents = botVersion === 'DRAFT' ? state.draftIntents : state.versionIntents;
      const base = {
        bot: { ...state.bot },
        botVersion,
        intents: [...intents],
        ...(botVersion === 'DRAFT' && state.imported ? { imported: new Map(state.imported) } : {}),
        ...(botVersion === 'DRAFT' ? { vocabularies: new Map(state.vocabularies) } : {}),
      };
      if (kindKey === 'botExportSpecification') {
        if (fileFormat !== 'LexJson') throw invalid('Bots can only be exported as LexJson.');
        content = { kind: 'BOT', ...base, locales: localesOf(state) };
      } else {
        const localeId = requireString(spec, 'localeId', `resourceSpecification.${kindKey}`);
        if (!localesOf(state).includes(localeId)) throw notFound(`Locale ${localeId} of bot ${botId} version ${botVersion}`);
        if (kindKey === 'botLocaleExportSpecification') {
          if (fileFormat !== 'LexJson') throw invalid('Bot locales can only be exported as LexJson.');
          content = { kind: 'BOT_LOCALE', ...base, locales: [localeId] };
        } else {
          if (fileFormat !== 'TSV') throw invalid('Custom vocabularies can only be exported as TSV.');
          content = { kind: 'CUSTOM_VOCABULARY', ...base, locales: [localeId] };
        }
      }
    }

    // Faults that refuse the call are checked after validation, as a real service's throttling would not hide a 400.
    const f = faultsFor(botId);
    const counter = counterFor(botId);
    counter.create++;
    if (counter.create <= (f.throttleCreate ?? 0)) throw throttled(f);
    if (counter.create - (f.throttleCreate ?? 0) <= (f.conflictCreate ?? 0)) {
      throw new ApiError(409, 'ConflictException', `There is an export in progress for the resource. Wait for it to complete and try again.`);
    }

    const now = Date.now();
    const n = ++exportCount;
    const exportId = exportIdFor(n);
    call.exportId = exportId;
    // Stamped with a per-export time (reproducible: derived from the export's sequence number).
    // Like Lex (filePassword): every entry is encrypted with the password, which is then forgotten.
    const password = typeof body.filePassword === 'string' ? body.filePassword : undefined;
    const zipOptions = {
      mtime: new Date(ARCHIVE_EPOCH + n * 2000),
      ...(password !== undefined
        ? { password, encryption: (botId !== undefined ? bots.get(botId)?.bot.exportEncryption : undefined) ?? opts.encryption ?? 'aes256' }
        : {}),
    };
    const archive = f.failExport
      ? undefined
      : content.kind === 'TEST_SET'
        ? await lexTestSetZip(content.testSetId!, zipOptions)
        : await writeZip(archiveEntries(content, n), zipOptions);
    // Only identifiers are kept: the password is neither stored nor echoed.
    const resourceSpecification = { [kindKey]: { ...spec } };
    exportStates.set(exportId, {
      exportId,
      botId,
      spec: resourceSpecification,
      fileFormat: String(fileFormat),
      createdAt: now,
      deleted: false,
      archive,
      downloads: 0,
    });
    exportsView.set(exportId, {
      exportId,
      ...(botId !== undefined ? { botId } : {}),
      get status() {
        return statusOf(exportStates.get(exportId)!);
      },
      get deleted() {
        return exportStates.get(exportId)!.deleted;
      },
      spec: resourceSpecification,
    });
    return {
      status: 202,
      body: { exportId, resourceSpecification, fileFormat, exportStatus: 'InProgress', creationDateTime: epochSeconds(now) },
    };
  }

  /**
   * CreateExport of a bot that is not Available. Lex documents no answer:
   * a bot busy in a transient state gets 409 ConflictException (the "resource
   * is in a conflicting state" error every Lex write declares), a Failed or
   * Inactive bot 412 PreconditionFailedException. The pipeline retries both,
   * then fails the job (README "Export formats").
   */
  function refuseUnlessAvailable(state: BotState): void {
    const status = botStatusOf(state);
    if (status === 'Available') return;
    if (status === 'Failed' || status === 'Inactive')
      throw new ApiError(412, 'PreconditionFailedException', `Bot ${state.bot.botId} is in ${status} state and cannot be exported.`);
    throw new ApiError(409, 'ConflictException', `Bot ${state.bot.botId} is in ${status} state. Wait until it is Available and try again.`);
  }

  function exportOr404(exportId: string, call: Op): ExportState {
    checkPattern(exportId, ID_PATTERN, 'exportId');
    const e = exportStates.get(exportId);
    if (!e) throw notFound(`Export ${exportId}`);
    if (e.botId !== undefined) call.botId = e.botId;
    return e;
  }

  function describeExport(exportId: string, call: Op): Reply {
    const e = exportOr404(exportId, call);
    // A deleted export lingers as Deleting for a moment, then is gone.
    if (e.deleted && Date.now() - e.deletedAt! > 5000) throw notFound(`Export ${exportId}`);
    const f = faultsFor(e.botId);
    const counter = counterFor(e.botId);
    counter.describe++;
    if (counter.describe <= (f.throttleDescribe ?? 0)) throw throttled(f);
    if (counter.describe - (f.throttleDescribe ?? 0) <= (f.garbleDescribe ?? 0)) return { status: 200, body: { exportId }, garbled: true };

    const now = Date.now();
    const status = statusOf(e, now);
    const body: Record<string, unknown> = {
      exportId,
      resourceSpecification: e.spec,
      fileFormat: e.fileFormat,
      exportStatus: status,
      creationDateTime: epochSeconds(e.createdAt),
      lastUpdatedDateTime: epochSeconds(status === 'InProgress' ? e.createdAt : Math.max(e.createdAt, now - 1)),
    };
    if (status === 'Failed')
      body.failureReasons = e.botDeleted
        ? [`The bot ${e.botId} was deleted while the export was in progress.`]
        : Array.isArray(f.failExport)
          ? f.failExport
          : DEFAULT_FAILURE;
    if (status === 'Completed') body.downloadUrl = presign(exportId, now);
    return { status: 200, body };
  }

  function presign(exportId: string, now: number): string {
    const date = amzDate(now);
    const expires = Math.max(1, Math.ceil(urlTtlMs / 1000));
    // A nonce makes every DescribeExport hand out a distinct URL, as the tests need to tell them apart.
    const nonce = randomUUID();
    const signature = createHmac('sha256', signingKey).update(`${exportId}\n${date}\n${expires}\n${nonce}`).digest('hex');
    issued.set(signature, { exportId, expiresAt: now + urlTtlMs });
    const q = new URLSearchParams({
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': `ASIASIMULATOR/${date.slice(0, 8)}/${region}/s3/aws4_request`,
      'X-Amz-Date': date,
      'X-Amz-Expires': String(expires),
      // Real presigned URLs carry a session token: a URL is a credential and must not be logged.
      'X-Amz-Security-Token': Buffer.from(`simulated-session-token-${nonce}`).toString('base64'),
      'X-Amz-SignedHeaders': 'host',
      'X-Amz-Signature': signature,
    });
    return `${url}/downloads/${exportId}?${q.toString()}`;
  }

  function deleteExport(exportId: string, call: Op): Reply {
    // DeleteExport declares no ResourceNotFoundException: Lex answers a delete of a gone export with 412 (REFERENCE.md).
    checkPattern(exportId, ID_PATTERN, 'exportId');
    const e = exportStates.get(exportId);
    if (e?.botId !== undefined) call.botId = e.botId;
    if (!e || e.deleted) throw goneOnDelete();
    e.deleted = true;
    e.deletedAt = Date.now();
    return { status: 202, body: { exportId, exportStatus: 'Deleting' } };
  }

  function listBots(body: Record<string, unknown>): Reply {
    const order = sortOrder(body, 'BotName', 'Ascending');
    const keep = nameFilter(body, 'BotName');
    const all = [...bots.values()]
      .filter((s) => keep(s.bot.botName))
      .sort((a, b) => order * a.bot.botName.localeCompare(b.bot.botName) || a.bot.botId.localeCompare(b.bot.botId));
    const scope = `bots:${JSON.stringify([body.sortBy ?? null, body.filters ?? null])}`;
    const { items, nextToken } = page(all, body, scope);
    return {
      status: 200,
      body: {
        botSummaries: items.map((s) => {
          const numbered = (s.bot.versions ?? []).map(Number).sort((a, b) => a - b);
          const description = s.bot.settings?.description;
          return {
            botId: s.bot.botId,
            botName: s.bot.botName,
            ...(description !== undefined ? { description } : {}),
            botStatus: botStatusOf(s),
            ...(numbered.length ? { latestBotVersion: String(numbered[numbered.length - 1]) } : {}),
            lastUpdatedDateTime: epochSeconds(s.updatedAt),
            botType: 'Bot',
          };
        }),
        ...(nextToken ? { nextToken } : {}),
      },
    };
  }

  function listBotVersions(botId: string, body: Record<string, unknown>): Reply {
    const s = botOr404(botId);
    const order = sortOrder(body, 'BotVersion', 'Descending');
    const rank = (v: string) => (v === 'DRAFT' ? Number.MAX_SAFE_INTEGER : Number(v));
    const all = versionsOf(s).sort((a, b) => order * (rank(a) - rank(b)));
    const { items, nextToken } = page(all, body, `versions:${botId}:${order}`);
    return {
      status: 200,
      body: {
        botId,
        botVersionSummaries: items.map((v) => ({
          botName: s.bot.botName,
          botVersion: v,
          botStatus: 'Available',
          creationDateTime: epochSeconds(v === 'DRAFT' ? s.createdAt : s.createdAt + Number(v) * 1000),
        })),
        ...(nextToken ? { nextToken } : {}),
      },
    };
  }

  function listBotLocales(botId: string, botVersion: string, body: Record<string, unknown>): Reply {
    const s = botOr404(botId);
    versionOr404(s, botVersion);
    const order = sortOrder(body, 'BotLocaleName', 'Ascending');
    const keep = nameFilter(body, 'BotLocaleName');
    const named = localesOf(s).map((id) => ({ id, name: LOCALE_NAMES[id] ?? id }));
    const all = named.filter((l) => keep(l.name)).sort((a, b) => order * a.name.localeCompare(b.name));
    const scope = `locales:${botId}:${botVersion}:${JSON.stringify([body.sortBy ?? null, body.filters ?? null])}`;
    const { items, nextToken } = page(all, body, scope);
    return {
      status: 200,
      body: {
        botId,
        botVersion,
        botLocaleSummaries: items.map((l) => ({
          localeId: l.id,
          localeName: l.name,
          ...(() => {
            // Numbered versions are built (a version is made from a built DRAFT).
            const st = botVersion === 'DRAFT' ? localeState(s, l.id) : { status: 'Built' };
            return {
              botLocaleStatus: st.status,
              lastUpdatedDateTime: epochSeconds(s.updatedAt),
              lastBuildSubmittedDateTime: epochSeconds(st.submittedAt ?? s.updatedAt),
            };
          })(),
        })),
        ...(nextToken ? { nextToken } : {}),
      },
    };
  }

  // ---- imports: CreateUploadUrl → PUT the zip → StartImport → DescribeImport ----

  interface ImportState {
    view: SimImport;
    createdAt: number;
    uploadExpiresAt: number;
    uploadSignature: string;
    file?: Buffer;
    startedAt?: number;
    spec?: Record<string, unknown>;
    kindKey?: string;
    /** The bot whose faults apply (existing bot) or undefined (new bot). */
    botId?: string;
    /** StartImport's filePassword: kept only to open the uploaded file, never shown. */
    filePassword?: string;
    applied: boolean;
    /** The import will end Failed with these reasons (the bots quota, botQuotaRefusal 'importFailed'). */
    refusal?: string[];
  }

  function createUploadUrl(): Reply {
    const now = Date.now();
    const importId = exportIdFor(++exportCount);
    const date = amzDate(now);
    const nonce = randomUUID();
    const signature = createHmac('sha256', signingKey).update(`upload\n${importId}\n${date}\n${nonce}`).digest('hex');
    const view: SimImport = { importId, uploaded: false, started: false };
    importStates.set(importId, { view, createdAt: now, uploadExpiresAt: now + urlTtlMs, uploadSignature: signature, applied: false });
    importsView.set(importId, view);
    const q = new URLSearchParams({
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': `ASIASIMULATOR/${date.slice(0, 8)}/${region}/s3/aws4_request`,
      'X-Amz-Date': date,
      'X-Amz-Expires': String(Math.max(1, Math.ceil(urlTtlMs / 1000))),
      'X-Amz-Security-Token': Buffer.from(`simulated-session-token-${nonce}`).toString('base64'),
      'X-Amz-SignedHeaders': 'host',
      'X-Amz-Signature': signature,
    });
    return { status: 200, body: { importId, uploadUrl: `${url}/uploads/${importId}?${q.toString()}` } };
  }

  async function handleUpload(req: IncomingMessage, res: ServerResponse, importId: string, query: URLSearchParams): Promise<void> {
    const call: SimCall = { op: 'Upload', status: 0 };
    record(call);
    const body = await readBody(req);
    const xml = (status: number, code: string, message: string) => {
      call.status = status;
      sendS3Error(res, status, code, message);
    };
    const i = importStates.get(importId);
    if (!i || query.get('X-Amz-Signature') !== i.uploadSignature)
      return xml(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
    if (Date.now() > i.uploadExpiresAt) return xml(403, 'AccessDenied', 'Request has expired');
    if ((opts.defaultFaults?.upload ?? 'ok') === 'redirect') {
      call.status = 307;
      res.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data/', 'content-length': 0 });
      res.end();
      return;
    }
    if (i.view.started) return xml(409, 'OperationAborted', 'The import has already started.');
    i.file = body;
    i.view.uploaded = true;
    call.status = 200;
    res.writeHead(200, { etag: `"${createHash('md5').update(body).digest('hex')}"`, 'content-length': 0 });
    res.end();
  }

  function startImport(body: Record<string, unknown>, call: Op): Reply {
    const importId = requireString(body, 'importId', 'startImportRequest');
    const { kindKey, spec } = oneSpecification(body, 'import', [
      'botImportSpecification',
      'botLocaleImportSpecification',
      'customVocabularyImportSpecification',
      'testSetImportResourceSpecification',
    ]);
    const merge = requireEnum(body, 'mergeStrategy', ['FailOnConflict', 'Overwrite', 'Append']);
    if (merge === 'Append' && kindKey !== 'customVocabularyImportSpecification')
      throw invalid('The Append merge strategy is only supported for custom vocabulary imports.');
    const i = importStates.get(importId);
    if (!i) throw notFound(`Import ${importId}`);
    if (i.view.started) throw new ApiError(409, 'ConflictException', `Import ${importId} has already been started.`);
    if (!i.file) throw invalid(`No file was uploaded for import ${importId}: upload the file to the URL from CreateUploadUrl first.`);
    let botId: string | undefined;
    if (kindKey === 'botImportSpecification') {
      const botName = requireString(spec, 'botName', `resourceSpecification.${kindKey}`);
      requireString(spec, 'roleArn', `resourceSpecification.${kindKey}`);
      if (!isObject(spec.dataPrivacy) || typeof spec.dataPrivacy.childDirected !== 'boolean') {
        throw invalid(
          `1 validation error detected: Value at 'resourceSpecification.${kindKey}.dataPrivacy' failed to satisfy constraint: Member must not be null`,
        );
      }
      const ttl = spec.idleSessionTTLInSeconds;
      if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 60 || ttl > 86400)) {
        throw invalid('idleSessionTTLInSeconds must be a whole number of seconds from 60 to 86400.');
      }
      for (const field of ['botTags', 'testBotAliasTags']) {
        if (spec[field] !== undefined) checkTags(spec[field], `resourceSpecification.${kindKey}.${field}`);
      }
      const existing = [...bots.values()].find((s) => s.bot.botName === botName);
      if (existing?.deleting) throw new ApiError(409, 'ConflictException', `Bot ${botName} (${existing.bot.botId}) is being deleted.`);
      botId = existing?.bot.botId;
      if (!existing) {
        // Bots per account (V2), L-36FA8BD2: bots still Deleting and new bots being imported count.
        const pending = [...importStates.values()].filter(
          (x) => x !== i && x.view.started && !x.applied && x.kindKey === 'botImportSpecification' && x.botId === undefined,
        ).length;
        if (bots.size + pending >= maxBots) {
          const message = `You have reached the maximum number of bots (${maxBots}) for this account in this Region. Delete a bot or request a quota increase (Bots per account (V2), L-36FA8BD2).`;
          if ((opts.botQuotaRefusal ?? 'StartImport') === 'StartImport') throw new ApiError(402, 'ServiceQuotaExceededException', message);
          i.refusal = [message];
        }
      }
    } else if (kindKey === 'botLocaleImportSpecification') {
      botId = requireString(spec, 'botId', `resourceSpecification.${kindKey}`);
      if (requireString(spec, 'botVersion', `resourceSpecification.${kindKey}`) !== 'DRAFT')
        throw invalid('Imports can only change the DRAFT version of a bot.');
      requireString(spec, 'localeId', `resourceSpecification.${kindKey}`);
      botOr404(botId);
    } else if (kindKey === 'customVocabularyImportSpecification') {
      botId = requireString(spec, 'botId', `resourceSpecification.${kindKey}`);
      if (requireString(spec, 'botVersion', `resourceSpecification.${kindKey}`) !== 'DRAFT')
        throw invalid('Imports can only change the DRAFT version of a bot.');
      const localeId = requireString(spec, 'localeId', `resourceSpecification.${kindKey}`);
      if (!localesOf(botOr404(botId)).includes(localeId)) throw notFound(`Locale ${localeId} of bot ${botId}`);
    } else {
      throw invalid(`The simulator does not import ${kindKey}.`);
    }
    if (botId !== undefined) call.botId = botId;
    const now = Date.now();
    if (
      body.filePassword !== undefined &&
      (typeof body.filePassword !== 'string' || body.filePassword.length < 1 || body.filePassword.length > 1024)
    ) {
      throw invalid('filePassword must be a string of 1 to 1024 characters.');
    }
    Object.assign(i, { startedAt: now, spec, kindKey, botId, ...(typeof body.filePassword === 'string' ? { filePassword: body.filePassword } : {}) });
    Object.assign(i.view, { started: true, status: 'InProgress', mergeStrategy: String(merge), spec: { [kindKey]: spec } });
    return {
      status: 202,
      body: {
        importId,
        resourceSpecification: { [kindKey]: spec },
        mergeStrategy: merge,
        importStatus: 'InProgress',
        creationDateTime: epochSeconds(now),
      },
    };
  }

  /** Applies a started import once its latency has passed: Completed (the bot changed) or Failed (nothing changed). */
  async function settleImport(i: ImportState): Promise<void> {
    if (i.applied || !i.view.started) return;
    const f = faultsFor(i.botId);
    if (Date.now() - i.startedAt! < (f.importLatencyMs ?? 0)) return;
    i.applied = true;
    const fail = (reasons: string[]) => Object.assign(i.view, { status: 'Failed', failureReasons: reasons });
    if (i.refusal) return void fail(i.refusal);
    if (f.failImport) return void fail(Array.isArray(f.failImport) ? f.failImport : ['Failed to import the resource: an internal error occurred.']);
    let files: Map<string, Buffer>;
    try {
      files = await withZip(bufferByteSource(i.file!), i.filePassword !== undefined ? { password: i.filePassword } : {}, (zip) => zip.readAll());
    } catch (err) {
      if (err instanceof ZipPasswordError)
        return void fail([
          i.filePassword === undefined
            ? 'The import file is password protected: provide its password in filePassword.'
            : 'The password provided for the import file is not valid.',
        ]);
      return void fail([`The import file is not a valid zip archive: ${(err as Error).message}`]);
    }
    // Real exports write Manifest.json / metaData / BOT; the import documentation shows manifest.json / metadata / Bot: accept both.
    const manifestName = [...files.keys()].find((n) => n.toLowerCase() === 'manifest.json');
    if (!manifestName) return void fail(['The import file is missing Manifest.json: it is not a Lex V2 export.']);
    let resourceType: unknown;
    try {
      const m = JSON.parse(files.get(manifestName)!.toString('utf8')) as {
        metaData?: { resourceType?: unknown };
        metadata?: { resourceType?: unknown };
      };
      resourceType = (m.metaData ?? m.metadata)?.resourceType;
    } catch {
      return void fail(['The import file has an invalid Manifest.json.']);
    }
    const expected =
      i.kindKey === 'botImportSpecification' ? 'BOT' : i.kindKey === 'customVocabularyImportSpecification' ? 'CUSTOM_VOCABULARY' : 'BOT_LOCALE';
    if (typeof resourceType !== 'string' || resourceType.replace(/_/g, '').toUpperCase() !== expected.replace(/_/g, '')) {
      return void fail([
        `The import file's Manifest.json names resource type ${typeof resourceType === 'string' ? resourceType : '(none)'}, but the import is for a ${expected}.`,
      ]);
    }
    // Definition files below the archive's one top-level folder.
    const rel = new Map<string, string>();
    for (const [name, data] of files) {
      if (name === manifestName) continue;
      const slash = name.indexOf('/');
      if (slash > 0) rel.set(name.slice(slash + 1), data.toString('utf8'));
    }
    const spec = i.spec!;
    const merge = i.view.mergeStrategy;
    if (i.kindKey === 'customVocabularyImportSpecification') {
      const state = botOr404(String(spec.botId));
      const localeId = String(spec.localeId);
      const file = [...rel].find(([name]) => /^BotLocales\/[^/]+\/CustomVocabulary\/CustomVocabulary\.json$/.test(name));
      if (!file) return void fail(['The import file has no CustomVocabulary.json.']);
      let items: { phrase?: unknown }[];
      try {
        items = (JSON.parse(file[1]) as { customVocabularyItems?: { phrase?: unknown }[] }).customVocabularyItems ?? [];
      } catch {
        return void fail(['The import file has an invalid CustomVocabulary.json.']);
      }
      // Every locale has a vocabulary here (generated or imported): FailOnConflict always conflicts.
      if (merge === 'FailOnConflict')
        return void fail([
          `Locale ${localeId} of bot ${state.bot.botId} already has a custom vocabulary and the merge strategy is FailOnConflict: nothing was changed.`,
        ]);
      if (merge === 'Append') {
        const current = state.vocabularies.get(localeId);
        const had = current
          ? ((JSON.parse(current) as { customVocabularyItems: { phrase?: unknown }[] }).customVocabularyItems ?? [])
          : [{ phrase: state.bot.botName, weight: 3, displayAs: null }];
        const phrases = new Set(had.map((x) => x.phrase));
        items = [...had, ...items.filter((x) => !phrases.has(x.phrase))];
      }
      state.vocabularies.set(localeId, JSON.stringify({ customVocabularyItems: items }));
      state.updatedAt = Date.now();
      Object.assign(i.view, { status: 'Completed', importedResourceId: state.bot.botId });
      return;
    }
    if (i.kindKey === 'botImportSpecification') {
      if (!rel.has('Bot.json')) return void fail(['The import file has no Bot.json.']);
      const existing = i.botId !== undefined ? bots.get(i.botId) : undefined;
      if (existing && merge === 'FailOnConflict') {
        return void fail([
          `Bot ${existing.bot.botName} (${existing.bot.botId}) already exists and the merge strategy is FailOnConflict: nothing was changed.`,
        ]);
      }
      let state = existing;
      const dataPrivacy = spec.dataPrivacy as { childDirected: boolean };
      const ttl = typeof spec.idleSessionTTLInSeconds === 'number' ? spec.idleSessionTTLInSeconds : undefined;
      if (!state) {
        let id: string;
        do id = exportIdFor(++exportCount).slice(0, 10);
        while (bots.has(id));
        // The bot's settings are the import specification's; its tags are botTags, its test alias's testBotAliasTags.
        const settings: SimBotSettings = {
          roleArn: String(spec.roleArn),
          dataPrivacy: { childDirected: dataPrivacy.childDirected },
          ...(ttl !== undefined ? { idleSessionTTLInSeconds: ttl } : {}),
          tags: { ...((spec.botTags as Record<string, string> | undefined) ?? {}) },
          ...(spec.testBotAliasTags !== undefined ? { aliasTags: { TSTALIASID: { ...(spec.testBotAliasTags as Record<string, string>) } } } : {}),
        };
        addBot({ botId: id, botName: String(spec.botName), locales: importedLocales(rel), intents: [], settings });
        state = bots.get(id)!;
        // A new bot's resources are new: its intents, slots and slot types get identifiers of their own.
        renewIdentifiers(rel, id);
      }
      const target = state;
      // Bot.json is the bot's own: its name and id (Lex exports them), DRAFT, and the settings the import specified.
      rewriteJson(rel, 'Bot.json', (bot) => {
        bot.name = target.bot.botName;
        bot.identifier = target.bot.botId;
        bot.version = 'DRAFT';
        if (bot.dataPrivacy !== undefined) bot.dataPrivacy = { childDirected: dataPrivacy.childDirected };
        if (ttl !== undefined && bot.idleSessionTTLInSeconds !== undefined) bot.idleSessionTTLInSeconds = ttl;
      });
      i.view.losses = dropUtterances(rel, f.lossyImport);
      target.imported = rel;
      target.updatedAt = Date.now();
      for (const l of importedLocales(rel)) target.builds.set(l, { state: 'NotBuilt', latencyMs: 0 });
      Object.assign(i.view, { status: 'Completed', importedResourceId: target.bot.botId });
      return;
    }
    const state = botOr404(String(spec.botId));
    const localeId = String(spec.localeId);
    const source = importedLocales(rel)[0];
    if (!source) return void fail(['The import file has no BotLocale.json.']);
    if (localesOf(state).includes(localeId) && merge === 'FailOnConflict') {
      return void fail([
        `Locale ${localeId} of bot ${state.bot.botId} already exists and the merge strategy is FailOnConflict: nothing was changed.`,
      ]);
    }
    // Materialize the generated DRAFT, then replace the locale's folder with the imported one.
    const current =
      state.imported ??
      new Map(
        archiveEntries({ kind: 'BOT', bot: state.bot, botVersion: 'DRAFT', intents: state.draftIntents, locales: localesOf(state) }, 1)
          .filter((e) => e.name !== 'Manifest.json')
          .map((e) => [e.name.slice(e.name.indexOf('/') + 1), String(e.data)] as [string, string]),
      );
    const next = new Map([...current].filter(([name]) => !name.startsWith(`BotLocales/${localeId}/`)));
    const moved = new Map<string, string>();
    for (const [name, text] of rel)
      if (name.startsWith(`BotLocales/${source}/`)) moved.set(`BotLocales/${localeId}/${name.slice(`BotLocales/${source}/`.length)}`, text);
    i.view.losses = dropUtterances(moved, f.lossyImport);
    for (const [name, text] of moved) next.set(name, text);
    state.imported = next;
    state.updatedAt = Date.now();
    state.builds.set(localeId, { state: 'NotBuilt', latencyMs: 0 });
    Object.assign(i.view, { status: 'Completed', importedResourceId: state.bot.botId });
  }

  async function describeImport(importId: string, call: Op): Promise<Reply> {
    const i = importStates.get(importId);
    if (!i?.view.started) throw notFound(`Import ${importId}`);
    if (i.botId !== undefined) call.botId = i.botId;
    await settleImport(i);
    const v = i.view;
    const spec = (i.spec ?? {}) as Record<string, unknown>;
    return {
      status: 200,
      body: {
        importId,
        resourceSpecification: v.spec,
        ...(v.importedResourceId ? { importedResourceId: v.importedResourceId } : {}),
        importedResourceName: typeof spec.botName === 'string' ? spec.botName : (bots.get(String(spec.botId))?.bot.botName ?? null),
        mergeStrategy: v.mergeStrategy,
        importStatus: v.status,
        ...(v.status === 'Failed' ? { failureReasons: v.failureReasons } : {}),
        creationDateTime: epochSeconds(i.startedAt!),
        lastUpdatedDateTime: epochSeconds(Date.now()),
      },
    };
  }

  // ---- bot settings outside the export: DescribeBot, ListBotAliases, DescribeBotAlias, ListTagsForResource ----

  function botSettings(s: BotState): Required<Omit<SimBotSettings, 'description' | 'aliasTags'>> & { description?: string } {
    const set = s.bot.settings ?? {};
    const locales = localesOf(s);
    return {
      ...(set.description !== undefined ? { description: set.description } : {}),
      roleArn: set.roleArn ?? `arn:aws:iam::${accountId}:role/aws-service-role/lexv2.amazonaws.com/AWSServiceRoleForLexV2Bots_${s.bot.botId}`,
      dataPrivacy: set.dataPrivacy ?? { childDirected: false },
      idleSessionTTLInSeconds: set.idleSessionTTLInSeconds ?? 300,
      aliases: set.aliases ?? [
        {
          botAliasId: 'TSTALIASID',
          botAliasName: 'TestBotAlias',
          botVersion: 'DRAFT',
          botAliasLocaleSettings: Object.fromEntries(locales.map((l) => [l, { enabled: true }])),
        },
      ],
      tags: set.tags ?? {},
    };
  }

  function describeBot(botId: string): Reply {
    const s = botOr404(botId);
    const set = botSettings(s);
    return {
      status: 200,
      body: {
        botId,
        botName: s.bot.botName,
        ...(set.description !== undefined ? { description: set.description } : {}),
        roleArn: set.roleArn,
        dataPrivacy: set.dataPrivacy,
        idleSessionTTLInSeconds: set.idleSessionTTLInSeconds,
        botStatus: botStatusOf(s),
        creationDateTime: epochSeconds(s.createdAt),
        lastUpdatedDateTime: epochSeconds(s.updatedAt),
        botType: 'Bot',
      },
    };
  }

  function listBotAliases(botId: string, body: Record<string, unknown>): Reply {
    const s = botOr404(botId);
    const { items, nextToken } = page(botSettings(s).aliases, body, `aliases:${botId}`);
    return {
      status: 200,
      body: {
        botId,
        botAliasSummaries: items.map((a) => ({
          botAliasId: a.botAliasId,
          botAliasName: a.botAliasName,
          ...(a.description !== undefined ? { description: a.description } : {}),
          ...(a.botVersion !== undefined ? { botVersion: a.botVersion } : {}),
          botAliasStatus: 'Available',
          creationDateTime: epochSeconds(s.createdAt),
          lastUpdatedDateTime: epochSeconds(s.updatedAt),
        })),
        ...(nextToken ? { nextToken } : {}),
      },
    };
  }

  function describeBotAlias(botId: string, botAliasId: string): Reply {
    const s = botOr404(botId);
    const a = botSettings(s).aliases.find((x) => x.botAliasId === botAliasId);
    if (!a) throw notFound(`Bot alias ${botAliasId} of bot ${botId}`);
    return {
      status: 200,
      body: {
        ...a,
        botId,
        botAliasStatus: 'Available',
        botAliasHistoryEvents: [],
        creationDateTime: epochSeconds(s.createdAt),
        lastUpdatedDateTime: epochSeconds(s.updatedAt),
      },
    };
  }

  /**
   * The bot, or bot alias, a tagging call names: a bot ARN
   * `arn:<partition>:lex:<region>:<account>:bot/<botId>` or a bot-alias ARN
   * `…:bot-alias/<botId>/<botAliasId>` (the resources Lex V2 tags, besides
   * test sets), the account being the simulator's `accountId` when given
   * (else that of the bot's role) and the region its `region` when given
   * (else any). Anything else is a 400, an unknown resource a 404.
   */
  function taggable(resourceARN: string): { s: BotState; aliasId?: string } {
    const m = /^arn:[a-z-]+:lex:([a-z0-9-]+):(\d{12}):(?:bot\/([0-9A-Za-z]+)|bot-alias\/([0-9A-Za-z]+)\/([0-9A-Za-z]+))$/.exec(resourceARN);
    if (!m) throw invalid(`resourceARN is not a Lex bot or bot alias ARN: ${resourceARN}`);
    const s = bots.get(m[3] ?? m[4]!);
    const account = s ? (opts.accountId ?? /^arn:[^:]+:iam::(\d{12}):/.exec(botSettings(s).roleArn)?.[1]) : undefined;
    if (!s || account !== m[2] || (opts.region !== undefined && m[1] !== opts.region)) throw notFound(`Resource ${resourceARN}`);
    const aliasId = m[5];
    if (aliasId !== undefined && !botSettings(s).aliases.some((a) => a.botAliasId === aliasId)) throw notFound(`Resource ${resourceARN}`);
    return aliasId !== undefined ? { s, aliasId } : { s };
  }

  function tagsOf(r: { s: BotState; aliasId?: string }): Record<string, string> {
    return r.aliasId !== undefined ? { ...(r.s.bot.settings?.aliasTags?.[r.aliasId] ?? {}) } : { ...botSettings(r.s).tags };
  }
  function setTags(r: { s: BotState; aliasId?: string }, tags: Record<string, string>): void {
    const set = r.s.bot.settings ?? {};
    r.s.bot.settings = r.aliasId !== undefined ? { ...set, aliasTags: { ...(set.aliasTags ?? {}), [r.aliasId]: tags } } : { ...set, tags };
  }

  function listTagsForResource(resourceARN: string): Reply {
    return { status: 200, body: { tags: tagsOf(taggable(resourceARN)) } };
  }

  /** TagResource (`POST /tags/{resourceARN}`, 200 `{}`): adds the tags, replacing the values of keys it already has. */
  function tagResource(resourceARN: string, body: Record<string, unknown>): Reply {
    const r = taggable(resourceARN);
    if (body.tags === undefined) throw invalid("1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must not be null");
    checkTags(body.tags, 'tags');
    const next = { ...tagsOf(r), ...body.tags };
    checkTags(next, 'tags');
    setTags(r, next);
    return { status: 200, body: {} };
  }

  /** UntagResource (`DELETE /tags/{resourceARN}?tagKeys=…&tagKeys=…`, 200 `{}`): removes those keys (absent ones are ignored). */
  function untagResource(resourceARN: string, query: URLSearchParams): Reply {
    const r = taggable(resourceARN);
    const keys = query.getAll('tagKeys');
    if (keys.length === 0) throw invalid("1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member must not be null");
    const next = tagsOf(r);
    for (const k of keys) delete next[k];
    setTags(r, next);
    return { status: 200, body: {} };
  }

  // ---- builds: BuildBotLocale, DescribeBotLocale ----

  /**
   * BuildBotLocale (`POST /bots/{botId}/botversions/{botVersion}/botlocales/{localeId}`,
   * 202): DRAFT only (the model's pattern for botVersion is `^DRAFT$`). The
   * operation declares no ResourceNotFoundException: an unknown bot or locale
   * gets 412 PreconditionFailedException, as Lex answers other calls on
   * resources that do not exist (REFERENCE.md). A build conflicting with
   * another (buildConflictScope) or with an import or delete in progress is a
   * 409 ConflictException; one beyond the account's parallel builds is
   * refused as parallelBuildRefusal says.
   */
  function buildBotLocale(botId: string, botVersion: string, localeId: string): Reply {
    checkPattern(botId, ID_PATTERN, 'botId');
    checkPattern(botVersion, /^DRAFT$/, 'botVersion');
    const s = bots.get(botId);
    if (!s || !localesOf(s).includes(localeId)) throw goneOnDelete();
    if (s.deleting) throw new ApiError(409, 'ConflictException', `Bot ${botId} is being deleted.`);
    if ([...importStates.values()].some((x) => x.botId === botId && x.view.started && !x.applied))
      throw new ApiError(409, 'ConflictException', `Bot ${botId} is being imported. Wait for the import to finish and try again.`);
    const now = Date.now();
    const building = buildingNow(s, now);
    if ((opts.buildConflictScope ?? 'bot') === 'bot' ? building.length > 0 : building.includes(localeId)) {
      throw new ApiError(409, 'ConflictException', `Bot ${botId} is building locale ${building[0]}. Wait for the build to finish and try again.`);
    }
    const parallel = [...bots.values()].reduce((n, b) => n + buildingNow(b, now).length, 0);
    if (parallel >= maxParallelBuilds) {
      const message = `You have reached the maximum number of parallel locale builds (${maxParallelBuilds}) for this account. Wait for a build to finish and try again.`;
      if ((opts.parallelBuildRefusal ?? 'ServiceQuotaExceededException') === 'ThrottlingException') throw throttled(faultsFor(botId));
      throw new ApiError(402, 'ServiceQuotaExceededException', message);
    }
    const f = faultsFor(botId);
    const failure = f.failBuild
      ? Array.isArray(f.failBuild)
        ? [...f.failBuild]
        : ['Failed to build the bot locale: an internal error occurred.']
      : undefined;
    s.builds.set(localeId, { state: 'Building', submittedAt: now, latencyMs: f.buildLatencyMs ?? 0, ...(failure ? { failure } : {}) });
    return {
      status: 202,
      body: { botId, botVersion, localeId, botLocaleStatus: 'Building', lastBuildSubmittedDateTime: epochSeconds(now) },
    };
  }

  /** A locale's settings from its imported BotLocale.json, or the generated ones (lex-export.ts botLocaleJson). */
  function localeDetails(s: BotState, localeId: string): Record<string, unknown> {
    const text = s.imported?.get(`BotLocales/${localeId}/BotLocale.json`);
    let json: Record<string, unknown> = {};
    try {
      if (text !== undefined) json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      json = {};
    }
    const prefix = `BotLocales/${localeId}/`;
    const files = s.imported ? [...s.imported.keys()].filter((n) => n.startsWith(prefix)) : undefined;
    return {
      localeName: LOCALE_NAMES[localeId] ?? localeId,
      ...(typeof json.description === 'string' ? { description: json.description } : {}),
      nluIntentConfidenceThreshold: typeof json.nluConfidenceThreshold === 'number' ? json.nluConfidenceThreshold : 0.4,
      voiceSettings: isObject(json.voiceSettings) ? json.voiceSettings : { voiceId: 'Joanna', engine: 'neural' },
      // Generated bots: their intents and FallbackIntent, and one slot type (sampleLexBot).
      intentsCount: files ? files.filter((n) => /^[^/]+\/[^/]+\/Intents\/[^/]+\/Intent\.json$/.test(n)).length : s.draftIntents.length + 1,
      slotTypesCount: files ? files.filter((n) => /^[^/]+\/[^/]+\/SlotTypes\/[^/]+\/SlotType\.json$/.test(n)).length : 1,
    };
  }

  /** DescribeBotLocale (`GET /bots/{botId}/botversions/{botVersion}/botlocales/{localeId}`). */
  function describeBotLocale(botId: string, botVersion: string, localeId: string): Reply {
    checkPattern(botId, ID_PATTERN, 'botId');
    checkPattern(botVersion, VERSION_PATTERN, 'botVersion');
    const s = botOr404(botId);
    versionOr404(s, botVersion);
    if (!localesOf(s).includes(localeId)) throw notFound(`Locale ${localeId} of bot ${botId} version ${botVersion}`);
    const st = botVersion === 'DRAFT' ? localeState(s, localeId) : { status: 'Built' as string, submittedAt: undefined, failureReasons: undefined };
    return {
      status: 200,
      body: {
        botId,
        botVersion,
        localeId,
        ...localeDetails(s, localeId),
        botLocaleStatus: st.status,
        ...(st.failureReasons ? { failureReasons: st.failureReasons } : {}),
        creationDateTime: epochSeconds(s.createdAt),
        lastUpdatedDateTime: epochSeconds(Math.max(s.updatedAt, st.submittedAt ?? 0)),
        ...(st.submittedAt !== undefined ? { lastBuildSubmittedDateTime: epochSeconds(st.submittedAt) } : {}),
        botLocaleHistoryEvents: [],
      },
    };
  }

  // ---- DeleteBot ----

  /**
   * DeleteBot (`DELETE /bots/{botId}?skipResourceInUseCheck=`, 202
   * `{botId, botStatus: 'Deleting'}`). The bot stays Deleting for
   * deleteLatencyMs, then is gone (DescribeBot 404, ListBots without it).
   * Exports of it still in progress end Failed. DeleteBot declares no
   * ResourceNotFoundException: a bot that does not exist gets 412. A bot
   * with an alias is refused unless skipResourceInUseCheck (deleteInUseError,
   * testAliasBlocksDelete); one being imported, built or deleted gets 409
   * ConflictException (the model's example: "deleting a bot that is in the
   * CREATING state"; a second delete's answer is unconfirmed).
   */
  function deleteBot(botId: string, query: URLSearchParams): Reply {
    checkPattern(botId, ID_PATTERN, 'botId');
    const skip = query.get('skipResourceInUseCheck');
    if (skip !== null && skip !== 'true' && skip !== 'false')
      throw invalid(
        `1 validation error detected: Value '${skip}' at 'skipResourceInUseCheck' failed to satisfy constraint: Member must be a boolean`,
      );
    const s = bots.get(botId);
    if (!s) throw goneOnDelete();
    if (s.deleting) throw new ApiError(409, 'ConflictException', `Bot ${botId} is already being deleted.`);
    const status = botStatusOf(s);
    if (['Creating', 'Versioning', 'Importing', 'Updating'].includes(status))
      throw new ApiError(409, 'ConflictException', `Bot ${botId} is in ${status} state. Wait until it is Available and try again.`);
    if ([...importStates.values()].some((x) => x.botId === botId && x.view.started && !x.applied))
      throw new ApiError(409, 'ConflictException', `Bot ${botId} is being imported. Wait for the import to finish and try again.`);
    if (buildingNow(s).length > 0)
      throw new ApiError(
        409,
        'ConflictException',
        `Bot ${botId} is building locale ${buildingNow(s)[0]}. Wait for the build to finish and try again.`,
      );
    const inUse = botSettings(s).aliases.filter((a) => opts.testAliasBlocksDelete || a.botAliasId !== 'TSTALIASID');
    if (inUse.length > 0 && skip !== 'true') {
      const type = opts.deleteInUseError ?? 'ResourceInUseException';
      throw new ApiError(
        type === 'PreconditionFailedException' ? 412 : 409,
        type,
        `Bot ${botId} has alias ${inUse[0]!.botAliasName} (${inUse[0]!.botAliasId}). Delete it first, or set skipResourceInUseCheck to delete the bot and its aliases.`,
      );
    }
    const now = Date.now();
    s.deleting = { at: now, latencyMs: faultsFor(botId).deleteLatencyMs ?? 500 };
    for (const e of exportStates.values()) if (e.botId === botId && statusOf(e, now) === 'InProgress') e.botDeleted = true;
    return { status: 202, body: { botId, botStatus: 'Deleting' } };
  }

  // ---- HTTP ----

  function sendError(res: ServerResponse, err: ApiError): void {
    sendJson(
      res,
      err.status,
      { message: err.message },
      {
        'content-type': 'application/json',
        'x-amzn-errortype': err.type,
        ...err.headers,
        'x-amzn-requestid': randomUUID(),
      },
    );
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams, received?: Buffer): Promise<void> {
    const method = req.method ?? 'GET';
    const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
    const call: Op = { op: 'Unknown' };
    let status = 500;
    // Lex imports on its own schedule, whether or not anyone asks DescribeImport: an import whose latency has
    // passed is applied before any call is answered (ListBots, DescribeBot, ... see the bot it made).
    for (const i of importStates.values()) if (i.view.started && !i.applied) await settleImport(i);
    try {
      // Route first, so that even a refused call is recorded under its operation.
      const [a, b, c, d, e, f] = segments;
      let run: (body: Record<string, unknown>) => Promise<Reply> | Reply;
      if (method === 'PUT' && a === 'exports' && segments.length === 1) {
        call.op = 'CreateExport';
        run = async (body) => {
          const reply = await createExport(body, call);
          const { createLatencyMs: delay = 0, holdCreate } = faultsFor(call.botId);
          if (delay) await new Promise((r) => setTimeout(r, delay));
          if (holdCreate) await holdCreate.catch(() => undefined);
          return reply;
        };
      } else if (a === 'exports' && segments.length === 2 && (method === 'GET' || method === 'DELETE')) {
        call.op = method === 'GET' ? 'DescribeExport' : 'DeleteExport';
        call.exportId = b!;
        run = () => (method === 'GET' ? describeExport(b!, call) : deleteExport(b!, call));
      } else if (method === 'POST' && a === 'createuploadurl' && segments.length === 1) {
        call.op = 'CreateUploadUrl';
        run = () => createUploadUrl();
      } else if (method === 'PUT' && a === 'imports' && segments.length === 1) {
        call.op = 'StartImport';
        run = (body) => startImport(body, call);
      } else if (method === 'GET' && a === 'imports' && segments.length === 2) {
        call.op = 'DescribeImport';
        run = () => describeImport(b!, call);
      } else if (method === 'POST' && a === 'bots' && segments.length === 1) {
        call.op = 'ListBots';
        run = listBots;
      } else if (method === 'POST' && a === 'bots' && c === 'botversions' && segments.length === 3) {
        call.op = 'ListBotVersions';
        call.botId = b!;
        run = (body) => listBotVersions(b!, body);
      } else if (method === 'POST' && a === 'bots' && c === 'botversions' && e === 'botlocales' && segments.length === 5) {
        call.op = 'ListBotLocales';
        call.botId = b!;
        run = (body) => listBotLocales(b!, d!, body);
      } else if (a === 'bots' && c === 'botversions' && e === 'botlocales' && segments.length === 6 && (method === 'POST' || method === 'GET')) {
        // client-lex-models-v2 3.1048.0 (dist-cjs/schemas/schemas_0.js): BuildBotLocale POST, DescribeBotLocale GET, same path.
        call.op = method === 'POST' ? 'BuildBotLocale' : 'DescribeBotLocale';
        call.botId = b!;
        run = () => (method === 'POST' ? buildBotLocale(b!, d!, f!) : describeBotLocale(b!, d!, f!));
      } else if (method === 'GET' && a === 'bots' && segments.length === 2) {
        call.op = 'DescribeBot';
        call.botId = b!;
        run = () => describeBot(b!);
      } else if (method === 'DELETE' && a === 'bots' && segments.length === 2) {
        // DeleteBot: DELETE /bots/{botId}, skipResourceInUseCheck in the query string, 202.
        call.op = 'DeleteBot';
        call.botId = b!;
        run = () => deleteBot(b!, query);
      } else if (method === 'POST' && a === 'bots' && c === 'botaliases' && segments.length === 3) {
        call.op = 'ListBotAliases';
        call.botId = b!;
        run = (body) => listBotAliases(b!, body);
      } else if (method === 'GET' && a === 'bots' && c === 'botaliases' && segments.length === 4) {
        call.op = 'DescribeBotAlias';
        call.botId = b!;
        run = () => describeBotAlias(b!, d!);
      } else if (a === 'tags' && segments.length === 2 && (method === 'GET' || method === 'POST' || method === 'DELETE')) {
        // ListTagsForResource GET, TagResource POST (body {tags}), UntagResource DELETE (?tagKeys=…): /tags/{resourceARN}, 200.
        call.op = method === 'GET' ? 'ListTagsForResource' : method === 'POST' ? 'TagResource' : 'UntagResource';
        run = (body) => (method === 'GET' ? listTagsForResource(b!) : method === 'POST' ? tagResource(b!, body) : untagResource(b!, query));
      } else {
        throw new ApiError(404, 'UnknownOperationException', `No operation matches ${method} ${path}.`);
      }
      if (!req.headers.authorization)
        throw new ApiError(403, 'UnrecognizedClientException', 'Missing Authentication Token: the request must be signed.');
      const body = parseJsonObject(received ?? (await readBody(req)), invalid);
      reap();
      const reply = await run(body);
      status = reply.status;
      const text = reply.garbled ? JSON.stringify(reply.body).slice(0, -3) : JSON.stringify(reply.body);
      sendText(res, reply.status, text, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID() });
    } catch (err) {
      const apiErr = err instanceof ApiError ? err : new ApiError(500, 'InternalServerException', `Simulator error: ${(err as Error).message}`);
      status = apiErr.status;
      if (!res.headersSent) sendError(res, apiErr);
      else res.destroy();
    } finally {
      record({ ...call, status });
    }
  }

  function handleDownload(res: ServerResponse, exportId: string, query: URLSearchParams): void {
    const call: SimCall = { op: 'Download', exportId, status: 0 };
    const e = exportStates.get(exportId);
    if (e?.botId !== undefined) call.botId = e.botId;
    const xml = (status: number, code: string, message: string) => {
      call.status = status;
      sendS3Error(res, status, code, message);
    };
    record(call);

    const signature = query.get('X-Amz-Signature') ?? '';
    const grant = issued.get(signature);
    if (!grant || grant.exportId !== exportId)
      return xml(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
    if (Date.now() > grant.expiresAt) return xml(403, 'AccessDenied', 'Request has expired');
    if (!e || e.deleted || !e.archive) return xml(404, 'NoSuchKey', 'The specified key does not exist.');

    const f = faultsFor(e.botId);
    const archive = e.archive;
    e.downloads++;
    const fault = f.download ?? 'ok';
    switch (fault) {
      case 'forbidden':
        return xml(403, 'AccessDenied', 'Request has expired');
      case 'forbiddenOnce':
        if (e.downloads === 1) return xml(403, 'AccessDenied', 'Request has expired');
        break;
      case 'redirectInternal':
      case 'notzip':
      case 'truncate':
      case 'reset':
        call.status = sendBrokenDownload(res, fault, archive, notZipJunk, timers);
        return;
      case 'empty':
        call.status = 200;
        res.writeHead(200, { 'content-type': 'application/zip', 'content-length': 0 });
        res.end();
        return;
      case 'drip': {
        call.status = 200;
        res.writeHead(200, { 'content-type': 'application/zip', 'content-length': archive.length });
        let i = 0;
        const t = setInterval(() => {
          if (i >= archive.length || res.destroyed) {
            clearInterval(t);
            timers.delete(t);
            if (!res.destroyed) res.end();
            return;
          }
          res.write(archive.subarray(i, ++i));
        }, 200);
        timers.add(t);
        res.on('close', () => {
          clearInterval(t);
          timers.delete(t);
        });
        return;
      }
      case 'ok':
        break;
    }
    call.status = 200;
    res.writeHead(200, {
      'content-type': 'application/zip',
      'content-length': archive.length,
      etag: `"${createHash('md5').update(archive).digest('hex')}"`,
    });
    res.end(archive);
  }

  function handle(req: IncomingMessage, res: ServerResponse, received?: Buffer): void {
    const parsed = new URL(req.url ?? '/', 'http://simulator');
    const up = /^\/uploads\/([^/]+)$/.exec(parsed.pathname);
    if (up && req.method === 'PUT') {
      void handleUpload(req, res, decodeURIComponent(up[1]!), parsed.searchParams);
      return;
    }
    const dl = /^\/downloads\/([^/]+)$/.exec(parsed.pathname);
    if (dl && (req.method === 'GET' || req.method === 'HEAD')) {
      req.resume();
      handleDownload(res, decodeURIComponent(dl[1]!), parsed.searchParams);
      return;
    }
    void handleApi(req, res, parsed.pathname, parsed.searchParams, received);
  }

  const sim: LexSimulator = {
    url,
    calls,
    exports: exportsView,
    imports: importsView,
    botIdByName: (botName) => {
      reap();
      return [...bots.values()].find((s) => s.bot.botName === botName)?.bot.botId;
    },
    addBot,
    setFaults(botId, f) {
      faults.set(botId, f);
      counters.delete(botId);
    },
    setBotSettings(botId, settings) {
      const s = bots.get(botId);
      if (!s) throw new Error(`setBotSettings: unknown bot ${botId}`);
      s.bot.settings = { ...s.bot.settings, ...settings };
      s.updatedAt = Date.now();
    },
    modifyBot(botId, change) {
      const s = bots.get(botId);
      if (!s) throw new Error(`modifyBot: unknown bot ${botId}`);
      if (change.intents) {
        s.draftIntents = [...change.intents];
        s.imported = undefined;
      }
      if (change.vocabulary) {
        const items = change.vocabulary.phrases.map((phrase) => ({ phrase, weight: 3, displayAs: null }));
        s.vocabularies.set(change.vocabulary.locale, JSON.stringify({ customVocabularyItems: items }));
      }
      s.updatedAt = Date.now();
    },
    archiveFor(exportId) {
      const e = exportStates.get(exportId);
      if (!e) throw new Error(`archiveFor: unknown export ${exportId}`);
      if (!e.archive) throw new Error(`archiveFor: export ${exportId} fails and has no archive`);
      return e.archive;
    },
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return Promise.resolve();
    },
  };
  return { sim, handle };
}
