/**
 * The deep drill's comparison (lib/providers/drill.ts restoreDifferences) on
 * real-format exports from the generators: a scratch bot's re-export — its
 * own name in the folder, Bot.json and (Kore.ai) localeData and config.json,
 * its own ids, another entry order and time — is identical to the backup;
 * what an import lost is worded with the backup's total
 * ("intent OrderFlowers: 2 of 3 utterances missing after import"). And the
 * scratch bot names: Lex's name rule, never a real bot's.
 */
import { describe, expect, it } from 'vitest';
import { readZipEntries } from '../../lib/core/archive/zip';
import { drillFor, drillReportKey, findingLines, isScratchBotName, restoreDifferences, scratchBotName } from '../../lib/providers/drill';
import { koreaiScratchBotName } from '../../lib/providers/koreai/drill';
import { koreExportZip, type KoreBotModel } from '../generators/koreai-export';
import { type LexBotModel, lexExportZip, sampleLexBot } from '../generators/lex-export';

const SCRATCH = 'botvault-drill-0123456789ab';
const deps = { secrets: async () => '', allowedOrigins: [] };
// The comparison needs no client: a drill with fake provider parts is enough for totalOf and withoutBotName.
const lex = drillFor('lex', {
  ...deps,
  lex: { client: {} as never, roleArn: 'arn:aws:iam::123456789012:role/Drill', home: { account: '123456789012', region: 'us-east-1' } },
})!;
const kore = drillFor('koreai', {
  ...deps,
  koreai: {
    credentialsSecret: 'x',
    targets: [],
    scratchBots: { get: async () => undefined, put: async () => undefined },
    archivedBotIds: async () => new Set(),
  },
})!;

/** OrderFlowers: OrderFlowers and CancelOrder, 3 utterances each, in en_US and de_DE. */
const lexBot = (name = 'OrderFlowers'): LexBotModel => sampleLexBot('ORDRFLWRS1', name, ['OrderFlowers', 'CancelOrder'], ['en_US', 'de_DE']);
const lexEntries = async (bot: LexBotModel, seed: number) =>
  readZipEntries(await lexExportZip(bot, { seed, mtime: new Date(Date.UTC(2026, 11, seed)) }));

/** A re-export of the scratch bot as Lex makes it: its name everywhere the bot's name was, new ids, new time. */
function asScratch(entries: Map<string, Buffer>, botName: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [name, data] of entries) {
    const renamed = name.startsWith(`${botName}/`) ? `${SCRATCH}/${name.slice(botName.length + 1)}` : name;
    let text = data.toString('utf8');
    if (renamed === `${SCRATCH}/Bot.json`) text = JSON.stringify({ ...JSON.parse(text), name: SCRATCH, identifier: 'NEWBOTID01' });
    else if (name.endsWith('.json'))
      text = text.replace(/"identifier":"[A-Z0-9]{10}"/g, (m) => (m.includes('FALLBCKINT') ? m : '"identifier":"NEWIDENT00"'));
    out.set(renamed, Buffer.from(text));
  }
  return out;
}

describe('deep drill comparison (Lex)', () => {
  it("a scratch bot's re-export (its own name, ids, order and time) is identical to the backup", async () => {
    const backup = await lexEntries(lexBot(), 1);
    const reExport = asScratch(await lexEntries(lexBot(), 5), 'OrderFlowers');
    expect(reExport.has(`${SCRATCH}/Bot.json`)).toBe(true);
    expect(restoreDifferences('lex', backup, reExport, { scratchName: SCRATCH, drill: lex })).toEqual([]);
  });

  it("an intent that shares the bot's name keeps its own name in the wording (only the bot's name fields are replaced)", async () => {
    const bot = lexBot();
    const after = structuredClone(bot);
    after.locales[0]!.intents[0]!.utterances = after.locales[0]!.intents[0]!.utterances.slice(0, 1);
    const d = restoreDifferences('lex', await lexEntries(bot, 1), asScratch(await lexEntries(after, 2), 'OrderFlowers'), {
      scratchName: SCRATCH,
      drill: lex,
    });
    expect(d).toEqual([
      {
        scope: 'en_US',
        subject: 'intent OrderFlowers',
        detail: '-2 utterances',
        text: 'en_US: intent OrderFlowers: 2 of 3 utterances missing after import',
        missing: ['I want to order flowers', 'please order flowers'],
      },
    ]);
  });

  it("what an import lost and added, each worded with the backup's total", async () => {
    const bot = lexBot();
    const after = structuredClone(bot);
    const en = after.locales.find((l) => l.localeId === 'en_US')!;
    en.intents = [en.intents[0]!];
    en.intents[0]!.utterances = [...en.intents[0]!.utterances.slice(2), 'send roses'];
    en.slotTypes![0]!.values = en.slotTypes![0]!.values.slice(0, 1);
    const d = restoreDifferences('lex', await lexEntries(bot, 1), asScratch(await lexEntries(after, 3), 'OrderFlowers'), {
      scratchName: SCRATCH,
      drill: lex,
    });
    expect(d?.map((x) => x.text)).toEqual([
      'en_US: intent CancelOrder: missing after import',
      'en_US: intent OrderFlowers: 1 utterance not in the backup appeared after import, 2 of 3 utterances missing after import',
      'en_US: slot type OrderFlowersChoice: 1 of 2 values missing after import',
    ]);
    expect(d?.[1]).toMatchObject({ missing: ['order flowers', 'I want to order flowers'], unexpected: ['send roses'] });
  });

  it('the name a bot had is no difference, nor the scratch name of another run', async () => {
    const d = restoreDifferences('lex', await lexEntries(lexBot('Alpha'), 1), asScratch(await lexEntries(lexBot('Alpha'), 2), 'Alpha'), {
      scratchName: SCRATCH,
      drill: lex,
    });
    expect(d).toEqual([]);
  });
});

