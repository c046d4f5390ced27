/**
 * Generates Kore.ai bot exports in the real format (README "Export formats"
 * lists the sources: public exports of 2019-2022, platform 9.1.7). Facts
 * reproduced:
 *  - three flat entries, in this order: `botDefinition.json`, `config.json`,
 *    `icon.png` (a binary PNG), plus bot function `.js` files when the bot
 *    has them; the container as zip-writer.ts's `kore` style writes it;
 *  - `botDefinition.json` pretty-printed with 4 spaces, no trailing newline,
 *    and NO top-level `name`: the bot's name is
 *    `localeData.<defaultLanguage>.name`, one `localeData` entry per
 *    supported language (multilingual bots);
 *  - dialogs as `dialogs[]` with `lname` (lower-cased name) and
 *    `localeData.<lang>.name`, their `nodes[]` pointing by `componentId` at
 *    top-level `dialogComponents[]`; utterances as top-level `sentences[]`
 *    (`{taskId, sentence, type: "DialogIntent", language}`, taskId = the
 *    intent component), patterns as top-level `patterns[]`, FAQs in
 *    `knowledgeTasks[].faqs`, the export's options in `exportOptions`;
 *  - `config.json` exactly `{"name": ..., "envVariables": [...]}`, 4-space indent.
 */
import { createHash } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import { writeZip } from './zip-writer';

interface KoreDialogModel {
  name: string;
  /** Utterances per language; @default three English ones derived from the name */
  utterances?: Record<string, string[]>;
  patterns?: string[];
}

export interface KoreBotModel {
  botId: string;
  botName: string;
  /** @default ['en'] */
  languages?: string[];
  dialogs: KoreDialogModel[];
  faqs?: { question: string; answer: string }[];
  envVariables?: { key: string; value: string }[];
  /** Bot functions: file name → script. */
  functions?: Record<string, string>;
}

export interface KoreExportOptions {
  exportType?: 'latest' | 'published';
  /** Whether utterances (nlpData "utterances") are in the export. @default true */
  utterances?: boolean;
  /** The settings asked for (exportOptions.settings), recorded in `exportOptions`. @default ['botSettings', 'botVariables'] */
  settings?: string[];
  mtime?: Date;
}

/** A stable Kore-style id (24 hex digits, or a uuid) derived from its parts. */
function stableHex(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex');
}
const uuid = (...parts: string[]) => {
  const h = stableHex(...parts);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};

