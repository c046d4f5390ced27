/**
 * The deep drill (issue 18): proves that stored archives restore, not only
 * that their bytes are intact (the restore drill's job). For each chosen
 * archive version it
 *   1. reads it back and trusts nothing unverified: sha256 against its
 *      metadata, its MAC with the stack's HMAC key, every zip entry's CRC, the
 *      export password from the secret its `password-secret` metadata names;
 *   2. imports it into a new scratch bot (`botvault-drill-<12 hex>`) through
 *      the provider's restore, builds it (Lex: every locale), exports the
 *      scratch bot through the provider's backup export, and compares the
 *      re-export with the backup the way the change log does (names, ids and
 *      timestamps aside): identical, or the list of what was lost;
 *   3. deletes the scratch bot — always, also after a failure — and, before
 *      anything else, sweeps scratch bots older than a day that a crashed
 *      drill left;
 *   4. writes the report `drills/<yyyy>/<mm>/<dd>/<runId>.json` (sha256 and
 *      MAC like a run manifest, but with the drill's own HMAC key: the drill
 *      may only verify with the archive key), emits DeepDrillDifferences and
 *      DeepDrillFailures (the alarm), and publishes the summary.
 *
 * One Lambda with a deadline, not a state machine: a drill is a weekly
 * sample of a few bots whose import, build and export take seconds to a few
 * minutes each (Lex builds small bots in about a minute), so the whole drill
 * fits one 15-minute invocation; the steps stop at `deadline` and the rest
 * of the time is kept for deleting every scratch bot and writing the report.
 * A crash or a timeout leaves at most this run's scratch bots, which the
 * next drill's sweep removes. (A Step Functions machine with Wait states
 * would wait for free and outlast 15 minutes, for large bots; the steps are
 * provider calls behind one interface, ready to become its Tasks. README
 * "Proving restores" says when.)
 *
 * Pure core: the handler injects the clients, the deadline and the clock.
 */
