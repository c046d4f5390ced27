/**
 * What a deep restore drill does to Kore.ai, over real HTTP with real JWTs
 * against the Kore.ai simulator: import an archive as a new (scratch) bot
 * under its own name, find it in the Admin API's Get Bots with its creation
 * time, export it again, and the lossy-import fault. Kore.ai's public API has
 * no way to delete a bot (Koredotcom/docs docs/xo/apis/automation/api-list.md
 * lists none), so neither has the simulator.
 */
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { readZipEntries } from '../../lib/core/archive/zip';
import { type KoreBotModel, koreExportZip } from '../generators/koreai-export';
import { type KoreSimulator, type KoreSimulatorOptions, startKoreSimulator } from './koreai-simulator';

const ADMIN = { clientId: 'cs-drill-admin', clientSecret: 'drill-admin-secret', admin: true };
const BOT = 'st-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const SCRATCH = 'botvault-drill-3f9a0c1d2e4b';

/** The archive a drill restores: BookTable with 5 utterances, Refund and Welcome with 3 each. */
function concierge(): KoreBotModel {
  return {
    botId: BOT,
    botName: 'Concierge',
    dialogs: [
      { name: 'BookTable', utterances: { en: ['book a table', 'reserve a table', 'table for two', 'dinner reservation', 'book for tonight'] } },
      { name: 'Refund' },
      { name: 'Welcome' },
    ],
    envVariables: [{ key: 'supportEmail', value: 'help@example.com' }],
  };
}

let sims: KoreSimulator[] = [];
afterEach(async () => {
  for (const s of sims) await s.close();
  sims = [];
});
async function koreWith(opts: Partial<KoreSimulatorOptions> = {}): Promise<KoreSimulator> {
  const sim = await startKoreSimulator({ apps: [ADMIN], bots: [], ...opts });
  sims.push(sim);
  return sim;
}

const jwt = () =>
  new SignJWT({ appId: ADMIN.clientId })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('botvault-drill')
    .setIssuedAt()
    .setExpirationTime('60s')
    .sign(new TextEncoder().encode(ADMIN.clientSecret));