function words(name: string): string {
  return name.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

/** A real 8x8 RGBA PNG (signature, IHDR, IDAT, IEND with their CRCs), coloured from the bot's id. */
function iconPng(seed: string): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body) >>> 0);
    return Buffer.concat([len, body, crc]);
  };
  const size = 8;
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const [r, g, b] = createHash('md5').update(seed).digest();
  const row = Buffer.concat([Buffer.from([0]), Buffer.concat(Array.from({ length: size }, () => Buffer.from([r!, g!, b!, 255])))]);
  const pixels = Buffer.concat(Array.from({ length: size }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(pixels)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Pretty-printed with 4 spaces and no trailing newline, as Kore.ai writes its JSON. */
const json = (v: unknown) => JSON.stringify(v, null, 4);

/** A node of a dialog's flow: it shows `componentId` and goes on to `next`. */
const dialogNode = (nodeId: string, type: string, componentId: string, next: string, connId: string, left: number) => ({
  nodeOptions: {},
  nodeId,
  type,
  componentId,
  transitions: [{ default: next, metadata: { color: '#299d8c', connId } }],
  metadata: { left, top: 5 },
});

function koreBotDefinition(bot: KoreBotModel, opts: KoreExportOptions = {}): Record<string, unknown> {
  const languages = bot.languages ?? ['en'];
  const withUtterances = opts.utterances ?? true;
  const dialogs = bot.dialogs.map((d) => {
    const id = uuid(bot.botId, d.name);
    const intent = `dc-${uuid(id, 'intent')}`;
    const message = `dc-${uuid(id, 'message')}`;
    return { d, id, intent, message };
  });
  return {
    _id: bot.botId,
    refId: uuid(bot.botId, 'ref'),
    notifyUserViaEmail: false,
    purpose: 'customer',
    type: 'default',
    variables: [],
    defaultLanguage: languages[0],
    supportedLanguages: languages,
    languagePreferences: { type: 'lifeTime' },
    isNLEnabled: true,
    localeData: Object.fromEntries(
      languages.map((lang) => [
        lang,
        {
          name: lang === languages[0] ? bot.botName : `${bot.botName} (${lang})`,
          description: `${bot.botName} bot`,
          errorCodes: { pollError: '' },
          nlMeta: { patterns: 0, synonyms: 0, mlUtterances: withUtterances ? dialogs.length * 3 : 0 },
          synonyms: {},
        },
      ]),
    ),
    dialogs: dialogs.map(({ d, id, intent, message }) => ({
      _id: `dg-${id}`,
      refId: uuid(id, 'ref'),
      nodes: [dialogNode('intent0', 'intent', intent, 'message0', 'dummy0', 5), dialogNode('message0', 'message', message, 'end', 'dummy1', 25)],
      lname: d.name.toLowerCase(),
      isHidden: false,
      localeData: Object.fromEntries(languages.map((lang) => [lang, { name: d.name, shortDesc: `${d.name} dialog` }])),
      isFollowUp: false,
    })),
    dialogComponents: dialogs.flatMap(({ d, id, intent, message }) => [
      {
        _id: intent,
        refId: uuid(intent, 'ref'),
        name: d.name,
        type: 'intent',
        dialogId: `dg-${id}`,
        localeData: Object.fromEntries(languages.map((lang) => [lang, { desc: '', intent: d.name }])),
      },
      {
        _id: message,
        refId: uuid(message, 'ref'),
        name: `${d.name}Message`,
        type: 'message',
        localeData: Object.fromEntries(
          languages.map((lang) => [lang, { message: [{ channel: 'default', type: 'basic', text: `This is ${bot.botName}: ${words(d.name)}.` }] }]),
        ),
      },
    ]),
    knowledgeTasks: bot.faqs?.length
      ? [
          {
            refId: uuid(bot.botId, 'kg'),
            name: bot.botName,
            description: '',
            isGraph: true,
            language: languages[0],
            faqs: bot.faqs.map((f) => ({ question: f.question, answer: [{ text: f.answer, type: 'basic', channel: 'default' }] })),
          },
        ]
      : [],
    sentences: withUtterances
      ? dialogs.flatMap(({ d, intent }) =>
          languages.flatMap((lang) =>
            (
              d.utterances?.[lang] ??
              (lang === languages[0]
                ? [words(d.name), `I want to ${words(d.name)}`, `can you help me ${words(d.name)}`]
                : [`${lang}: ${words(d.name)}`])
            ).map((sentence) => ({
              _id: stableHex(intent, lang, sentence).slice(0, 24),
              taskId: intent,
              sentence,
              type: 'DialogIntent',
              language: lang,
              entities: [],
            })),
          ),
        )
      : [],
    patterns: dialogs
      .filter(({ d }) => d.patterns?.length)
      .map(({ d, intent }) => ({
        localeData: { [languages[0]!]: { patterns: d.patterns!.map((value) => ({ value, original: value })) } },
        refId: uuid(intent, 'ref'),
        taskName: d.name,
        taskType: 'intent',
        nodeType: 'dialog',
      })),
    exportOptions: {
      tasks: ['botTask', 'knowledgeGraph'],
      nlpData: withUtterances ? ['nlpSettings', 'utterances', 'standardResponses'] : ['nlpSettings', 'standardResponses'],
      settings: opts.settings ?? ['botSettings', 'botVariables'],
    },
    environmentVersionInfo: '9.1.7',
  };
}

/** The export zip's entries, in the order real exports hold them. */
export function koreExportEntries(bot: KoreBotModel, opts: KoreExportOptions = {}): { name: string; data: string | Uint8Array }[] {
  return [
    { name: 'botDefinition.json', data: json(koreBotDefinition(bot, opts)) },
    { name: 'config.json', data: json({ name: bot.botName, envVariables: bot.envVariables ?? [] }) },
    { name: 'icon.png', data: iconPng(bot.botId) },
    ...Object.entries(bot.functions ?? {}).map(([name, data]) => ({ name, data })),
  ];
}

export function koreExportZip(bot: KoreBotModel, opts: KoreExportOptions = {}): Promise<Buffer> {
  return writeZip(koreExportEntries(bot, opts), { mtime: opts.mtime ?? new Date(Date.UTC(2022, 4, 10, 12, 0, 0)), style: 'kore' });
}
