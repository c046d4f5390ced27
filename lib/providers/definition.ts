/**
 * The data half of a provider: what the config, the CLI, the bucket and the
 * restore sidecar need to know about it without loading its runtime (no SDK
 * client, no network code). Each provider folder exports one
 * (`lib/providers/<name>/definition.ts`); definitions.ts keys them by name.
 */
import type * as z from 'zod/mini';
import type { Account, Home } from '../core/accounts';

/** What a stable archive key says about the resource behind it. */
export interface KeyInfo {
  readonly key: string;
  readonly provider: string;
  /** The job id, where the key's shape is known; otherwise undefined. */
  readonly id?: string;
  readonly botId?: string;
  readonly botVersion?: string;
  readonly localeId?: string;
  readonly testSetId?: string;
  /** The AWS account and region the resource lives in (Lex), where the key names them. */
  readonly account?: string;
  readonly region?: string;
  /** A key of an older layout (Lex `lex/<region>/…`, before account ids), kept where it was written. */
  readonly legacy?: boolean;
  /** The newer key that carries this resource's history on (set by the CLI when both hold versions). */
  readonly supersededBy?: string;
}

/** One config error found across targets: `targets[index].field: message`. */
export interface TargetIssue {
  readonly index: number;
  readonly field: string;
  readonly message: string;
}

/** What checkTargets may consult besides the targets. */
export interface TargetCheckContext {
  readonly downloadAllowlist: readonly string[];
  /**
   * True when a host name is a public suffix (`com`, `co.uk`, `s3.amazonaws.com`):
   * the config injects the Public Suffix List (tldts), which Lambda bundles need not carry.
   * @default - only single labels count as public suffixes
   */
  readonly isPublicSuffix?: (name: string) => boolean;
  /** The config's `accounts` (targets name them by id or name). */
  readonly accounts: readonly Account[];
}

export interface ProviderDefinition<T extends { provider: string }, R> {
  /** The config target's zod schema (`provider` literal included); errors name the field. */
  readonly targetSchema: z.ZodMiniType<T, unknown>;
  /** Rules across this provider's targets and the rest of the config (one export per bot per run, ...). */
  readonly checkTargets?: (targets: readonly { index: number; target: T }[], config: TargetCheckContext) => TargetIssue[];
  /** The first segment of every archive key the provider writes (`lex/`); the bucket grants writes below it only. */
  readonly archivePrefix: `${string}/`;
  /** The job id a static target produces, from the function Plan uses; undefined for a discovery target. */
  readonly jobIdOf: (target: T, home: Home, accounts: readonly Account[]) => string | undefined;
  /** What one of its archive keys names; undefined for a key of no known shape. `home` makes the ids Plan's. */
  readonly parseKey: (key: string, home?: Home) => KeyInfo | undefined;
  /** Its section of the restore sidecar (`<archive key>.restore.json`). */
  readonly restoreInfoSchema: z.ZodMiniType<R, unknown>;
}
