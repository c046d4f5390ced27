/**
 * The change record `<archive key>.changes.json` (issue 15): what changed in
 * the bot with one archive version, in the bot's own terms
 * (lib/providers/changes.ts), written by StoreArchive right after the
 * version and versioned like it, so `botvault history` and `botvault mirror`
 * read each version's summary without downloading two archives.
 *
 * One record version per archive version; the record for archive version V
 * is the newest record version whose `archive.versionId` (or, without
 * versioning, `archive.sha256`) is V's. It carries `sha256` and `mac`
 * metadata like every object BotVault writes (lib/core/mac.ts, kind
 * `changes`): readers use only records whose MAC verifies.
 */
import * as z from 'zod/mini';
import { nonEmptyString, PROVIDER_NAMES } from '../core/contracts';

export const CHANGE_RECORD_FORMAT = 'botvault-changes/v1';

const versionRefSchema = z.object({
  versionId: z.optional(z.string()),
  sha256: nonEmptyString(),
  /** The version's key when it is not the record's own: the legacy key of a home Lex bot's last version before account ids. */
  key: z.optional(nonEmptyString()),
});

const botChangeSchema = z.object({
  scope: z.optional(z.string()),
  subject: z.string(),
  detail: z.string(),
  added: z.optional(z.readonly(z.array(z.string()))),
  removed: z.optional(z.readonly(z.array(z.string()))),
});

export const changeRecordSchema = z.object({
  format: z.literal(CHANGE_RECORD_FORMAT),
  provider: z.enum(PROVIDER_NAMES),
  /** The job id, e.g. `lex:ABCDEFGHIJ:DRAFT`. */
  target: nonEmptyString(),
  key: nonEmptyString(),
  runId: nonEmptyString(),
  recordedAt: nonEmptyString(),
  /** The archive version this record describes. */
  archive: versionRefSchema,
  /** The bot's name as its export states it (lines name the bot by it). */
  botName: z.optional(z.string()),
  /** The version it is compared with: the one current before it; null for the bot's first backup. */
  previous: z.nullable(versionRefSchema),
  /**
   * `first`: nothing to compare with; `summarized`: `changes` lists what
   * changed (empty: the archive changed, the bot's definition did not);
   * `unavailable`: the comparison could not be made, `reason` says why
   * (the backup itself is sound).
   */
  status: z.enum(['first', 'summarized', 'unavailable']),
  reason: z.optional(z.string()),
  changes: z.array(botChangeSchema),
});
export type ChangeRecord = z.infer<typeof changeRecordSchema>;