const koreBot = (): KoreBotModel => ({
  botId: 'st-5e1f0c2a-7b3d-4c8e-9a6f-1d2b3c4e5f60',
  botName: 'HotelConcierge',
  dialogs: [
    { name: 'Welcome', utterances: { en: ['hello', 'hi there', 'good morning'] } },
    { name: 'BookRoom', utterances: { en: ['book a room', 'I need a room', 'reserve a room', 'room for tonight'] } },
  ],
  faqs: [
    { question: 'When is breakfast?', answer: '7 to 10' },
    { question: 'Is there parking?', answer: 'Yes' },
  ],
});

/**
 * A Kore.ai re-export of the scratch bot as an import as a new bot makes it (the Kore.ai simulator does the
 * same): its name in localeData.<defaultLanguage>.name and config.json, its own stream id in `_id`.
 */
async function koreScratch(bot: KoreBotModel): Promise<Map<string, Buffer>> {
  const entries = await readZipEntries(await koreExportZip(bot));
  const definition = JSON.parse(entries.get('botDefinition.json')!.toString('utf8'));
  definition._id = 'st-00000000-0000-4000-8000-000000000001';
  definition.localeData.en.name = SCRATCH;
  entries.set('botDefinition.json', Buffer.from(JSON.stringify(definition, null, 4)));
  entries.set('config.json', Buffer.from(JSON.stringify({ ...JSON.parse(entries.get('config.json')!.toString('utf8')), name: SCRATCH })));
  return entries;
}

describe('deep drill comparison (Kore.ai)', () => {
  it("a scratch bot's re-export is identical to the backup", async () => {
    const backup = await readZipEntries(await koreExportZip(koreBot()));
    expect(restoreDifferences('koreai', backup, await koreScratch(koreBot()), { scratchName: SCRATCH, drill: kore })).toEqual([]);
  });

  it('utterances and questions lost, worded with the totals', async () => {
    const after = structuredClone(koreBot());
    after.dialogs[1]!.utterances = { en: ['book a room'] };
    after.faqs = after.faqs!.slice(0, 1);
    const d = restoreDifferences('koreai', await readZipEntries(await koreExportZip(koreBot())), await koreScratch(after), {
      scratchName: SCRATCH,
      drill: kore,
    });
    expect(d?.map((x) => x.text)).toEqual([
      'en: dialog BookRoom: 3 of 4 utterances missing after import',
      'knowledge graph: 1 of 2 questions missing after import',
    ]);
  });

  it('a dialog lost whole', async () => {
    const after = structuredClone(koreBot());
    after.dialogs = after.dialogs.slice(0, 1);
    const d = restoreDifferences('koreai', await readZipEntries(await koreExportZip(koreBot())), await koreScratch(after), {
      scratchName: SCRATCH,
      drill: kore,
    });
    expect(d?.map((x) => x.text)).toEqual(['dialog BookRoom: missing after import']);
  });
});

