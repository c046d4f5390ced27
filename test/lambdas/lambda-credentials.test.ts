/**
 * The env-only credential provider that Lambda bundles use in place of the SDK's default chain
 * (BackupFunction aliases @aws-sdk/credential-provider-node to it; test/infra/bundling.test.ts checks the bundles).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultProvider } from '../../lambdas/shared/lambda-credentials';

const saved = { ...process.env };
afterEach(() => {
  for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
});

describe('lambda-credentials', () => {
  it('answers with the credentials Lambda puts in the environment, session token included', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'ASIAENVONLY';
    process.env.AWS_SECRET_ACCESS_KEY = 'env-secret';
    process.env.AWS_SESSION_TOKEN = 'env-session';
    await expect(defaultProvider()()).resolves.toMatchObject({
      accessKeyId: 'ASIAENVONLY',
      secretAccessKey: 'env-secret',
      sessionToken: 'env-session',
    });
  });

  it('plugs into an SDK client as its credentialDefaultProvider', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'ASIAVIACLIENT';
    process.env.AWS_SECRET_ACCESS_KEY = 'client-secret';
    const s3 = new S3Client({ region: 'eu-west-1', credentialDefaultProvider: defaultProvider });
    await expect(s3.config.credentials()).resolves.toMatchObject({ accessKeyId: 'ASIAVIACLIENT' });
  });

  it('without environment credentials it fails (no other source is tried)', async () => {
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    await expect(defaultProvider()()).rejects.toMatchObject({ name: 'CredentialsProviderError' });
  });
});
