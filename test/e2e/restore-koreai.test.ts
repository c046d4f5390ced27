/**
 * `botvault restore` and `diff` for Kore.ai, end to end: the real command line
 * as a child process against the Kore.ai simulator (uploadfile → bot import →
 * import status, with real JWT checks), the Secrets Manager simulator holding
 * the app's credentials, and versioned S3 (OpenStack Swift). Backups are real
 * runs of the synthesized workflow (runLocal).
 *
 * The client secret is a sentinel: no CLI output may ever contain it, a JWT
 * the simulator received, or a signed URL.
 *
 * The tests share one bucket and run in order.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readZipEntries } from '../../lib/core/archive/zip';
import { parseConfig, type BotVaultConfig } from '../../lib/config/config';
import { runLocal } from '../../lib/local/runner';
import { startKoreSimulator, type KoreSimulator } from '../simulators/koreai-simulator';
import { startSecretsSimulator, type SecretsSimulator } from '../simulators/secrets-simulator';
import { startCliHarness, type CliHarness, type CliResult } from './cli-harness';

const SENTINEL_SECRET = 'SENTINEL-kore-restore-secret-7f3a1c';
const APP = { clientId: 'cs-botvault-restore', clientSecret: SENTINEL_SECRET };
const BOT = 'st-1a2b3c4d-0000-1111-2222-333344445555';
const TARGET = `koreai:${BOT}:latest`;
const STACK = 'BotVaultRestoreKoreE2E';

let h: CliHarness;
let kore: KoreSimulator;
let secrets: SecretsSimulator;
let config: BotVaultConfig;
let configFile: string;
let key: string;
const versions: string[] = [];
/** Every CLI result, for the sentinel check at the end. */
const outputs: CliResult[] = [];

beforeAll(async () => {
  kore = await startKoreSimulator({ apps: [APP], bots: [{ botId: BOT, botName: 'Concierge', dialogs: ['Welcome', 'BookTable'] }] });
  secrets = await startSecretsSimulator({ secrets: { 'botvault/koreai': JSON.stringify(APP) } });
  // The harness's Lex side is unused here; its S3, CloudFormation and environment are what the CLI needs.
  h = await startCliHarness({ s3: 'swift', stackName: STACK, bots: [], targets: [{ provider: 'lex', discover: true }] });
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secrets.url;
  const raw = {
    stackName: STACK,
    downloadAllowlist: [kore.url],
    targets: [{ provider: 'koreai', host: kore.url, botId: BOT, credentialsSecret: 'botvault/koreai', exportType: 'latest' }],
  };
  config = parseConfig(raw);
  configFile = join(h.dir, 'kore.config.json');
  writeFileSync(configFile, JSON.stringify(raw));
  key = `koreai/${new URL(kore.url).host}/${BOT}/latest/bot.zip`;
});
afterAll(async () => {
  await h?.close();
  await kore?.close();
  await secrets?.close();
});

async function cli(args: string[]): Promise<CliResult> {
  const res = await h.cli([...args, '--config', configFile], { env: { AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url } });
  outputs.push(res);
  return res;
}

async function backUp(runId: string): Promise<{ status: string; versionId?: string }> {
  const run = await runLocal({ config, bucket: h.bucket, fast: true, runId });
  expect(run.status).toBe('SUCCEEDED');
  const result = run.manifest!.results.find((r) => r.target === TARGET)!;
  return { status: result.status, versionId: result.versionId };
}

async function entries(versionId?: string): Promise<Record<string, string>> {
  const res = await h.s3.send(new GetObjectCommand({ Bucket: h.bucket, Key: key, VersionId: versionId }));
  const map = await readZipEntries(Buffer.from(await res.Body!.transformToByteArray()));
  return Object.fromEntries([...map].map(([k, v]) => [k, v.toString('utf8')]));
}

const importCalls = () => kore.calls.filter((c) => ['UploadFile', 'Import', 'ImportStatus'].includes(c.op)).map((c) => c.op);