describe('deep drill comparison: what the change summaries do not read', () => {
  const koreBackup = async () => {
    const entries = await readZipEntries(await koreExportZip(koreBot()));
    // A bot function's script and the bot's icon, as a real export carries them beside botDefinition.json.
    entries.set('functions.js', Buffer.from('function checkAvailability(room) { return callPms(room); }'));
    entries.set('assets/banner.png', Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    return entries;
  };

  it('Kore.ai: a bot function script and an image lost in the import are named, file by file', async () => {
    const d = restoreDifferences('koreai', await koreBackup(), await koreScratch(koreBot()), { scratchName: SCRATCH, drill: kore });
    expect(d?.map((x) => x.text)).toEqual(['file functions.js: missing after import', 'file assets/banner.png: missing after import']);
  });

  it('Kore.ai config.json: its name and ids are no difference; a setting that changed is', async () => {
    const backup = await koreBackup();
    const same = await koreScratch(koreBot());
    for (const f of ['functions.js', 'assets/banner.png']) same.set(f, backup.get(f)!);
    const config = JSON.parse(same.get('config.json')!.toString('utf8')) as Record<string, unknown>;
    same.set('config.json', Buffer.from(JSON.stringify({ ...config, _id: 'st-00000000-0000-4000-8000-000000000009' })));
    expect(restoreDifferences('koreai', backup, same, { scratchName: SCRATCH, drill: kore })).toEqual([]);
    const changed = new Map(same);
    changed.set('config.json', Buffer.from(JSON.stringify({ ...config, timezone: 'Europe/Paris' })));
    expect(restoreDifferences('koreai', backup, changed, { scratchName: SCRATCH, drill: kore })?.map((x) => x.text)).toEqual([
      'config.json: bot settings changed by the import',
    ]);
  });

  it('JSON that parses on one side only is a difference, not skipped', async () => {
    const backup = await lexEntries(lexBot(), 1);
    const reExport = asScratch(await lexEntries(lexBot(), 5), 'OrderFlowers');
    const intent = [...reExport.keys()].find((k) => k.endsWith('/Intent.json'))!;
    reExport.set(intent, Buffer.from('{"name": "OrderFlowers", '));
    const d = restoreDifferences('lex', backup, reExport, { scratchName: SCRATCH, drill: lex });
    expect(d?.map((x) => x.text)).toContainEqual(`file ${intent.replace(SCRATCH, 'botvault-drill-bot')}: not valid JSON after import`);
  });
});

describe('deep drill wording', () => {
  it("a part that holds a comma itself stays whole: 'prompts, responses or settings changed by the import'", () => {
    const intent = (prompt: string) =>
      Buffer.from(
        JSON.stringify({
          name: 'OrderFlowers',
          identifier: 'X',
          sampleUtterances: [{ utterance: 'order flowers' }],
          intentClosingSetting: { closingResponse: { messageGroupsList: [{ message: { plainTextMessage: { value: prompt } } }] } },
        }),
      );
    const side = (bot: string, prompt: string) =>
      new Map([
        ['Manifest.json', Buffer.from('{"metaData":{"resourceType":"BOT"}}')],
        [`${bot}/Bot.json`, Buffer.from(JSON.stringify({ name: bot, dataPrivacy: { childDirected: false }, idleSessionTTLInSeconds: 300 }))],
        [`${bot}/BotLocales/en_US/BotLocale.json`, Buffer.from('{"localeId":"en_US"}')],
        [`${bot}/BotLocales/en_US/Intents/OrderFlowers/Intent.json`, intent(prompt)],
      ]);
    const d = restoreDifferences('lex', side('OrderBot', 'Thanks, your order is placed'), side(SCRATCH, ''), { scratchName: SCRATCH, drill: lex });
    expect(d?.map((x) => x.text)).toEqual(['en_US: intent OrderFlowers: prompts, responses or settings changed by the import']);
  });
});

describe('scratch bot names', () => {
  it("botvault-drill- and 12 hex digits: within Lex V2's botName rule (1-100 of ^([0-9a-zA-Z][_-]?)+$), stable per run, key and version", () => {
    const name = scratchBotName('deep-drill-2026-12-06', 'lex/123456789012/us-east-1/ORDRFLWRS1/DRAFT/bot.zip', 'v1');
    expect(name).toMatch(/^botvault-drill-[0-9a-f]{12}$/);
    expect(name).toMatch(/^([0-9a-zA-Z][_-]?)+$/);
    expect(name.length).toBeLessThanOrEqual(100);
    expect(scratchBotName('deep-drill-2026-12-06', 'lex/123456789012/us-east-1/ORDRFLWRS1/DRAFT/bot.zip', 'v1')).toBe(name);
    expect(scratchBotName('deep-drill-2026-12-06', 'lex/123456789012/us-east-1/ORDRFLWRS1/DRAFT/bot.zip', 'v2')).not.toBe(name);
    expect(isScratchBotName(name)).toBe(true);
    expect(isScratchBotName(koreaiScratchBotName('bots.kore.ai'))).toBe(true);
  });

  it('a real bot never passes for one: only the exact pattern', () => {
    for (const n of [
      'OrderFlowers',
      'botvault-drill-',
      'botvault-drill-0123456789AB',
      'botvault-drill-0123456789abc',
      'x-botvault-drill-0123456789ab',
      undefined,
    ])
      expect(isScratchBotName(n)).toBe(false);
  });

  it("the report lives under drills/<yyyy>/<mm>/<dd>/ by the run's start in UTC", () => {
    expect(drillReportKey('deep-drill-x', new Date('2026-12-06T23:59:00-02:00'))).toBe('drills/2026/12/07/deep-drill-x.json');
  });

  it('findings: a failure by its step, a difference by its words, at most the given number of lines', () => {
    const lines = findingLines(
      [
        { key: 'a', identical: true, differences: [] },
        { key: 'b', identical: null, error: { step: 'build', message: 'en_US: slot X is invalid' } },
        { key: 'c', identical: false, differences: [{ subject: 's', detail: 'd', text: 'en_US: intent X: 1 of 2 utterances missing after import' }] },
      ],
      1,
    );
    expect(lines).toEqual(['b: build failed: en_US: slot X is invalid', 'and 1 more']);
  });
});
