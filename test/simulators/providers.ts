/**
 * Each provider's simulator hook, keyed by provider name like every registry
 * in lib/providers (a provider without one does not compile): it starts the
 * provider's simulator serving one bot, and says how a config and the SDK
 * clients point at it. The registry-agreement test (test/providers) runs
 * every provider through its hook; a new provider adds its simulator here.
 */
import type { ProviderName } from '../../lib/core/contracts';
import type { Target } from '../../lib/providers/definitions';
import { startKoreSimulator } from './koreai-simulator';
import { startLexSimulator } from './lex-simulator';

export interface RunningSimulator {
  /** A config target this simulator serves (exported with no fault). */
  readonly target: Target;
  /** The simulator's origin: downloads come from it, so a config lists it in downloadAllowlist. */
  readonly origin: string;
  /** Environment the provider's SDK clients need to reach it (the standard AWS_ENDPOINT_URL_<SERVICE> variables). */
  readonly env: Readonly<Record<string, string>>;
  /** Secrets the target reads, name → value, for the Secrets Manager simulator. */
  readonly secrets: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

export type SimulatorHook = () => Promise<RunningSimulator>;

const KORE_APP = { clientId: 'cs-hook-botvault', clientSecret: 'hook-secret-0123456789abcdef' };
const KORE_BOT = 'st-00000000-1111-4222-8333-444444444444';

export const SIMULATORS = {
  lex: async () => {
    const sim = await startLexSimulator({
      bots: [{ botId: 'HOOKBOT001', botName: 'HookBot', versions: ['1'], locales: ['en_US'], intents: ['Greet'] }],
    });
    return {
      target: { provider: 'lex', botId: 'HOOKBOT001', botVersion: 'DRAFT' },
      origin: sim.url,
      env: { AWS_ENDPOINT_URL_LEX_MODELS_V2: sim.url },
      secrets: {},
      close: () => sim.close(),
    };
  },
  koreai: async () => {
    const sim = await startKoreSimulator({ apps: [KORE_APP], bots: [{ botId: KORE_BOT, botName: 'HookBot', dialogs: ['Welcome'] }] });
    return {
      target: {
        provider: 'koreai',
        host: sim.url,
        botId: KORE_BOT,
        credentialsSecret: 'botvault/koreai-hook',
        exportType: 'published',
        enforceJti: false,
        downloadHosts: [],
      },
      origin: sim.url,
      env: {},
      secrets: { 'botvault/koreai-hook': JSON.stringify(KORE_APP) },
      close: () => sim.close(),
    };
  },
} satisfies Record<ProviderName, SimulatorHook>;
