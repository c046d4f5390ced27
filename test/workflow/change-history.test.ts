/**
 * What changed, run by run (issue 15), through the synthesized workflow with
 * the real handlers: StoreArchive compares each new version with the one it
 * replaces (read back by version id from versioned S3 on Swift, checked) and
 * writes its change record; the manifest carries each bot's line; Summarize
 * publishes "N of M bots changed: …" to the topic (an SNS simulator over the
 * real awsQuery protocol), or names the changes in a failed run's message.
 * Real-format Lex exports (a password-protected one among them) and Kore.ai
 * exports from the simulators.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { changeRecordKey } from '../../lib/core/names';
import type { LocalRunResult } from '../../lib/local/runner';
import { type ChangeRecord, changeRecordSchema } from '../../lib/providers/change-record';
import { startKoreSimulator, type KoreSimulator } from '../simulators/koreai-simulator';
import { startSecretsSimulator, type SecretsSimulator } from '../simulators/secrets-simulator';
import { startSnsSimulator, type SnsSimulator } from '../simulators/sns-simulator';
import { startHarness, type Harness } from './harness';

const CONCIERGE = 'st-1a2b3c4d-0000-1111-2222-333344445555';
const APP = { clientId: 'cs-botvault-app', clientSecret: 'SENTINEL-kore-secret-change-history' };
const PASSWORD = 'SENTINEL-lex-file-password-7c1d';
const ALPHA_KEY = 'lex/123456789012/us-east-1/ALPHABOT01/DRAFT/bot.zip';
const BRAVO_KEY = 'lex/123456789012/us-east-1/BRAVOBOT02/DRAFT/bot.zip';

interface World {
  h: Harness;
  kore: KoreSimulator;
  secrets: SecretsSimulator;
  sns: SnsSimulator;
}
let world: World | undefined;

async function startWorld(): Promise<World> {
  const h = await startHarness({
    s3: 'swift',
    bots: [
      { botId: 'ALPHABOT01', botName: 'Alpha', locales: ['en_US'], intents: ['Greet', 'Order'] },
      { botId: 'BRAVOBOT02', botName: 'Bravo', locales: ['en_US'], intents: ['Help'], exportEncryption: 'aes256' },
    ],
    defaultFaults: { exportLatencyMs: 50 },
  });
  const kore = await startKoreSimulator({ apps: [APP], bots: [{ botId: CONCIERGE, botName: 'Concierge', dialogs: ['Welcome', 'BookTable'] }] });
  kore.setFaults(CONCIERGE, { exportLatencyMs: 50 });
  const secrets = await startSecretsSimulator({ secrets: { 'botvault/koreai': JSON.stringify(APP), 'botvault/lex-password': PASSWORD } });
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secrets.url;
  const sns = await startSnsSimulator();
  process.env.AWS_ENDPOINT_URL_SNS = sns.url;
  world = { h, kore, secrets, sns };
  return world;
}

afterEach(async () => {
  if (!world) return;
  await world.h.close();
  await world.kore.close();
  await world.secrets.close();
  await world.sns.close();
  delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
  delete process.env.AWS_ENDPOINT_URL_SNS;
  delete process.env.BOTVAULT_CHANGE_TOPIC_ARN;
  world = undefined;
});

function config(w: World, notifications: Record<string, unknown> = {}) {
  return w.h.config({
    downloadAllowlist: [w.h.lex.url, w.kore.url],
    notifications,
    targets: [
      { provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' },
      { provider: 'lex', botId: 'BRAVOBOT02', botVersion: 'DRAFT', passwordSecret: 'botvault/lex-password' },
      { provider: 'koreai', host: w.kore.url, botId: CONCIERGE, credentialsSecret: 'botvault/koreai', exportType: 'latest' },
    ],
  });
}

const run = (w: World, runId: string, notifications: Record<string, unknown> = {}) =>
  w.h.run(config(w, notifications), { runId, changeTopicArn: w.sns.topicArn });

const line = (r: LocalRunResult, target: string) => r.manifest!.results.find((x) => x.target === target);

async function record(w: World, archiveKey: string, versionId?: string): Promise<{ record: ChangeRecord; metadata: Record<string, string> }> {
  const obj = await w.h.object(changeRecordKey(archiveKey), versionId);
  expect(obj).toBeDefined();
  return { record: changeRecordSchema.parse(JSON.parse(obj!.body.toString('utf8'))), metadata: obj!.metadata };
}

describe('change history through the synthesized workflow', () => {
  it('first run: every bot "first backup", one record each, one notification naming all three', async () => {
    const w = await startWorld();
    const r = await run(w, 'history-1');
    expect(r.status).toBe('SUCCEEDED');
    expect(line(r, 'lex:ALPHABOT01:DRAFT')).toMatchObject({ status: 'SUCCEEDED', changes: 'Alpha: first backup', changeRecord: 'written' });
    expect(line(r, 'lex:BRAVOBOT02:DRAFT')?.changes).toBe('Bravo: first backup');
    expect(line(r, `koreai:${CONCIERGE}:latest`)?.changes).toBe('Concierge: first backup');
    const alpha = await record(w, ALPHA_KEY);
    expect(alpha.record).toMatchObject({
      status: 'first',
      previous: null,
      runId: 'history-1',
      archive: { versionId: line(r, 'lex:ALPHABOT01:DRAFT')!.versionId },
    });
    expect(alpha.metadata.mac).toMatch(/^v1:/);
    expect(w.sns.published).toHaveLength(1);
    expect(w.sns.published[0]!.subject).toBe('BotVault: 3 of 3 bots changed (run history-1)');
    expect(w.sns.published[0]!.message).toBe(
      `3 of 3 bots changed: Alpha: first backup; Bravo: first backup; Concierge: first backup\n\nRun history-1 (manual); manifest: s3://${w.h.bucket}/${r.manifestKey}\n`,
    );
  });

  it('second run: the changed bots say what changed (a Lex intent, a dialog, a password-protected bot), the unchanged one nothing', async () => {
    const w = await startWorld();
    const first = await run(w, 'history-1');
    w.h.lex.modifyBot('ALPHABOT01', { intents: ['Greet', 'Order', 'Cancel'] });
    w.h.lex.modifyBot('BRAVOBOT02', { intents: [] });
    w.kore.modifyBot(CONCIERGE, { dialogs: ['Welcome', 'BookTable', 'LateCheckout'] });
    w.sns.published.length = 0;
    const r = await run(w, 'history-2');
    expect(r.status).toBe('SUCCEEDED');
    // The simulator's AlphaChoice slot type offers one value per intent: it gained one too.
    expect(line(r, 'lex:ALPHABOT01:DRAFT')?.changes).toBe('Alpha (en_US): intent Cancel added, slot type AlphaChoice +1 value');
    // Both versions of the AES-encrypted export were decrypted with the secret's password to compare them.
    expect(line(r, 'lex:BRAVOBOT02:DRAFT')?.changes).toBe('Bravo (en_US): intent Help removed, slot type BravoChoice -1 value');
    expect(line(r, `koreai:${CONCIERGE}:latest`)?.changes).toBe('Concierge: dialog LateCheckout added');

    const alpha = await record(w, ALPHA_KEY);
    expect(alpha.record).toMatchObject({
      status: 'summarized',
      runId: 'history-2',
      archive: { versionId: line(r, 'lex:ALPHABOT01:DRAFT')!.versionId },
      previous: { versionId: line(first, 'lex:ALPHABOT01:DRAFT')!.versionId, sha256: line(first, 'lex:ALPHABOT01:DRAFT')!.sha256 },
      changes: [
        { scope: 'en_US', subject: 'intent Cancel', detail: 'added' },
        { scope: 'en_US', subject: 'slot type AlphaChoice', detail: '+1 value', added: ['cancel'] },
      ],
    });
    expect(w.sns.published).toHaveLength(1);
    expect(w.sns.published[0]!.message).toMatch(
      /^3 of 3 bots changed: Alpha \(en_US\): intent Cancel added, slot type AlphaChoice \+1 value; Bravo \(en_US\): intent Help removed, slot type BravoChoice -1 value; Concierge: dialog LateCheckout added/,
    );
    // Neither the Lex file password nor the Kore.ai client secret is anywhere in what was written or sent.
    const bravo = await record(w, BRAVO_KEY);
    for (const text of [JSON.stringify(bravo), JSON.stringify(r.manifest), JSON.stringify(w.sns.published)]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(APP.clientSecret);
    }

    // A third run with nothing changed: every job UNCHANGED, no record written, no notification.
    w.sns.published.length = 0;
    const quiet = await run(w, 'history-3');
    expect(quiet.manifest!.counts).toMatchObject({ unchanged: 3, succeeded: 0 });
    expect(quiet.manifest!.results.every((x) => x.changes === undefined)).toBe(true);
    expect(w.sns.published).toEqual([]);
    expect((await record(w, ALPHA_KEY)).record.runId).toBe('history-2');
  });

  it('a throttled topic is retried; a topic that keeps failing costs the notification, never the run', async () => {
    const w = await startWorld();
    w.sns.failNext('Throttled', 1);
    const r = await run(w, 'history-1');
    expect(r.status).toBe('SUCCEEDED');
    expect(w.sns.published).toHaveLength(1); // the SDK's retry after the 429
    w.h.lex.modifyBot('ALPHABOT01', { intents: ['Greet'] });
    w.sns.failNext('InternalError', 10);
    w.sns.published.length = 0;
    const down = await run(w, 'history-2');
    expect(down.status).toBe('SUCCEEDED');
    expect(line(down, 'lex:ALPHABOT01:DRAFT')?.changes).toBe('Alpha (en_US): intent Order removed, slot type AlphaChoice -1 value');
    expect(w.sns.published).toEqual([]);
  });

  it('a failed run names what changed in its one-line message; notifications.changes false: no notification, no changes in the message', async () => {
    const w = await startWorld();
    await run(w, 'history-1');
    w.h.lex.modifyBot('ALPHABOT01', { intents: ['Greet', 'Order', 'Cancel'] });
    w.h.lex.setFaults('BRAVOBOT02', { failExport: true });
    w.sns.published.length = 0;
    const failed = await run(w, 'history-2');
    expect(failed.status).toBe('FAILED');
    expect(failed.cause).toBe(
      `1 of 3 backup jobs failed (lex:BRAVOBOT02:DRAFT); 1 of 3 bots changed: Alpha (en_US): intent Cancel added, slot type AlphaChoice +1 value; run manifest: ${failed.manifestKey}`,
    );
    // The failed-run rule mails that message; Summarize publishes nothing of its own for a failed run.
    expect(w.sns.published).toEqual([]);

    w.h.lex.modifyBot('ALPHABOT01', { intents: ['Greet'] });
    const off = await run(w, 'history-3', { changes: false });
    expect(off.status).toBe('FAILED');
    expect(off.cause).toBe(`1 of 3 backup jobs failed (lex:BRAVOBOT02:DRAFT); run manifest: ${off.manifestKey}`);
    // The record and the manifest line are kept either way: only the notification is switched off.
    expect(line(off, 'lex:ALPHABOT01:DRAFT')?.changes).toBe(
      'Alpha (en_US): intent Cancel removed, intent Order removed, slot type AlphaChoice -2 values',
    );
    expect(w.sns.published).toEqual([]);

    // A successful run with a change and the switch off: still nothing published (on, it would be: the first test).
    w.h.lex.setFaults('BRAVOBOT02', {});
    w.h.lex.modifyBot('ALPHABOT01', { intents: ['Greet', 'Order'] });
    const quiet = await run(w, 'history-4', { changes: false });
    expect(quiet.status).toBe('SUCCEEDED');
    expect(line(quiet, 'lex:ALPHABOT01:DRAFT')?.changes).toMatch(/^Alpha \(en_US\): intent Order added/);
    expect(w.sns.published).toEqual([]);
  });
});
