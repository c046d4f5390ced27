/**
 * Three Lex bots for the simulator, shared by the handler, workflow and CLI
 * tests: one with a published version and two locales, one with no version
 * but DRAFT, one whose backed-up version is not its first.
 */
import type { SimBot } from '../simulators/lex-simulator';

export const THREE_BOTS: SimBot[] = [
  { botId: 'ALPHABOT01', botName: 'Alpha', versions: ['1'], locales: ['en_US', 'de_DE'], intents: ['Greet', 'Order'] },
  { botId: 'BRAVOBOT02', botName: 'Bravo', versions: [], locales: ['en_US'], intents: ['Help'] },
  { botId: 'CHARLIE003', botName: 'Charlie', versions: ['1', '2'], locales: ['en_GB'], intents: ['Book'] },
];

/** One bot target each: Alpha's and Bravo's DRAFT, Charlie's version 2. */
export const THREE_BOT_TARGETS = [
  { provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' },
  { provider: 'lex', botId: 'BRAVOBOT02', botVersion: 'DRAFT' },
  { provider: 'lex', botId: 'CHARLIE003', botVersion: '2' },
];
