/**
 * Proof of restore (issue 18): the deep drill imports a stored archive into a
 * scratch bot, builds it, exports the scratch bot again and compares the
 * re-export's content with the backup's. This file holds what every
 * provider's drill shares — the scratch bots' names and tag, the report's
 * names, the comparison and its wording — and the registry keyed by provider
 * name (lib/providers/<name>/drill.ts), like restore.ts does for restores.
 *
 * A provider's drill reuses that provider's restore (restore.ts: the same
 * plan, upload and import a `botvault restore --to-bot NEW` makes) and its
 * export (provider.ts: the same start, check and download URL a backup
 * uses), so the drill proves the paths an operator would use, not a copy
 * of them.
 */
import { createHash } from 'node:crypto';
import type { LexModelsV2Client } from '@aws-sdk/client-lex-models-v2';
import type { ProviderName } from '../core/contracts';
import { openDownload } from '../core/download-guard';
import type { SecretReader } from '../core/secrets';
import { type BotChange, clipLine, detailParts } from './changes';
import { changeSummary } from './change-summaries';
import type { KeyInfo } from './definition';
import type { Target } from './definitions';
import type { DownloadTarget } from './types';
import { koreaiDrill } from './koreai/drill';
import { lexDrill } from './lex/drill';
import { SCRATCH_BOT_PREFIX } from './scratch-names';

// ---- the scratch bots ----

export { isScratchBotName, SCRATCH_BOT_PREFIX } from './scratch-names';

/**
 * The tag every Lex scratch bot is created with (StartImport botTags): the
 * drill's IAM lets it create bots only with this tag in the request
 * (aws:RequestTag) and build, export and delete only bots carrying it
 * (aws:ResourceTag), because Lex V2 has no condition key on a bot's name
 * (Service Authorization Reference, "Amazon Lex V2": aws:RequestTag,
 * aws:ResourceTag and aws:TagKeys only).
 */
export const DRILL_TAG = { key: 'botvault:drill', value: 'true' } as const;

/** A scratch bot older than this is a crashed drill's: the next drill deletes it. */
export const SWEEP_AFTER_MS = 24 * 60 * 60 * 1000;

/**
 * The scratch bot of one archive version in one run: a name no real bot can
 * have by accident (12 hex digits of SHA-256 over run, key and version), and
 * the same name if the same run drills the same version again.
 */
export function scratchBotName(runId: string, key: string, versionId?: string): string {
  const hash = createHash('sha256')
    .update(`${runId}\0${key}\0${versionId ?? ''}`)
    .digest('hex');
  return `${SCRATCH_BOT_PREFIX}${hash.slice(0, 12)}`;
}

// ---- the report ----

/** Where deep drill reports live: `drills/<yyyy>/<mm>/<dd>/<runId>.json`. */
export const DRILL_REPORT_PREFIX = 'drills/';

