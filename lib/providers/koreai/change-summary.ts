/**
 * What changed in a Kore.ai bot between two exports, in the bot's own terms
 * (issue 15, deliverable 1): dialogs added, removed or changed; per
 * language, utterances and patterns added and removed per dialog; knowledge
 * graph questions; bot and environment variables; bot settings. Read from
 * the real export layout (README "Export formats", Kore.ai):
 * `botDefinition.json` with `dialogs[]` (`lname`, `localeData.<lang>.name`,
 * `nodes[].componentId` → top-level `dialogComponents[]`), `sentences[]`
 * (`{taskId, sentence, language}`; taskId = the dialog's intent component),
 * `patterns[]` (`taskName`, `localeData.<lang>.patterns[].value`),
 * `knowledgeTasks[].faqs[]`, `variables[]`; and `config.json`'s
 * `envVariables[]` (`{key, value}`).
 *
 * Identity is by name (a dialog's `lname`, a question's text, a variable's
 * key); the ids Kore.ai assigns (`_id`, `refId`, component ids) and the
 * entry and key order do not count.
 */
import { canonicalJson } from '../../core/archive/canonical-json';
import { type BotChange, countedDelta, setDelta, withMembers } from '../changes';

interface DialogDef {
  readonly name: string;
  /** The dialog's flow with each node's component inlined, ids dropped, canonical. */
  readonly flow: string;
}

interface KoreDefinition {
  readonly dialogs: Map<string, DialogDef>;
  /** `<lname>\0<language>` → utterances. */
  readonly utterances: Map<string, string[]>;
  /** `<lname>\0<language>` → patterns. */
  readonly patterns: Map<string, string[]>;
  /** Question → answer (canonical). */
  readonly faqs: Map<string, string>;
  /** `bot:<name>` / `env:<key>` → value (canonical). */
  readonly variables: Map<string, string>;
  readonly settings: string;
}

/** Keys Kore.ai assigns (ids, references), not part of what the bot's author changed. */
const ID_KEYS = new Set(['_id', 'refId', 'componentId', 'dialogId', 'taskId', 'nodeId', 'connId']);
/** Top-level keys of botDefinition.json that the sections below compare, or that describe the export rather than the bot. */
const SECTIONS = new Set([
  'dialogs',
  'dialogComponents',
  'sentences',
  'patterns',
  'knowledgeTasks',
  'variables',
  'exportOptions',
  'environmentVersionInfo',
]);

/**
 * `localeData.<language>.nlMeta` counts the bot's utterances, patterns and
 * synonyms (`{"patterns":0,"synonyms":0,"mlUtterances":6}` in the export):
 * derived, it changes with every utterance added, which is reported as such,
 * so it is no setting of its own.
 */
function withoutDerived(v: unknown): unknown {
  const locales = (v as { localeData?: Record<string, Record<string, unknown>> }).localeData;
  if (!locales || typeof locales !== 'object') return v;
  return {
    ...(v as object),
    localeData: Object.fromEntries(
      Object.entries(locales).map(([lang, data]) => [lang, data && typeof data === 'object' ? { ...data, nlMeta: null } : data]),
    ),
  };
}

function withoutIds(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutIds);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).flatMap(([k, x]) => (ID_KEYS.has(k) ? [] : [[k, withoutIds(x)]])));
  return v;
}

