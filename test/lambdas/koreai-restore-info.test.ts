/**
 * KoreaiProvider.restoreInfo: the bot id, and the bot's name read from the
 * export's botDefinition.json through the archive reader (a real zip read by
 * range), falling back to the job's name.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig, type KoreaiTarget } from '../../lib/config';
import { koreaiJob, KoreaiProvider } from '../../lambdas/providers/koreai';
import type { ArchiveReader } from '../../lambdas/providers/types';
import { bufferByteSource, readZipIndex } from '../../lambdas/shared/zip-content';
import { makeZip } from './zip-fixtures';

const target = parseConfig({
  targets: [{ provider: 'koreai', host: 'https://bots.kore.ai', botId: 'st-1a2b3c4d-0000-1111-2222-333344445555', credentialsSecret: 'botvault/koreai', exportType: 'published' }],
}).targets[0] as KoreaiTarget;
const provider = new KoreaiProvider({ secrets: async () => '{}' });

async function reader(entries: Record<string, string>): Promise<ArchiveReader> {
  return readZipIndex(bufferByteSource(await makeZip(entries)));
}

describe('KoreaiProvider.restoreInfo', () => {
  it('reads the bot name from botDefinition.json', async () => {
    const archive = await reader({ 'botDefinition.json': JSON.stringify({ name: 'Travel Desk', localeData: { en: { name: 'Travel Desk' } } }), 'config.json': '{}' });
    expect(await provider.restoreInfo(koreaiJob(target), archive)).toEqual({ koreai: { botId: 'st-1a2b3c4d-0000-1111-2222-333344445555', botName: 'Travel Desk' } });
  });

  it('falls back to the job name, and records the bot id alone without either', async () => {
    const archive = await reader({ 'config.json': '{}' });
    expect(await provider.restoreInfo({ ...koreaiJob(target), name: 'From discovery' }, archive)).toEqual({ koreai: { botId: 'st-1a2b3c4d-0000-1111-2222-333344445555', botName: 'From discovery' } });
    expect(await provider.restoreInfo(koreaiJob(target), await reader({ 'botDefinition.json': 'not json' }))).toEqual({ koreai: { botId: 'st-1a2b3c4d-0000-1111-2222-333344445555' } });
  });
});
