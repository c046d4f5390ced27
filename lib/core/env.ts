/**
 * The Lambdas' environment, read at call time (not import time) so that one
 * process can host every handler and a test can point them somewhere else
 * between runs. Every getter fails with an EnvironmentError naming the
 * variable: a missing variable is a broken deployment, never a retry.
 */
import { type ArchiveLimits, archiveLimitsFromConfig } from './archive/limits';
import { EnvironmentError } from './errors';

type Env = Record<string, string | undefined>;

function required(name: string, env: Env, hint: string): string {
  const value = env[name]?.trim();
  if (!value) throw new EnvironmentError(`Environment variable ${name} is not set: ${hint}`);
  return value;
}

/** BOTVAULT_BUCKET: the archive bucket every handler writes to. */
export function bucketName(env: Env = process.env): string {
  return required('BOTVAULT_BUCKET', env, 'it names the archive bucket (the stack sets it on every Lambda).');
}

/** BOTVAULT_MAC_KEY_ID: the stack's KMS HMAC key (its ARN), with which every stored object is authenticated (lib/core/mac.ts). */
export function macKeyId(env: Env = process.env): string {
  return required(
    'BOTVAULT_MAC_KEY_ID',
    env,
    'it names the KMS HMAC key that authenticates every stored object (the stack sets it on the writing and checking Lambdas).',
  );
}

/**
 * BOTVAULT_DRILL_MAC_KEY_ID: the deep drill's own KMS HMAC key (its ARN), with which its reports and scratch bot
 * records are authenticated and verified; never the archive key, which the drill may only verify with.
 */
export function drillMacKeyId(env: Env = process.env): string {
  return required(
    'BOTVAULT_DRILL_MAC_KEY_ID',
    env,
    "it names the deep drill's own KMS HMAC key, which authenticates its reports and scratch bot records (the stack sets it on the DeepDrill function).",
  );
}

/**
 * BOTVAULT_ACCOUNT_ID: the stack's own account (the stack sets it from AWS::AccountId on Plan), the
 * home account of `lex/<account>/<region>/…` keys.
 */
export function homeAccount(env: Env = process.env): string {
  return required('BOTVAULT_ACCOUNT_ID', env, 'the stack sets it on Plan; when running handlers locally, export the account id (e.g. 123456789012).');
}

/** AWS_REGION: the region the Lambdas run in; the home region of Lex keys (`lex/<account>/<region>/...`). */
export function region(env: Env = process.env): string {
  return required('AWS_REGION', env, 'Lambda sets it; when running handlers locally, export AWS_REGION (e.g. us-east-1).');
}

/**
 * BOTVAULT_DOWNLOAD_ALLOWLIST: comma-separated origins (`http://127.0.0.1:4010`)
 * the download guard lets through even though they are plain http or private
 * addresses (local simulators, on-premises providers). Empty or unset = none.
 */
export function downloadAllowlist(env: Env = process.env): string[] {
  const raw = env.BOTVAULT_DOWNLOAD_ALLOWLIST ?? '';
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      let url: URL;
      try {
        url = new URL(entry);
      } catch {
        throw new EnvironmentError(
          `BOTVAULT_DOWNLOAD_ALLOWLIST has an entry that is not a URL origin: "${entry}" (expected e.g. "https://files.example.com" or "http://127.0.0.1:4010").`,
        );
      }
      if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== entry.replace(/\/$/, '')) {
        throw new EnvironmentError(`BOTVAULT_DOWNLOAD_ALLOWLIST entry "${entry}" must be an origin: scheme, host and optional port, no path.`);
      }
      return url.origin;
    });
}

/** The largest `maxArchiveMiB` the config accepts: Lambda's 10,240 MB of ephemeral storage less room for the runtime. */
export const MAX_ARCHIVE_MIB_LIMIT = 10_176;

/**
 * BOTVAULT_MAX_ARCHIVE_MIB: the config's `maxArchiveMiB`, set by the stack on
 * StoreArchive (whose ephemeral storage it sizes): the largest archive, in
 * bytes. Unset: undefined (the store's own default).
 */
export function maxArchiveBytes(env: Env = process.env): number | undefined {
  const raw = env.BOTVAULT_MAX_ARCHIVE_MIB?.trim();
  if (!raw) return undefined;
  const mib = Number(raw);
  if (!Number.isInteger(mib) || mib < 1 || mib > MAX_ARCHIVE_MIB_LIMIT) {
    throw new EnvironmentError(
      `Environment variable BOTVAULT_MAX_ARCHIVE_MIB is "${raw}": expected a whole number of MiB from 1 to ${MAX_ARCHIVE_MIB_LIMIT} (the config's maxArchiveMiB).`,
    );
  }
  return mib * 1024 * 1024;
}

/**
 * BOTVAULT_ARCHIVE_LIMITS: the config's `archiveLimits` as JSON
 * (`{"maxEntries":…,"maxUncompressedMiB":…,"maxCompressionRatio":…}`), set by
 * the stack on StoreArchive and the restore drill. Unset: undefined (the
 * zip reader's defaults, lib/core/archive/limits.ts).
 */
export function archiveLimits(env: Env = process.env): ArchiveLimits | undefined {
  const raw = env.BOTVAULT_ARCHIVE_LIMITS?.trim();
  if (!raw) return undefined;
  const fail = () =>
    new EnvironmentError(
      `Environment variable BOTVAULT_ARCHIVE_LIMITS is not the config's archiveLimits: expected JSON with whole numbers maxEntries, maxUncompressedMiB and maxCompressionRatio.`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw fail();
  }
  const { maxEntries, maxUncompressedMiB, maxCompressionRatio } = (parsed ?? {}) as Record<string, unknown>;
  if (![maxEntries, maxUncompressedMiB, maxCompressionRatio].every((n) => Number.isInteger(n) && (n as number) > 0)) throw fail();
  return archiveLimitsFromConfig({
    maxEntries: maxEntries as number,
    maxUncompressedMiB: maxUncompressedMiB as number,
    maxCompressionRatio: maxCompressionRatio as number,
  });
}

/**
 * BOTVAULT_CHANGE_DETECTION: the config's `changeDetection`, set by the stack
 * on StoreArchive. `skipUnchanged` (the default, also when unset) or `always`.
 */
export function changeDetection(env: Env = process.env): 'skipUnchanged' | 'always' {
  const raw = env.BOTVAULT_CHANGE_DETECTION?.trim();
  if (!raw) return 'skipUnchanged';
  if (raw === 'skipUnchanged' || raw === 'always') return raw;
  throw new EnvironmentError(
    `Environment variable BOTVAULT_CHANGE_DETECTION is "${raw}": expected "skipUnchanged" or "always" (the config's changeDetection).`,
  );
}

/**
 * BOTVAULT_CHANGE_TOPIC_ARN: the topic a run's change notification goes to
 * ("2 of 7 bots changed: …"); unset when config `notifications.changes` is
 * false, and then no run publishes one.
 */
export function changeTopicArn(env: Env = process.env): string | undefined {
  return env.BOTVAULT_CHANGE_TOPIC_ARN?.trim() || undefined;
}
