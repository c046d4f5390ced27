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
 */
// zod/mini: bundled into the Lambdas (lib/core/schemas.ts says why).
import * as z from 'zod/mini';
import { type KoreaiSpec, koreaiJob, koreaiSpecSchema } from './keys';
import { nonEmptyString, type ExportRef, type Job } from '../../core/contracts';
import { downloadAllowlist } from '../../core/env';
import { InvalidInputError, ProviderRequestError, ProviderUnavailableError } from '../../core/errors';
import { logger } from '../../core/logger';
import type { SecretReader } from '../../core/secrets';
import type { ArchiveReader, CheckResult, DownloadTarget, PlanContext, Provider } from '../types';
import type { RestoreDetails, Target } from '../definitions';
import { koreaiCall, koreaiErrorText } from './client';
import { koreaiBotName } from './export-format';

export interface KoreaiProviderDeps {
  /** Reads `credentialsSecret`. */
  readonly secrets: SecretReader;
  /** @default guardedFetch (lib/core/guarded-fetch.ts), the download guard on every API call */
  readonly fetch?: (url: URL, init: RequestInit) => Promise<Response>;
  /** Origins that may be plain http (local simulators). @default BOTVAULT_DOWNLOAD_ALLOWLIST */
  readonly allowedOrigins?: readonly string[];
  /** Per-request timeout. @default 30 s */
  readonly requestTimeoutMs?: number;
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
    return [koreaiJob(target)];
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

  /** One authenticated call to the bot's export API (client.ts); the JWT never leaves it. */
  private call(spec: KoreaiSpec, job: Job, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    return koreaiCall(
      { host: spec.host, credentialsSecret: spec.credentialsSecret, enforceJti: spec.enforceJti },
      {
        secrets: this.deps.secrets,
        ...(this.deps.fetch ? { fetch: this.deps.fetch } : {}),
        allowedOrigins: this.deps.allowedOrigins ?? downloadAllowlist(),
        timeoutMs: this.deps.requestTimeoutMs ?? 30_000,
      },
      {
        method,
        path: `/api/public/bot/${encodeURIComponent(spec.botId)}/${path}`,
        body,
        what: `Kore.ai ${method} .../${path} for ${job.id}`,
        scope: 'the Bot Export API scope for this bot',
      },
    );
  }
}

function failureReason(reply: StatusReply): string {
  const candidates = [reply.message, typeof reply.error === 'string' ? reply.error : undefined];
  const text = candidates.find((c): c is string => typeof c === 'string' && c.trim() !== '');
  return text ? koreaiErrorText(JSON.stringify({ message: text })) : `Kore.ai reported the export as ${reply.status} without a reason`;
}
