/**
 * The deep drill's Lex quotas (lambdas/deep-drill/quotas.ts): GetServiceQuota
 * of lex/L-36FA8BD2 over awsJson1_1, signed by a real SDK client's SigV4
 * signer, against the Service Quotas simulator; the documented defaults
 * whenever Service Quotas cannot say.
 */
import { LexModelsV2Client } from '@aws-sdk/client-lex-models-v2';
import { afterEach, describe, expect, it } from 'vitest';
import { LEX_BOTS_PER_ACCOUNT_QUOTA, serviceQuotasReader } from '../../lambdas/deep-drill/quotas';
import { type ServiceQuotasSimulator, type ServiceQuotasSimulatorOptions, startServiceQuotasSimulator } from '../simulators/service-quotas-simulator';

const client = new LexModelsV2Client({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } });
let sim: ServiceQuotasSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function read(opts: ServiceQuotasSimulatorOptions) {
  sim = await startServiceQuotasSimulator(opts);
  return serviceQuotasReader('us-east-1', client, { AWS_ENDPOINT_URL_SERVICE_QUOTAS: sim.url })();
}

describe('deep drill: Lex quotas from Service Quotas', () => {
  it("the account's applied bots-per-account value, from GetServiceQuota lex/L-36FA8BD2; parallel builds stay the documented 5", async () => {
    const q = await read({ applied: { [`lex/${LEX_BOTS_PER_ACCOUNT_QUOTA}`]: 250 } });
    expect(q).toEqual({
      botsPerAccount: 250,
      parallelLocaleBuilds: 5,
      source: { botsPerAccount: 'service-quotas', parallelLocaleBuilds: 'default' },
    });
    expect(sim!.calls).toEqual([expect.objectContaining({ op: 'GetServiceQuota', serviceCode: 'lex', quotaCode: 'L-36FA8BD2', status: 200 })]);
  });

  it('no applied value (NoSuchResourceException), throttling, or no Service Quotas at all: the documented 100', async () => {
    expect(await read({ withoutAppliedValue: [`lex/${LEX_BOTS_PER_ACCOUNT_QUOTA}`] })).toMatchObject({
      botsPerAccount: 100,
      source: { botsPerAccount: 'default' },
    });
    await sim!.close();
    expect(await read({ throttleFirst: 5 })).toMatchObject({ botsPerAccount: 100, source: { botsPerAccount: 'default' } });
    await sim!.close();
    sim = undefined;
    const unreachable = await serviceQuotasReader('us-east-1', client, { AWS_ENDPOINT_URL_SERVICE_QUOTAS: 'http://127.0.0.1:9' })();
    expect(unreachable.botsPerAccount).toBe(100);
  });
});
