/**
 * The Kore.ai change summary (lib/providers/koreai/change-summary.ts) on
 * real-format exports from the generator (test/generators/koreai-export.ts
 * names the facts it reproduces): one test per kind of change, and none for
 * an unchanged bot exported again.
 */
import { describe, expect, it } from 'vitest';
import { readZipEntries } from '../../lib/core/archive/zip';
import { formatChanges } from '../../lib/providers/changes';
import { koreChanges, readKoreDefinition } from '../../lib/providers/koreai/change-summary';
import { type KoreBotModel, koreExportZip } from '../generators/koreai-export';

const base = (): KoreBotModel => ({
  botId: 'st-5e1f0c2a-7b3d-4c8e-9a6f-1d2b3c4e5f60',
  botName: 'HotelConcierge',
  languages: ['en', 'de'],
  dialogs: [{ name: 'Welcome' }, { name: 'BookRoom', patterns: ['book * room'] }],
  faqs: [{ question: 'When is check-in?', answer: 'From 3 pm.' }],
  envVariables: [{ key: 'apiHost', value: 'https://api.example.com' }],
});

async function definition(bot: KoreBotModel, day: number) {
  return readKoreDefinition(await readZipEntries(await koreExportZip(bot, { mtime: new Date(Date.UTC(2026, 11, day)) })));
}
async function changes(edit: (b: KoreBotModel) => void) {
  const before = base();
  const after = structuredClone(before);
  edit(after);
  return koreChanges(await definition(before, 1), await definition(after, 2));
}

describe('Kore.ai change summary', () => {
  it('an unchanged bot exported again (other timestamps): no change', async () => {
    expect(koreChanges(await definition(base(), 1), await definition(base(), 9))).toEqual([]);
  });

  it('a dialog added and one removed, named as the bot names them', async () => {
    const c = await changes((b) => {
      b.dialogs = [b.dialogs[1]!, { name: 'LateCheckout' }];
    });
    expect(formatChanges(c)).toEqual(['(bot): dialog LateCheckout added; dialog Welcome removed']);
  });

  it('a dialog added alone: only that (the utterance counts Kore.ai keeps in localeData.<lang>.nlMeta are no setting)', async () => {
    const c = await changes((b) => {
      b.dialogs.push({ name: 'LateCheckout' });
    });
    expect(c.map((x) => `${x.subject} ${x.detail}`)).toEqual(['dialog LateCheckout added']);
  });

  it('utterances added and removed per dialog and language, with the utterances', async () => {
    const c = await changes((b) => {
      b.dialogs[1]!.utterances = { en: ['book room', 'I need a room', 'reserve a room'], de: ['de: book room'] };
    });
    expect(c).toEqual([
      {
        scope: 'en',
        subject: 'dialog BookRoom',
        detail: '+2 utterances, -2 utterances',
        added: ['I need a room', 'reserve a room'],
        removed: ['I want to book room', 'can you help me book room'],
      },
    ]);
  });

  it('patterns added and removed', async () => {
    const c = await changes((b) => {
      b.dialogs[1]!.patterns = ['reserve * room', 'book a suite'];
    });
    expect(c).toEqual([
      {
        scope: 'en',
        subject: 'dialog BookRoom',
        detail: '+2 patterns, -1 pattern',
        added: ['reserve * room', 'book a suite'],
        removed: ['book * room'],
      },
    ]);
  });

  it('knowledge graph: a question added, an answer changed', async () => {
    const c = await changes((b) => {
      b.faqs = [
        { question: 'When is check-in?', answer: 'From 2 pm.' },
        { question: 'Is there parking?', answer: 'Yes.' },
      ];
    });
    expect(c).toEqual([{ subject: 'knowledge graph', detail: '+1 question, 1 answer changed', added: ['Is there parking?'] }]);
  });

  it('variables added, changed and removed; bot settings (a language added) changed', async () => {
    const c = await changes((b) => {
      b.envVariables = [
        { key: 'apiHost', value: 'https://api2.example.com' },
        { key: 'timeout', value: '30' },
      ];
      b.languages = ['en', 'de', 'fr'];
    });
    expect(c.map((x) => `${x.subject} ${x.detail}`)).toEqual(
      expect.arrayContaining(['bot settings changed', 'environment variable apiHost changed', 'environment variable timeout added']),
    );
  });

  it("a dialog's flow changed (its message reworded by a bot renamed in it)", async () => {
    const before = await definition(base(), 1);
    const after = await definition({ ...base(), botName: 'GrandHotel' }, 2);
    const c = koreChanges(before, after);
    expect(c.map((x) => `${x.subject} ${x.detail}`)).toEqual(['bot settings changed', 'dialog BookRoom flow changed', 'dialog Welcome flow changed']);
  });
});
