/**
 * KoreaiProvider.restoreInfo: the bot id, and the bot's name read from the
 * export's botDefinition.json through the archive reader (a real zip read by
 * range), falling back to the job's name.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config/config';
import { KoreaiProvider } from '../../lib/providers/koreai/provider';
import type { ArchiveReader } from '../../lib/providers/types';
import { bufferByteSource } from '../../lib/core/archive/byte-source';
import { ZipArchive } from '../../lib/core/archive/zip';
import { koreExportZip } from '../generators/koreai-export';
import { makeZip } from './zip-fixtures';
import type { KoreaiTarget } from '../../lib/providers/koreai/target';
import { koreaiJob } from '../../lib/providers/koreai/keys';

const target = parseConfig({
  targets: [
    {
      provider: 'koreai',
      host: 'https://bots.kore.ai',
      botId: 'st-1a2b3c4d-0000-1111-2222-333344445555',
      credentialsSecret: 'botvault/koreai',
      exportType: 'published',
    },
  ],
}).targets[0] as KoreaiTarget;
const provider = new KoreaiProvider({ secrets: async () => '{}' });

async function open(zip: Buffer): Promise<ArchiveReader> {
  const z = await ZipArchive.open(bufferByteSource(zip));
  return { readEntry: (name, maxBytes) => z.read(name, maxBytes) };
}
const reader = async (entries: Record<string, string>) => open(await makeZip(entries));

describe('KoreaiProvider.restoreInfo', () => {
  it('reads the bot name where real exports keep it: localeData.<defaultLanguage>.name (no top-level name)', async () => {
    const archive = await open(
      await koreExportZip({
        botId: 'st-1a2b3c4d-0000-1111-2222-333344445555',
        botName: 'Travel Desk',
        languages: ['de', 'en'],
        dialogs: [{ name: 'Book' }],
      }),
    );
    expect(await provider.restoreInfo(koreaiJob(target), archive)).toEqual({
      koreai: { botId: 'st-1a2b3c4d-0000-1111-2222-333344445555', botName: 'Travel Desk' },
    });
  });

  it('a top-level name is not where Kore.ai keeps it: ignored', async () => {
    const archive = await reader({
      'botDefinition.json': JSON.stringify({ name: 'Invented', defaultLanguage: 'en', localeData: { en: { name: 'Real Name' } } }),
      'config.json': '{}',
    });
    expect(await provider.restoreInfo(koreaiJob(target), archive)).toEqual({
      koreai: { botId: 'st-1a2b3c4d-0000-1111-2222-333344445555', botName: 'Real Name' },
    });
  });

  it('falls back to the job name, and records the bot id alone without either', async () => {
    const archive = await reader({ 'config.json': '{}' });
    expect(await provider.restoreInfo({ ...koreaiJob(target), name: 'From discovery' }, archive)).toEqual({
      koreai: { botId: 'st-1a2b3c4d-0000-1111-2222-333344445555', botName: 'From discovery' },
    });
    expect(await provider.restoreInfo(koreaiJob(target), await reader({ 'botDefinition.json': 'not json' }))).toEqual({
      koreai: { botId: 'st-1a2b3c4d-0000-1111-2222-333344445555' },
    });
  });
});
