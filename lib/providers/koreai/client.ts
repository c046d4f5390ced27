/**
 * One authenticated call to Kore.ai's public API, shared by the export
 * (provider.ts) and the import (restore.ts), so both sign, refuse plain http,
 * pass the download guard's connect-time address check (guarded-fetch.ts),
 * never follow a redirect and map HTTP outcomes onto named errors alike.
 *
 * Every call carries a fresh JWT (HS256, signed with the app's client secret
 * read from Secrets Manager) in the `auth` header, so a `jti` is never reused
 * and `exp` stays short. The JWT and the secret never leave this module.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
// zod/mini: bundled into the Lambdas (lib/core/schemas.ts says why).
import * as z from 'zod/mini';
import { nonEmptyString } from '../../core/contracts';
import {
  InvalidInputError,
  ProviderAuthError,
  ProviderRequestError,
  ProviderUnavailableError,
  RateLimitedError,
  UnsafeUrlError,
} from '../../core/errors';
import { guardedFetch } from '../../core/guarded-fetch';
import { rememberSecret, scrubText } from '../../core/scrub';
import type { SecretReader } from '../../core/secrets';

/** Lifetime of each JWT: long enough for one call, short enough to be worthless if it ever leaked. */
export const JWT_LIFETIME_SECONDS = 60;
/** The JWT's `sub`: Kore.ai accepts any id; this one tells their audit logs who called. */
const JWT_SUBJECT = 'botvault';

const credentialsSchema = z.object({ clientId: nonEmptyString(), clientSecret: nonEmptyString() });

/** The Kore.ai app a call is made as: where, with which credentials secret, and whether it enforces JTI. */
export interface KoreaiApp {
  /** `https://bots.kore.ai` or an on-premises origin. */
  readonly host: string;
  /** Secrets Manager secret holding `{"clientId", "clientSecret"}`. */
  readonly credentialsSecret: string;
  readonly enforceJti: boolean;
}

export interface KoreaiClientDeps {
  readonly secrets: SecretReader;
  /** @default guardedFetch (lib/core/guarded-fetch.ts): the download guard's connect-time check on every call */
  readonly fetch?: (url: URL, init: RequestInit) => Promise<Response>;
  /** Origins that may be plain http (local simulators). */
  readonly allowedOrigins: readonly string[];
  readonly timeoutMs: number;
}

export interface KoreaiRequest {
  readonly method: 'GET' | 'POST';
  /** From the host's root, e.g. `/api/public/bot/<botId>/export`. */
  readonly path: string;
  /** JSON-encoded unless it is FormData (a file upload). */
  readonly body?: unknown;
  /** Names the call in errors, e.g. "Kore.ai GET .../export/status for koreai:st-1:published". */
  readonly what: string;
  /** The app scope this call needs, named in the hint of a 401/403 ("the Bot Export API scope for this bot"). */
  readonly scope: string;
  /**
   * The reply may carry credentials (Get Bots lists other apps' client
   * secrets): an error quotes only Kore's own error message field of a failed
   * reply, never its raw text, and nothing that mentions a client secret.
   */
  readonly sensitiveReply?: boolean;
}

/**
 * A fresh JWT from the credentials secret's value (`{"clientId","clientSecret"}`);
 * `secretName` only names it in errors.
 */
async function koreaiJwt(secretValue: string, secretName: string, enforceJti: boolean): Promise<string> {
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
  const jwt = await token.sign(new TextEncoder().encode(creds.clientSecret));
  // Never to be shown, whole or in part, in any error this process builds from provider text.
  rememberSecret(jwt);
  return jwt;
}

/**
 * A short, credential-free excerpt of Kore.ai's error body (`{"errors":[{"msg": ...}]}` or `{"message": ...}`).
 * `messageOnly`: nothing but that message field (empty when there is none), never the raw body.
 */
export function koreaiErrorText(body: string, messageOnly = false): string {
  let text = messageOnly ? '' : body;
  try {
    const parsed = JSON.parse(body) as { errors?: { msg?: unknown }[]; message?: unknown; error?: unknown };
    const msg = parsed.errors?.[0]?.msg ?? parsed.message ?? parsed.error;
    if (typeof msg === 'string') text = msg;
  } catch {
    // not JSON: use the raw text (unless messageOnly)
  }
  if (messageOnly && /secret/i.test(text)) return '';
  return scrubText(text).replace(/\s+/g, ' ').trim().slice(0, 200);
}

/**
 * Makes one call and returns its JSON reply. Failures are named errors:
 * 401/403 ProviderAuthError, 429 RateLimitedError, 5xx and network
 * ProviderUnavailableError, a redirect or any other status ProviderRequestError
 * (each with the HTTP status in `httpStatus`).
 */
export async function koreaiCall(app: KoreaiApp, deps: KoreaiClientDeps, req: KoreaiRequest): Promise<unknown> {
  const { what } = req;
  const base = new URL(app.host);
  if (base.protocol !== 'https:' && !deps.allowedOrigins.includes(base.origin)) {
    throw new InvalidInputError(
      `${what}: host ${base.origin} is not https; plain http is allowed only for origins in downloadAllowlist (local simulators).`,
    );
  }
  const jwt = await koreaiJwt(await deps.secrets(app.credentialsSecret), app.credentialsSecret, app.enforceJti);
  const form = req.body instanceof FormData;
  let res: Response;
  try {
    res = await (deps.fetch ?? guardedFetch(deps.allowedOrigins))(new URL(req.path, base), {
      method: req.method,
      headers: { auth: jwt, accept: 'application/json', ...(req.body === undefined || form ? {} : { 'content-type': 'application/json' }) },
      ...(req.body === undefined ? {} : { body: form ? (req.body as FormData) : JSON.stringify(req.body) }),
      // A redirect would carry the `auth` header to wherever it points: never follow one.
      redirect: 'manual',
      signal: AbortSignal.timeout(deps.timeoutMs),
    });
  } catch (err) {
    // Refused by the connect-time guard: nothing was sent, and no retry would change that.
    if (err instanceof UnsafeUrlError) throw err;
    const e = err as Error & { cause?: { code?: string } };
    throw new ProviderUnavailableError(
      `${what} failed: ${e.name === 'TimeoutError' ? `no answer in ${deps.timeoutMs / 1000} s` : (e.cause?.code ?? e.name)}.`,
    );
  }
  const text = await res.text().catch(() => '');
  if (res.ok) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ProviderUnavailableError(`${what} answered HTTP ${res.status} with a body that is not JSON.`, { httpStatus: res.status });
    }
  }
  const detail = koreaiErrorText(text, req.sensitiveReply);
  const message = `${what} answered HTTP ${res.status}${detail ? `: ${detail}` : ''}`;
  const httpStatus = res.status;
  if (res.status === 401 || res.status === 403) {
    throw new ProviderAuthError(`${message} (check the app's client id and secret in ${app.credentialsSecret}, and that the app has ${req.scope})`, {
      httpStatus,
    });
  }
  if (res.status === 429) throw new RateLimitedError(message, { httpStatus });
  if (res.status >= 500) throw new ProviderUnavailableError(message, { httpStatus });
  if (res.status >= 300 && res.status < 400)
    throw new ProviderRequestError(`${message} (a redirect; BotVault never follows one with credentials: check the host)`, { httpStatus });
  throw new ProviderRequestError(message, { httpStatus });
}
