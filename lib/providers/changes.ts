/**
 * A change between two versions of a bot, in the bot's own terms, as every
 * provider's change summary reports it (lib/providers/<name>/change-summary.ts;
 * issue 15): `scope` is the Lex locale or the Kore.ai language it is in.
 */
export interface BotChange {
  /** The locale (Lex) or language (Kore.ai); absent for the bot as a whole. */
  readonly scope?: string;
  /** What changed, e.g. `intent OrderFlowers`, `dialog LateCheckout`. */
  readonly subject: string;
  /** How, e.g. `+3 utterances, -1 utterance`, `added`, `changed`. */
  readonly detail: string;
  /** The utterances, values or phrases added (when the detail counts them). */
  readonly added?: readonly string[];
  readonly removed?: readonly string[];
}

/** The one part of a detail that holds a comma itself (lex/change-summary.ts, an intent's other content). */
export const INTENT_REST_CHANGED = 'prompts, responses or settings changed';

/**
 * A detail's parts: the summaries join them with ", " (`+3 utterances, -1 utterance, slot Size added`);
 * a part that holds ", " itself (INTENT_REST_CHANGED) stays whole.
 */
export function detailParts(detail: string): string[] {
  const marker = '\u0000';
  return detail
    .split(INTENT_REST_CHANGED)
    .join(marker)
    .split(', ')
    .map((part) => part.split(marker).join(INTENT_REST_CHANGED));
}

/** Added and removed members of two lists, each once, in the order they appear. */
export function setDelta(before: Iterable<string>, after: Iterable<string>): { added: string[]; removed: string[] } {
  const a = new Set(before);
  const b = new Set(after);
  return { added: [...b].filter((x) => !a.has(x)), removed: [...a].filter((x) => !b.has(x)) };
}

/** `+3 utterances`, `-1 utterance`: the counts of a delta. */
export function countedDelta(d: { added: readonly string[]; removed: readonly string[] }, noun: string, plural = `${noun}s`): string[] {
  const counted = (n: number) => `${n} ${n === 1 ? noun : plural}`;
  return [...(d.added.length ? [`+${counted(d.added.length)}`] : []), ...(d.removed.length ? [`-${counted(d.removed.length)}`] : [])];
}

/** A change carrying the delta's members, when it has any. */
export function withMembers(change: BotChange, d: { added: readonly string[]; removed: readonly string[] }): BotChange {
  return { ...change, ...(d.added.length ? { added: d.added } : {}), ...(d.removed.length ? { removed: d.removed } : {}) };
}

/** One line per scope: `en_US: intent OrderFlowers +3 utterances; slot type FlowerTypes +1 value`. */
export function formatChanges(changes: readonly BotChange[]): string[] {
  const byScope = new Map<string, string[]>();
  for (const c of changes) {
    const key = c.scope ?? '(bot)';
    byScope.set(key, [...(byScope.get(key) ?? []), `${c.subject} ${c.detail}`]);
  }
  return [...byScope].map(([where, items]) => `${where}: ${items.join('; ')}`);
}

/**
 * The longest one bot's line may be, in UTF-8 bytes: every job result travels
 * in the execution's state (256 KiB for all of them, README "Scaling"), and
 * the full list is in the change record anyway.
 */
const MAX_LINE_BYTES = 200;

/** A line for a manifest, a notification or a commit subject: no control characters, at most MAX_LINE_BYTES. */
export function clipLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is replaced
  const line = text.replace(/[\x00-\x1f\x7f]+/g, ' ');
  if (Buffer.byteLength(line) <= MAX_LINE_BYTES) return line;
  let out = '';
  for (const ch of line) {
    if (Buffer.byteLength(out + ch) > MAX_LINE_BYTES - 3) break;
    out += ch;
  }
  return `${out}...`;
}

/**
 * One bot's changes on one line, for the run manifest and the run's
 * notification: `OrderFlowers (en_US): intent OrderFlowers +3 utterances, slot
 * type FlowerTypes +1 value; OrderFlowers: bot settings changed`; undefined
 * when nothing changed (an archive written again with `changeDetection: "always"`).
 */
export function changeLine(bot: string, changes: readonly BotChange[]): string | undefined {
  const byScope = new Map<string | undefined, string[]>();
  for (const c of changes) byScope.set(c.scope, [...(byScope.get(c.scope) ?? []), `${c.subject} ${c.detail}`]);
  const line = [...byScope].map(([scope, items]) => `${bot}${scope === undefined ? '' : ` (${scope})`}: ${items.join(', ')}`).join('; ');
  return line ? clipLine(line) : undefined;
}
