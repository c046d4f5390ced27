/**
 * The KMS simulator answers the real @aws-sdk/client-kms over awsJson1_1:
 * GenerateMac/VerifyMac round trips, and each documented error by the name
 * the SDK gives it (GenerateMacCommand / VerifyMacCommand docs), so what
 * lib/core/mac.ts does with them is tested against the real client.
 */
import { GenerateMacCommand, KMSClient, VerifyMacCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kmsMacKey } from '../../lib/core/mac';
import { type KmsSimulator, startKmsSimulator } from './kms-simulator';

describe('KMS simulator', () => {
  let kms: KmsSimulator;
  let client: KMSClient;
  let key: string;
  const message = Buffer.from('botvault-mac/v1\n["archive"]');
  beforeAll(async () => {
    kms = await startKmsSimulator({ accountId: '210987654321', region: 'eu-west-1' });
    key = kms.createKey({ alias: 'alias/botvault-mac' });
    // One attempt per call: the 500s below are counted as sent, not as the SDK's retries of them.
    client = new KMSClient({
      endpoint: kms.url,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDWRITER', secretAccessKey: 's' },
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    client.destroy();
    await kms.close();
  });
  const generate = (KeyId: string, Message: Uint8Array = message) =>
    client.send(new GenerateMacCommand({ KeyId, Message, MacAlgorithm: 'HMAC_SHA_256' }));

  it('GenerateMac then VerifyMac: a 32-byte HMAC-SHA-256 that verifies, by key ARN, key id, alias and alias ARN', async () => {
    const { Mac, KeyId, MacAlgorithm } = await generate(key);
    expect(Mac).toHaveLength(32);
    expect({ KeyId, MacAlgorithm }).toEqual({ KeyId: key, MacAlgorithm: 'HMAC_SHA_256' });
    for (const id of [key, key.split('/')[1]!, 'alias/botvault-mac', 'arn:aws:kms:eu-west-1:210987654321:alias/botvault-mac']) {
      const res = await client.send(new VerifyMacCommand({ KeyId: id, Message: message, Mac: Mac!, MacAlgorithm: 'HMAC_SHA_256' }));
      expect(res.MacValid).toBe(true);
    }
  });

  it('a MAC that does not match is KMSInvalidMacException (never MacValid false); kmsMacKey reads that as false', async () => {
    const { Mac } = await generate(key);
    const other = Buffer.from(message);
    other[0] = other[0]! ^ 1;
    await expect(client.send(new VerifyMacCommand({ KeyId: key, Message: other, Mac: Mac!, MacAlgorithm: 'HMAC_SHA_256' }))).rejects.toMatchObject({
      name: 'KMSInvalidMacException',
      $metadata: { httpStatusCode: 400 },
    });
    const macKey = kmsMacKey(client, key);
    expect(await macKey.verify(other, Mac!)).toBe(false);
    expect(await macKey.verify(message, Mac!)).toBe(true);
    // Another key's MAC of the same message does not verify with this one.
    const otherKey = kms.createKey();
    expect(await macKey.verify(message, (await generate(otherKey)).Mac!)).toBe(false);
  });

  it('errors by their documented names: unknown key, disabled key, wrong key usage or algorithm, message size, access denied', async () => {
    await expect(generate('arn:aws:kms:eu-west-1:210987654321:key/00000000-0000-0000-0000-000000000000')).rejects.toMatchObject({
      name: 'NotFoundException',
    });
    const disabled = kms.createKey();
    kms.setEnabled(disabled, false);
    await expect(generate(disabled)).rejects.toMatchObject({ name: 'DisabledException' });
    await expect(generate(kms.createKey({ keyUsage: 'ENCRYPT_DECRYPT' }))).rejects.toMatchObject({ name: 'InvalidKeyUsageException' });
    await expect(client.send(new GenerateMacCommand({ KeyId: key, Message: message, MacAlgorithm: 'HMAC_SHA_512' }))).rejects.toMatchObject({
      name: 'InvalidKeyUsageException',
    });
    await expect(generate(key, Buffer.alloc(4097, 1))).rejects.toMatchObject({ name: 'ValidationException' });
    expect((await generate(key, Buffer.alloc(4096, 1))).Mac).toHaveLength(32);
    const restricted = kms.createKey({ macUsers: ['AKIDSTOREARCHIVE'] });
    await expect(generate(restricted)).rejects.toMatchObject({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } });
  });

  it('injected faults: KeyUnavailableException is a 500; kmsMacKey turns any KMS failure into a retryable ProviderUnavailableError', async () => {
    kms.failNext('GenerateMac', 'KeyUnavailableException', 1);
    await expect(generate(key)).rejects.toMatchObject({ name: 'KeyUnavailableException', $metadata: { httpStatusCode: 500 } });
    kms.failNext('GenerateMac', 'KeyUnavailableException', 1);
    await expect(kmsMacKey(client, key).generate(message)).rejects.toMatchObject({
      name: 'ProviderUnavailableError',
      message: expect.stringContaining(`KMS GenerateMac with key ${key} failed: KeyUnavailableException`),
    });
    expect((await generate(key)).Mac).toHaveLength(32);
  });

  it('an unsigned request is refused (MissingAuthenticationTokenException), as AWS does', async () => {
    const res = await fetch(kms.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.GenerateMac' },
      body: JSON.stringify({ KeyId: key, Message: message.toString('base64'), MacAlgorithm: 'HMAC_SHA_256' }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ __type: 'MissingAuthenticationTokenException' });
  });
});
