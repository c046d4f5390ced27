/**
 * What changed in a Lex V2 bot between two exports, in the bot's own terms
 * (issue 15, deliverable 1, first part): per locale, intents, slots and slot
 * types added, removed or changed; utterances added and removed per intent;
 * slot type values added and removed; custom vocabulary phrases; bot and
 * locale settings. Read from the real export layout (README "Export
 * formats": `<Bot>/Bot.json`, `<Bot>/BotLocales/<locale>/BotLocale.json`,
 * `.../Intents/<Intent>/Intent.json`, `.../Intents/<Intent>/Slots/<Slot>/Slot.json`,
 * `.../SlotTypes/<SlotType>/SlotType.json`, `.../CustomVocabulary/CustomVocabulary.json`).
 *
 * Identity is by name (an intent's `name`, a locale's `identifier`), never
 * by entry position or order; ids and versions Lex assigns (`identifier`
 * below the locale, `version`) do not count, so two exports of an unchanged
 * bot — reordered, re-keyed, re-stamped — show no change.
 */
import { canonicalJson } from '../../core/archive/canonical-json';
import { type BotChange, countedDelta as plusMinus, INTENT_REST_CHANGED, setDelta as delta, withMembers } from '../changes';

interface IntentDef {
  readonly utterances: readonly string[];
  readonly slots: Map<string, string>;
  /** Everything else (prompts, responses, conditions, code hooks), canonical. */
  readonly rest: string;
}

interface SlotTypeDef {
  /** Value → its synonyms, canonical. */
  readonly values: Map<string, string>;
  readonly rest: string;
}

interface LocaleDef {
  settings?: string;
  readonly intents: Map<string, IntentDef>;
  readonly slotTypes: Map<string, SlotTypeDef>;
  vocabulary?: Set<string>;
}

interface LexDefinition {
  bot?: string;
  readonly locales: Map<string, LocaleDef>;
}

/** Keys Lex assigns or stamps, not part of what the bot's author changed. */
const IGNORED = new Set(['identifier', 'version', 'lastUpdatedDateTime', 'creationDateTime']);

