/**
 * Putting a stored archive version back into its provider (`botvault
 * restore`): the types every provider's restore (lib/providers/<name>/restore.ts)
 * shares, and the registry keyed by provider name. The CLI (lib/cli/restore.ts)
 * reads and verifies the archive, then hands it here; a provider only decides
 * where it goes and drives the provider's import API.
 *
 * A provider's restore is two steps, so that a dry run and a real restore
 * cannot check different things: it first plans (reads the destination,
 * works out every parameter, refuses what cannot go — read-only calls only)
 * and returns the plan; the plan's `start()` makes the first call that
 * changes the provider. `--dry-run` is a plan that is never started.
 */
import type { LexModelsV2ClientConfig } from '@aws-sdk/client-lex-models-v2';
import type { ProviderName } from '../core/contracts';
import type { SecretReader } from '../core/secrets';
import type { KeyInfo } from './definition';
import type { RestoreInfo, Target } from './definitions';
import { restoreKoreai } from './koreai/restore';
import type { ArnKeptRow, ArnMapping, ArnRewriteRow } from './lex/arn-rewrite';
import { restoreLex } from './lex/restore';

const MERGE_STRATEGIES = ['FailOnConflict', 'Overwrite', 'Append'] as const;

/** What the operator asked for (the CLI's flags). */
export interface RestoreRequest {
  /** The destination: an existing bot's id or name, or a new bot's name. @default the bot the archive came from */
  readonly toBot?: string;
  readonly merge?: (typeof MERGE_STRATEGIES)[number];
  /** Lex, new bot: the bot's IAM role. */
  readonly roleArn?: string;
  /** Lex, new bot: COPPA flag. */
  readonly childDirected?: boolean;
  /** Lex, new bot: idle session timeout. */
  readonly idleSessionTtl?: number;
  /** How often the import status is polled (ms). */
  readonly pollMs: number;
  /** Give up following the import after this many seconds (the import goes on at the provider). */
  readonly timeout: number;
  /** Overrides AWS_REGION / the profile's region. */
  readonly region?: string;
}

/** The archive version to restore, already read and verified by the caller. */
interface RestoreSource {
  readonly resource: KeyInfo;
  /** The archive's bytes as stored (a password-protected export stays encrypted). */
  readonly data: Buffer;
  /** Every entry, decrypted and CRC-checked. */
  readonly entries: ReadonlyMap<string, Buffer>;
  /** The archive's password (a password-protected Lex export): passed to the import, never shown. */
  readonly password?: string;
  /** The restore sidecar captured with this version, if any. */
  readonly info?: RestoreInfo;
}

/** What a restore may use besides the archive. */
export interface RestoreEnv {
  /** The config's targets (Kore.ai's host and credentials secret come from its target). */
  readonly targets: readonly Target[];
  /** Origins that may be plain http (local simulators): the config's downloadAllowlist. */
  readonly allowedOrigins: readonly string[];
  readonly secrets: SecretReader;
  /** Runs one AWS call; the caller turns well-known failures (credentials, network) into its own errors naming `what`. */
  readonly aws: <T>(what: string, call: () => Promise<T>) => Promise<T>;
  /** The AWS account the restore's credentials act in (STS GetCallerIdentity): where a new Lex bot is created. */
  readonly callerAccount: () => Promise<string>;
  /**
   * Lex, into another account or region (`--to-account` / `--to-region`): where the restore goes, with
   * what credentials, and the operator's `--map-arn`s. Every ARN of the archive and its sidecar that
   * names the source account or region is rewritten for it (lib/providers/lex/arn-rewrite.ts).
   * Undefined: the CLI's own account and region, nothing rewritten.
   */
  readonly destination?: RestoreDestination;
}

/** Where a restore into another account or region goes (resolved and checked by the CLI). */
export interface RestoreDestination {
  /** The destination account (12 digits); `callerAccount` answers it too. */
  readonly account: string;
  readonly region: string;
  /** Credentials there: the assumed restore role's. Undefined: the CLI's own (the caller's account). */
  readonly credentials?: LexModelsV2ClientConfig['credentials'];
  /** The role those credentials are a session of (shown; not a secret). */
  readonly roleArn?: string;
  readonly mappings: readonly ArnMapping[];
}

/** Where a restore goes and how: the part of its outcome known before anything is changed. */
interface RestoreTarget {
  /** The bot; with a RestoreDestination, also its account and region. */
  destination: { botId: string | null; botName: string | null; existing: boolean; account?: string; region?: string };
  mergeStrategy: string | null;
  /** Where the details for a new bot came from, e.g. "sidecar", "flags", "archive". */
  sources: Record<string, string>;
  notes: string[];
  /** Into another account or region: the ARNs rewritten (from → to, where) and those kept as they were (and why). */
  arns?: {
    /** The source the rules compared with: the key's account (or the sidecar role's) and region. */
    from: { account?: string; region?: string };
    rewritten: readonly ArnRewriteRow[];
    kept: readonly ArnKeptRow[];
    /** The role assumed in the destination account, if any. */
    roleArn?: string;
    /** The sha256 of what is uploaded when ARNs in the archive itself were rewritten (a rebuilt zip). */
    uploadSha256?: string;
  };
  /** Lex, a new bot in another account or region: the sidecar's aliases to recreate there, their ARNs rewritten. */
  aliases?: readonly unknown[];
}

/** What a restore did (or, in a dry run, would do). */
export interface RestoreOutcome extends RestoreTarget {
  importId: string | null;
  status: 'DRY_RUN' | 'COMPLETED' | 'FAILED' | 'TIMED_OUT';
  /** Why the import failed; in a dry run, why the provider would refuse it (then the dry run exits as the failed import would). */
  failureReasons: string[];
}

/** A restore checked and worked out, nothing changed yet. */
export interface RestorePlan extends RestoreTarget {
  /**
   * What the provider is known to refuse, found with read-only calls (Lex:
   * FailOnConflict into a bot or locale that exists). A real restore still
   * runs the import and reports the provider's own reasons.
   */
  conflicts: string[];
  /** Uploads and imports: the first call that changes the provider. */
  start(): Promise<RestoreOutcome>;
  /** Releases the plan's clients (after start(), or instead of it). */
  close(): void;
}

/** The restore cannot start: the archive, the flags or the destination do not allow it. Nothing was changed. */
export class RestoreRefusedError extends Error {
  override readonly name = 'RestoreRefusedError';
}

/** Plans a restore: every check a restore makes before its first change, for a dry run and a real restore alike. */
export type ProviderRestore = (source: RestoreSource, request: RestoreRequest, env: RestoreEnv) => Promise<RestorePlan>;

/**
 * Built when asked, not at load: each provider's restore imports this module (RestoreRefusedError, sleep),
 * so whichever of the two a process loads first, an object built at load time could catch the other's
 * export still unset (it did in a shared test worker: restoreFor('koreai') was undefined).
 */
const restores = (): Record<ProviderName, ProviderRestore> => ({
  lex: restoreLex,
  koreai: restoreKoreai,
});

/** The restore of `provider`'s archives; undefined for a provider BotVault does not know. */
export function restoreFor(provider: string): ProviderRestore | undefined {
  const all = restores();
  return Object.hasOwn(all, provider) ? all[provider as ProviderName] : undefined;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
