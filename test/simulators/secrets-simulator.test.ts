/**
 * The Secrets Manager simulator speaks the real awsJson1_1 protocol: the real
 * SecretsManagerClient reads secrets by name and by ARN, errors arrive under
 * their AWS names, and the standard endpoint variable reaches it.
 */
import { request } from 'node:http';
import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { startSecretsSimulator, type SecretsSimulator } from './secrets-simulator';
import { closeAfterEach } from '../helpers/close-after-each';

const KORE = JSON.stringify({ clientId: 'cs-0000-client', clientSecret: 'super-secret-value' });

const track = closeAfterEach();

async function start(secrets: Record<string, string> = { 'botvault/koreai': KORE }): Promise<SecretsSimulator> {
  return track(await startSecretsSimulator({ secrets }));
}

const credentials = { accessKeyId: 'AKIDSIM', secretAccessKey: 'secret' };
/** maxAttempts 1: a 400 must surface at once, not after SDK retries. */
function client(s: SecretsSimulator): SecretsManagerClient {
  return track(new SecretsManagerClient({ endpoint: s.url, region: 'us-east-1', credentials, maxAttempts: 1 }));
}

describe('GetSecretValue', () => {
  it('returns the secret by name with the fields the SDK models', async () => {
    const s = await start();
    const before = Math.floor(Date.now() / 1000);
    const res = await client(s).send(new GetSecretValueCommand({ SecretId: 'botvault/koreai' }));
    expect(res.SecretString).toBe(KORE);
    expect(res.Name).toBe('botvault/koreai');
    expect(res.ARN).toBe('arn:aws:secretsmanager:us-east-1:000000000000:secret:botvault/koreai-AbCdEf');
    expect(res.VersionId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(res.VersionStages).toEqual(['AWSCURRENT']);
    // CreatedDate travels as epoch seconds and the SDK turns it into a Date.
    expect(res.CreatedDate).toBeInstanceOf(Date);
    expect(res.CreatedDate!.getTime() / 1000).toBeGreaterThanOrEqual(before - 1);
    expect(s.calls).toEqual([{ op: 'GetSecretValue', secretId: 'botvault/koreai', status: 200 }]);
  });

  it('returns the secret by full ARN and by partial ARN', async () => {
    const s = await start();
    const byArn = await client(s).send(new GetSecretValueCommand({ SecretId: s.arnOf('botvault/koreai') }));
    expect(byArn.SecretString).toBe(KORE);
    expect(byArn.Name).toBe('botvault/koreai');
    const partial = await client(s).send(
      new GetSecretValueCommand({ SecretId: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:botvault/koreai' }),
    );
    expect(partial.SecretString).toBe(KORE);
  });

  it('answers ResourceNotFoundException for an unknown name, an ARN with the wrong suffix and another account', async () => {
    const s = await start();
    for (const SecretId of [
      'botvault/nope',
      'arn:aws:secretsmanager:us-east-1:000000000000:secret:botvault/koreai-XyZxYz',
      'arn:aws:secretsmanager:us-east-1:111111111111:secret:botvault/koreai-AbCdEf',
    ]) {
      const err = await client(s)
        .send(new GetSecretValueCommand({ SecretId }))
        .then(
          () => undefined,
          (e: Error & { $metadata?: { httpStatusCode?: number } }) => e,
        );
      expect(err?.name, SecretId).toBe('ResourceNotFoundException');
      expect(err?.message).toBe("Secrets Manager can't find the specified secret.");
      expect(err?.$metadata?.httpStatusCode).toBe(400);
    }
    expect(s.calls.map((c) => c.error)).toEqual(['ResourceNotFoundException', 'ResourceNotFoundException', 'ResourceNotFoundException']);
  });

  it('put() rotates: the new value becomes AWSCURRENT and the old one AWSPREVIOUS', async () => {
    const s = await start();
    const c = client(s);
    const first = await c.send(new GetSecretValueCommand({ SecretId: 'botvault/koreai' }));
    s.put('botvault/koreai', 'rotated');
    const current = await c.send(new GetSecretValueCommand({ SecretId: 'botvault/koreai' }));
    expect(current.SecretString).toBe('rotated');
    expect(current.VersionId).not.toBe(first.VersionId);
    const previous = await c.send(new GetSecretValueCommand({ SecretId: 'botvault/koreai', VersionStage: 'AWSPREVIOUS' }));
    expect(previous.SecretString).toBe(KORE);
    expect(previous.VersionStages).toEqual(['AWSPREVIOUS']);
    const byVersion = await c.send(new GetSecretValueCommand({ SecretId: 'botvault/koreai', VersionId: first.VersionId! }));
    expect(byVersion.SecretString).toBe(KORE);
    s.put('new/secret', 'fresh');
    expect((await c.send(new GetSecretValueCommand({ SecretId: 'new/secret' }))).SecretString).toBe('fresh');
  });

  it('is reached through AWS_ENDPOINT_URL_SECRETS_MANAGER without an endpoint in code', async () => {
    const s = await start();
    const saved = process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = s.url;
    try {
      const c = track(new SecretsManagerClient({ region: 'us-east-1', credentials, maxAttempts: 1 }));
      const res = await c.send(new GetSecretValueCommand({ SecretId: 'botvault/koreai' }));
      expect(res.SecretString).toBe(KORE);
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
      else process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = saved;
    }
    expect(s.calls).toHaveLength(1);
  });
});

describe('DescribeSecret', () => {
  it('describes a secret without its value', async () => {
    const s = await start();
    s.put('botvault/koreai', 'v2');
    const res = await client(s).send(new DescribeSecretCommand({ SecretId: s.arnOf('botvault/koreai') }));
    expect(res.Name).toBe('botvault/koreai');
    expect(res.ARN).toBe(s.arnOf('botvault/koreai'));
    expect(res.CreatedDate).toBeInstanceOf(Date);
    expect(res.LastChangedDate).toBeInstanceOf(Date);
    expect(Object.values(res.VersionIdsToStages ?? {}).sort()).toEqual([['AWSCURRENT'], ['AWSPREVIOUS']]);
    expect(JSON.stringify(res)).not.toContain('super-secret-value');
  });

  it('answers ResourceNotFoundException for an unknown secret', async () => {
    const s = await start();
    await expect(client(s).send(new DescribeSecretCommand({ SecretId: 'missing' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

describe('wire format', () => {
  function post(
    url: string,
    headers: Record<string, string>,
    body: string,
  ): Promise<{ status: number; contentType?: string; json: Record<string, unknown> }> {
    return new Promise((resolve, reject) => {
      const req = request(`${url}/`, { method: 'POST', headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            contentType: res.headers['content-type'],
            json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
          }),
        );
      });
      req.on('error', reject);
      req.end(body);
    });
  }
  const signed = {
    'content-type': 'application/x-amz-json-1.1',
    authorization: 'AWS4-HMAC-SHA256 Credential=AKIDSIM/20240101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=00',
  };

  it('answers awsJson1_1 bodies and __type errors', async () => {
    const s = await start();
    const ok = await post(s.url, { ...signed, 'x-amz-target': 'secretsmanager.GetSecretValue' }, JSON.stringify({ SecretId: 'botvault/koreai' }));
    expect(ok.status).toBe(200);
    expect(ok.contentType).toBe('application/x-amz-json-1.1');
    expect(Object.keys(ok.json).sort()).toEqual(['ARN', 'CreatedDate', 'Name', 'SecretString', 'VersionId', 'VersionStages']);
    expect(typeof ok.json.CreatedDate).toBe('number');
    const missing = await post(s.url, { ...signed, 'x-amz-target': 'secretsmanager.GetSecretValue' }, JSON.stringify({ SecretId: 'nope' }));
    expect(missing).toMatchObject({
      status: 400,
      json: { __type: 'ResourceNotFoundException', Message: "Secrets Manager can't find the specified secret." },
    });
  });

  it('refuses unsigned requests and unknown operations', async () => {
    const s = await start();
    const unsigned = await post(
      s.url,
      { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.GetSecretValue' },
      JSON.stringify({ SecretId: 'botvault/koreai' }),
    );
    expect(unsigned).toMatchObject({ status: 400, json: { __type: 'MissingAuthenticationTokenException' } });
    expect(JSON.stringify(unsigned.json)).not.toContain('super-secret-value');
    const unknown = await post(s.url, { ...signed, 'x-amz-target': 'secretsmanager.DeleteSecret' }, JSON.stringify({ SecretId: 'botvault/koreai' }));
    expect(unknown).toMatchObject({ status: 400, json: { __type: 'UnknownOperationException' } });
  });
});