async function api(kore: KoreSimulator, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${kore.url}${path}`, {
    method,
    headers: { auth: await jwt(), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** uploadfile → import (new bot, or into `botId`) → import status until it settles. */
async function importZip(kore: KoreSimulator, zip: Buffer, opts: { name?: string; botId?: string } = {}) {
  const form = new FormData();
  form.set('file', new Blob([new Uint8Array(zip)]), 'bot.zip');
  form.set('fileContext', 'bulkImport');
  form.set('fileExtension', 'zip');
  const up = await fetch(`${kore.url}/api/public/uploadfile`, { method: 'POST', body: form, headers: { auth: await jwt() } });
  const { fileId } = (await up.json()) as { fileId: string };
  const started = await api(kore, 'POST', opts.botId ? `/api/public/bot/${opts.botId}/import` : '/api/public/bot/import', {
    uploadMode: 'ZIP',
    zipInfo: fileId,
    ...(opts.name ? { name: opts.name } : {}),
  });
  expect(started.status).toBe(200);
  for (;;) {
    const polled = await api(kore, 'GET', `/api/public/bot/import/status/${String(started.json.bir)}`);
    if (polled.json.status !== 'pending') return { started: started.json, done: polled.json };
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A 'latest' export of the bot: its entries as text (icon.png aside). */
async function exportOf(kore: KoreSimulator, botId: string): Promise<Map<string, string>> {
  const started = await api(kore, 'POST', `/api/public/bot/${botId}/export`, { exportType: 'latest' });
  expect(started.status).toBe(200);
  const status = await api(kore, 'GET', `/api/public/bot/${botId}/export/status`);
  expect(status.json).toMatchObject({ _id: started.json._id, status: 'success' });
  const zip = Buffer.from(await (await fetch(String(status.json.downloadURL))).arrayBuffer());
  return new Map([...(await readZipEntries(zip))].filter(([k]) => k !== 'icon.png').map(([k, v]) => [k, v.toString('utf8')]));
}
const entriesOf = async (zip: Buffer) =>
  new Map([...(await readZipEntries(zip))].filter(([k]) => k !== 'icon.png').map(([k, v]) => [k, v.toString('utf8')]));

/** An export without its bot's name and id (`_id`, the top-level stream id): what a drill compares. */
function withoutNameAndId(entries: Map<string, string>): Record<string, unknown> {
  const def = JSON.parse(entries.get('botDefinition.json')!) as Record<string, unknown> & { localeData: Record<string, { name?: string }> };
  delete def._id;
  for (const l of Object.values(def.localeData)) delete l.name;
  const config = JSON.parse(entries.get('config.json')!) as Record<string, unknown>;
  delete config.name;
  return { def, config };
}

type Sentence = { taskId: string; sentence: string; language: string };
const sentencesOf = (entries: Map<string, string>) => (JSON.parse(entries.get('botDefinition.json')!) as { sentences: Sentence[] }).sentences;

describe('Kore.ai simulator: a scratch bot from an archive', () => {
  it('Import Bot as a New Bot with a name: the documented replies, the bot in Get Bots with its creation time, a re-export under its own name and id', async () => {
    const kore = await koreWith({ bots: [{ botId: BOT, botName: 'Concierge', createdOn: '2024-03-01T00:00:00.000Z' }] });
    const archive = await koreExportZip(concierge());
    const original = await entriesOf(archive);
    const refId = (JSON.parse(original.get('botDefinition.json')!) as { refId: string }).refId;
    const before = Date.now();
    const { started, done } = await importZip(kore, archive, { name: SCRATCH });
    // Both documented reply shapes: _id (Koredotcom/docs) and bir (developer.kore.ai v10); streamRefId the archive's refId.
    expect(started).toMatchObject({ status: 'pending', requestType: 'Botimport', streamRefId: refId });
    expect(started._id).toBe(started.bir);
    expect(started.streamId).toBeUndefined();
    expect(done).toMatchObject({ _id: started.bir, status: 'success', streamId: expect.stringMatching(/^st-[0-9a-f-]{36}$/) });
    const scratchId = String(done.streamId);
    expect(kore.botIdByName(SCRATCH)).toBe(scratchId);

    const listed = await api(kore, 'GET', '/api/public/bots?offset=0&limit=50');
    const bots = listed.json.bots as { _id: string; name: string; createdOn: string }[];
    expect(bots.map((b) => [b._id, b.name])).toEqual([
      [BOT, 'Concierge'],
      [scratchId, SCRATCH],
    ]);
    expect(bots[0]!.createdOn).toBe('2024-03-01T00:00:00.000Z');
    expect(Date.parse(bots[1]!.createdOn)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(bots[1]!.createdOn)).toBeLessThanOrEqual(Date.now());

    const again = await exportOf(kore, scratchId);
    const def = JSON.parse(again.get('botDefinition.json')!) as { _id: string; refId: string; localeData: { en: { name: string } } };
    expect(def).toMatchObject({ _id: scratchId, refId, localeData: { en: { name: SCRATCH } } });
    expect(JSON.parse(again.get('config.json')!)).toEqual({ name: SCRATCH, envVariables: [{ key: 'supportEmail', value: 'help@example.com' }] });
    // Kore's own JSON formatting, and, name and id aside, the archive.
    expect(again.get('config.json')).toBe(
      JSON.stringify({ name: SCRATCH, envVariables: [{ key: 'supportEmail', value: 'help@example.com' }] }, null, 4),
    );
    expect(withoutNameAndId(again)).toEqual(withoutNameAndId(original));
    expect(again.get('botDefinition.json')).not.toBe(original.get('botDefinition.json'));
  });

  it("without a name the new bot keeps the archive's; an import into the archive's own bot exports byte for byte what was imported", async () => {
    const kore = await koreWith({ bots: [{ botId: BOT, botName: 'Concierge' }] });
    const archive = await koreExportZip(concierge());
    const original = await entriesOf(archive);
    const { done } = await importZip(kore, archive);
    const copyId = String(done.streamId);
    const copy = await exportOf(kore, copyId);
    expect(JSON.parse(copy.get('config.json')!).name).toBe('Concierge');
    expect(JSON.parse(copy.get('botDefinition.json')!)._id).toBe(copyId);

    await importZip(kore, archive, { botId: BOT });
    expect(await exportOf(kore, BOT)).toEqual(original);
  });

  it('Kore.ai has no public delete-bot API: the simulator has none either (404), and the bot stays listed', async () => {
    const kore = await koreWith({ bots: [{ botId: BOT, botName: 'Concierge' }] });
    for (const path of [`/api/public/bot/${BOT}`, `/api/public/bots/${BOT}`]) {
      const res = await fetch(`${kore.url}${path}`, { method: 'DELETE', headers: { auth: await jwt() } });
      expect(res.status).toBe(404);
    }
    expect(((await api(kore, 'GET', '/api/public/bots')).json.bots as { _id: string }[]).map((b) => b._id)).toEqual([BOT]);
  });
});

describe('Kore.ai simulator: lossy imports', () => {
  it("drops the last N utterances of the named dialogs and whole dialogs; the import's losses say what, the re-export lacks it", async () => {
    const kore = await koreWith();
    kore.newBotFaults.lossyImport = { dropUtterancesPerDialog: 2, dialogs: ['BookTable'], dropDialogs: ['Refund'] };
    const archive = await koreExportZip(concierge());
    const { started, done } = await importZip(kore, archive, { name: SCRATCH });
    expect(done.status).toBe('success');
    const losses = kore.imports.get(String(started.bir))!.losses!;
    expect(losses.map((l) => l.summary)).toEqual(['dialog Refund missing', 'dialog BookTable (en): 2 of 5 utterances missing']);
    expect(losses[1]).toMatchObject({ dialog: 'BookTable', language: 'en', total: 5, dropped: ['dinner reservation', 'book for tonight'] });
    expect(losses[0]!.dropped).toEqual(['refund', 'I want to refund', 'can you help me refund']);

    const again = await exportOf(kore, String(done.streamId));
    const def = JSON.parse(again.get('botDefinition.json')!) as { dialogs: { lname: string }[]; dialogComponents: { name: string }[] };
    expect(def.dialogs.map((d) => d.lname)).toEqual(['booktable', 'welcome']);
    expect(def.dialogComponents.map((c) => c.name)).toEqual(['BookTable', 'BookTableMessage', 'Welcome', 'WelcomeMessage']);
    expect(sentencesOf(again).map((s) => s.sentence)).toEqual([
      'book a table',
      'reserve a table',
      'table for two',
      'welcome',
      'I want to welcome',
      'can you help me welcome',
    ]);
    const original = await entriesOf(archive);
    expect(sentencesOf(original)).toHaveLength(11);
  });

  it('a fraction of every dialog, per language (rounded), into an existing bot', async () => {
    const kore = await koreWith({ bots: [{ botId: BOT, botName: 'Concierge', languages: ['en', 'de'] }] });
    kore.setFaults(BOT, { lossyImport: { dropUtterancesPerDialog: 0.5 } });
    const model = { ...concierge(), languages: ['en', 'de'] };
    const { started } = await importZip(kore, await koreExportZip(model), { botId: BOT });
    expect(
      kore.imports
        .get(String(started.bir))!
        .losses!.map((l) => l.summary)
        .sort(),
    ).toEqual([
      'dialog BookTable (de): 1 of 1 utterances missing',
      'dialog BookTable (en): 3 of 5 utterances missing',
      'dialog Refund (de): 1 of 1 utterances missing',
      'dialog Refund (en): 2 of 3 utterances missing',
      'dialog Welcome (de): 1 of 1 utterances missing',
      'dialog Welcome (en): 2 of 3 utterances missing',
    ]);
    const again = await exportOf(kore, BOT);
    expect(sentencesOf(again).filter((s) => s.language === 'de')).toEqual([]);
    expect(sentencesOf(again).filter((s) => s.language === 'en')).toHaveLength(4);
    expect(JSON.parse(again.get('botDefinition.json')!)._id).toBe(BOT);
  });
});
