/**
 * Generates Amazon Lex V2 exports in the real format (README "Export
 * formats" lists the sources). Facts reproduced:
 *  - container: what zip-writer.ts's `java` style writes (made by 2.0 on FAT,
 *    flags 0x0808, signed data descriptors, deflate, no extra fields, no
 *    directory entries); every entry stamped with the export's time;
 *  - `Manifest.json` (capital M) at the root,
 *    `{"metaData":{"schemaVersion":"1","fileFormat":"LexJson","resourceType":"BOT"}}`,
 *    its two last keys in either order, and placed first or last (both seen);
 *  - `<BotName>/Bot.json`, `<BotName>/BotLocales/<localeId>/BotLocale.json`,
 *    `.../Intents/<Intent>/Intent.json`, `.../Intents/<Intent>/Slots/<Slot>/Slot.json`,
 *    `.../SlotTypes/<SlotType>/SlotType.json`, in an order that changes
 *    between exports; minified JSON with explicit nulls, no trailing newline;
 *  - the JSON vocabulary of real exports: `identifier` (not `botId` /
 *    `localeId`), `messageGroupsList`, `slotPriorities: [{priority, slotName}]`,
 *    `slotConstraint` inside `valueElicitationSetting`,
 *    `valueSelectionSetting.resolutionStrategy` ORIGINAL_VALUE | TOP_RESOLUTION,
 *    `parentSlotTypeSignature`, `sampleUtterances: null` when empty,
 *    `errorLogSettings` in Bot.json, FallbackIntent (FALLBCKINT) in every locale,
 *    `initialResponseSetting` with a conditional code hook (2022+ exports).
 * Unconfirmed, and so generated as the import documentation describes them:
 *  - `ConversationFlow.json` beside an intent's Intent.json (visual
 *    conversation builder; seen only in third-party generators);
 *  - a locale export's type `BOT_LOCALE` and a custom vocabulary export's
 *    `CUSTOM_VOCABULARY` (no public example; by analogy with `BOT`), the
 *    vocabulary as `.../CustomVocabulary/CustomVocabulary.json`
 *    (`customVocabularyItems: [{phrase, weight, displayAs}]`);
 *  - a test set export: one CSV with the Test Workbench columns.
 */
import { writeZip, type Encryption, type ZipEntryInput } from './zip-writer';

interface LexSlotModel {
  name: string;
  slotTypeName: string;
  prompt: string;
  required?: boolean;
}

interface LexIntentModel {
  name: string;
  utterances: string[];
  slots?: LexSlotModel[];
  /** A ConversationFlow.json beside Intent.json (visual conversation builder). */
  conversationFlow?: boolean;
  /** The closing response. */
  closing?: string;
}

interface LexSlotTypeModel {
  name: string;
  values: { value: string; synonyms?: string[] }[];
  resolutionStrategy?: 'ORIGINAL_VALUE' | 'TOP_RESOLUTION';
}

interface LexLocaleModel {
  localeId: string;
  voiceId?: string;
  nluConfidenceThreshold?: number;
  intents: LexIntentModel[];
  slotTypes?: LexSlotTypeModel[];
  customVocabulary?: { phrase: string; weight?: number; displayAs?: string }[];
}

export interface LexBotModel {
  botId: string;
  botName: string;
  description?: string | null;
  childDirected?: boolean;
  idleSessionTTLInSeconds?: number;
  locales: LexLocaleModel[];
}

export type LexExportKind = 'BOT' | 'BOT_LOCALE' | 'CUSTOM_VOCABULARY';

export interface LexExportOptions {
  kind?: LexExportKind;
  /** The bot version exported (`DRAFT` or a number). @default 'DRAFT' */
  botVersion?: string;
  /** BOT_LOCALE and CUSTOM_VOCABULARY: the one locale exported. */
  localeId?: string;
  /** Varies entry order and key order, as between two real exports. @default 1 */
  seed?: number;
  /** The export's time: every entry's timestamp. */
  mtime?: Date;
  /** CreateExport's filePassword: every entry encrypted. */
  password?: string;
  /** @default 'aes256' */
  encryption?: Encryption;
}

