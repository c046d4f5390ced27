/**
 * What every handler.ts shares: parse the payload with its zod schema (a
 * hand-started execution with a wrong shape fails with InvalidInputError
 * naming the field), build the dependencies from the environment, call the
 * pure core, and log the failure once with its error name.
 */
import type { z } from 'zod/mini';
import { cachedSecretReader, type SecretReader } from '../../lib/core/secrets';
import { lexClient, lexClientAt, secretsClient } from './clients';
import { InvalidInputError } from '../../lib/core/errors';
import { logger, syncLogLevel } from '../../lib/core/logger';
import { type ProviderDeps, providerFor } from '../../lib/providers/registry';
import type { Provider } from '../../lib/providers/types';
import { formatPath } from '../../lib/core/schemas';

/** Parses `event` or throws InvalidInputError listing every bad field. */
export function parseInput<S extends z.ZodMiniType>(schema: S, event: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(event);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${formatPath(i.path) || '(payload)'}: ${i.message}`);
  throw new InvalidInputError(`${what} got an invalid input: ${issues.join('; ')}`);
}

/** The part of the Lambda context handlers use; absent when the local runner calls a handler directly. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

/** Wraps a core: parse → deps → core, with one error log line (name and message, never the payload). */
export function defineHandler<S extends z.ZodMiniType, D, R>(
  what: string,
  schema: S,
  deps: (context?: InvocationContext) => D,
  core: (input: z.output<S>, deps: D) => Promise<R>,
) {
  return async (event: unknown, context?: InvocationContext): Promise<R> => {
    syncLogLevel();
    try {
      return await core(parseInput(schema, event, what), deps(context));
    } catch (err) {
      const e = err as Error;
      logger.error(`${what} failed`, { errorName: e.name, errorMessage: e.message });
      throw err;
    }
  };
}

const readers = new WeakMap<object, SecretReader>();

/** Provider dependencies from the environment; the clients are cached per container (clients.ts). */
export function providerDepsFromEnv(): ProviderDeps {
  const secrets = secretsClient();
  let reader = readers.get(secrets);
  if (!reader) {
    reader = cachedSecretReader(secrets);
    readers.set(secrets, reader);
  }
  return { lex: lexClient(), lexAt: (where) => lexClientAt(where), secrets: reader };
}

/** The provider lookup a job handler takes (`providerFor(name)`), over the container's cached clients. */
export function providersFromEnv(): { providerFor: (name: string) => Provider } {
  const deps = providerDepsFromEnv();
  return { providerFor: (name) => providerFor(name, deps) };
}