import { createHash, randomUUID } from 'node:crypto';
import { GetObjectCommand, HeadObjectCommand, paginateListObjectsV2, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { bufferByteSource } from '../../lib/core/archive/byte-source';
import type { ArchiveLimits } from '../../lib/core/archive/limits';
import { withZip } from '../../lib/core/archive/zip';
import type { Home } from '../../lib/core/accounts';
import { onlySelects } from '../../lib/core/only';
import { checkMac, type MacKey, macMetadata } from '../../lib/core/mac';
import { MAC_METADATA, PASSWORD_SECRET_METADATA, RUN_ID_METADATA, SHA256_METADATA } from '../../lib/core/names';
import { passwordFromSecret, type SecretReader } from '../../lib/core/secrets';
import type { KeyInfo } from '../../lib/providers/definition';
import { ARCHIVE_PREFIXES, keyInfo } from '../../lib/providers/definitions';
import {
  DEEP_DRILL_METRICS,
  DRILL_REPORT_PREFIX,
  type DrillContext,
  type DrillDeps,
  type DrillDifference,
  type DrillSource,
  drillFor,
  drillReportKey,
  findingLines,
  type ProviderDrill,
  restoreDifferences,
  type ScratchBot,
  type ScratchBotStore,
  SWEEP_AFTER_MS,
  type SweptBot,
  scratchBotName,
} from '../../lib/providers/drill';
import { headerSafe } from '../shared/restore-info';

/** The report's format tag. */
const REPORT_FORMAT = 'botvault-deep-drill/v1';
/** Where the scratch bot each Kore.ai host keeps is recorded (an authenticated record). */
const SCRATCH_RECORD_PREFIX = `${DRILL_REPORT_PREFIX}scratch-bots/`;
/** A bot archive is kilobytes to a few megabytes; a larger object is not read into memory. */
const MAX_ARCHIVE_BYTES = 256 * 1024 * 1024;
/** SNS Publish takes at most 256 KB; the notification keeps well under it. */
const MAX_NOTIFICATION_BYTES = 200 * 1024;

/** The part of Powertools Metrics the drill needs. */
interface MetricsSink {
  addMetric(name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number): unknown;
  publishStoredMetrics(): unknown;
}

/** What the drill chooses and how hard it works (config `deepDrill`, BOTVAULT_DEEP_DRILL). */
interface DeepDrillSettings {
  /** N archives chosen at random each run; exclusive with `targets`. */
  readonly sample?: number;
  /** These archives every run: job ids, bot ids or bot names, as `--only` takes them. */
  readonly targets?: readonly string[];
  /** Archives drilled at once. */
  readonly concurrency: number;
  /** How often imports, builds and exports are polled. */
  readonly pollMs: number;
}

export interface DeepDrillInput {
  readonly trigger?: string;
  /** A hand invocation's choice, overriding the configured one. */
  readonly sample?: number;
  readonly targets?: readonly string[];
  /** @default `deep-drill-<time>-<random>` */
  readonly runId?: string;
}

export interface DeepDrillDeps {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly metrics: MetricsSink;
  readonly settings: DeepDrillSettings;
  /** The stack's account and region: the home of `lex/<account>/<region>/…` keys' ids. */
  readonly home: Home;
  /** The providers' drill dependencies (without the scratch bot store, which this module makes). */
  readonly drills: Omit<DrillDeps, 'koreai'> & { readonly koreai?: Omit<NonNullable<DrillDeps['koreai']>, 'scratchBots' | 'archivedBotIds'> };
  /** Reads export passwords (`password-secret` metadata). */
  readonly secrets: SecretReader;
  /** The stack's archive HMAC key: archives are verified with it (the drill may not make MACs with it). @default none (tests of other concerns) */
  readonly mac?: MacKey;
  /**
   * The drill's own HMAC key: its reports and scratch bot records are authenticated and verified with it.
   * @default none (tests of other concerns): written without a MAC, records read unchecked
   */
  readonly drillMac?: MacKey;
  readonly limits?: ArchiveLimits;
  /** Where the summary goes (the alarm topic). @default none */
  readonly notify?: { readonly sns: SNSClient; readonly topicArn: string };
  /** Epoch ms by which the steps stop; deletes and the report come after. */
  readonly deadline: number;
  /** Epoch ms by which everything must be done (deletes wait for their bots until then at most). */
  readonly hardDeadline: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** For the sample. @default Math.random */
  readonly random?: () => number;
  readonly log?: (message: string, fields: Record<string, unknown>) => void;
}

type Step = 'verify' | 'import' | 'build' | 'export' | 'compare' | 'delete';

/** One archive's result in the report. */
interface ArchiveDrillResult {
  key: string;
  versionId?: string;
  provider: string;
  /** The job id of the backed-up resource, e.g. `lex:ORDRFLWRS1:DRAFT`. */
  target?: string;
  scratchBot?: ScratchBot;
  verified: boolean;
  imported: boolean;
  /** Lex: every locale built; null where the provider builds nothing (Kore.ai). */
  built: boolean | null;
  reExported: boolean;
  /** True: the re-export holds everything the backup holds; false: see differences; null: not compared. */
  identical: boolean | null;
  differences: DrillDifference[];
  error?: { step: Step; message: string };
  /** Why the archive was not drilled at all (the steps' deadline came before its turn); absent when it was. */
  notDrilled?: string;
  /** `deleted`; `kept` (Kore.ai's one scratch bot per host); `failed` (see deleteError; the next drill's sweep retries); null: none was created. */
  scratchBotAfter: 'deleted' | 'kept' | 'failed' | null;
  deleteError?: string;
  timings: Partial<Record<Step | 'total' | 'quotaWait', number>>;
  calls: Record<string, number>;
}

export interface DeepDrillReport {
  format: typeof REPORT_FORMAT;
  runId: string;
  trigger: string;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  selection: { mode: 'sample' | 'targets'; sample?: number; targets?: readonly string[]; candidates: number; chosen: number };
  /** `notDrilled`: chosen but not started before the steps' deadline (not in the other three). */
  counts: { archives: number; identical: number; different: number; failed: number; notDrilled: number };
  sweep: SweptBot[];
  /** Scratch bots of any run still there when this one ended (none, unless a delete failed). */
  scratchBotsLeft: (ScratchBot & { provider: string })[];
  /** Providers whose closing ListBots failed: which of their scratch bots are left is unknown. */
  closingCheckFailed: { provider: string; error: string }[];
  /** Scratch bots kept on purpose between drills (Kore.ai: one per host). */
  scratchBotsKept: (ScratchBot & { provider: string })[];
  results: ArchiveDrillResult[];
}

export interface DeepDrillOutput {
  readonly runId: string;
  readonly reportKey: string;
  readonly counts: DeepDrillReport['counts'];
  readonly scratchBotsLeft: number;
  readonly summary: string;
}

/** Runs `fn` over `items`, at most `limit` at a time, keeping the input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(Math.max(1, limit), items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!);
      }
    }),
  );
  return results;
}

/**
 * Drills the lanes' archives (a lane's one after the other, `limit` lanes at a time) and gives each archive that
 * would start at or after `deadline` to `skip` instead: nothing of it is read, imported or created.
 */
export async function drillInLanes<T>(
  lanes: readonly (readonly T[])[],
  limit: number,
  deadline: number,
  now: () => number,
  drillOne: (item: T) => Promise<void>,
  skip: (item: T) => void,
): Promise<void> {
  await mapLimit(lanes, limit, async (lane) => {
    for (const item of lane) {
      if (now() >= deadline) skip(item);
      else await drillOne(item);
    }
  });
}

/** The current archive keys a drill could restore: the providers' bot archives. */
async function candidates(deps: DeepDrillDeps, drill: (provider: string) => ProviderDrill | undefined): Promise<KeyInfo[]> {
  const out: KeyInfo[] = [];
  for (const prefix of ARCHIVE_PREFIXES) {
    for await (const page of paginateListObjectsV2({ client: deps.s3 }, { Bucket: deps.bucket, Prefix: prefix })) {
      for (const o of page.Contents ?? []) {
        if (!o.Key?.endsWith('.zip')) continue;
        const info = keyInfo(o.Key, deps.home);
        if (info.id !== undefined && drill(info.provider)?.drillable(info)) out.push(info);
      }
    }
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

/** The archives `targets` selects (as `--only` does: job id, bot id, bot name), or `sample` of them at random. */
async function choose(
  all: KeyInfo[],
  input: DeepDrillInput,
  deps: DeepDrillDeps,
): Promise<{ chosen: KeyInfo[]; selection: DeepDrillReport['selection'] }> {
  const targets = input.targets ?? (input.sample === undefined ? deps.settings.targets : undefined);
  if (targets?.length) {
    const named = new Map<string, string | undefined>();
    const nameOf = async (key: string) => {
      if (!named.has(key)) {
        const head = await deps.s3.send(new HeadObjectCommand({ Bucket: deps.bucket, Key: key })).catch(() => undefined);
        const raw = head?.Metadata?.['bot-name'];
        named.set(key, raw ? decodeURIComponent(raw) : undefined);
      }
      return named.get(key);
    };
    const chosen: KeyInfo[] = [];
    for (const info of all) {
      const job = { id: info.id!, spec: { botId: info.botId, testSetId: info.testSetId } };
      if (targets.some((t) => onlySelects(t, job))) chosen.push(info);
      else {
        const name = await nameOf(info.key);
        if (name !== undefined && targets.some((t) => onlySelects(t, { ...job, name }))) chosen.push(info);
      }
    }
    return { chosen, selection: { mode: 'targets', targets, candidates: all.length, chosen: chosen.length } };
  }
  const sample = Math.max(1, input.sample ?? deps.settings.sample ?? 2);
  const pool = [...all];
  const random = deps.random ?? Math.random;
  for (let i = pool.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  const chosen = pool.slice(0, sample).sort((a, b) => a.key.localeCompare(b.key));
  return { chosen, selection: { mode: 'sample', sample, candidates: all.length, chosen: chosen.length } };
}

/** An S3 object's bytes, checked against their sha256 metadata and MAC (`kind`); undefined when it does not exist. */
async function readVerified(
  deps: DeepDrillDeps,
  key: string,
  kind: 'archive' | 'drill',
  count: (op: string) => void,
): Promise<{ data: Buffer; versionId?: string; metadata: Record<string, string> } | undefined> {
  count('s3:HeadObject');
  const head = await deps.s3.send(new HeadObjectCommand({ Bucket: deps.bucket, Key: key })).catch((err: Error) => {
    if (err.name === 'NotFound' || err.name === 'NoSuchKey' || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404)
      return undefined;
    throw err;
  });
  if (!head) return undefined;
  const versionId = head.VersionId && head.VersionId !== 'null' ? head.VersionId : undefined;
  if ((head.ContentLength ?? 0) > MAX_ARCHIVE_BYTES)
    throw new Error(`${key} is ${head.ContentLength} bytes, more than a bot archive can plausibly be`);
  // The version HeadObject named: its metadata is the one the MAC covers.
  count('s3:GetObject');
  const res = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: key, VersionId: versionId }));
  const data = Buffer.from(await res.Body!.transformToByteArray());
  const metadata = res.Metadata ?? head.Metadata ?? {};
  const expected = metadata[SHA256_METADATA]?.toLowerCase();
  const sha256 = createHash('sha256').update(data).digest('hex');
  if (!expected) throw new Error(`${key} has no sha256 metadata: nothing vouches for its bytes`);
  if (sha256 !== expected) throw new Error(`${key}: sha256 mismatch (the bytes hash to ${sha256}, the metadata says ${expected})`);
  // Archives with the archive key; the drill's own objects with the drill's key (a MAC of one never verifies with the other).
  const macKey = kind === 'archive' ? deps.mac : deps.drillMac;
  if (macKey) {
    count('kms:VerifyMac');
    const verdict = await checkMac(macKey, { kind, key, bytes: data.length, sha256, metadata });
    if (verdict.status !== 'authentic') throw new Error(`${key} is not authenticated: ${verdict.reason}`);
  }
  return { data, ...(versionId ? { versionId } : {}), metadata };
}

/** Writes one authenticated JSON object under drills/ (sha256, run-id and MAC metadata of the drill's own key, like a run manifest). */
async function putAuthenticated(deps: DeepDrillDeps, key: string, body: string, runId: string): Promise<void> {
  const metadata: Record<string, string> = {
    [SHA256_METADATA]: createHash('sha256').update(body).digest('hex'),
    [RUN_ID_METADATA]: headerSafe(runId),
  };
  if (deps.drillMac)
    metadata[MAC_METADATA] = await macMetadata(deps.drillMac, {
      kind: 'drill',
      key,
      bytes: Buffer.byteLength(body),
      sha256: metadata[SHA256_METADATA]!,
      metadata,
    });
  await deps.s3.send(new PutObjectCommand({ Bucket: deps.bucket, Key: key, Body: body, ContentType: 'application/json', Metadata: metadata }));
}

/** Kore.ai's scratch bot per host, recorded under drills/scratch-bots/ and trusted only when its MAC verifies. */
function scratchBotStore(deps: DeepDrillDeps, runId: string, log: (m: string, f: Record<string, unknown>) => void): ScratchBotStore {
  const keyOf = (host: string) => `${SCRATCH_RECORD_PREFIX}koreai/${host.replace(/[^\w.:-]/g, '_')}.json`;
  return {
    async get(host) {
      // Absent: none yet. Anything else that is not a verified record of this host (S3 or KMS failing now, a MAC
      // that does not verify, another host's record) is thrown: the archive fails, no bot is made, the record stays.
      const key = keyOf(host);
      const read = await readVerified(deps, key, 'drill', () => undefined).catch((err: Error) => {
        log('Scratch bot record not usable; the archive fails', { host, key, error: err.message });
        throw err;
      });
      if (!read) return undefined;
      const record = JSON.parse(read.data.toString('utf8')) as { host?: unknown; id?: unknown; name?: unknown };
      if (record.host !== host || typeof record.id !== 'string' || typeof record.name !== 'string')
        throw new Error(`${key} is not a scratch bot record of ${host}`);
      return { id: record.id, name: record.name };
    },
    async put(host, bot) {
      await putAuthenticated(
        deps,
        keyOf(host),
        JSON.stringify({ provider: 'koreai', host, ...bot, recordedAt: new Date().toISOString(), runId }),
        runId,
      );
    },
  };
}

/** An archive's result before any step: nothing verified, imported or compared yet. */
function emptyResult(info: KeyInfo): ArchiveDrillResult {
  return {
    key: info.key,
    provider: info.provider,
    ...(info.id ? { target: info.id } : {}),
    verified: false,
    imported: false,
    built: null,
    reExported: false,
    identical: null,
    differences: [],
    scratchBotAfter: null,
    timings: {},
    calls: {},
  };
}

/** An archive whose turn came after the steps' deadline: reported, nothing done. */
function notDrilledResult(info: KeyInfo): ArchiveDrillResult {
  return {
    ...emptyResult(info),
    notDrilled: "the drill's deadline came before its turn (fewer archives, or a higher concurrency, fit the function's 15 minutes)",
  };
}

/** One archive through every step; the scratch bot is deleted in `finally`. */
async function drillArchive(
  info: KeyInfo,
  drill: ProviderDrill,
  runId: string,
  deps: DeepDrillDeps,
  log: (m: string, f: Record<string, unknown>) => void,
): Promise<ArchiveDrillResult> {
  const now = deps.now ?? Date.now;
  const started = now();
  const result = emptyResult(info);
  const count = (op: string) => {
    result.calls[op] = (result.calls[op] ?? 0) + 1;
  };
  const ctxFor = (deadline: number): DrillContext => ({
    runId,
    deadline,
    pollMs: deps.settings.pollMs,
    now,
    sleep: deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    call: async (op, fn) => {
      count(op);
      return fn();
    },
    count,
    waited: (_what, ms) => {
      result.timings.quotaWait = (result.timings.quotaWait ?? 0) + ms;
    },
    log,
  });
  const ctx = ctxFor(deps.deadline);
  let step: Step = 'verify';
  let t = now();
  const timed = () => {
    const ms = now() - t;
    t = now();
    return ms;
  };
  let bot: ScratchBot | undefined;
  /** An import still running at the steps' deadline: its bot, once it exists, is deleted like any other. */
  let pending: { importId: string; name: string } | undefined;
  try {
    // 1. Nothing from the bucket is trusted unverified: sha256, MAC, the password, every entry's CRC.
    const read = await readVerified(deps, info.key, 'archive', count);
    if (!read) throw new Error('the archive was deleted meanwhile');
    if (read.versionId) result.versionId = read.versionId;
    const secretRef = read.metadata[PASSWORD_SECRET_METADATA];
    let password: string | undefined;
    if (secretRef) {
      const secret = decodeURIComponent(secretRef);
      count('secretsmanager:GetSecretValue');
      try {
        password = passwordFromSecret(await deps.secrets(secret));
      } catch (err) {
        throw new Error(`it is password-protected and the password of secret ${secret} cannot be read: ${(err as Error).message}`);
      }
    }
    const opts = { ...(password !== undefined ? { password } : {}), ...(deps.limits ? { limits: deps.limits } : {}) };
    const entries = await withZip(bufferByteSource(read.data), opts, (zip) => zip.readAll());
    result.verified = true;
    result.timings.verify = timed();
    const source: DrillSource = {
      resource: info,
      ...(read.versionId ? { versionId: read.versionId } : {}),
      data: read.data,
      entries,
      ...(password !== undefined ? { password } : {}),
    };

    // 2. Import into a scratch bot that cannot collide with a real one.
    step = 'import';
    const name = scratchBotName(runId, info.key, read.versionId);
    const imported = await drill.importArchive(source, name, ctx);
    bot = imported.bot;
    if (!bot && imported.pendingImport) pending = { importId: imported.pendingImport, name };
    if (bot) result.scratchBot = bot;
    result.timings.import = timed();
    if (!imported.ok) throw new Error((imported.reasons ?? ['the import failed']).join('; '));
    result.imported = true;

    if (drill.build) {
      step = 'build';
      const built = await drill.build(bot!, ctx);
      result.built = built.ok;
      result.timings.build = timed();
      if (!built.ok) throw new Error((built.reasons ?? ['the build failed']).join('; '));
    }

    step = 'export';
    const reExport = await drill.reExport(bot!, source, ctx);
    result.reExported = true;
    result.timings.export = timed();

    step = 'compare';
    const differences = restoreDifferences(info.provider, entries, reExport, { scratchName: bot!.name, drill });
    if (differences === undefined) throw new Error(`no content comparison for ${info.provider}`);
    result.differences = differences;
    result.identical = differences.length === 0;
    result.timings.compare = timed();
  } catch (err) {
    result.error = { step, message: (err as Error).message };
    result.timings[step] = timed();
  } finally {
    // 3. Always: the scratch bot goes, whatever happened (within the function's remaining time).
    t = now();
    if (!bot && pending && drill.settleImport) {
      try {
        bot = await drill.settleImport(pending.importId, pending.name, ctxFor(deps.hardDeadline));
        if (bot) result.scratchBot = bot;
      } catch (err) {
        result.scratchBotAfter = 'failed';
        result.deleteError = `${(err as Error).name}: ${(err as Error).message}`;
      }
    }
    if (bot) {
      try {
        result.scratchBotAfter = await drill.deleteBot(bot, ctxFor(deps.hardDeadline));
      } catch (err) {
        result.scratchBotAfter = 'failed';
        result.deleteError = `${(err as Error).name}: ${(err as Error).message}`;
      }
    }
    if (bot || pending) result.timings.delete = now() - t;
    result.timings.total = now() - started;
  }
  log(result.error ? 'Archive failed the deep drill' : result.identical ? 'Archive restored identical' : 'Archive lost content in the restore', {
    key: result.key,
    versionId: result.versionId,
    scratchBot: result.scratchBot,
    error: result.error,
    differences: result.differences.map((d) => d.text),
    scratchBotAfter: result.scratchBotAfter,
  });
  return result;
}

/** "3 archives restored into scratch bots: 2 identical, 1 with differences, 0 failed". */
function summaryLine(report: DeepDrillReport): string {
  const c = report.counts;
  const left = report.scratchBotsLeft.length;
  const kept = report.scratchBotsKept.length;
  const skipped = report.results.filter((r) => r.notDrilled !== undefined).map((r) => r.key);
  return (
    `${c.archives} archive${c.archives === 1 ? '' : 's'} restored into scratch bots: ${c.identical} identical, ${c.different} with differences, ${c.failed} failed` +
    (skipped.length ? `, ${skipped.length} not drilled (the deadline came first: ${skipped.join(', ')})` : '') +
    (report.closingCheckFailed.length
      ? `; scratch bots left unknown (the closing check of ${report.closingCheckFailed.map((f) => f.provider).join(', ')} failed)${left ? `, ${left} seen` : ''}`
      : left
        ? `; ${left} scratch bot${left === 1 ? '' : 's'} left`
        : '; no scratch bot left') +
    // Kore.ai has no public delete API: its one scratch bot per host stays, to be reused (lib/providers/koreai/drill.ts).
    (kept ? ` (${kept} Kore.ai scratch bot${kept === 1 ? '' : 's'} kept for reuse: no delete API)` : '')
  );
}

async function notify(deps: DeepDrillDeps, report: DeepDrillReport, reportUrl: string, log: (m: string, f: Record<string, unknown>) => void) {
  if (!deps.notify) return;
  const c = report.counts;
  const cleanup =
    report.results.filter((r) => r.scratchBotAfter === 'failed').length +
    report.sweep.filter((s) => !s.deleted).length +
    (report.closingCheckFailed.length ? 1 : 0);
  const verdict =
    c.different || c.failed
      ? `${c.different + c.failed} of ${c.archives} archives did not restore intact`
      : cleanup
        ? `${c.identical} of ${c.archives} archives identical, but ${cleanup} scratch bot delete or check${cleanup === 1 ? '' : 's'} failed`
        : c.notDrilled
          ? `${c.identical} of ${c.archives} archives restored intact, ${c.notDrilled} not drilled`
          : `${c.archives} of ${c.archives} archives restored intact`;
  const subject = `BotVault deep drill: ${verdict}`.replace(/[^\x20-\x7e]/g, '?').slice(0, 99);
  const lines = [
    `Deep drill ${report.runId} (${report.trigger}): ${summaryLine(report)}.`,
    ...findingLines(report.results).map((l) => `  ${l}`),
    ...report.results
      .filter((r) => r.scratchBotAfter === 'failed')
      .map(
        (r) =>
          `  ${r.key}: scratch bot ${r.scratchBot ? `${r.scratchBot.name} (${r.scratchBot.id}) ` : ''}not deleted: ${r.deleteError ?? 'no reason recorded'}`,
      ),
    ...report.closingCheckFailed.map((f) => `  the closing check of ${f.provider}'s scratch bots failed (which are left is unknown): ${f.error}`),
    ...report.sweep.map(
      (s) => `  swept ${s.provider} scratch bot ${s.name} (${s.id}, ${s.ageHours} h old): ${s.deleted ? 'deleted' : `not deleted: ${s.error}`}`,
    ),
    ...report.scratchBotsLeft.map((b) => `  scratch bot LEFT: ${b.provider} ${b.name} (${b.id}); the next drill's sweep deletes it after a day`),
    '',
    `Report: ${reportUrl}`,
  ];
  const body = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
  const message = body.length > MAX_NOTIFICATION_BYTES ? `${body.subarray(0, MAX_NOTIFICATION_BYTES).toString('utf8')}…` : body.toString('utf8');
  try {
    await deps.notify.sns.send(new PublishCommand({ TopicArn: deps.notify.topicArn, Subject: subject, Message: message }));
  } catch (err) {
    // The report and the metrics carry the same: a notification that cannot go out costs only itself.
    log('Could not publish the deep drill notification; the report and metrics are written', { error: (err as Error).name });
    deps.metrics.addMetric('DeepDrillNotificationsFailed', MetricUnit.Count, 1);
  }
}

export async function runDeepDrill(input: DeepDrillInput, deps: DeepDrillDeps): Promise<DeepDrillOutput> {
  const now = deps.now ?? Date.now;
  const log = deps.log ?? (() => undefined);
  const startedAt = new Date(now());
  const runId = input.runId ?? `deep-drill-${startedAt.toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
  const { koreai, ...others } = deps.drills;
  let archived: Promise<ReadonlySet<string>> | undefined;
  const archivedBotIds = () => {
    archived ??= (async () => {
      const ids = new Set<string>();
      for await (const page of paginateListObjectsV2({ client: deps.s3 }, { Bucket: deps.bucket, Prefix: 'koreai/' }))
        for (const o of page.Contents ?? []) if (o.Key && !o.Key.endsWith('/')) ids.add(o.Key.split('/')[2] ?? '');
      ids.delete('');
      return ids;
    })();
    return archived;
  };
  const drillDeps: DrillDeps = {
    ...others,
    ...(koreai ? { koreai: { ...koreai, scratchBots: scratchBotStore(deps, runId, log), archivedBotIds } } : {}),
  };
  const drills = new Map<string, ProviderDrill | undefined>();
  const drill = (provider: string) => {
    if (!drills.has(provider)) drills.set(provider, drillFor(provider, drillDeps));
    return drills.get(provider);
  };
  const configured = [...(deps.drills.lex ? ['lex'] : []), ...(deps.drills.koreai ? ['koreai'] : [])];
  const sweepCtx = (): DrillContext => ({
    runId,
    deadline: deps.deadline,
    pollMs: deps.settings.pollMs,
    now,
    sleep: deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
    call: (_op, fn) => fn(),
    count: () => undefined,
    waited: () => undefined,
    log,
  });

  // A crashed drill's scratch bots first: they count against the same quotas this run needs.
  const sweep: SweptBot[] = [];
  for (const provider of configured) {
    try {
      sweep.push(...(await drill(provider)!.sweep(SWEEP_AFTER_MS, sweepCtx())));
    } catch (err) {
      sweep.push({
        provider,
        id: '-',
        name: '-',
        ageHours: 0,
        deleted: false,
        error: `the sweep could not list the scratch bots: ${(err as Error).message}`,
      });
    }
  }

  const all = await candidates(deps, drill);
  const { chosen, selection } = await choose(all, input, deps);
  log('Deep drill started', { runId, ...selection, keys: chosen.map((c) => c.key) });

  // Archives that share a scratch bot (Kore.ai: one per host) run one after the other; the rest `concurrency` at a time.
  const lanes = new Map<string, KeyInfo[]>();
  for (const info of chosen) {
    const lane = drill(info.provider)?.exclusive?.(info) ?? `archive:${info.key}`;
    lanes.set(lane, [...(lanes.get(lane) ?? []), info]);
  }
  const byKey = new Map<string, ArchiveDrillResult>();
  await drillInLanes(
    [...lanes.values()],
    deps.settings.concurrency,
    deps.deadline,
    now,
    async (info) => {
      byKey.set(info.key, await drillArchive(info, drill(info.provider)!, runId, deps, log));
    },
    (info) => {
      log("Archive not drilled: the steps' deadline came before its turn", { key: info.key });
      byKey.set(info.key, notDrilledResult(info));
    },
  );
  const results = chosen.map((c) => byKey.get(c.key)!);

  // The closing check: which scratch bots are still there.
  const scratchBotsLeft: DeepDrillReport['scratchBotsLeft'] = [];
  const scratchBotsKept: DeepDrillReport['scratchBotsKept'] = [];
  const closingCheckFailed: DeepDrillReport['closingCheckFailed'] = [];
  for (const provider of configured) {
    const d = drill(provider)!;
    const bots = await d.scratchBotsNow({ ...sweepCtx(), deadline: deps.hardDeadline }).catch((err: Error) => {
      closingCheckFailed.push({ provider, error: `${err.name}: ${err.message}` });
      return [] as ScratchBot[];
    });
    const kept = provider === 'koreai';
    for (const b of bots) (kept ? scratchBotsKept : scratchBotsLeft).push({ provider, ...b });
  }

  const finished = new Date(now());
  const counts = {
    archives: results.length,
    identical: results.filter((r) => r.identical === true).length,
    different: results.filter((r) => r.identical === false).length,
    failed: results.filter((r) => r.error !== undefined).length,
    notDrilled: results.filter((r) => r.notDrilled !== undefined).length,
  };
  const report: DeepDrillReport = {
    format: REPORT_FORMAT,
    runId,
    trigger: input.trigger ?? 'manual',
    startedAt: startedAt.toISOString(),
    finishedAt: finished.toISOString(),
    durationSeconds: Math.round((finished.getTime() - startedAt.getTime()) / 100) / 10,
    selection,
    counts,
    sweep,
    scratchBotsLeft,
    scratchBotsKept,
    closingCheckFailed,
    results,
  };
  const reportKey = drillReportKey(runId, startedAt);
  await putAuthenticated(deps, reportKey, JSON.stringify(report, null, 2), runId);

  // A delete that failed (the bot is left) or a sweep that failed is a failure too: the alarm must see it.
  const failures =
    counts.failed + results.filter((r) => r.scratchBotAfter === 'failed').length + sweep.filter((s) => !s.deleted).length + closingCheckFailed.length;
  deps.metrics.addMetric(DEEP_DRILL_METRICS.archives, MetricUnit.Count, counts.archives);
  deps.metrics.addMetric(DEEP_DRILL_METRICS.identical, MetricUnit.Count, counts.identical);
  deps.metrics.addMetric(DEEP_DRILL_METRICS.differences, MetricUnit.Count, counts.different);
  deps.metrics.addMetric(DEEP_DRILL_METRICS.failures, MetricUnit.Count, failures);
  await notify(deps, report, `s3://${deps.bucket}/${reportKey}`, log);
  deps.metrics.publishStoredMetrics();

  const summary = summaryLine(report);
  log('Deep drill finished', { runId, reportKey, ...counts, failures, scratchBotsLeft: scratchBotsLeft.length });
  return { runId, reportKey, counts, scratchBotsLeft: scratchBotsLeft.length, summary };
}
