/**
 * The Lex change summary (lib/providers/lex/change-summary.ts) on real-format
 * exports from the generator (test/generators/lex-export.ts names the facts
 * it reproduces): one test per kind of change, and none for two exports of
 * an unchanged bot that differ in entry order, key order and timestamps.
 */
import { describe, expect, it } from 'vitest';
import { readZipEntries } from '../../lib/core/archive/zip';
import { formatChanges } from '../../lib/providers/changes';
import { lexChanges, readLexDefinition } from '../../lib/providers/lex/change-summary';
import { type LexBotModel, lexExportZip, sampleLexBot } from '../generators/lex-export';

async function definition(bot: LexBotModel, seed: number) {
  return readLexDefinition(await readZipEntries(await lexExportZip(bot, { seed, mtime: new Date(Date.UTC(2026, 11, seed)) })));
}
const base = () => sampleLexBot('ORDRFLWRS1', 'OrderFlowers', ['OrderFlowers', 'CancelOrder'], ['en_US', 'de_DE']);
/** A deep copy to edit. */
const copy = (b: LexBotModel): LexBotModel => structuredClone(b);
const en = (b: LexBotModel) => b.locales.find((l) => l.localeId === 'en_US')!;

async function changes(edit: (b: LexBotModel) => void) {
  const before = base();
  const after = copy(before);
  edit(after);
  return lexChanges(await definition(before, 1), await definition(after, 2));
}

describe('Lex change summary', () => {
  it('two exports of an unchanged bot (other entry order, key order, timestamps): no change', async () => {
    expect(lexChanges(await definition(base(), 1), await definition(base(), 7))).toEqual([]);
  });

  it('utterances added and removed, per intent, with the utterances', async () => {
    const c = await changes((b) => {
      const intent = en(b).intents[0]!;
      intent.utterances = [...intent.utterances.slice(1), 'send flowers', 'order a bouquet', 'flowers please'];
    });
    expect(c).toEqual([
      {
        scope: 'en_US',
        subject: 'intent OrderFlowers',
        detail: '+3 utterances, -1 utterance',
        added: ['send flowers', 'order a bouquet', 'flowers please'],
        removed: ['order flowers'],
      },
    ]);
    expect(formatChanges(c)).toEqual(['en_US: intent OrderFlowers +3 utterances, -1 utterance']);
  });

  it('an intent added and one removed, in one locale only', async () => {
    const c = await changes((b) => {
      const l = en(b);
      l.intents = [l.intents[0]!, { name: 'TrackDelivery', utterances: ['where is my order'], slots: [] }];
    });
    expect(c.map((x) => [x.scope, x.subject, x.detail])).toEqual([
      ['en_US', 'intent CancelOrder', 'removed'],
      ['en_US', 'intent TrackDelivery', 'added'],
    ]);
  });

  it('a slot added, one removed, one whose prompt changed', async () => {
    const added = await changes((b) => {
      en(b).intents[1]!.slots = [{ name: 'OrderNumber', slotTypeName: 'OrderFlowersChoice', prompt: 'Which order?' }];
    });
    // The intent's first step becomes eliciting the new slot (initialResponseSetting.nextStep): a dialog change too.
    expect(added).toEqual([
      { scope: 'en_US', subject: 'intent CancelOrder', detail: 'slot OrderNumber added, prompts, responses or settings changed' },
    ]);
    const removed = await changes((b) => {
      en(b).intents[0]!.slots = [];
    });
    expect(removed.map((x) => x.detail)).toEqual(['slot Choice removed, prompts, responses or settings changed']);
    const reworded = await changes((b) => {
      en(b).intents[0]!.slots![0]!.prompt = 'What kind of flowers?';
    });
    expect(reworded.map((x) => x.detail)).toEqual(['slot Choice changed']);
  });

  it('slot type values added and removed; synonyms changed; a slot type added', async () => {
    const c = await changes((b) => {
      const t = en(b).slotTypes![0]!;
      t.values = [{ value: 'order flowers', synonyms: ['buy flowers'] }, { value: 'roses' }, { value: 'tulips' }];
      en(b).slotTypes!.push({ name: 'Colors', values: [{ value: 'red' }] });
    });
    expect(c).toEqual([
      { scope: 'en_US', subject: 'slot type Colors', detail: 'added' },
      {
        scope: 'en_US',
        subject: 'slot type OrderFlowersChoice',
        detail: '+2 values, -1 value, synonyms of 1 value changed',
        added: ['roses', 'tulips'],
        removed: ['cancel order'],
      },
    ]);
  });

  it('a closing response reworded: the intent changed, without utterance counts', async () => {
    const c = await changes((b) => {
      en(b).intents[1]!.closing = 'Your order is cancelled.';
    });
    expect(c).toEqual([{ scope: 'en_US', subject: 'intent CancelOrder', detail: 'prompts, responses or settings changed' }]);
  });

  it('locale settings (voice, confidence threshold), bot settings, a locale added, custom vocabulary phrases', async () => {
    const c = await changes((b) => {
      en(b).voiceId = 'Matthew';
      b.idleSessionTTLInSeconds = 600;
      b.locales.push({ localeId: 'fr_FR', intents: [{ name: 'Bonjour', utterances: ['bonjour'] }] });
      en(b).customVocabulary = [{ phrase: 'gerbera' }, { phrase: 'freesia' }];
    });
    expect(formatChanges(c)).toEqual([
      '(bot): bot settings changed',
      'en_US: locale settings changed; custom vocabulary +2 phrases',
      'fr_FR: locale fr_FR added',
    ]);
  });
});
