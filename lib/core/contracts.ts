/**
 * The data that travels through the state machine, as zod schemas. Every
 * handler parses its input with these, so a hand-started execution with a
 * wrong shape fails fast with a named error instead of half-working.
 *
 * Only identifiers travel here: never a secret value, a JWT or a download URL.
 */
// zod/mini, not zod: the same validation as functions instead of methods, so esbuild drops what is unused
// (~75 kB less per Lambda bundle). A namespace import, so zod's 40+ unused locales are dropped too.
import * as z from 'zod/mini';
import { pollingSchema } from './schemas';

export const PROVIDER_NAMES = ['lex', 'koreai'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** A string with at least one character (ids, keys, names). */
export const nonEmptyString = () => z.string().check(z.minLength(1));

/** One unit of backup work, produced by Plan from a config target (or discovery). */
const jobSchema = z.object({
  /** Stable id of the backed-up resource, e.g. `lex:ABCDEFGHIJ:DRAFT`, `lex:ABCDEFGHIJ:3:en_US`. */
  id: nonEmptyString(),
  provider: z.enum(PROVIDER_NAMES),
  /** The stable S3 key its archive is stored under (DESIGN §3). */
  key: nonEmptyString(),
  /**
   * Where this resource's archives were stored before a key change (Lex before account ids:
   * `lex/<region>/…`). StoreArchive compares a first export under `key` with this key's current
   * version, so the change of layout neither writes a spurious version nor reports a change.
   */
  legacyKey: z.optional(nonEmptyString()),
  /** Human-readable name, e.g. the bot's name when discovery knows it. */
  name: z.optional(z.string()),
  /** Provider-specific, normalized description of what to export (identifiers only). */
  spec: z.record(z.string(), z.unknown()),
});
export type Job = z.infer<typeof jobSchema>;

/** What a provider returns from start(); identifiers only. */
const exportRefSchema = z.looseObject({ exportId: nonEmptyString() });
export type ExportRef = z.infer<typeof exportRefSchema>;

const exportStatusSchema = z.enum(['IN_PROGRESS', 'READY', 'FAILED']);
export type ExportStatus = z.infer<typeof exportStatusSchema>;

/** The polling state kept in `$.export` between StartExport and CheckExport. */
export const exportStateSchema = z.object({
  ref: exportRefSchema,
  status: exportStatusSchema,
  /** Status checks made so far. */
  polls: z.int().check(z.minimum(0)),
  /** Seconds the next Wait state waits. */
  waitSeconds: z.int().check(z.minimum(0)),
  /** Seconds waited so far (the sum of the Wait states' durations). */
  waitedSeconds: z.int().check(z.minimum(0)),
  /** False once another wait would exceed the job's polling budget. */
  withinBudget: z.boolean(),
  /** When the export was started (epoch ms): under `botvault local --fast` the budget counts elapsed time from here. */
  startedAt: z.optional(z.int().check(z.minimum(0))),
  /** Provider's failure reasons when status is FAILED. */
  reasons: z.optional(z.array(z.string())),
});
export type ExportState = z.infer<typeof exportStateSchema>;

const jobStatusSchema = z.enum(['SUCCEEDED', 'UNCHANGED', 'FAILED']);

/** One job's outcome; the run manifest is a list of these (DESIGN §3). */
export const jobResultSchema = z.object({
  target: z.string(),
  provider: z.optional(z.string()),
  name: z.optional(z.string()),
  status: jobStatusSchema,
  key: z.optional(z.string()),
  versionId: z.optional(z.string()),
  bytes: z.optional(z.int()),
  sha256: z.optional(z.string()),
  exportId: z.optional(z.string()),
  error: z.optional(z.string()),
  cause: z.optional(z.string()),
  /** The restore sidecar: written, already current (unchanged), or could not be captured (the backup still counts). */
  restoreInfo: z.optional(z.enum(['written', 'unchanged', 'unavailable'])),
  /** A new version: what changed in the bot, on one line ("Alpha (en_US): intent Cancel added"); the full list is its change record. */
  changes: z.optional(z.string()),
  /** A new version: its change record `<key>.changes.json` was written, or could not be (the backup still counts). */
  changeRecord: z.optional(z.enum(['written', 'unavailable'])),
});
export type JobResult = z.infer<typeof jobResultSchema>;

/** What a manual or scheduled execution may be started with. */
export const executionInputSchema = z.prefault(
  z.strictObject({
    trigger: z._default(z.enum(['schedule', 'manual']), 'manual'),
    /** The schedule tick (ISO 8601) for scheduled runs. */
    tickTime: z.optional(z.string()),
    /** Back up only these targets (job id, bot id or bot name). */
    only: z.optional(z.array(nonEmptyString()).check(z.minLength(1, 'must name at least one target (leave it out to back up every target)'))),
  }),
  {},
);
export type ExecutionInput = z.infer<typeof executionInputSchema>;

// ---- Task inputs and outputs (the Payload of each LambdaInvoke) ----

export const planInputSchema = z.object({
  runId: nonEmptyString(),
  /** This execution's ARN (`$$.Execution.Id`): a tick marker's owner is looked up beside it (tick-marker.ts). */
  executionArn: z.optional(nonEmptyString()),
  startedAt: nonEmptyString(),
  /** The config's targets, embedded in the definition at synth time. */
  targets: z.array(z.unknown()),
  /** The config's member accounts (lib/core/accounts.ts), embedded likewise; absent in definitions from before them. */
  accounts: z.optional(z.array(z.unknown())),
  /** The execution input, as given by the caller. */
  input: z.unknown(),
});
export const planOutputSchema = z.object({
  runId: z.string(),
  trigger: z.enum(['schedule', 'manual']),
  jobs: z.array(jobSchema),
});
export type PlanOutput = z.infer<typeof planOutputSchema>;

export const startExportInputSchema = z.object({ job: jobSchema, polling: pollingSchema });
export const checkExportInputSchema = z.object({ job: jobSchema, polling: pollingSchema, export: exportStateSchema });

export const storeArchiveInputSchema = z.object({ job: jobSchema, runId: nonEmptyString(), export: exportStateSchema });
export const cleanupInputSchema = z.object({ job: jobSchema, export: exportStateSchema });

export const summarizeInputSchema = z.object({
  runId: nonEmptyString(),
  startedAt: nonEmptyString(),
  trigger: z.string(),
  results: z.array(jobResultSchema),
});
const summarizeOutputSchema = z.object({
  manifestKey: z.string(),
  total: z.int(),
  succeeded: z.int(),
  unchanged: z.int(),
  failed: z.int(),
  failedTargets: z.array(z.string()),
  /** One line for the execution's Fail cause, e.g. "2 of 5 backup jobs failed (lex:A:DRAFT, ...); run manifest: runs/...". */
  message: z.string(),
});
export type SummarizeOutput = z.infer<typeof summarizeOutputSchema>;
