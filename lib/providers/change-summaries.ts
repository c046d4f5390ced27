/**
 * The change summary of each provider (lib/providers/<name>/change-summary.ts),
 * by provider name: what `botvault diff` shows first (issue 15).
 */
import type { BotChange } from './changes';
import { koreChanges, readKoreDefinition } from './koreai/change-summary';
import { koreaiBotName } from './koreai/export-format';
import { lexChanges, readLexDefinition } from './lex/change-summary';

type Entries = ReadonlyMap<string, Buffer>;

const SUMMARIES: Record<string, (before: Entries, after: Entries) => BotChange[]> = {
  lex: (a, b) => lexChanges(readLexDefinition(a), readLexDefinition(b)),
  koreai: (a, b) => koreChanges(readKoreDefinition(a), readKoreDefinition(b)),
};

/** The changes between two archives' entries, or undefined for a provider without a summary. */
export function changeSummary(provider: string, before: Entries, after: Entries): BotChange[] | undefined {
  return SUMMARIES[provider]?.(before, after);
}

function json(data: Buffer | undefined): Record<string, unknown> | undefined {
  if (!data) return undefined;
  try {
    const v = JSON.parse(data.toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The bot's own name as its export states it, for lines that name the bot
 * when the job does not (explicit targets). Lex: `<Bot>/Bot.json` `name`,
 * else the one folder beside Manifest.json, which is named after the bot;
 * Kore.ai: `localeData.<defaultLanguage>.name` of botDefinition.json
 * (koreaiBotName), else config.json's `name` (README "Export formats").
 */
export function definitionName(provider: string, entries: Entries): string | undefined {
  const pick = (v: unknown) => (typeof v === 'string' && v.trim() ? v : undefined);
  if (provider === 'lex') {
    const names = [...entries.keys()];
    const botJson = names.find((n) => /^[^/]+\/Bot\.json$/.test(n));
    return pick(botJson ? json(entries.get(botJson))?.name : undefined) ?? names.find((n) => /^[^/]+\/BotLocales\//.test(n))?.split('/')[0];
  }
  if (provider === 'koreai') return koreaiBotName(json(entries.get('botDefinition.json'))) ?? pick(json(entries.get('config.json'))?.name);
  return undefined;
}
