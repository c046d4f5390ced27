/**
 * Named errors. The state machine's Retry and Catch match on `name`, so these
 * names are a public contract (README "Failure handling"): rename one and the
 * workflow stops retrying or catching it.
 *
 * Messages never carry secret values, JWTs or presigned URLs: they end up in
 * Step Functions history, which anyone with states:GetExecutionHistory reads.
 */
export abstract class BotVaultError extends Error {
  abstract override readonly name: string;
  /** The HTTP status the provider answered with, when an HTTP answer caused the error. */
  readonly httpStatus?: number;
  constructor(message: string, options?: { cause?: unknown; httpStatus?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    if (options?.httpStatus !== undefined) this.httpStatus = options.httpStatus;
  }
}

/** The provider reported that the export failed; carries the provider's reasons. */
export class ExportFailedError extends BotVaultError {
  override readonly name = 'ExportFailedError';
}

/** The export was still in progress when the job's polling budget ran out. */
export class ExportTimedOutError extends BotVaultError {
  override readonly name = 'ExportTimedOutError';
}

/** The downloaded bytes are not what was promised: short body, reset, not a zip, hash or size mismatch after upload. */
export class DownloadIntegrityError extends BotVaultError {
  override readonly name = 'DownloadIntegrityError';
}

/** A password-protected export does not decrypt with the password of its target's passwordSecret. */
export class ArchivePasswordError extends BotVaultError {
  override readonly name = 'ArchivePasswordError';
}

/** The download URL is not one we are willing to fetch (scheme, host, address, redirect). */
export class UnsafeUrlError extends BotVaultError {
  override readonly name = 'UnsafeUrlError';
}

/** The download URL was refused (403/expired) twice, even after asking for a fresh one. */
export class DownloadUrlExpiredError extends BotVaultError {
  override readonly name = 'DownloadUrlExpiredError';
}

/** A provider said "slow down" (HTTP 429 / ThrottlingException). Retried by the state machine with backoff and jitter. */
export class RateLimitedError extends BotVaultError {
  override readonly name = 'RateLimitedError';
}

/** A provider had a transient problem (5xx, conflict, connection reset). Retried by the state machine. */
export class ProviderUnavailableError extends BotVaultError {
  override readonly name = 'ProviderUnavailableError';
}

/** Credentials were refused (401/403 on an API call). Never retried: a retry cannot fix a wrong secret. */
export class ProviderAuthError extends BotVaultError {
  override readonly name = 'ProviderAuthError';
}

/** The provider rejected the request as invalid (400/404): wrong bot id, version or locale. Never retried. */
export class ProviderRequestError extends BotVaultError {
  override readonly name = 'ProviderRequestError';
}

/** The execution input or a task's input does not match its schema. Never retried. */
export class InvalidInputError extends BotVaultError {
  override readonly name = 'InvalidInputError';
}

/**
 * A Lambda environment variable is missing or malformed (BOTVAULT_BUCKET, AWS_REGION, ...).
 * The deployment is broken, not the run: never retried.
 */
export class EnvironmentError extends BotVaultError {
  override readonly name = 'EnvironmentError';
}

/**
 * The execution's schedule tick was already started by another execution
 * (a repeated delivery of the same tick). The workflow catches it and ends the
 * execution successfully without backing anything up.
 */
export class DuplicateTickError extends BotVaultError {
  override readonly name = 'DuplicateTickError';
}

/**
 * What the state machine does with each named error (lib/constructs/backup-workflow.ts
 * builds its Retry lists from this): `provider` — a later attempt can fix it,
 * retried with backoff; `never` — a retry cannot fix it (bad input, refused
 * credentials, a broken deployment, an unsafe URL, bytes that failed their
 * checks, a repeated schedule tick). test/infra/retries.test.ts checks that
 * every class above is here. The order is the order of the template's lists.
 */
export const ERROR_RETRY = {
  InvalidInputError: 'never',
  ProviderAuthError: 'never',
  ProviderRequestError: 'never',
  EnvironmentError: 'never',
  UnsafeUrlError: 'never',
  DownloadIntegrityError: 'never',
  ArchivePasswordError: 'never',
  DownloadUrlExpiredError: 'never',
  ExportFailedError: 'never',
  ExportTimedOutError: 'never',
  DuplicateTickError: 'never',
  RateLimitedError: 'provider',
  ProviderUnavailableError: 'provider',
} as const satisfies Record<string, 'never' | 'provider'>;

const named = (kind: 'never' | 'provider') => Object.entries(ERROR_RETRY).flatMap(([name, k]) => (k === kind ? [name] : []));
/** Errors the state machine retries, by name (besides Lambda's own service errors). */
export const RETRYABLE_ERRORS: readonly string[] = named('provider');
/** Errors the state machine never retries. */
export const NEVER_RETRIED_ERRORS: readonly string[] = named('never');
