/**
 * How a provider states the IAM its targets need, without the CDK: the stack
 * (lib/botvault-stack.ts) implements GrantContext on its Lambdas' roles, so a
 * provider folder names actions and resources and never loads aws-cdk-lib.
 */

/** The workflow's Lambdas a provider may grant to. */
export type GrantedFunction = 'plan' | 'startExport' | 'checkExport' | 'storeArchive' | 'cleanup';

import type { Account } from '../core/accounts';

/** A resource in the stack's own account (and region, unless it names another): `arn:<partition>:<service>:<region>:<account>:<resource><sep><name>`. */
export interface ResourceArn {
  readonly service: string;
  readonly resource: string;
  readonly name: string;
  /** `/` (Lex: `bot/<botId>`) or `:` (Secrets Manager: `secret:<name>`). */
  readonly sep: '/' | ':';
  /** Another region of the stack's account (a Lex target's `region`). @default the stack's region */
  readonly region?: string;
}

export interface GrantContext {
  /** The config's member accounts (lib/core/accounts.ts): a target in one is reached through its role. */
  readonly accounts: readonly Account[];
  /** Lets `fn` call `actions` on `resources`; nothing is granted when `resources` is empty. */
  allow(fn: GrantedFunction, actions: readonly string[], resources: readonly string[]): void;
  /** The ARN of `resource` in the stack's account and region. */
  arn(resource: ResourceArn): string;
  /** The ARN pattern of a secret named by name (`<name>-??????`) or by ARN (as given). */
  secretArn(ref: string): string;
  /** Records why cdk-nag's wildcard finding (AwsSolutions-IAM5) on `fn`'s `resource` is the narrowest IAM allows. */
  acknowledgeWildcard(fn: GrantedFunction, resource: ResourceArn | '*', reason: string): void;
}

/** A provider's IAM, for the targets of the config that are its own (called only when there is at least one). */
export interface ProviderGrants<T> {
  /** Grants the workflow's Lambdas what these targets need. */
  readonly grant: (targets: readonly T[], ctx: GrantContext) => void;
  /** Secrets (names or ARNs) needed to open the stored archives: the restore drill may read them. */
  readonly archiveSecrets?: (targets: readonly T[]) => string[];
}

/** Sorted, without repeats: the same config always yields the same policy. */
export const unique = (values: readonly string[]): string[] => [...new Set(values)].sort();
