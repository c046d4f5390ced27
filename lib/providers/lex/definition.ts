/** Amazon Lex V2's definition (lib/providers/definition.ts): target schema, key rules, sidecar section. */
import { type Account, accountNamed, accountRefProblem, HOME_ACCOUNT } from '../../core/accounts';
import type { ProviderDefinition, TargetIssue } from '../definition';
import { LEX_ARCHIVE_PREFIX, lexJobIdAt, parseLexKey, specForTarget } from './keys';
import { type LexRestoreInfo, lexRestoreInfoSchema } from './restore-info';
import { type LexTarget, lexTargetSchema } from './target';

/** The account id a reference names: an `accounts` entry's id, a bare id, or undefined for home. */
function accountIdOf(ref: string | undefined, accounts: readonly Account[]): string | undefined {
  if (ref === undefined || ref === HOME_ACCOUNT) return undefined;
  return accountNamed(ref, accounts)?.id ?? ref;
}

/** Every account a target names is home or an `accounts` entry. */
function checkLexTargets(targets: readonly { index: number; target: LexTarget }[], config: { accounts: readonly Account[] }): TargetIssue[] {
  const issues: TargetIssue[] = [];
  for (const { index, target } of targets) {
    // The same account (by name and by id) or region twice would list it twice: one Plan, twice the ListBots calls.
    const ids = (target.accounts ?? []).map((ref) => accountIdOf(ref, config.accounts) ?? HOME_ACCOUNT);
    const twice = ids.find((id, i) => ids.indexOf(id) !== i);
    if (twice) issues.push({ index, field: 'accounts', message: `names account ${twice} twice (by id and by name, or repeated); name each once` });
    const regions = target.regions ?? [];
    const again = regions.find((r, i) => regions.indexOf(r) !== i);
    if (again) issues.push({ index, field: 'regions', message: `names ${again} twice; name each region once` });
    for (const [field, refs] of [
      ['account', target.account === undefined ? [] : [target.account]],
      ['accounts', target.accounts ?? []],
    ] as const) {
      for (const ref of refs) {
        const problem = accountRefProblem(ref, config.accounts);
        if (problem) issues.push({ index, field, message: `names ${problem}` });
      }
    }
  }
  return issues;
}

export const lexDefinition: ProviderDefinition<LexTarget, LexRestoreInfo> = {
  targetSchema: lexTargetSchema,
  checkTargets: checkLexTargets,
  archivePrefix: LEX_ARCHIVE_PREFIX,
  jobIdOf: (target, home, accounts) => {
    if (target.discover) return undefined;
    const account = accountIdOf(target.account, accounts) ?? home.account;
    return lexJobIdAt({ ...(account ? { account } : {}), region: target.region ?? home.region }, specForTarget(target), home);
  },
  parseKey: parseLexKey,
  restoreInfoSchema: lexRestoreInfoSchema,
};