describe('Kore.ai: history, diff and restore', () => {
  it('two backups with a change in between; diff shows the changed dialogs', async () => {
    const first = await backUp('kore-restore-1');
    kore.modifyBot(BOT, { dialogs: ['Welcome', 'Complain'] });
    const second = await backUp('kore-restore-2');
    expect(first.status).toBe('SUCCEEDED');
    expect(second.status).toBe('SUCCEEDED');
    versions.push(first.versionId!, second.versionId!);

    const res = await cli(['diff', TARGET, '--files']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    // What changed in the bot first (by dialog name), then the file and its patch.
    expect(res.stdout).toMatch(/\n {2}\(bot\): (.*; )?dialog BookTable removed; dialog Complain added(;|\n)/);
    // Real exports keep dialogs and utterances in botDefinition.json: that file changed, config.json and icon.png did not.
    expect(res.stdout).toContain('changed  botDefinition.json\n');
    expect(res.stdout).toContain('0 added, 0 removed, 1 changed, 2 unchanged\n');
    expect(res.stdout).toMatch(/\n-\s+"lname": "booktable",\n/);
    expect(res.stdout).toMatch(/\n\+\s+"lname": "complain",\n/);
    expect(res.stdout).toMatch(/\n\+\s+"sentence": "complain",\n/);
  });

  it('--dry-run --merge Overwrite: credentials read, bot reachable, nothing uploaded or imported', async () => {
    const res = await cli(['restore', TARGET, '--version', versions[0]!, '--merge', 'Overwrite', '--dry-run']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`can be restored into existing bot Concierge (${BOT}), merge Overwrite\n`);
    expect(res.stdout).toContain('  credentials: secret botvault/koreai\n');
    expect(importCalls()).toEqual([]);
    // The one call made was the read-only export status, with a valid JWT.
    expect(kore.calls.at(-1)).toMatchObject({ op: 'ExportStatus', botId: BOT, status: 200 });
  });

  it('into the existing bot without --merge Overwrite: the dry run refuses exactly as the restore does (exit 2, same line), nothing sent', async () => {
    const refusal = `botvault: importing into existing Kore.ai bot ${BOT} replaces its in-development definition: pass --merge Overwrite to do that, or --to-bot NAME to import as a new bot\n`;
    for (const dry of [['--dry-run'], []]) {
      const res = await cli(['restore', TARGET, '--version', versions[0]!, ...dry]);
      expect(res.code).toBe(2);
      expect(res.stdout).toBe('');
      expect(res.stderr).toBe(refusal);
      // Both checked the bot first (credentials, reachable), then refused.
      expect(kore.calls.at(-1)).toMatchObject({ op: 'ExportStatus', botId: BOT, status: 200 });
    }
    expect(importCalls()).toEqual([]);
  });

  it('a bot that is not there: dry run and restore refuse alike (exit 2)', async () => {
    const missing = 'st-00000000-0000-0000-0000-000000000000';
    const results = [];
    for (const dry of [['--dry-run'], []])
      results.push(await cli(['restore', TARGET, '--version', versions[0]!, '--to-bot', missing, '--merge', 'Overwrite', ...dry]));
    expect(results.map((r) => r.code)).toEqual([2, 2]);
    expect(results[0]!.stderr).toBe(
      `botvault: Kore.ai bot ${missing} was not found at ${new URL(kore.url).origin}; give --to-bot a new bot name to import as a new bot\n`,
    );
    expect(results[1]!.stderr).toBe(results[0]!.stderr);
    expect(importCalls()).toEqual([]);
  });

  it('a new bot with credentials that do not work: dry run and restore refuse alike (exit 2, same line), nothing sent', async () => {
    const badFile = join(h.dir, 'kore-bad-secret.config.json');
    const raw = JSON.parse(readFileSync(configFile, 'utf8')) as { targets: Record<string, unknown>[] };
    writeFileSync(badFile, JSON.stringify({ ...raw, targets: [{ ...raw.targets[0], credentialsSecret: 'botvault/does-not-exist' }] }));
    const results: CliResult[] = [];
    for (const dry of [['--dry-run'], []]) {
      const res = await h.cli(['restore', TARGET, '--version', versions[0]!, '--to-bot', 'ConciergeCopy', ...dry, '--config', badFile], {
        env: { AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url },
      });
      outputs.push(res);
      results.push(res);
    }
    expect(results.map((r) => r.code)).toEqual([2, 2]);
    expect(results[0]!.stderr).toMatch(/^botvault: .*botvault\/does-not-exist.*\n$/);
    expect(results[1]!.stderr).toBe(results[0]!.stderr);
    expect(importCalls()).toEqual([]);
  });

  it('a failed import: exit 1 with the reason, the bot as it was', async () => {
    kore.setFaults(BOT, { failImport: 'Bot import failed: dialog BookTable references a missing service' });
    try {
      const res = await cli(['restore', TARGET, '--version', versions[0]!, '--merge', 'Overwrite', '--poll-ms', '50']);
      expect(res.code).toBe(1);
      expect(res.stdout).toMatch(/\nimport bir-[0-9a-f-]+: FAILED: Bot import failed: dialog BookTable references a missing service\n$/);
      expect(importCalls()).toEqual(['UploadFile', 'Import', 'ImportStatus']);
    } finally {
      kore.setFaults(BOT, {});
    }
    const after = await backUp('kore-restore-unchanged');
    expect(after.status).toBe('UNCHANGED');
  });

  it('--merge Overwrite restores the old version; the next backup holds exactly its entries', async () => {
    const original = await entries(versions[0]);
    expect(await entries()).not.toEqual(original);
    const res = await cli(['restore', TARGET, '--version', versions[0]!, '--merge', 'Overwrite', '--json', '--poll-ms', '50']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const report = JSON.parse(res.stdout) as { status: string; importId: string; destination: unknown; verified: boolean };
    expect(report).toMatchObject({ status: 'COMPLETED', verified: true, destination: { botId: BOT, existing: true } });
    const upload = kore.calls.find((c) => c.op === 'UploadFile' && c.status === 200);
    expect(upload).toBeDefined();
    expect(kore.imports.get(report.importId)).toMatchObject({ botId: BOT, newBot: false, status: 'success' });

    const third = await backUp('kore-restore-3');
    expect(third.status).toBe('SUCCEEDED');
    expect(await entries(third.versionId)).toEqual(original);
  });

  it('--to-bot NAME imports the archive as a new bot', async () => {
    const res = await cli(['restore', TARGET, '--version', versions[1]!, '--to-bot', 'Concierge Copy', '--poll-ms', '50']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const botId = kore.botIdByName('Concierge Copy');
    expect(botId).toMatch(/^st-/);
    expect(res.stdout).toContain(`: COMPLETED; bot Concierge Copy (${botId}) holds the archive's definition\n`);
    expect([...kore.imports.values()].at(-1)).toMatchObject({ newBot: true, botId, body: { uploadMode: 'ZIP', name: 'Concierge Copy' } });
  });

  it('no output ever carried the client secret, a JWT or a signed URL', () => {
    expect(kore.seenJwts.length).toBeGreaterThan(3);
    const all = outputs.map((o) => `${o.stdout}\n${o.stderr}`).join('\n');
    expect(all).not.toContain(SENTINEL_SECRET);
    for (const jwt of kore.seenJwts) expect(all).not.toContain(jwt);
    expect(all).not.toMatch(/eyJ[\w-]+\.[\w-]+/);
    expect(all).not.toContain('sig=');
  });
});
