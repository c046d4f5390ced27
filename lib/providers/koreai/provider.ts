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
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
// zod/mini: bundled into the Lambdas (lib/core/schemas.ts says why).
import * as z from 'zod/mini';
import { type KoreaiSpec, koreaiJob, koreaiSpecSchema } from './keys';
import { nonEmptyString, type ExportRef, type Job } from '../../core/contracts';
import { downloadAllowlist } from '../../core/env';
import { InvalidInputError, ProviderAuthError, ProviderRequestError, ProviderUnavailableError, RateLimitedError } from '../../core/errors';
import { logger } from '../../core/logger';
import type { SecretReader } from '../../core/secrets';
import type { ArchiveReader, CheckResult, DownloadTarget, PlanContext, Provider } from '../types';
import type { Target, RestoreDetails } from '../definitions';

export interface KoreaiProviderDeps {
  /** Reads `credentialsSecret`. */
  readonly secrets: SecretReader;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Origins that may be plain http (local simulators). @default BOTVAULT_DOWNLOAD_ALLOWLIST */
  readonly allowedOrigins?: readonly string[];
  /** Per-request timeout. @default 30 s */
  readonly requestTimeoutMs?: number;
}

/** Lifetime of each JWT: long enough for one call, short enough to be worthless if it ever leaked. */
export const JWT_LIFETIME_SECONDS = 60;
/** The JWT's `sub`: Kore.ai accepts any id; this one tells their audit logs who called. */
export const JWT_SUBJECT = 'botvault';

const credentialsSchema = z.object({ clientId: nonEmptyString(), clientSecret: nonEmptyString() });

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

/** Anything shaped like a JWT, scrubbed from provider text before it reaches an error message. */
const JWT_LIKE = /eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/g;
const URL_LIKE = /https?:\/\/\S+/g;

/** A short, credential-free excerpt of Kore.ai's error body (`{"errors":[{"msg": ...}]}` or `{"message": ...}`). */
export function koreaiErrorText(body: string): string {
  let text = body;
  try {
    const parsed = JSON.parse(body) as { errors?: { msg?: unknown }[]; message?: unknown; error?: unknown };
    const msg = parsed.errors?.[0]?.msg ?? parsed.message ?? parsed.error;
    if (typeof msg === 'string') text = msg;
  } catch {
    // not JSON: use the raw text
  }
  return text.replace(JWT_LIKE, '<jwt>').replace(URL_LIKE, '<url>').replace(/\s+/g, ' ').trim().slice(0, 200);
}

function parseSpec(job: Job): KoreaiSpec {
  const parsed = koreaiSpecSchema.safeParse(job.spec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InvalidInputError(`Job ${job.id} has an invalid Kore.ai spec: job.spec.${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * The bot's name in a Kore.ai export's botDefinition.json. Real exports have
 * no top-level `name`: it is `localeData.<defaultLanguage>.name` (README
 * "Export formats"); a multilingual bot has one per language, so the default
 * language's wins, then English, then any.
 */
export function koreaiBotName(definition: unknown): string | undefined {
  if (!definition || typeof definition !== 'object') return undefined;
  const d = definition as { defaultLanguage?: unknown; localeData?: unknown };
  if (!d.localeData || typeof d.localeData !== 'object') return undefined;
  const locales = d.localeData as Record<string, { name?: unknown } | undefined>;
  const order = [typeof d.defaultLanguage === 'string' ? d.defaultLanguage : '', 'en', ...Object.keys(locales)];
  for (const lang of order) {
    const name = lang ? locales[lang]?.name : undefined;
    if (typeof name === 'string' && name) return name;
  }
  return undefined;
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

  /** One authenticated API call; maps HTTP outcomes onto named errors. The JWT never leaves this function. */
  private async call(spec: KoreaiSpec, job: Job, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const what = `Kore.ai ${method} .../${path} for ${job.id}`;
    const base = new URL(spec.host);
    if (base.protocol !== 'https:' && !(this.deps.allowedOrigins ?? downloadAllowlist()).includes(base.origin)) {
      throw new InvalidInputError(
        `${what}: host ${base.origin} is not https; plain http is allowed only for origins in downloadAllowlist (local simulators).`,
      );
    }
    const url = new URL(`/api/public/bot/${encodeURIComponent(spec.botId)}/${path}`, base);
    const jwt = await this.jwt(spec);
    const doFetch = this.deps.fetch ?? fetch;
    let res: Response;
    try {
      res = await doFetch(url, {
        method,
        headers: { auth: jwt, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        // A redirect would carry the `auth` header to wherever it points: never follow one.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.deps.requestTimeoutMs ?? 30_000),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      throw new ProviderUnavailableError(`${what} failed: ${e.name === 'TimeoutError' ? 'no answer in time' : (e.cause?.code ?? e.name)}.`);
    }
    const text = await res.text().catch(() => '');
    if (res.ok) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new ProviderUnavailableError(`${what} answered HTTP ${res.status} with a body that is not JSON.`);
      }
    }
    const detail = koreaiErrorText(text);
    const message = `${what} answered HTTP ${res.status}${detail ? `: ${detail}` : ''}`;
    if (res.status === 401 || res.status === 403) {
      throw new ProviderAuthError(
        `${message} (check the app's client id and secret in ${spec.credentialsSecret}, and that the app has the Bot Export API scope for this bot)`,
      );
    }
    if (res.status === 429) throw new RateLimitedError(message);
    if (res.status >= 500) throw new ProviderUnavailableError(message);
    if (res.status >= 300 && res.status < 400)
      throw new ProviderRequestError(`${message} (a redirect; BotVault never follows one with credentials: check the host)`);
    throw new ProviderRequestError(message);
  }

  private async jwt(spec: KoreaiSpec): Promise<string> {
    return koreaiJwt(await this.deps.secrets(spec.credentialsSecret), spec.credentialsSecret, spec.enforceJti);
  }
}

/**
 * A fresh JWT for one Kore.ai call, from the credentials secret's value
 * (`{"clientId","clientSecret"}`); `secretName` only names it in errors.
 * Shared with `botvault restore`, so both sign exactly alike.
 */
export async function koreaiJwt(secretValue: string, secretName: string, enforceJti: boolean): Promise<string> {
  let creds: z.infer<typeof credentialsSchema>;
  try {
    creds = credentialsSchema.parse(JSON.parse(secretValue));
  } catch {
    // Say what is wrong with the shape, never what is in it.
    throw new ProviderRequestError(`Secret "${secretName}" must be JSON of the form {"clientId": "...", "clientSecret": "..."}.`);
  }
  const token = new SignJWT({ appId: creds.clientId })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(JWT_SUBJECT)
    .setIssuedAt()
    .setExpirationTime(`${JWT_LIFETIME_SECONDS}s`);
  if (enforceJti) token.setJti(randomUUID());
  return token.sign(new TextEncoder().encode(creds.clientSecret));
}

function failureReason(reply: StatusReply): string {
  const candidates = [reply.message, typeof reply.error === 'string' ? reply.error : undefined];
  const text = candidates.find((c): c is string => typeof c === 'string' && c.trim() !== '');
  return text ? koreaiErrorText(JSON.stringify({ message: text })) : `Kore.ai reported the export as ${reply.status} without a reason`;
}
