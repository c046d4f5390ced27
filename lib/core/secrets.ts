/**
 * Reads secret values from Secrets Manager for the one moment they are needed
 * (e.g. a Lex export's filePassword). Values stay in this container's memory
 * only: they never enter a job, an export ref, a log line or an error.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ProviderAuthError, ProviderRequestError, ProviderUnavailableError } from './errors';

/** Resolves a secret name or ARN to its string value. */
export type SecretReader = (secretId: string) => Promise<string>;

/**
 * A SecretReader over GetSecretValue with a per-container cache. The TTL
 * bounds how long a rotated secret is served stale (warm containers live for
 * hours); five minutes keeps the API calls to a handful per run.
 */
export function cachedSecretReader(client: SecretsManagerClient, ttlMs = 5 * 60_000, now: () => number = Date.now): SecretReader {
  const cache = new Map<string, { value: string; expires: number }>();
  return async (secretId) => {
    const hit = cache.get(secretId);
    if (hit && hit.expires > now()) return hit.value;
    let value: string | undefined;
    try {
      const res = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      value = res.SecretString ?? (res.SecretBinary ? Buffer.from(res.SecretBinary).toString('utf8') : undefined);
    } catch (err) {
      const name = (err as Error).name;
      const msg = `Cannot read secret "${secretId}" from Secrets Manager: ${name}`;
      if (name === 'ResourceNotFoundException' || name === 'InvalidParameterException' || name === 'InvalidRequestException')
        throw new ProviderRequestError(`${msg} (check the secret's name and that it has a current value)`, { cause: err });
      if (name === 'AccessDeniedException' || name === 'UnrecognizedClientException' || name === 'DecryptionFailure')
        throw new ProviderAuthError(`${msg} (the Lambda's role may not read it or its KMS key)`, { cause: err });
      throw new ProviderUnavailableError(msg, { cause: err });
    }
    if (value === undefined || value === '') throw new ProviderRequestError(`Secret "${secretId}" has no value.`);
    cache.set(secretId, { value, expires: now() + ttlMs });
    return value;
  };
}

/** An export password as a secret holds it: its `password` field when the secret is JSON, else the whole string. */
export function passwordFromSecret(raw: string): string {
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (parsed && typeof parsed === 'object' && typeof (parsed as { password?: unknown }).password === 'string')
      return (parsed as { password: string }).password;
  } catch {
    // Not JSON: the whole string is the password.
  }
  return raw;
}
