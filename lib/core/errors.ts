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
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
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

/** Errors the state machine retries, by name (besides Lambda's own service errors). */
export const RETRYABLE_ERRORS = ['RateLimitedError', 'ProviderUnavailableError'] as const;

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
