/**
 * Every provider's IAM (lib/providers/<name>/grants.ts), keyed by name: a
 * provider without grants does not compile. The stack calls these with a
 * GrantContext over its Lambdas (lib/providers/grant-context.ts).
 */
import { PROVIDER_NAMES, type ProviderName } from '../core/contracts';
import type { Target } from './definitions';
import { type GrantContext, type ProviderGrants, unique } from './grant-context';
import { koreaiGrants } from './koreai/grants';
import { lexGrants } from './lex/grants';

const GRANTS = {
  lex: lexGrants,
  koreai: koreaiGrants,
} satisfies { [P in ProviderName]: ProviderGrants<Extract<Target, { provider: P }>> };

/** Each provider with targets in the config, its grants, and those targets. */
const withTargets = (targets: readonly Target[]) =>
  PROVIDER_NAMES.flatMap((name) => {
    const own = targets.filter((t) => t.provider === name);
    return own.length ? [{ grants: GRANTS[name] as ProviderGrants<Target>, own }] : [];
  });

/** Grants each provider what its targets need (a provider without targets gets nothing). */
export function grantProviders(targets: readonly Target[], ctx: GrantContext): void {
  for (const { grants, own } of withTargets(targets)) grants.grant(own, ctx);
}

/** Every secret needed to open the stored archives (names or ARNs): what the restore drill may read. */
export function archiveSecrets(targets: readonly Target[]): string[] {
  return unique(withTargets(targets).flatMap(({ grants, own }) => grants.archiveSecrets?.(own) ?? []));
}
