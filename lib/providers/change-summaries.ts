/**
 * The change summary of each provider (lib/providers/<name>/change-summary.ts),
 * by provider name: what `botvault diff` shows first (issue 15).
 */
import type { BotChange } from './changes';
import { koreChanges, readKoreDefinition } from './koreai/change-summary';
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
