/**
 * Provider name → implementation. A provider is a folder beside lex/ and
 * koreai/ and one line here (DESIGN §4); the state machine never changes. The
 * registry is keyed by PROVIDER_NAMES (lib/core/contracts.ts): a name without
 * an implementation, or an implementation without a name, does not compile.
 */
import type { LexModelsV2Client } from '@aws-sdk/client-lex-models-v2';
import type { ProviderName } from '../core/contracts';
import { InvalidInputError } from '../core/errors';
import type { SecretReader } from '../core/secrets';
import { KoreaiProvider } from './koreai/provider';
import { type LexEndpoint, LexProvider } from './lex/provider';
import type { Provider } from './types';

/** Everything a provider may need; handlers build it once per container (clients.ts). */
export interface ProviderDeps {
  readonly lex: LexModelsV2Client;
  /** Lex at another region or member account (lambdas/shared/clients.ts lexClientAt). */
  readonly lexAt?: (where: LexEndpoint) => LexModelsV2Client;
  readonly secrets: SecretReader;
}

const PROVIDERS = {
  lex: (deps) => new LexProvider({ lex: deps.lex, secrets: deps.secrets, ...(deps.lexAt ? { lexAt: deps.lexAt } : {}) }),
  koreai: (deps) => new KoreaiProvider({ secrets: deps.secrets }),
} satisfies Record<ProviderName, (deps: ProviderDeps) => Provider>;

const isProviderName = (name: string): name is ProviderName => Object.hasOwn(PROVIDERS, name);

export function providerFor(name: string, deps: ProviderDeps): Provider {
  const create = isProviderName(name) ? PROVIDERS[name] : undefined;
  if (!create) throw new InvalidInputError(`Unknown provider "${name}"; known: ${Object.keys(PROVIDERS).join(', ')}.`);
  return create(deps);
}
