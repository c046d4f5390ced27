/**
 * The STS simulator answers the real @aws-sdk/client-sts over awsQuery:
 * GetCallerIdentity with the configured account, the service's error shape
 * for anything else, and AWS_ENDPOINT_URL_STS reaches it with no endpoint in code.
 */
import { GetCallerIdentityCommand, GetSessionTokenCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StsSimulator, startStsSimulator } from './sts-simulator';

describe('STS simulator', () => {
  let sts: StsSimulator;
  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
  beforeAll(async () => {
    sts = await startStsSimulator({ accountId: '210987654321' });
  });
  afterAll(() => sts.close());

  it('GetCallerIdentity: the account and ARN it was started with', async () => {
    const client = new STSClient({ endpoint: sts.url, region: 'us-east-1', credentials });
    const id = await client.send(new GetCallerIdentityCommand({}));
    expect(id).toMatchObject({ Account: '210987654321', Arn: 'arn:aws:iam::210987654321:user/botvault-operator' });
    client.destroy();
  });

  it('anything else is the service error InvalidAction, as the SDK names it', async () => {
    const client = new STSClient({ endpoint: sts.url, region: 'us-east-1', credentials });
    await expect(client.send(new GetSessionTokenCommand({}))).rejects.toMatchObject({ name: 'InvalidAction', $metadata: { httpStatusCode: 400 } });
    client.destroy();
  });

  it('is reached through AWS_ENDPOINT_URL_STS', async () => {
    const saved = process.env.AWS_ENDPOINT_URL_STS;
    process.env.AWS_ENDPOINT_URL_STS = sts.url;
    try {
      const client = new STSClient({ region: 'us-east-1', credentials });
      expect((await client.send(new GetCallerIdentityCommand({}))).Account).toBe('210987654321');
      client.destroy();
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_STS;
      else process.env.AWS_ENDPOINT_URL_STS = saved;
    }
  });
});
