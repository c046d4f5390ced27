/**
 * The restore drill's core against a real S3-compatible server (s3rver): a
 * sound archive passes; one whose bytes no longer match their sha256, and one
 * whose sha256 matches but whose zip entry fails its CRC-32, both fail the
 * drill by name, with the DrillFailures metric counting them.
 */
import { createHash } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drillArchive, runDrill, RestoreDrillFailedError, type MetricsSink } from '../../lambdas/restore-drill/drill';
import { S3RVER_CREDENTIALS, type S3Server, startLocalS3, stopLocalS3 } from '../simulators/s3-server';
import { readZipEntries } from '../../lib/core/archive/zip';
import { lexLikeZip } from './zip-fixtures';
import { KMSClient } from '@aws-sdk/client-kms';
import { kmsMacKey, type MacKey, macMetadata } from '../../lib/core/mac';
import { type KmsSimulator, startKmsSimulator } from '../simulators/kms-simulator';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const GOOD = 'lex/123456789012/us-east-1/GOODBOT001/DRAFT/bot.zip';
const ROTTEN = 'lex/123456789012/us-east-1/ROTTENBOT1/DRAFT/bot.zip';
const BADCRC = 'koreai/bots.kore.ai/st-1a2b3c4d-0000-1111-2222-333344445555/published/bot.zip';

let server: S3Server;
let s3: S3Client;
const bucket = 'drill';

function sink() {
  const metrics: Record<string, number> = {};
  let published = 0;
  const m: MetricsSink = {
    addMetric: (name, _unit, value) => {
      metrics[name] = value;
    },
    publishStoredMetrics: () => {
      published++;
    },
  };
  return { m, metrics, published: () => published };
}

let kms: KmsSimulator;
let kmsClient: KMSClient;
let mac: MacKey;
let macKeyArn: string;

/** Stores an archive as StoreArchive would: `sha` as its sha256 metadata, and a MAC (over the real bytes) with the stack's key. */
async function put(key: string, body: Buffer, sha: string, extra: Record<string, string> = {}): Promise<void> {
  const metadata = { sha256: sha, ...extra };
  const value = await macMetadata(mac, { kind: 'archive', key, bytes: body.length, sha256: sha256(body), metadata });
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: { ...metadata, mac: value } }));
}

beforeAll(async () => {
  ({ server, s3 } = await startLocalS3(bucket));
  kms = await startKmsSimulator();
  macKeyArn = kms.createKey();
  kmsClient = new KMSClient({ endpoint: kms.url, region: 'us-east-1', credentials: S3RVER_CREDENTIALS });
  mac = kmsMacKey(kmsClient, macKeyArn);
});
afterAll(async () => {
  kmsClient.destroy();
  await kms.close();
  await stopLocalS3({ server, s3 });
});