function parse(data: Buffer | undefined): Record<string, unknown> {
  if (!data) return {};
  try {
    const v = JSON.parse(data.toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const list = (v: unknown): Record<string, unknown>[] =>
  Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => Boolean(x) && typeof x === 'object') : [];
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

function push(map: Map<string, string[]>, key: string, value: string): void {
  map.set(key, [...(map.get(key) ?? []), value]);
}

/** The bot's definition from an export's entries; entries it does not know are ignored. */
export function readKoreDefinition(entries: ReadonlyMap<string, Buffer>): KoreDefinition {
  const bot = parse(entries.get('botDefinition.json'));
  const config = parse(entries.get('config.json'));
  const components = new Map(list(bot.dialogComponents).map((c) => [str(c._id) ?? '', c]));
  const dialogs = new Map<string, DialogDef>();
  /** Intent component id → the dialog's lname (sentences point at it). */
  const byIntent = new Map<string, string>();
  for (const d of list(bot.dialogs)) {
    const lname = str(d.lname) ?? str(d._id) ?? '';
    const locale = d.localeData as Record<string, { name?: unknown }> | undefined;
    const name = str(Object.values(locale ?? {})[0]?.name) ?? lname;
    const nodes = list(d.nodes).map((n) => {
      const component = components.get(str(n.componentId) ?? '');
      if (component?.type === 'intent') byIntent.set(str(component._id)!, lname);
      return { ...n, component: component ?? null };
    });
    dialogs.set(lname, { name, flow: canonicalJson(withoutIds({ ...d, nodes })) });
  }
  const utterances = new Map<string, string[]>();
  for (const s of list(bot.sentences)) {
    const dialog = byIntent.get(str(s.taskId) ?? '');
    const sentence = str(s.sentence);
    if (dialog !== undefined && sentence !== undefined) push(utterances, `${dialog}\0${str(s.language) ?? ''}`, sentence);
  }
  const patterns = new Map<string, string[]>();
  for (const p of list(bot.patterns)) {
    const dialog = (str(p.taskName) ?? '').toLowerCase();
    for (const [lang, data] of Object.entries((p.localeData as Record<string, { patterns?: unknown }>) ?? {})) {
      for (const v of list(data?.patterns)) {
        const value = str(v.value);
        if (value !== undefined) push(patterns, `${dialog}\0${lang}`, value);
      }
    }
  }
  const faqs = new Map<string, string>();
  for (const task of list(bot.knowledgeTasks)) {
    for (const f of list(task.faqs)) {
      const question = str(f.question);
      if (question !== undefined) faqs.set(question, canonicalJson(withoutIds(f.answer ?? null)));
    }
  }
  const variables = new Map<string, string>();
  for (const v of list(bot.variables)) variables.set(`bot variable ${str(v.key) ?? str(v.name) ?? '?'}`, canonicalJson(withoutIds(v)));
  for (const v of list(config.envVariables)) variables.set(`environment variable ${str(v.key) ?? '?'}`, canonicalJson(v.value ?? null));
  const settings = canonicalJson(withoutDerived(withoutIds(Object.fromEntries(Object.entries(bot).filter(([k]) => !SECTIONS.has(k))))));
  return { dialogs, utterances, patterns, faqs, variables, settings };
}

/** The changes from `before` to `after`: bot settings, dialogs (by name), knowledge graph, variables. */
export function koreChanges(before: KoreDefinition, after: KoreDefinition): BotChange[] {
  const out: BotChange[] = [];
  if (before.settings !== after.settings) out.push({ subject: 'bot settings', detail: 'changed' });
  for (const lname of [...new Set([...before.dialogs.keys(), ...after.dialogs.keys()])].sort()) {
    const x = before.dialogs.get(lname);
    const y = after.dialogs.get(lname);
    const name = (y ?? x)!.name;
    if (!x || !y) {
      out.push({ subject: `dialog ${name}`, detail: x ? 'removed' : 'added' });
      continue;
    }
    if (x.flow !== y.flow) out.push({ subject: `dialog ${name}`, detail: 'flow changed' });
  }
  for (const [section, noun] of [
    ['utterances', 'utterance'],
    ['patterns', 'pattern'],
  ] as const) {
    const keys = [...new Set([...before[section].keys(), ...after[section].keys()])].sort();
    for (const key of keys) {
      const [lname, lang] = key.split('\0') as [string, string];
      // Only for dialogs on both sides: an added or removed dialog says so above.
      const dialog = before.dialogs.get(lname) && after.dialogs.get(lname);
      if (!dialog) continue;
      const d = setDelta(before[section].get(key) ?? [], after[section].get(key) ?? []);
      if (d.added.length || d.removed.length) {
        out.push(withMembers({ ...(lang ? { scope: lang } : {}), subject: `dialog ${dialog.name}`, detail: countedDelta(d, noun).join(', ') }, d));
      }
    }
  }
  const questions = setDelta(before.faqs.keys(), after.faqs.keys());
  const answers = [...before.faqs.keys()].filter((q) => after.faqs.has(q) && after.faqs.get(q) !== before.faqs.get(q));
  const kg = [
    ...countedDelta(questions, 'question'),
    ...(answers.length ? [`${answers.length} ${answers.length === 1 ? 'answer' : 'answers'} changed`] : []),
  ];
  if (kg.length) out.push(withMembers({ subject: 'knowledge graph', detail: kg.join(', ') }, questions));
  for (const key of [...new Set([...before.variables.keys(), ...after.variables.keys()])].sort()) {
    const x = before.variables.get(key);
    const y = after.variables.get(key);
    if (x === y) continue;
    out.push({ subject: key, detail: x === undefined ? 'added' : y === undefined ? 'removed' : 'changed' });
  }
  return out;
}