function parse(data: Buffer): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(data.toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Canonical JSON of `obj` without the ignored keys (at the top) and without `drop`. */
function rest(obj: Record<string, unknown>, drop: readonly string[] = []): string {
  const kept = Object.fromEntries(Object.entries(obj).filter(([k]) => !IGNORED.has(k) && !drop.includes(k)));
  return canonicalJson(kept);
}

const text = (v: unknown) => (typeof v === 'string' ? v : undefined);

function locale(def: LexDefinition, id: string): LocaleDef {
  const known = def.locales.get(id);
  if (known) return known;
  const created: LocaleDef = { intents: new Map(), slotTypes: new Map() };
  def.locales.set(id, created);
  return created;
}

/** The bot's definition from an export's entries (a bot or a locale export). Entries it does not know are ignored. */
export function readLexDefinition(entries: ReadonlyMap<string, Buffer>): LexDefinition {
  const def: LexDefinition = { locales: new Map() };
  const slotsByIntent = new Map<string, Map<string, string>>();
  for (const [name, data] of entries) {
    const parts = name.split('/');
    const file = parts[parts.length - 1];
    if (parts.length === 2 && file === 'Bot.json') {
      const bot = parse(data);
      if (bot) def.bot = rest(bot);
      continue;
    }
    const at = parts.indexOf('BotLocales');
    const localeId = at >= 0 ? parts[at + 1] : undefined;
    if (!localeId) continue;
    const tail = parts.slice(at + 2);
    const json = parse(data);
    if (!json) continue;
    const l = locale(def, localeId);
    if (tail.length === 1 && file === 'BotLocale.json') l.settings = rest(json);
    else if (tail.length === 3 && tail[0] === 'Intents' && file === 'Intent.json') {
      const intent = text(json.name) ?? tail[1]!;
      const utterances = Array.isArray(json.sampleUtterances)
        ? json.sampleUtterances.flatMap((u) =>
            typeof (u as { utterance?: unknown })?.utterance === 'string' ? [(u as { utterance: string }).utterance] : [],
          )
        : [];
      const slots = slotsByIntent.get(`${localeId}/${tail[1]}`) ?? new Map<string, string>();
      slotsByIntent.set(`${localeId}/${tail[1]}`, slots);
      l.intents.set(intent, { utterances, slots, rest: rest(json, ['sampleUtterances', 'slotPriorities']) });
    } else if (tail.length === 5 && tail[0] === 'Intents' && tail[2] === 'Slots' && file === 'Slot.json') {
      const slots = slotsByIntent.get(`${localeId}/${tail[1]}`) ?? new Map<string, string>();
      slotsByIntent.set(`${localeId}/${tail[1]}`, slots);
      slots.set(text(json.name) ?? tail[3]!, rest(json, ['intentId']));
    } else if (tail.length === 3 && tail[0] === 'SlotTypes' && file === 'SlotType.json') {
      const values = new Map<string, string>();
      for (const v of Array.isArray(json.slotTypeValues) ? json.slotTypeValues : []) {
        const value = text((v as { sampleValue?: { value?: unknown } })?.sampleValue?.value);
        if (value !== undefined) values.set(value, canonicalJson((v as { synonyms?: unknown }).synonyms ?? null));
      }
      l.slotTypes.set(text(json.name) ?? tail[1]!, { values, rest: rest(json, ['slotTypeValues']) });
    } else if (tail.length === 2 && tail[0] === 'CustomVocabulary') {
      const items = Array.isArray(json.customVocabularyItems) ? json.customVocabularyItems : [];
      l.vocabulary = new Set(
        items.flatMap((i) => (typeof (i as { phrase?: unknown })?.phrase === 'string' ? [(i as { phrase: string }).phrase] : [])),
      );
    }
  }
  return def;
}

/** The changes from `before` to `after`, locale by locale, in a stable order (locales, then intents, then slot types by name). */
export function lexChanges(before: LexDefinition, after: LexDefinition): BotChange[] {
  const out: BotChange[] = [];
  if (before.bot !== after.bot) out.push({ subject: 'bot settings', detail: 'changed' });
  const localeIds = [...new Set([...before.locales.keys(), ...after.locales.keys()])].sort();
  for (const id of localeIds) {
    const a = before.locales.get(id);
    const b = after.locales.get(id);
    if (!a || !b) {
      out.push({ scope: id, subject: `locale ${id}`, detail: a ? 'removed' : 'added' });
      continue;
    }
    if (a.settings !== b.settings) out.push({ scope: id, subject: 'locale settings', detail: 'changed' });
    for (const name of [...new Set([...a.intents.keys(), ...b.intents.keys()])].sort()) {
      const x = a.intents.get(name);
      const y = b.intents.get(name);
      if (!x || !y) {
        out.push({ scope: id, subject: `intent ${name}`, detail: x ? 'removed' : 'added' });
        continue;
      }
      const utterances = delta(x.utterances, y.utterances);
      const slots = delta(x.slots.keys(), y.slots.keys());
      const changedSlots = [...x.slots.keys()].filter((s) => y.slots.has(s) && y.slots.get(s) !== x.slots.get(s));
      const details = [
        ...plusMinus(utterances, 'utterance'),
        ...slots.added.map((s) => `slot ${s} added`),
        ...slots.removed.map((s) => `slot ${s} removed`),
        ...changedSlots.map((s) => `slot ${s} changed`),
        ...(x.rest !== y.rest ? [INTENT_REST_CHANGED] : []),
      ];
      if (details.length) {
        out.push(withMembers({ scope: id, subject: `intent ${name}`, detail: details.join(', ') }, utterances));
      }
    }
    for (const name of [...new Set([...a.slotTypes.keys(), ...b.slotTypes.keys()])].sort()) {
      const x = a.slotTypes.get(name);
      const y = b.slotTypes.get(name);
      if (!x || !y) {
        out.push({ scope: id, subject: `slot type ${name}`, detail: x ? 'removed' : 'added' });
        continue;
      }
      const values = delta(x.values.keys(), y.values.keys());
      const synonyms = [...x.values.keys()].filter((v) => y.values.has(v) && y.values.get(v) !== x.values.get(v));
      const details = [
        ...plusMinus(values, 'value'),
        ...(synonyms.length ? [`synonyms of ${synonyms.length} ${synonyms.length === 1 ? 'value' : 'values'} changed`] : []),
        ...(x.rest !== y.rest ? ['settings changed'] : []),
      ];
      if (details.length) {
        out.push(withMembers({ scope: id, subject: `slot type ${name}`, detail: details.join(', ') }, values));
      }
    }
    const vocabulary = delta(a.vocabulary ?? [], b.vocabulary ?? []);
    if (vocabulary.added.length || vocabulary.removed.length) {
      out.push(withMembers({ scope: id, subject: 'custom vocabulary', detail: plusMinus(vocabulary, 'phrase', 'phrases').join(', ') }, vocabulary));
    }
  }
  return out;
}
