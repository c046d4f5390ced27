/**
 * The AWS accounts and regions BotVault backs up (README "Many accounts and
 * regions"): the config's `accounts` list, how a target names one, and where
 * a job's provider calls go.
 *
 * The stack's own account is the **home** account: its functions call Lex
 * there with their own credentials. Every other account is a **member**
 * account, reached through the role the config names (sts:AssumeRole, with
 * the external ID when one is set). Only identifiers live here: an external
 * ID is not a secret (IAM User Guide, "Access to AWS accounts owned by third
 * parties": "the external ID is not considered secret"), a role ARN neither.
 */
// zod/mini: Plan parses the embedded accounts with the same schemas (lib/core/schemas.ts says why).
import * as z from 'zod/mini';
import { InvalidInputError } from './errors';

/** The home account of a local run (`botvault local`, the demo, the tests): the simulators' default account. */
export const LOCAL_ACCOUNT_ID = '123456789012';

/** How a target names the stack's own account (also the default when it names none). */
export const HOME_ACCOUNT = 'home';

/** A 12-digit AWS account id. */
const ACCOUNT_ID = /^\d{12}$/;
/**
 * An AWS region name: `us-east-1`, `eu-central-2`, `ap-southeast-5`, `us-gov-west-1`, `cn-north-1`
 * (the partitions' region names, botocore's endpoints.json `regionRegex`es).
 */
export const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;
/** An IAM role ARN in any partition; group 1 is the account. Role paths and names per IAM's CreateRole limits. */
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
/** STS AssumeRole ExternalId: 2 to 1224 characters of `[\w+=,.@:/-]` (STS API reference, AssumeRole). */
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
/** A name an operator gives an account in the config (`prod`, `dev-eu`). */
const ACCOUNT_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

export const accountSchema = z.strictObject({
  /** The account's 12-digit id. */
  id: z.string().check(z.regex(ACCOUNT_ID, { message: 'must be a 12-digit AWS account id such as "111122223333"' })),
  /** A short name targets may use instead of the id. */
  name: z.optional(
    z.string().check(z.regex(ACCOUNT_NAME, { message: 'must start with a letter and hold only letters, digits, "-" and "_" (at most 64)' })),
  ),
  /** The member role BotVault's functions assume there (the BotVaultMemberAccount template's backup role). */
  roleArn: z.string().check(z.regex(ROLE_ARN, { message: 'must be an IAM role ARN such as "arn:aws:iam::111122223333:role/BotVaultBackup"' })),
  /** The external ID the role's trust policy requires (sts:ExternalId). */
  externalId: z.optional(
    z.string().check(z.regex(EXTERNAL_ID, { message: 'must be 2 to 1224 characters of letters, digits and +=,.@:/-_ (STS AssumeRole ExternalId)' })),
  ),
});
export type Account = z.infer<typeof accountSchema>;

export const accountsSchema = z.array(accountSchema);

/** How a target names an account: `home`, a 12-digit id or a name from `accounts`. */
export const accountRefSchema = z
  .string()
  .check(z.regex(/^(\d{12}|[A-Za-z][A-Za-z0-9_-]{0,63})$/, { message: 'must be "home", a 12-digit account id or the name of an entry in accounts' }));
export const regionSchema = z.string().check(z.regex(REGION, { message: 'must be an AWS region such as "us-east-1" or "eu-west-1"' }));

/** The stack's own account and region: what "home" means at run time. */
export interface Home {
  /** The stack's account id (the functions' own); undefined where it is not known (the CLI without a stack). */
  readonly account?: string;
  readonly region: string;
}

/** Where a job's provider calls go: an account and region, and the role that reaches the account (none at home). */
export interface Location {
  readonly account: string;
  readonly region: string;
  /** The member role to assume; absent in the home account. */
  readonly roleArn?: string;
  readonly externalId?: string;
}

/** The role ARN's account (the config checks it equals the entry's id). */
export const roleAccount = (roleArn: string): string | undefined => ROLE_ARN.exec(roleArn)?.[1];

/** The `accounts` entry a reference names (by id or name), or undefined for home and unknown references. */
export function accountNamed(ref: string, accounts: readonly Account[]): Account | undefined {
  if (ref === HOME_ACCOUNT) return undefined;
  return accounts.find((a) => a.id === ref || a.name === ref);
}

/** A config error in one reference: undefined when `ref` names home or an `accounts` entry. */
export function accountRefProblem(ref: string, accounts: readonly Account[]): string | undefined {
  if (ref === HOME_ACCOUNT || accountNamed(ref, accounts)) return undefined;
  const known = [HOME_ACCOUNT, ...accounts.map((a) => a.name ?? a.id)].map((n) => `"${n}"`).join(', ');
  return `"${ref}" is not an entry of accounts (known: ${known}); add {"id": "…", "roleArn": "…"} to accounts, or use "home" for the stack's own account`;
}

/**
 * Where calls for an account reference go. Home (or the home account's own id when it is not listed)
 * uses the functions' own credentials; an `accounts` entry uses its role. Throws on an unknown reference
 * (the config refuses those; a hand-edited state machine could still carry one).
 */
export function locate(ref: string | undefined, region: string | undefined, home: Home, accounts: readonly Account[]): Location {
  const where = region ?? home.region;
  const entry = ref === undefined ? undefined : accountNamed(ref, accounts);
  if (entry) return { account: entry.id, region: where, roleArn: entry.roleArn, ...(entry.externalId ? { externalId: entry.externalId } : {}) };
  if (ref === undefined || ref === HOME_ACCOUNT || ref === home.account) {
    if (!home.account) throw new InvalidInputError('The home account id is not known (BOTVAULT_ACCOUNT_ID is not set).');
    return { account: home.account, region: where };
  }
  throw new InvalidInputError(`Account ${accountRefProblem(ref, accounts)}`);
}

/** True when `where` is the stack's own account and region: its resources keep the short job ids. */
export const isHome = (where: { account?: string; region: string }, home: Home): boolean =>
  where.region === home.region && (where.account === undefined || where.account === home.account);
