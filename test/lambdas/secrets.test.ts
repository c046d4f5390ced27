/**
 * The secret reader with the real SecretsManagerClient, against a minimal
 * local server speaking Secrets Manager's JSON 1.1 protocol (GetSecretValue only).
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderAuthError, ProviderRequestError } from '../../lib/core/errors';
import { cachedSecretReader } from '../../lib/core/secrets';

const SECRETS: Record<string, string> = { 'botvault/lex-password': 's3cr3t-p4ss', 'botvault/json': '{"password":"from-json"}' };
let server: http.Server;
let client: SecretsManagerClient;
const calls: string[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const target = req.headers['x-amz-target'];
      const { SecretId } = JSON.parse(body) as { SecretId: string };
      calls.push(`${String(target)} ${SecretId}`);
      const fail = (status: number, type: string) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type });
        res.end(JSON.stringify({ __type: type, message: `${type} for the test` }));
      };
      if (SecretId === 'denied') return fail(400, 'AccessDeniedException');
      const value = SECRETS[SecretId];
      if (value === undefined) return fail(400, 'ResourceNotFoundException');
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ ARN: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${SecretId}`, Name: SecretId, SecretString: value }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  client = new SecretsManagerClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
});
afterAll(async () => {
  client.destroy();
  await new Promise((r) => server.close(r));
});

describe('cachedSecretReader', () => {
  it('reads a secret with GetSecretValue and serves it from cache until the TTL passes', async () => {
    let now = 1_000;
    const read = cachedSecretReader(client, 60_000, () => now);
    calls.length = 0;
    expect(await read('botvault/lex-password')).toBe('s3cr3t-p4ss');
    expect(await read('botvault/lex-password')).toBe('s3cr3t-p4ss');
    expect(calls).toEqual(['secretsmanager.GetSecretValue botvault/lex-password']);
    now += 60_001;
    expect(await read('botvault/lex-password')).toBe('s3cr3t-p4ss');
    expect(calls).toHaveLength(2);
  });

  it('maps a missing secret to ProviderRequestError and a refused one to ProviderAuthError, without the value', async () => {
    const read = cachedSecretReader(client);
    await expect(read('botvault/missing')).rejects.toBeInstanceOf(ProviderRequestError);
    await expect(read('botvault/missing')).rejects.toThrow(/botvault\/missing.*ResourceNotFoundException/);
    await expect(read('denied')).rejects.toBeInstanceOf(ProviderAuthError);
  });
});
