/**
 * Provider name → implementation. A new provider is one file next to lex.ts
 * and one line here (DESIGN §4); the state machine never changes.
 */
import type { LexModelsV2Client } from '@aws-sdk/client-lex-models-v2';
import { InvalidInputError } from '../../lib/core/errors';
import type { SecretReader } from '../../lib/core/secrets';
import { KoreaiProvider } from './koreai';
import { LexProvider } from './lex';
import type { Provider } from './types';

/** Everything a provider may need; handlers build it once per container (clients.ts). */
export interface ProviderDeps {
  readonly lex: LexModelsV2Client;
  readonly secrets: SecretReader;
}

const PROVIDERS: Record<string, (deps: ProviderDeps) => Provider> = {
  lex: (deps) => new LexProvider({ lex: deps.lex, secrets: deps.secrets }),
  koreai: (deps) => new KoreaiProvider({ secrets: deps.secrets }),
};

export function providerFor(name: string, deps: ProviderDeps): Provider {
  const create = PROVIDERS[name];
  if (!create) throw new InvalidInputError(`Unknown provider "${name}"; known: ${Object.keys(PROVIDERS).join(', ')}.`);
  return create(deps);
}
