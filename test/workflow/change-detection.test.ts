/**
 * Change detection and the restore sidecar through the synthesized workflow
 * (runLocal, real handlers) against the Lex simulator and s3rver: each archive
 * gets `<key>.restore.json`; a second run of unchanged bots is UNCHANGED (the
 * Lex simulator stamps every export with a new time, so the zip bytes differ);
 * changed settings rewrite only the sidecar; a changed bot is stored again;
 * "always" stores every run.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startKoreSimulator } from '../simulators/koreai-simulator';
import { startSecretsSimulator } from '../simulators/secrets-simulator';
import { harnessPerTest, head, type Harness } from './harness';
import { restoreInfoSchema, type RestoreInfo } from '../../lib/providers/definitions';
import { restoreInfoKey } from '../../lib/core/names';

const ROLE = 'arn:aws:iam::210987654321:role/LexBotRole';
const HOOK = 'arn:aws:lambda:us-east-1:210987654321:function:orders';
const BOTS = [
  {
    botId: 'ALPHABOT01',
    botName: 'Alpha',
    versions: ['1'],
    locales: ['en_US'],
    intents: ['Greet', 'Order'],
    settings: {
      roleArn: ROLE,
      idleSessionTTLInSeconds: 600,
      tags: { team: 'orders' },
      aliases: [
        {
          botAliasId: 'PRODALIAS1',
          botAliasName: 'prod',
          botVersion: '1',
          botAliasLocaleSettings: {
            en_US: { enabled: true, codeHookSpecification: { lambdaCodeHook: { lambdaARN: HOOK, codeHookInterfaceVersion: '1.0' } } },
          },
        },
      ],
    },
  },
  { botId: 'BRAVOBOT02', botName: 'Bravo', locales: ['en_US'], intents: ['Help'] },
];
const TARGETS = [
  { provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' },
  { provider: 'lex', botId: 'ALPHABOT01', botVersion: '1', localeId: 'en_US' },
  { provider: 'lex', botId: 'BRAVOBOT02', botVersion: 'DRAFT' },
];
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const harness = harnessPerTest();
let h: Harness | undefined;

async function sidecar(key: string): Promise<RestoreInfo> {
  const obj = await h!.object(restoreInfoKey(key));
  expect(obj, `sidecar of ${key}`).toBeDefined();
  return restoreInfoSchema.parse(JSON.parse(obj!.body.toString('utf8')));
}

describe('restore sidecar and change detection (synthesized workflow)', () => {
  it('a sidecar beside every archive; unchanged bots are UNCHANGED; new settings rewrite only the sidecar; a changed bot is stored', async () => {
    h = await harness({ bots: BOTS });
    const config = h.config({ targets: TARGETS });

    const first = await h.run(config);
    expect(first.status).toBe('SUCCEEDED');
    expect(first.manifest!.counts).toEqual({ total: 3, succeeded: 3, unchanged: 0, failed: 0 });
    for (const r of first.manifest!.results) {
      expect(r.restoreInfo).toBe('written');
      const info = await sidecar(r.key!);
      expect(info).toMatchObject({
        schemaVersion: 1,
        provider: 'lex',
        target: r.target,
        runId: first.runId,
        archive: { key: r.key, sha256: r.sha256 },
      });
      const archiveHead = await head(h, r.key!);
      const sidecarHead = await head(h, restoreInfoKey(r.key!));
      expect(archiveHead.Metadata?.['restore-info-sha256']).toMatch(/^[0-9a-f]{64}$/);
      expect(sidecarHead.Metadata?.['restore-info-sha256']).toBe(archiveHead.Metadata?.['restore-info-sha256']);
      expect(archiveHead.Metadata?.['content-sha256']).toMatch(/^[0-9a-f]{64}$/);
    }
    const alpha = await sidecar('lex/123456789012/us-east-1/ALPHABOT01/DRAFT/bot.zip');
    expect(alpha.lex).toMatchObject({ botId: 'ALPHABOT01', botName: 'Alpha', roleArn: ROLE, idleSessionTTLInSeconds: 600, tags: { team: 'orders' } });
    expect(alpha.lex!.aliases[0]!.botAliasLocaleSettings!.en_US!.codeHookSpecification!.lambdaCodeHook.lambdaARN).toBe(HOOK);
    // The locale archive records its bot too (a restore of a locale into a new bot needs it).
    expect((await sidecar('lex/123456789012/us-east-1/ALPHABOT01/1/locales/en_US.zip')).lex?.roleArn).toBe(ROLE);

    // Nothing changed: new exports (other zip bytes), same entries.
    const second = await h.run(config);
    expect(second.status).toBe('SUCCEEDED');
    expect(second.manifest!.counts).toEqual({ total: 3, succeeded: 0, unchanged: 3, failed: 0 });
    for (const r of second.manifest!.results) {
      const before = first.manifest!.results.find((x) => x.target === r.target)!;
      expect(h.lex.archiveFor(r.exportId!).equals(h.lex.archiveFor(before.exportId!))).toBe(false);
      expect(r).toMatchObject({ status: 'UNCHANGED', key: before.key, sha256: before.sha256, bytes: before.bytes, restoreInfo: 'unchanged' });
      const stored = await h.object(r.key!);
      expect(sha256(stored!.body)).toBe(before.sha256);
      expect(stored!.metadata['run-id']).toBe(first.runId);
      expect((await sidecar(r.key!)).runId).toBe(first.runId);
    }
    expect(await h.keys('staging/')).toEqual([]);

    // New settings outside the export: archives stay, the sidecars of that bot are rewritten.
    h.lex.setBotSettings('ALPHABOT01', { tags: { team: 'orders', costCenter: '42' } });
    const third = await h.run(config);
    expect(third.manifest!.counts).toEqual({ total: 3, succeeded: 0, unchanged: 3, failed: 0 });
    const byTarget = Object.fromEntries(third.manifest!.results.map((r) => [r.target, r]));
    expect(byTarget['lex:ALPHABOT01:DRAFT']!.restoreInfo).toBe('written');
    expect(byTarget['lex:BRAVOBOT02:DRAFT']!.restoreInfo).toBe('unchanged');
    const rewritten = await sidecar('lex/123456789012/us-east-1/ALPHABOT01/DRAFT/bot.zip');
    expect(rewritten).toMatchObject({
      runId: third.runId,
      archive: { sha256: first.manifest!.results.find((r) => r.target === 'lex:ALPHABOT01:DRAFT')!.sha256 },
    });
    expect(rewritten.lex?.tags).toEqual({ team: 'orders', costCenter: '42' });

    // A real change to the DRAFT: stored; the numbered version and the other bot stay unchanged.
    h.lex.modifyBot('ALPHABOT01', { intents: ['Greet', 'Order', 'Cancel'] });
    const fourth = await h.run(config);
    const fourthBy = Object.fromEntries(fourth.manifest!.results.map((r) => [r.target, r]));
    expect(fourthBy['lex:ALPHABOT01:DRAFT']).toMatchObject({ status: 'SUCCEEDED', restoreInfo: 'written' });
    expect(fourthBy['lex:ALPHABOT01:1:en_US']!.status).toBe('UNCHANGED');
    expect(fourthBy['lex:BRAVOBOT02:DRAFT']!.status).toBe('UNCHANGED');
    const stored = await h.object('lex/123456789012/us-east-1/ALPHABOT01/DRAFT/bot.zip');
    expect(stored!.body.equals(h.lex.archiveFor(fourthBy['lex:ALPHABOT01:DRAFT']!.exportId!))).toBe(true);
    expect((await sidecar('lex/123456789012/us-east-1/ALPHABOT01/DRAFT/bot.zip')).archive.sha256).toBe(sha256(stored!.body));
  });

  it('changeDetection "always": every run stores', async () => {
    h = await harness({ bots: BOTS });
    const config = h.config({ targets: [TARGETS[2]], changeDetection: 'always' });
    await h.run(config);
    const second = await h.run(config);
    expect(second.manifest!.counts).toEqual({ total: 1, succeeded: 1, unchanged: 0, failed: 0 });
    expect((await h.object('lex/123456789012/us-east-1/BRAVOBOT02/DRAFT/bot.zip'))!.metadata['run-id']).toBe(second.runId);
  });

  it('Kore.ai: the sidecar names the bot (from botDefinition.json); an unchanged bot is UNCHANGED', async () => {
    const BOT = 'st-1a2b3c4d-0000-1111-2222-333344445555';
    const app = { clientId: 'cs-botvault-app', clientSecret: 'test-only-client-secret' };
    h = await harness({ bots: [] });
    const kore = await startKoreSimulator({ apps: [app], bots: [{ botId: BOT, botName: 'Concierge', dialogs: ['Welcome', 'BookTable'] }] });
    const secrets = await startSecretsSimulator({ secrets: { 'botvault/koreai': JSON.stringify(app) } });
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secrets.url;
    try {
      const config = h.config({
        downloadAllowlist: [h.lex.url, kore.url],
        targets: [{ provider: 'koreai', host: kore.url, botId: BOT, credentialsSecret: 'botvault/koreai' }],
      });
      const first = await h.run(config);
      const [r1] = first.manifest!.results;
      expect(r1).toMatchObject({ status: 'SUCCEEDED', restoreInfo: 'written' });
      const info = await sidecar(r1!.key!);
      expect(info).toMatchObject({
        provider: 'koreai',
        target: r1!.target,
        koreai: { botId: BOT, botName: 'Concierge' },
        archive: { key: r1!.key, sha256: r1!.sha256 },
      });
      expect(info.lex).toBeUndefined();

      const second = await h.run(config);
      expect(second.manifest!.results[0]).toMatchObject({ status: 'UNCHANGED', sha256: r1!.sha256, restoreInfo: 'unchanged' });
    } finally {
      await kore.close();
      await secrets.close();
      delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
    }
  });
});