describe('restore drill core', () => {
  it('a sound archive passes: sha256 matches, every entry opens with its CRC; metrics say 1 checked, 0 failures', async () => {
    const zip = await lexLikeZip(40_000);
    await put(GOOD, zip, sha256(zip));
    // Not archives: never checked.
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${GOOD}.restore.json`, Body: '{}' }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'runs/2026/11/22/run.json', Body: '{}' }));

    const { m, metrics, published } = sink();
    const report = await runDrill({}, { s3, bucket, metrics: m });
    expect(report).toMatchObject({ checked: 1, failed: 0 });
    expect(report.results[0]).toMatchObject({ key: GOOD, ok: true, entries: (await readZipEntries(zip)).size, bytes: zip.length });
    expect(report.results[0]!.entries).toBeGreaterThan(5);
    expect(metrics).toEqual({ DrillArchivesChecked: 1, DrillFailures: 0 });
    expect(published()).toBe(1);

    // The Lambda handler: clients and bucket from the environment, the same result.
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_S3: server.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      BOTVAULT_BUCKET: bucket,
      AWS_ENDPOINT_URL_KMS: kms.url,
      BOTVAULT_MAC_KEY_ID: macKeyArn,
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    });
    const { handler } = await import('../../lambdas/restore-drill/handler');
    expect(await handler({ trigger: 'restore-drill' })).toMatchObject({ checked: 1, failed: 0 });
  });

  it('bytes that no longer match their sha256, and a zip entry that fails its CRC-32: the drill fails naming both', async () => {
    const zip = await lexLikeZip(1000);
    const rotten = Buffer.from(zip);
    rotten.writeUInt8(rotten.readUInt8(rotten.length - 30) ^ 0xff, rotten.length - 30); // inside the central directory: the stored sha256 no longer matches
    await put(ROTTEN, rotten, sha256(zip));

    // Flip a byte inside a stored entry's data and store the new sha256: the hash is right, the content is not.
    const badCrc = Buffer.from(await lexLikeZip(1000));
    const at = badCrc.indexOf(Buffer.from('"identifier":"ABCDEFGHIJ"'));
    expect(at).toBeGreaterThan(0);
    badCrc[at + 2] = 'X'.charCodeAt(0);
    await put(BADCRC, badCrc, sha256(badCrc));

    expect(await drillArchive(s3, bucket, BADCRC)).toMatchObject({
      ok: false,
      problem: 'the zip does not open cleanly: entry Bot/Bot.json: Invalid CRC32',
    });

    const { m, metrics } = sink();
    const err = await runDrill({}, { s3, bucket, metrics: m }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RestoreDrillFailedError);
    const message = (err as Error).message;
    expect(message).toMatch(/^Restore drill: 2 of 3 archives are not restorable: /);
    expect(message).toContain(`${ROTTEN}: sha256 mismatch: the bytes hash to ${sha256(rotten)}, the metadata says ${sha256(zip)}`);
    expect(message).toContain(`${BADCRC}: the zip does not open cleanly: entry Bot/Bot.json: Invalid CRC32`);
    expect(message).not.toContain(GOOD);
    expect(metrics).toEqual({ DrillArchivesChecked: 3, DrillFailures: 2 });
  });

  it('a password-protected export is decrypted with the secret its metadata names; without a readable password it fails', async () => {
    const key = 'lex/123456789012/us-east-1/PASSWORD01/DRAFT/bot.zip';
    const password = 'sentinel-drill-pw-93b1';
    for (const encryption of ['aes256', 'zipcrypto'] as const) {
      const zip = await lexLikeZip(500, { password, encryption });
      await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: zip, Metadata: { sha256: sha256(zip), 'password-secret': 'botvault/lex-password' } }),
      );
      const asked: string[] = [];
      const secrets = async (id: string) => {
        asked.push(id);
        return JSON.stringify({ password });
      };
      expect(await drillArchive(s3, bucket, key, { secrets })).toMatchObject({ ok: true, entries: (await readZipEntries(zip, { password })).size });
      expect(asked).toEqual(['botvault/lex-password']);
      const wrong = await drillArchive(s3, bucket, key, { secrets: async () => 'not-it' });
      expect(wrong).toMatchObject({ ok: false, problem: expect.stringMatching(/^the zip does not open cleanly: .*password/) });
      expect(JSON.stringify(wrong)).not.toContain(password);
    }
    expect(await drillArchive(s3, bucket, key)).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/password-protected \(secret botvault\/lex-password\)/),
    });
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  });

  it('an archive without sha256 metadata cannot be verified: it fails the drill', async () => {
    const zip = await lexLikeZip();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'lex/123456789012/us-east-1/NOMETA0001/DRAFT/bot.zip', Body: zip }));
    expect(await drillArchive(s3, bucket, 'lex/123456789012/us-east-1/NOMETA0001/DRAFT/bot.zip')).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^no sha256 metadata/),
    });
  });

  it('with the stack key: a version without a MAC, or whose metadata changed after its MAC was made, fails the drill', async () => {
    const key = 'lex/123456789012/us-east-1/MACBOT0001/DRAFT/bot.zip';
    const zip = await lexLikeZip(100);
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: zip, Metadata: { sha256: sha256(zip) } }));
    expect(await drillArchive(s3, bucket, key, { mac })).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^not authenticated: it carries no mac metadata/),
    });
    await put(key, zip, sha256(zip), { 'run-id': 'scheduled-1' });
    expect(await drillArchive(s3, bucket, key, { mac })).toMatchObject({ ok: true });
    const head = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: zip, Metadata: { ...head.Metadata, 'run-id': 'scheduled-2' } }));
    expect(await drillArchive(s3, bucket, key, { mac })).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^not authenticated: its MAC does not verify with key /),
    });
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  });
});
