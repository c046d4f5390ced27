/**
 * The Service Quotas simulator over real HTTP. @aws-sdk/client-service-quotas
 * is not a dependency, so requests are built as that client builds them
 * (awsJson1_1: POST /, Content-Type application/x-amz-json-1.1, X-Amz-Target
 * ServiceQuotasV20190624.<Operation>) and signed with the SigV4 signer of a
 * real SDK client for signing name `servicequotas`, as the deep drill's
 * quota reader does (lambdas/deep-drill/quotas.ts).
 */
import { LexModelsV2Client } from '@aws-sdk/client-lex-models-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServiceQuotasSimulator, startServiceQuotasSimulator } from './service-quotas-simulator';

const REGION = 'eu-west-1';
let sq: ServiceQuotasSimulator;
let signerOf: LexModelsV2Client;

beforeAll(async () => {
  sq = await startServiceQuotasSimulator({
    accountId: '210987654321',
    region: REGION,
    applied: { 'lex/L-36FA8BD2': 250 },
    withoutAppliedValue: ['lex/L-77D6C60C'],
    throttleFirst: 1,
  });
  signerOf = new LexModelsV2Client({ region: REGION, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } });
});
afterAll(async () => {
  signerOf?.destroy();
  await sq?.close();
});

async function call(operation: string, input: unknown, headers: Record<string, string> = {}) {
  const url = new URL(sq.url);
  const body = JSON.stringify(input);
  const signer = await signerOf.config.signer();
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: '/',
      query: {},
      headers: { host: url.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `ServiceQuotasV20190624.${operation}`, ...headers },
      body,
    },
    { signingService: 'servicequotas', signingRegion: REGION },
  );
  expect(String(signed.headers.authorization)).toMatch(/Credential=AKIDTEST\/\d{8}\/eu-west-1\/servicequotas\/aws4_request/);
  const res = await fetch(url, { method: 'POST', headers: signed.headers as Record<string, string>, body });
  expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.1');
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('Service Quotas simulator: GetServiceQuota, GetAWSDefaultServiceQuota', () => {
  it('a throttled call is a 429 TooManyRequestsException (throttleFirst)', async () => {
    expect(await call('GetServiceQuota', { ServiceCode: 'lex', QuotaCode: 'L-36FA8BD2' })).toEqual({
      status: 429,
      json: { __type: 'TooManyRequestsException', Message: 'Rate exceeded' },
    });
  });

  it('Bots per account (V2), L-36FA8BD2: the applied value; its default from GetAWSDefaultServiceQuota', async () => {
    const applied = await call('GetServiceQuota', { ServiceCode: 'lex', QuotaCode: 'L-36FA8BD2' });
    expect(applied).toEqual({
      status: 200,
      json: {
        Quota: {
          ServiceCode: 'lex',
          ServiceName: 'Amazon Lex',
          QuotaArn: 'arn:aws:servicequotas:eu-west-1:210987654321:lex/L-36FA8BD2',
          QuotaCode: 'L-36FA8BD2',
          QuotaName: 'Bots per account (V2)',
          Value: 250,
          Unit: 'None',
          Adjustable: true,
          GlobalQuota: false,
          QuotaAppliedAtLevel: 'ACCOUNT',
          Description: 'The maximum number of bots that you can create in this account in the current Region.',
        },
      },
    });
    expect((await call('GetAWSDefaultServiceQuota', { ServiceCode: 'lex', QuotaCode: 'L-36FA8BD2' })).json).toMatchObject({ Quota: { Value: 100 } });
    sq.setApplied('lex', 'L-36FA8BD2', undefined);
    expect((await call('GetServiceQuota', { ServiceCode: 'lex', QuotaCode: 'L-36FA8BD2' })).json).toMatchObject({ Quota: { Value: 100 } });
    expect((await call('GetServiceQuota', { ServiceCode: 'lex', QuotaCode: 'L-ED50DA7C' })).json).toMatchObject({
      Quota: { QuotaName: 'Sample utterances per intent (V2)', Value: 1500 },
    });
  });

  it('NoSuchResourceException (404): an unknown quota (parallel builds have no code), an unknown service, an applied value that is not available', async () => {
    const unknown = await call('GetServiceQuota', { ServiceCode: 'lex', QuotaCode: 'L-00000000' });
    expect(unknown).toMatchObject({ status: 404, json: { __type: 'NoSuchResourceException' } });
    expect((await call('GetServiceQuota', { ServiceCode: 'nosuchservice', QuotaCode: 'L-36FA8BD2' })).json.__type).toBe('NoSuchResourceException');
    expect(await call('GetServiceQuota', { ServiceCode: 'lex', QuotaCode: 'L-77D6C60C' })).toMatchObject({
      status: 404,
      json: { __type: 'NoSuchResourceException' },
    });
    expect((await call('GetAWSDefaultServiceQuota', { ServiceCode: 'lex', QuotaCode: 'L-77D6C60C' })).json).toMatchObject({ Quota: { Value: 10 } });
  });

  it('IllegalArgumentException (400) without both codes; an unknown operation; the calls are recorded', async () => {
    expect(await call('GetServiceQuota', { ServiceCode: 'lex' })).toMatchObject({ status: 400, json: { __type: 'IllegalArgumentException' } });
    expect(await call('ListServiceQuotas', { ServiceCode: 'lex' })).toMatchObject({ status: 400, json: { __type: 'UnknownOperationException' } });
    const unsigned = await fetch(sq.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'ServiceQuotasV20190624.GetServiceQuota' },
      body: '{}',
    });
    expect(((await unsigned.json()) as { __type: string }).__type).toBe('MissingAuthenticationTokenException');
    expect(sq.calls.filter((c) => c.quotaCode === 'L-36FA8BD2').map((c) => [c.op, c.status])).toEqual([
      ['GetServiceQuota', 429],
      ['GetServiceQuota', 200],
      ['GetAWSDefaultServiceQuota', 200],
      ['GetServiceQuota', 200],
      ['GetServiceQuota', 404],
    ]);
  });
});
