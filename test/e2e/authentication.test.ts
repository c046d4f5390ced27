/**
 * Authenticated backups end to end (issue 14, lib/core/mac.ts): real runs of
 * the synthesized workflow write archive versions, sidecars and manifests
 * with MACs from the KMS simulator's HMAC key; then someone who can write
 * the bucket but may not use the key plants versions the way an attacker
 * would, and the real CLI (a child process) and the real drill handler
 * refuse every one of them, unless --accept-unverified, which says UNVERIFIED.
 *
 * Versioned S3 (OpenStack Swift). The tests share one bucket and run in order.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { GenerateMacCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readZipEntries } from '../../lib/core/archive/zip';
import { macMessage } from '../../lib/core/mac';
import { manifestKey } from '../../lib/core/run-manifest';
import { runLocal } from '../../lib/local/runner';
import { handler as drillHandler } from '../../lambdas/restore-drill/handler';
import { writeZip } from '../generators/zip-writer';
import { startCliHarness, type CliHarness } from './cli-harness';

const KEY = 'lex/123456789012/us-east-1/ALPHABOT01/DRAFT/bot.zip';
const TARGET = 'lex:ALPHABOT01:DRAFT';

let h: CliHarness;
let lexEnv: Record<string, string>;
/** The genuine version of KEY (written by a run). */
let genuine: { versionId: string; body: Buffer; metadata: Record<string, string> };

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  h = await startCliHarness({
    s3: 'swift',
    stackName: 'BotVaultAuthE2E',
    bots: [
      { botId: 'ALPHABOT01', botName: 'Alpha', locales: ['en_US'], intents: ['Greet', 'Order'] },
      { botId: 'BRAVOBOT02', botName: 'Bravo', locales: ['en_US'], intents: ['Help'] },
    ],
    targets: [
      { provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' },
      { provider: 'lex', botId: 'BRAVOBOT02', botVersion: 'DRAFT' },
    ],
  });
  lexEnv = { AWS_ENDPOINT_URL_LEX_MODELS_V2: h.lex.url };
});
afterAll(async () => h?.close());

async function current(key = KEY, versionId?: string) {
  const res = await h.s3.send(new GetObjectCommand({ Bucket: h.bucket, Key: key, VersionId: versionId }));
  return { versionId: res.VersionId!, body: Buffer.from(await res.Body!.transformToByteArray()), metadata: res.Metadata ?? {} };
}

/** Writes a version of KEY as a bucket writer without the key would: any bytes, any metadata. */
async function plant(body: Buffer, metadata: Record<string, string>): Promise<string> {
  const res = await h.s3.send(new PutObjectCommand({ Bucket: h.bucket, Key: KEY, Body: body, Metadata: metadata }));
  return res.VersionId!;
}