export const LOCALE_NAMES: Record<string, string> = {
  en_US: 'English (US)',
  en_GB: 'English (GB)',
  en_AU: 'English (AU)',
  de_DE: 'German (DE)',
  es_US: 'Spanish (US)',
  es_ES: 'Spanish (ES)',
  fr_FR: 'French (FR)',
  fr_CA: 'French (CA)',
  it_IT: 'Italian (IT)',
  ja_JP: 'Japanese (JP)',
};

/** A small deterministic PRNG (mulberry32), so a seed reproduces an export exactly. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: T[], rnd: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** A 10-character identifier derived from a name (Lex's are random; these only need to be stable). */
function lexIdentifier(name: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  let h = 2166136261;
  let id = '';
  for (let i = 0; i < 10; i++) {
    for (const ch of `${name}#${i}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
    id += alphabet[h % alphabet.length];
  }
  return id;
}

const message = (text: string) => ({
  message: { plainTextMessage: { value: text }, ssmlMessage: null, customPayload: null, imageResponseCard: null },
  variations: null,
});

function botJson(bot: LexBotModel, version: string) {
  return {
    name: bot.botName,
    version,
    description: bot.description ?? null,
    identifier: bot.botId,
    errorLogSettings: { enabled: false },
    dataPrivacy: { childDirected: bot.childDirected ?? false },
    idleSessionTTLInSeconds: bot.idleSessionTTLInSeconds ?? 300,
  };
}

function botLocaleJson(l: LexLocaleModel) {
  return {
    name: LOCALE_NAMES[l.localeId] ?? l.localeId,
    identifier: l.localeId,
    version: null,
    description: null,
    voiceSettings: { voiceId: l.voiceId ?? 'Joanna', engine: 'neural' },
    nluConfidenceThreshold: l.nluConfidenceThreshold ?? 0.4,
    speechDetectionSensitivity: 'Default',
  };
}

function intentJson(i: LexIntentModel) {
  const slots = i.slots ?? [];
  return {
    name: i.name,
    identifier: lexIdentifier(`intent:${i.name}`),
    description: null,
    parentIntentSignature: null,
    sampleUtterances: i.utterances.length ? i.utterances.map((utterance) => ({ utterance })) : null,
    intentConfirmationSetting: null,
    intentClosingSetting: i.closing
      ? { closingResponse: { messageGroupsList: [message(i.closing)], allowInterrupt: true }, active: true, nextStep: null, conditional: null }
      : null,
    initialResponseSetting: {
      initialResponse: null,
      codeHook: { isActive: true, enableCodeHookInvocation: false, invocationLabel: null, postCodeHookSpecification: null },
      conditional: null,
      nextStep: {
        dialogAction: { type: slots.length ? 'ElicitSlot' : 'FulfillIntent', slotToElicit: slots[0]?.name ?? null, suppressNextMessage: null },
        intent: null,
        sessionAttributes: null,
      },
    },
    inputContexts: null,
    outputContexts: null,
    kendraConfiguration: null,
    dialogCodeHook: { enabled: false },
    fulfillmentCodeHook: { isActive: true, enabled: false, postFulfillmentStatusSpecification: null, fulfillmentUpdatesSpecification: null },
    slotPriorities: slots.map((s, n) => ({ priority: n + 1, slotName: s.name })),
  };
}

function slotJson(s: LexSlotModel) {
  return {
    name: s.name,
    identifier: lexIdentifier(`slot:${s.name}`),
    description: null,
    slotTypeName: s.slotTypeName,
    obfuscationSetting: null,
    valueElicitationSetting: {
      waitAndContinueSpecification: null,
      promptSpecification: {
        messageGroupsList: [message(s.prompt)],
        maxRetries: 4,
        allowInterrupt: true,
        messageSelectionStrategy: 'Random',
        promptAttemptsSpecification: null,
      },
      slotConstraint: s.required === false ? 'Optional' : 'Required',
      defaultValueSpecification: null,
      sampleUtterances: null,
      slotCaptureSetting: null,
    },
    multipleValuesSetting: null,
  };
}

function slotTypeJson(t: LexSlotTypeModel) {
  return {
    name: t.name,
    identifier: lexIdentifier(`slottype:${t.name}`),
    description: null,
    slotTypeValues: t.values.map((v) => ({
      sampleValue: { value: v.value },
      synonyms: v.synonyms?.length ? v.synonyms.map((value) => ({ value })) : null,
    })),
    parentSlotTypeSignature: null,
    valueSelectionSetting: { regexFilter: null, resolutionStrategy: t.resolutionStrategy ?? 'ORIGINAL_VALUE', advancedRecognitionSetting: null },
    externalSourceSetting: null,
    compositeSlotTypeSetting: null,
  };
}

function conversationFlowJson(i: LexIntentModel) {
  const nodes = [{ id: 'start', type: 'Start', next: i.slots?.[0] ? `slot-${i.slots[0].name}` : 'fulfillment' }];
  for (const [n, s] of (i.slots ?? []).entries())
    nodes.push({ id: `slot-${s.name}`, type: 'GetSlotValue', next: i.slots![n + 1] ? `slot-${i.slots![n + 1]!.name}` : 'fulfillment' });
  nodes.push({ id: 'fal', type: 'Fulfillment', next: 'end' });
  return { intentName: i.name, nodes, canvas: { zoom: 1, x: 0, y: 0 } };
}

const FALLBACK_INTENT = {
  name: 'FallbackIntent',
  identifier: 'FALLBCKINT',
  description: 'Default intent when no other intent matches',
  parentIntentSignature: 'AMAZON.FallbackIntent',
  sampleUtterances: null,
  intentConfirmationSetting: null,
  intentClosingSetting: null,
  inputContexts: null,
  outputContexts: null,
  kendraConfiguration: null,
  dialogCodeHook: null,
  fulfillmentCodeHook: null,
  slotPriorities: [],
};

/** Minified, as Lex writes it. */
const json = (v: unknown) => JSON.stringify(v);

function localeEntries(root: string, l: LexLocaleModel, kind: LexExportKind): ZipEntryInput[] {
  const dir = `${root}/BotLocales/${l.localeId}`;
  if (kind === 'CUSTOM_VOCABULARY') {
    const items = (l.customVocabulary ?? []).map((v) => ({ phrase: v.phrase, weight: v.weight ?? null, displayAs: v.displayAs ?? null }));
    return [{ name: `${dir}/CustomVocabulary/CustomVocabulary.json`, data: json({ customVocabularyItems: items }) }];
  }
  const out: ZipEntryInput[] = [{ name: `${dir}/BotLocale.json`, data: json(botLocaleJson(l)) }];
  for (const t of l.slotTypes ?? []) out.push({ name: `${dir}/SlotTypes/${t.name}/SlotType.json`, data: json(slotTypeJson(t)) });
  for (const i of l.intents) {
    out.push({ name: `${dir}/Intents/${i.name}/Intent.json`, data: json(intentJson(i)) });
    for (const s of i.slots ?? []) out.push({ name: `${dir}/Intents/${i.name}/Slots/${s.name}/Slot.json`, data: json(slotJson(s)) });
    if (i.conversationFlow) out.push({ name: `${dir}/Intents/${i.name}/ConversationFlow.json`, data: json(conversationFlowJson(i)) });
  }
  out.push({ name: `${dir}/Intents/FallbackIntent/Intent.json`, data: json(FALLBACK_INTENT) });
  if (l.customVocabulary?.length) {
    const items = l.customVocabulary.map((v) => ({ phrase: v.phrase, weight: v.weight ?? null, displayAs: v.displayAs ?? null }));
    out.push({ name: `${dir}/CustomVocabulary/CustomVocabulary.json`, data: json({ customVocabularyItems: items }) });
  }
  return out;
}

/** The manifest, its two last keys in an order that varies between exports (both orders are in real exports). */
export function lexManifest(kind: LexExportKind, fileFormat: string, rnd: () => number = Math.random): string {
  const meta = rnd() < 0.5 ? { schemaVersion: '1', resourceType: kind, fileFormat } : { schemaVersion: '1', fileFormat, resourceType: kind };
  return json({ metaData: meta });
}

/** The entries of an export, in the order a real export might hold them. */
export function lexExportEntries(bot: LexBotModel, opts: LexExportOptions = {}): ZipEntryInput[] {
  const kind = opts.kind ?? 'BOT';
  const rnd = random(opts.seed ?? 1);
  const root = bot.botName;
  let locales = bot.locales;
  if (kind !== 'BOT') {
    const l = bot.locales.find((x) => x.localeId === opts.localeId);
    if (!l) throw new Error(`lexExportEntries: bot ${bot.botName} has no locale ${opts.localeId}`);
    locales = [l];
  }
  const files: ZipEntryInput[] = kind === 'BOT' ? [{ name: `${root}/Bot.json`, data: json(botJson(bot, opts.botVersion ?? 'DRAFT')) }] : [];
  for (const l of locales) files.push(...localeEntries(root, l, kind));
  const manifest = { name: 'Manifest.json', data: lexManifest(kind, kind === 'CUSTOM_VOCABULARY' ? 'TSV' : 'LexJson', rnd) };
  const body = shuffle(files, rnd);
  return rnd() < 0.5 ? [manifest, ...body] : [...body, manifest];
}

/** A whole export zip. */
export function lexExportZip(bot: LexBotModel, opts: LexExportOptions = {}): Promise<Buffer> {
  return writeZip(lexExportEntries(bot, opts), {
    mtime: opts.mtime ?? new Date(Date.UTC(2024, 1, 19, 10, 30, 0)),
    ...(opts.password !== undefined ? { password: opts.password, encryption: opts.encryption ?? 'aes256' } : {}),
  });
}

/** A Test Workbench test set export: one CSV (its zip layout is unconfirmed). */
export function lexTestSetZip(testSetName: string, opts: { mtime?: Date; password?: string; encryption?: Encryption } = {}): Promise<Buffer> {
  const csv =
    'Line #,Conversation #,Source,Input,Expected Output Intent,Expected Output Slot 1\n1,1,User,book a hotel,BookHotel,\n2,1,Agent,What city?,,\n3,1,User,Seattle,BookHotel,City = Seattle\n';
  return writeZip([{ name: `${testSetName}.csv`, data: csv }], {
    mtime: opts.mtime ?? new Date(Date.UTC(2024, 1, 19, 10, 30, 0)),
    ...(opts.password !== undefined ? { password: opts.password, encryption: opts.encryption ?? 'aes256' } : {}),
  });
}

/** A sample bot in the shape the simulator's generated bots take: intents with utterances, a slot type, a slot. */
export function sampleLexBot(botId: string, botName: string, intents: string[], locales: string[] = ['en_US']): LexBotModel {
  const words = (s: string) => s.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  const slotType = `${botName}Choice`;
  return {
    botId,
    botName,
    locales: locales.map((localeId) => ({
      localeId,
      slotTypes: [{ name: slotType, values: intents.map((i) => ({ value: words(i) })), resolutionStrategy: 'ORIGINAL_VALUE' }],
      intents: intents.map((name, n) => ({
        name,
        utterances: [words(name), `I want to ${words(name)}`, `please ${words(name)}`],
        slots: n === 0 ? [{ name: 'Choice', slotTypeName: slotType, prompt: `Which ${words(slotType)}?` }] : [],
        conversationFlow: n === 0,
        closing: `Done: ${words(name)}.`,
      })),
    })),
  };
}