/** `drills/2026/12/06/<runId>.json`, dated by the run's start in UTC. */
export function drillReportKey(runId: string, startedAt: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${DRILL_REPORT_PREFIX}${startedAt.getUTCFullYear()}/${pad(startedAt.getUTCMonth() + 1)}/${pad(startedAt.getUTCDate())}/${runId.replace(/[^\w.-]/g, '_')}.json`;
}

/** The deep drill's metrics (namespace BotVault, dimension service=botvault); the alarm reads the last two. */
export const DEEP_DRILL_METRICS = {
  archives: 'DeepDrillArchives',
  identical: 'DeepDrillIdentical',
  differences: 'DeepDrillDifferences',
  failures: 'DeepDrillFailures',
} as const;

// ---- what a provider's drill does ----

/** One stored archive version, read and verified (sha256, MAC, every entry's CRC) before anything sees it. */
export interface DrillSource {
  readonly resource: KeyInfo;
  readonly versionId?: string;
  /** The bytes as stored (a password-protected export stays encrypted: the import gets its password). */
  readonly data: Buffer;
  readonly entries: ReadonlyMap<string, Buffer>;
  /** The export password (Lex filePassword), from the secret its `password-secret` metadata names; never shown. */
  readonly password?: string;
}

export interface ScratchBot {
  readonly id: string;
  readonly name: string;
}

/** How one step went; `reasons` are the provider's words (never a secret or a URL). */
export interface StepOutcome {
  readonly ok: boolean;
  readonly reasons?: readonly string[];
}

/** An import's outcome: the bot it made (to be deleted), or the id of an import still running that may make one. */
interface ImportOutcome extends StepOutcome {
  readonly bot?: ScratchBot;
  readonly pendingImport?: string;
}

/** Counts one archive's provider API calls by operation, and runs the waits. */
export interface DrillContext {
  readonly runId: string;
  /** Epoch ms by which the steps must stop (the rest of the function's time is for deletes and the report). */
  readonly deadline: number;
  /** How often imports, builds and exports are polled, in ms. */
  readonly pollMs: number;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Runs one provider API call and counts it under `operation` (e.g. `lex:StartImport`). */
  call<T>(operation: string, fn: () => Promise<T>): Promise<T>;
  /** Counts a call made inside another module's step (the restore's upload). */
  count(operation: string): void;
  /** Adds waiting time that a quota imposed (reported beside the timings). */
  waited(what: 'quota', ms: number): void;
  readonly log: (message: string, fields: Record<string, unknown>) => void;
}

export interface SweptBot extends ScratchBot {
  readonly provider: string;
  readonly ageHours: number;
  readonly deleted: boolean;
  readonly error?: string;
}

export interface ProviderDrill {
  /**
   * Imports the archive as a NEW bot named `name`, through the provider's
   * restore. Refuses (never imports) when a bot of that name exists.
   */
  importArchive(source: DrillSource, name: string, ctx: DrillContext): Promise<ImportOutcome>;
  /**
   * An import that was accepted but had not ended at the steps' deadline (`pendingImport`): polled in the delete
   * phase (ctx.deadline is then the hard deadline) until it ends; the bot it made, if any, to be deleted.
   */
  settleImport?(importId: string, name: string, ctx: DrillContext): Promise<ScratchBot | undefined>;
  /** What the provider must build before a bot is usable (Lex: every locale); absent when there is nothing to build (Kore.ai). */
  build?(bot: ScratchBot, ctx: DrillContext): Promise<StepOutcome>;
  /** Exports the scratch bot as a backup would, and returns the export's entries. */
  reExport(bot: ScratchBot, source: DrillSource, ctx: DrillContext): Promise<ReadonlyMap<string, Buffer>>;
  /**
   * Deletes the scratch bot, after checking that it is one (its name, and on Lex its tag): `deleted`; or
   * `kept` where the provider cannot delete a bot (Kore.ai: its one scratch bot per host is reused).
   */
  deleteBot(bot: ScratchBot, ctx: DrillContext): Promise<'deleted' | 'kept'>;
  /** Deletes the scratch bots older than `olderThanMs` that a crashed drill left. */
  sweep(olderThanMs: number, ctx: DrillContext): Promise<SweptBot[]>;
  /** Whether a scratch bot of this name exists now (the drill's closing check that none is left). */
  scratchBotsNow(ctx: DrillContext): Promise<ScratchBot[]>;
  /** How many `noun` (utterances, values, ...) the backup has where `change` lost some: the "of 40" in the wording. */
  totalOf(entries: ReadonlyMap<string, Buffer>, change: BotChange, noun: string): number | undefined;
  /**
   * The entries with the bot's own name, where the provider's export keeps it, replaced by `placeholder`
   * (Lex: the `<Bot>/` folder and Bot.json `name`; Kore.ai: `localeData.<lang>.name`, config.json `name`),
   * so that a scratch bot compares equal to the bot it came from.
   */
  withoutBotName(entries: ReadonlyMap<string, Buffer>, placeholder: string): Map<string, Buffer>;
  /** Differences the change summary does not see (Kore.ai: config.json, its name and ids aside), on the renamed entries. @default none */
  otherChanges?(before: ReadonlyMap<string, Buffer>, after: ReadonlyMap<string, Buffer>): BotChange[];
  /** The entries the change summary (or otherChanges) reads, whose loss it words itself. @default every `.json` */
  summarised?(path: string): boolean;
  /** Archives with the same answer are drilled one after the other (Kore.ai: one scratch bot per host). @default none: in parallel */
  exclusive?(resource: KeyInfo): string | undefined;
  /** The archive keys this provider can deep-drill (Lex: bot archives; locale and vocabulary archives need an existing bot). */
  drillable(resource: KeyInfo): boolean;
}

/** What a provider's drill may use; a provider whose part is absent cannot be drilled (the config requires it). */
export interface DrillDeps {
  readonly secrets: SecretReader;
  /** Origins that may be plain http (local simulators): the config's downloadAllowlist. */
  readonly allowedOrigins: readonly string[];
  readonly lex?: {
    readonly client: LexModelsV2Client;
    /** The scratch bots' IAM role (config deepDrill.lexBotRoleArn): the only role the drill may pass to Lex. */
    readonly roleArn: string;
    /** Where scratch bots are created: the stack's own account and region. */
    readonly home: { readonly account: string; readonly region: string };
    /** Service Quotas' current values, where it can tell them. */
    readonly quotas?: () => Promise<LexQuotas>;
  };
  readonly koreai?: {
    /** An Admin Console app with Bot Definition > Bot Import and Bot Export (config deepDrill.koreaiCredentialsSecret). */
    readonly credentialsSecret: string;
    /** The config's targets: the host, export type and options of each archive's bot. */
    readonly targets: readonly Target[];
    /** Where the one scratch bot of each host is recorded (Kore.ai has no public API to delete a bot: it is reused). */
    readonly scratchBots: ScratchBotStore;
    /** The Kore.ai bot ids the bucket holds archives of (koreai/<host>/<botId>/…): never a scratch bot. */
    readonly archivedBotIds: () => Promise<ReadonlySet<string>>;
  };
}

/** The scratch bots a provider keeps between drills, by host (authenticated records in the bucket). */
export interface ScratchBotStore {
  /** The recorded bot; undefined only when there is no record. Throws when the record cannot be read now or does not verify. */
  get(host: string): Promise<ScratchBot | undefined>;
  put(host: string, bot: ScratchBot): Promise<void>;
}

/** The Lex quotas the drill waits for rather than fails on (Lex V2 Developer Guide, "Quotas"). */
export interface LexQuotas {
  /** Bots per AWS account (default 100, adjustable). */
  readonly botsPerAccount: number;
  /** Parallel locale builds per AWS account (default 5, adjustable by support only). */
  readonly parallelLocaleBuilds: number;
  /** Where each value came from: `service-quotas` or `default`. */
  readonly source: Readonly<Record<'botsPerAccount' | 'parallelLocaleBuilds', 'service-quotas' | 'default'>>;
}

/** Built when asked: each provider's drill imports this module, so a table built at load could see one unset (restore.ts says more). */
const drills = (): Record<ProviderName, (deps: DrillDeps) => ProviderDrill> => ({
  lex: lexDrill,
  koreai: koreaiDrill,
});

/** The deep drill of `provider`'s archives; undefined for a provider BotVault does not know. */
export function drillFor(provider: string, deps: DrillDeps): ProviderDrill | undefined {
  const all = drills();
  return Object.hasOwn(all, provider) ? all[provider as ProviderName](deps) : undefined;
}

// ---- what every provider's drill uses ----

/**
 * Calls `attempt` until it answers true, every `pollMs`, as long as the
 * deadline allows another try; false when the deadline came first — also
 * before the first try, so that nothing is asked of a provider once the
 * deadline has passed. With `quota`, the time between attempts is counted
 * as waiting for a quota.
 */
export async function waitFor(ctx: DrillContext, attempt: () => Promise<boolean>, quota = false): Promise<boolean> {
  for (;;) {
    if (ctx.now() >= ctx.deadline) return false;
    if (await attempt()) return true;
    if (ctx.now() + ctx.pollMs > ctx.deadline) return false;
    if (quota) ctx.waited('quota', ctx.pollMs);
    await ctx.sleep(ctx.pollMs);
  }
}

/** The largest re-export the drill reads into memory: a bot definition is kilobytes to a few megabytes. */
const MAX_REEXPORT_BYTES = 256 * 1024 * 1024;

/**
 * Downloads a re-export through the download guard (lib/core/download-guard.ts:
 * https to the provider's hosts or an allowlisted origin, public addresses,
 * no redirect), into memory, within the drill's deadline.
 */
export async function downloadArchive(target: DownloadTarget, allowedOrigins: readonly string[], ctx: DrillContext): Promise<Buffer> {
  const res = await ctx.call('download', () =>
    openDownload(target.url, { allowedHosts: target.allowedHosts, allowedOrigins, deadlineMs: Math.max(5_000, ctx.deadline - ctx.now()) }),
  );
  if (res.status !== 200) {
    res.body.destroy();
    throw new Error(`the re-export's download answered HTTP ${res.status}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).length;
    if (size > MAX_REEXPORT_BYTES) {
      res.body.destroy();
      throw new Error(`the re-export is larger than ${MAX_REEXPORT_BYTES} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A provider's drill when its part of the config is missing: every archive of it fails with `why`, nothing is called. */
export function notConfigured(provider: string, why: string): ProviderDrill {
  const fail = async () => ({ ok: false, reasons: [`${provider}: ${why}`] });
  return {
    drillable: () => true,
    importArchive: fail,
    reExport: async () => {
      throw new Error(why);
    },
    deleteBot: async () => 'kept' as const,
    sweep: async () => [],
    scratchBotsNow: async () => [],
    withoutBotName: (entries) => new Map(entries),
    totalOf: () => undefined,
  };
}

// ---- the comparison ----

/** One way the re-export differs from the backup, in the bot's terms. */
export interface DrillDifference {
  readonly scope?: string;
  readonly subject: string;
  /** The change summary's own detail (`-12 utterances`), for machines. */
  readonly detail: string;
  /** What was lost or gained, for people: `en_US: intent OrderFlowers: 12 of 40 utterances missing after import`. */
  readonly text: string;
  /** The members lost (utterances, values, phrases, questions), at most MAX_MEMBERS. */
  readonly missing?: readonly string[];
  /** The members that appeared, at most MAX_MEMBERS. */
  readonly unexpected?: readonly string[];
}

/** At most this many lost or gained members are listed per difference (the counts are always exact). */
const MAX_MEMBERS = 20;
/** The placeholder both sides' bot names become: a scratch bot's own name is never a difference. */
const BOT_NAME_PLACEHOLDER = 'botvault-drill-bot';

/** Replaces every occurrence of `from` in the entries' names and JSON texts with `to`. */
function renameIn(entries: ReadonlyMap<string, Buffer>, from: string, to: string): Map<string, Buffer> {
  // As a JSON string's content: a name holding a quote or a backslash stays valid JSON.
  const json = JSON.stringify(to).slice(1, -1);
  const out = new Map<string, Buffer>();
  for (const [name, data] of entries) {
    const renamed = name
      .split('/')
      .map((part) => (part === from ? to : part))
      .join('/');
    out.set(renamed, name.endsWith('.json') ? Buffer.from(data.toString('utf8').split(from).join(json), 'utf8') : data);
  }
  return out;
}

/** `-12 utterances` → { sign: '-', count: 12, noun: 'utterances' }. */
function countedPart(part: string): { sign: '+' | '-'; count: number; noun: string } | undefined {
  const m = /^([+-])(\d+) (.+)$/.exec(part.trim());
  return m ? { sign: m[1] as '+' | '-', count: Number(m[2]), noun: m[3]! } : undefined;
}

/** The plural of a change summary's noun (`utterance` → `utterances`, `phrases` stays). */
const plural = (noun: string) => (noun.endsWith('s') ? noun : `${noun}s`);

/** One change as a drill difference, worded as what the import lost or added. */
function difference(change: BotChange, total: (noun: string) => number | undefined): DrillDifference {
  const where = change.scope ? `${change.scope}: ` : '';
  const what = (rest: string) => `${where}${change.subject}: ${rest}`;
  // The summary's own parts: a part may hold a comma itself (`prompts, responses or settings changed`).
  const parts = detailParts(change.detail).map((part) => {
    if (part === 'removed') return 'missing after import';
    if (part === 'not valid JSON after import' || part === 'valid JSON only after import') return part;
    if (part === 'added') return 'present after import but not in the backup';
    const counted = countedPart(part);
    if (counted) {
      if (counted.sign === '+') return `${counted.count} ${counted.noun} not in the backup appeared after import`;
      const of = total(counted.noun);
      return `${counted.count}${of === undefined ? '' : ` of ${of}`} ${of === undefined ? counted.noun : plural(counted.noun)} missing after import`;
    }
    const slot = /^slot (.+) (added|removed|changed)$/.exec(part);
    if (slot)
      return `slot ${slot[1]} ${slot[2] === 'removed' ? 'missing after import' : slot[2] === 'added' ? 'appeared after import' : 'changed by the import'}`;
    return `${part} by the import`;
  });
  return {
    ...(change.scope ? { scope: change.scope } : {}),
    subject: change.subject,
    detail: change.detail,
    text: clipLine(what(parts.join(', '))),
    ...(change.removed?.length ? { missing: change.removed.slice(0, MAX_MEMBERS) } : {}),
    ...(change.added?.length ? { unexpected: change.added.slice(0, MAX_MEMBERS) } : {}),
  };
}

/**
 * What the re-export of a scratch bot lost or gained against the backup it
 * was imported from: the change summary `botvault diff` and the change log
 * use (change-summaries.ts), with both sides' bot names made one, then worded
 * as losses ("intent OrderFlowers: 12 of 40 utterances missing after
 * import", the "of 40" counted in the backup by the provider's drill).
 * Empty: nothing was lost. Undefined: the provider has no summary.
 */
export function restoreDifferences(
  provider: string,
  backup: ReadonlyMap<string, Buffer>,
  reExport: ReadonlyMap<string, Buffer>,
  opts: { readonly scratchName: string; readonly drill: Pick<ProviderDrill, 'totalOf' | 'withoutBotName' | 'otherChanges' | 'summarised'> },
): DrillDifference[] | undefined {
  // The scratch name is random hex no bot content holds: every occurrence of it is the bot's own name.
  // The backup's own name is replaced only where the provider keeps the bot's name (an intent may share it).
  const before = opts.drill.withoutBotName(backup, BOT_NAME_PLACEHOLDER);
  const after = opts.drill.withoutBotName(renameIn(reExport, opts.scratchName, BOT_NAME_PLACEHOLDER), BOT_NAME_PLACEHOLDER);
  const changes = changeSummary(provider, before, after);
  if (changes === undefined) return undefined;
  const summarised = opts.drill.summarised ?? ((path: string) => path.endsWith('.json'));
  const all = [...changes, ...entryChanges(before, after, summarised), ...(opts.drill.otherChanges?.(before, after) ?? [])];
  return all.map((c) => difference(c, (noun) => opts.drill.totalOf(before, c, noun)));
}

/**
 * What the change summary does not look at: files of the backup the re-export lacks or adds (a Kore.ai bot
 * function's .js, an icon), and JSON that parses on one side only (the summaries skip what they cannot read).
 * Paths are compared after both sides' bot names are made one.
 */
function entryChanges(before: ReadonlyMap<string, Buffer>, after: ReadonlyMap<string, Buffer>, summarised: (path: string) => boolean): BotChange[] {
  const out: BotChange[] = [];
  // A file the change summary reads (a Lex intent's Intent.json) is worded by it already ("intent X: missing").
  for (const name of before.keys()) if (!after.has(name) && !summarised(name)) out.push({ subject: `file ${name}`, detail: 'removed' });
  for (const name of after.keys()) if (!before.has(name) && !summarised(name)) out.push({ subject: `file ${name}`, detail: 'added' });
  const parses = (data: Buffer) => {
    try {
      JSON.parse(data.toString('utf8'));
      return true;
    } catch {
      return false;
    }
  };
  for (const [name, data] of before) {
    const other = after.get(name);
    if (!name.endsWith('.json') || !other) continue;
    const [b, a] = [parses(data), parses(other)];
    if (b !== a) out.push({ subject: `file ${name}`, detail: b ? 'not valid JSON after import' : 'valid JSON only after import' });
  }
  return out;
}

/** A run's differences and failures on one line each, for the notification and the error (at most `max`). */
export function findingLines(
  results: readonly {
    key: string;
    identical?: boolean | null;
    differences?: readonly DrillDifference[];
    error?: { step: string; message: string };
  }[],
  max = 20,
): string[] {
  const lines: string[] = [];
  for (const r of results) {
    if (r.error) lines.push(`${r.key}: ${r.error.step} failed: ${r.error.message}`);
    else if (r.identical === false) for (const d of r.differences ?? []) lines.push(`${r.key}: ${d.text}`);
  }
  return lines.length > max ? [...lines.slice(0, max), `and ${lines.length - max} more`] : lines;
}