/** The genuine archive with one intent rewritten: a different bot definition, a sound zip. */
async function alteredArchive(): Promise<Buffer> {
  const entries = await readZipEntries(genuine.body);
  const name = [...entries.keys()].find((n) => n.endsWith('Intent.json'))!;
  const altered = [...entries].map(([n, data]) => ({ name: n, data: n === name ? data.toString('utf8').replace(/"Greet/g, '"Pwned') : data }));
  return writeZip(altered, { mtime: new Date('2026-01-01T00:00:00Z') });
}

function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

describe('authenticated backups', () => {
  it('a run authenticates every archive version, sidecar and manifest it writes; get, diff, restore and status verify them', async () => {
    const run = await runLocal({ config: h.config, bucket: h.bucket, fast: true, runId: 'auth-run-1' });
    expect(run.status).toBe('SUCCEEDED');
    genuine = await current();
    expect(genuine.metadata.mac).toMatch(/^v1:[A-Za-z0-9+/]{43}=$/);
    const sidecar = await current(`${KEY}.restore.json`);
    expect(sidecar.metadata.mac).toMatch(/^v1:/);
    const manifest = await h.s3.send(new HeadObjectCommand({ Bucket: h.bucket, Key: run.manifestKey! }));
    expect(manifest.Metadata?.mac).toMatch(/^v1:/);
    const record = await current(`${KEY}.changes.json`);
    expect(record.metadata.mac).toMatch(/^v1:/);
    // One GenerateMac each (two archives, two sidecars, two change records, the manifest), with the stack's key.
    expect(h.kms.calls.filter((c) => c.op === 'GenerateMac').map((c) => [c.keyId, c.status])).toEqual(Array(7).fill([h.macKeyArn, 200]));

    const got = await h.cli(['get', TARGET, '--config', h.configFile, '-o', 'genuine.zip']);
    expect(got.stderr).toBe('');
    expect(got.stdout).toMatch(/ \(verified, MAC authentic\)\n$/);
    const status = await h.cli(['status', 'auth-run-1', '--config', h.configFile]);
    expect(status.stderr).toBe('');
    expect(status.code).toBe(0);
    const dry = await h.cli(['restore', TARGET, '--merge', 'Overwrite', '--dry-run', '--config', h.configFile], { env: lexEnv });
    expect(dry.stderr).toBe('');
    expect(dry.stdout).toMatch(/verified, MAC authentic, \d+ entries\) can be restored into existing bot Alpha/);
    expect(h.kms.calls.filter((c) => c.op === 'VerifyMac' && c.status === 200).length).toBeGreaterThanOrEqual(4);
  });

  it('a planted definition with a recomputed sha256 and no MAC: get, diff, restore and the drill refuse it; nothing is written or imported', async () => {
    const body = await alteredArchive();
    const { mac: _dropped, ...withoutMac } = genuine.metadata;
    const planted = await plant(body, { ...withoutMac, sha256: sha256(body) });
    const lexCalls = h.lex.calls.length;

    const restore = await h.cli(['restore', TARGET, '--merge', 'Overwrite', '--config', h.configFile], { env: lexEnv });
    expect(restore.code).toBe(2);
    expect(oneLine(restore.stderr)).toBe(
      `botvault: ${KEY} version ${planted} is not authenticated: it carries no mac metadata (stored before MACs, or not by BotVault). Nothing of it was used; --accept-unverified uses it anyway (the output then says UNVERIFIED)`,
    );
    const dry = await h.cli(['restore', TARGET, '--merge', 'Overwrite', '--dry-run', '--config', h.configFile], { env: lexEnv });
    expect(dry.code).toBe(2);
    expect(h.lex.calls.length).toBe(lexCalls);

    const get = await h.cli(['get', TARGET, '--config', h.configFile, '-o', 'planted.zip']);
    expect(get.code).toBe(2);
    expect(get.stderr).toContain('is not authenticated');
    expect(existsSync(join(h.dir, 'planted.zip'))).toBe(false);
    expect(readdirSync(h.dir).filter((f) => f.endsWith('.partial'))).toEqual([]);

    const diff = await h.cli(['diff', TARGET, '--config', h.configFile]);
    expect(diff.code).toBe(2);
    expect(diff.stderr).toContain(`${KEY} version ${planted} is not authenticated`);

    process.env.BOTVAULT_BUCKET = h.bucket;
    await expect(drillHandler({ trigger: 'restore-drill' })).rejects.toThrow(
      `${KEY} (version ${planted}): not authenticated: it carries no mac metadata`,
    );

    // The operator's explicit choice: used, and said to be UNVERIFIED.
    const accepted = await h.cli(['restore', TARGET, '--merge', 'Overwrite', '--dry-run', '--accept-unverified', '--config', h.configFile], {
      env: lexEnv,
    });
    expect(accepted.code).toBe(0);
    expect(accepted.stdout).toContain(' UNVERIFIED, ');
    expect(accepted.stderr).toContain('using it UNVERIFIED (--accept-unverified)');
    const kept = await h.cli(['get', TARGET, '--accept-unverified', '--config', h.configFile, '-o', 'planted.zip']);
    expect(kept.code).toBe(0);
    expect(kept.stdout).toMatch(/ \(UNVERIFIED\)\n$/);
  });

  it('the genuine MAC copied onto other bytes, or onto changed metadata, does not verify', async () => {
    const body = await alteredArchive();
    const copied = await plant(body, { ...genuine.metadata, sha256: sha256(body) });
    const res = await h.cli(['restore', TARGET, '--version', copied, '--dry-run', '--merge', 'Overwrite', '--config', h.configFile], { env: lexEnv });
    expect(res.code).toBe(2);
    expect(oneLine(res.stderr)).toContain(
      `${KEY} version ${copied} is not authenticated: its MAC does not verify with key ${h.macKeyArn}: the object or its metadata was changed, or it was not written by this stack`,
    );
    // The genuine bytes, but a run id of the attacker's choosing (what `list` shows as the run that stored it).
    const relabelled = await plant(genuine.body, { ...genuine.metadata, 'run-id': 'scheduled-2026-12-01' });
    const get = await h.cli(['get', TARGET, '--version', relabelled, '--config', h.configFile, '-o', 'relabelled.zip']);
    expect(get.code).toBe(2);
    expect(get.stderr).toContain('its MAC does not verify');
    // A MAC in the right format but random.
    const forged = await plant(genuine.body, { ...genuine.metadata, mac: `v1:${Buffer.alloc(32, 7).toString('base64')}` });
    const diff = await h.cli(['diff', TARGET, '--from', genuine.versionId, '--to', forged, '--config', h.configFile]);
    expect(diff.code).toBe(2);
    expect(diff.stderr).toContain(`version ${forged} is not authenticated: its MAC does not verify`);
  });

  it("a MAC made with another key (the attacker's own) does not verify: readers use the stack's key, never one an object names", async () => {
    const body = await alteredArchive();
    const attackerKey = h.kms.createKey();
    const kms = new KMSClient({ endpoint: h.kms.url, region: 'us-east-1', credentials: { accessKeyId: 'ATTACKER', secretAccessKey: 'x' } });
    const metadata: Record<string, string> = { ...genuine.metadata, sha256: sha256(body) };
    delete metadata.mac;
    const subject = { kind: 'archive' as const, key: KEY, bytes: body.length, sha256: sha256(body), metadata };
    const { Mac } = await kms.send(new GenerateMacCommand({ KeyId: attackerKey, Message: macMessage(subject), MacAlgorithm: 'HMAC_SHA_256' }));
    const planted = await plant(body, { ...metadata, mac: `v1:${Buffer.from(Mac!).toString('base64')}`, 'mac-key': attackerKey });
    const res = await h.cli(['restore', TARGET, '--version', planted, '--dry-run', '--merge', 'Overwrite', '--config', h.configFile], {
      env: lexEnv,
    });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('its MAC does not verify');
    // And the stack's own key refuses to make a MAC for anyone but its writers (the key policy's Deny).
    const restricted = h.kms.createKey({ macUsers: ['STOREARCHIVE'] });
    await expect(
      kms.send(new GenerateMacCommand({ KeyId: restricted, Message: macMessage(subject), MacAlgorithm: 'HMAC_SHA_256' })),
    ).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    kms.destroy();
  });

  it('a planted run manifest (a failed night made to look clean) is refused by status unless --accept-unverified', async () => {
    const key = manifestKey('scheduled-planted', new Date('2026-11-30T03:00:00Z'));
    const fake = {
      runId: 'scheduled-planted',
      trigger: 'schedule',
      startedAt: '2026-11-30T03:00:00.000Z',
      finishedAt: '2026-11-30T03:01:00.000Z',
      durationSeconds: 60,
      counts: { total: 1, succeeded: 1, unchanged: 0, failed: 0 },
      results: [],
    };
    const body = JSON.stringify(fake);
    await h.s3.send(
      new PutObjectCommand({ Bucket: h.bucket, Key: key, Body: body, Metadata: { sha256: sha256(body), 'run-id': 'scheduled-planted' } }),
    );
    const refused = await h.cli(['status', 'scheduled-planted', '--config', h.configFile]);
    expect(refused.code).toBe(2);
    expect(oneLine(refused.stderr)).toBe(
      `botvault: run manifest ${key} is not authenticated: it carries no mac metadata (stored before MACs, or not by BotVault). Nothing of it was used; --accept-unverified uses it anyway (the output then says UNVERIFIED)`,
    );
    const shown = await h.cli(['status', 'scheduled-planted', '--accept-unverified', '--config', h.configFile]);
    expect(shown.code).toBe(0);
    expect(shown.stderr).toContain('UNVERIFIED');
  });

  it('KMS unavailable while storing: the job fails after its retries and writes nothing; the other jobs of the run are unaffected', async () => {
    // Make the next backup a real change, so StoreArchive must write (and ask for a MAC).
    h.lex.modifyBot('ALPHABOT01', { intents: ['Greet', 'Order', 'Cancel'] });
    h.lex.modifyBot('BRAVOBOT02', { intents: ['Help', 'Escalate'] });
    const before = (await current()).versionId;
    const bravoBefore = (await current('lex/123456789012/us-east-1/BRAVOBOT02/DRAFT/bot.zip')).versionId;
    // Only Alpha's archive's MAC fails: Bravo's job and the manifest go through.
    h.kms.failNext('GenerateMac', 'KeyUnavailableException', 1000, (message) => message.includes(`["archive","${KEY}"`));
    const run = await runLocal({ config: h.config, bucket: h.bucket, fast: true, runId: 'auth-run-kms-down' });
    h.kms.failNext('GenerateMac', 'KeyUnavailableException', 0);
    expect(run.status).toBe('FAILED');
    const job = run.manifest?.results.find((r) => r.target === TARGET);
    expect(job).toMatchObject({ status: 'FAILED', error: 'ProviderUnavailableError' });
    expect(job?.cause).toContain('KMS GenerateMac');
    expect((await current()).versionId).toBe(before);
    const bravo = run.manifest?.results.find((r) => r.target === 'lex:BRAVOBOT02:DRAFT');
    expect(bravo).toMatchObject({ status: 'SUCCEEDED' });
    expect(bravo?.versionId).not.toBe(bravoBefore);
  });

  it('KMS unavailable while restoring: restore cannot check the MAC and stops, saying what it needs', async () => {
    h.kms.failNext('VerifyMac', 'KMSInternalException', 100);
    const res = await h.cli(['restore', TARGET, '--version', genuine.versionId, '--dry-run', '--merge', 'Overwrite', '--config', h.configFile], {
      env: lexEnv,
    });
    h.kms.failNext('VerifyMac', 'KMSInternalException', 0);
    expect(res.code).toBe(2);
    expect(oneLine(res.stderr)).toMatch(/^botvault: cannot check the MAC of .*KMS VerifyMac with key .* failed: KMSInternalException/);
  });
});
