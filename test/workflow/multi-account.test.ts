/**
 * One execution of the synthesized definition backs up Lex bots in two
 * accounts and two regions (issue 16): the real handlers assume the member
 * account's role through the STS simulator (AssumeRole with the external ID),
 * and the Lex estate serves each account and region its own bots to requests
 * signed with that account's credentials only. A member account whose role
 * refuses BotVault costs its own bots only.
 */
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config/config';
import { runLocal } from '../../lib/local/runner';
import { startKmsForHandlers } from '../simulators/kms-simulator';
import { type LexEstate, startLexEstate } from '../simulators/lex-estate';
import { s3ClientFor, startS3Server } from '../simulators/s3-server';
import { HOME, SimCredentials } from '../simulators/sim-credentials';
import { type StsSimulator, startStsSimulator } from '../simulators/sts-simulator';

const MEMBER = '222233334444';
const OTHER = '333344445555';
const ROLE = `arn:aws:iam::${MEMBER}:role/BotVaultBackup`;
const OTHER_ROLE = `arn:aws:iam::${OTHER}:role/BotVaultBackup`;
const EXTERNAL_ID = 'botvault-7f3a9c';

describe('one execution, two accounts and two regions (synthesized definition, real handlers)', () => {
  let credentials: SimCredentials;
  let sts: StsSimulator;
  let estate: LexEstate;
  let s3: S3Client;
  let closeAll: () => Promise<void>;
  const env = { ...process.env };

  beforeAll(async () => {
    credentials = new SimCredentials();
    sts = await startStsSimulator({
      credentials,
      roles: [
        // Trusts the functions' role with the external ID, as the member template's backup role does.
        { roleArn: ROLE, trustedPrincipals: [HOME.roleArn], externalId: EXTERNAL_ID },
        // Deployed with another external ID than the config's: BotVault is refused there.
        { roleArn: OTHER_ROLE, trustedPrincipals: [HOME.roleArn], externalId: 'not-the-configured-one' },
      ],
    });
    estate = await startLexEstate({
      credentials,
      tenants: {
        [`${HOME.accountId}/us-east-1`]: { bots: [{ botId: 'HOMEBOTUS1', botName: 'HomeVirginia' }] },
        [`${HOME.accountId}/eu-west-1`]: { bots: [{ botId: 'HOMEBOTEU1', botName: 'HomeIreland' }] },
        [`${MEMBER}/us-east-1`]: { bots: [{ botId: 'PRODBOTUS1', botName: 'ProdVirginia' }] },
        // The same bot id in two regions (Lex Global Resiliency replicates a bot under its id).
        [`${MEMBER}/eu-west-1`]: {
          bots: [
            { botId: 'PRODBOTUS1', botName: 'ProdVirginia' },
            { botId: 'PRODBOTEU1', botName: 'ProdIreland', versions: ['1'] },
          ],
        },
        [`${OTHER}/us-east-1`]: { bots: [{ botId: 'OTHERBOT01', botName: 'Other' }] },
      },
    });
    const kms = await startKmsForHandlers();
    const local = await startS3Server();
    s3 = s3ClientFor(local.endpoint);
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_LEX_MODELS_V2: estate.url,
      AWS_ENDPOINT_URL_STS: sts.url,
      AWS_ENDPOINT_URL_S3: local.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: HOME.accessKeyId,
      AWS_SECRET_ACCESS_KEY: HOME.secretAccessKey,
      BOTVAULT_ACCOUNT_ID: HOME.accountId,
      BOTVAULT_MAC_KEY_ID: kms.macKeyArn,
    });
    delete process.env.AWS_SESSION_TOKEN;
    closeAll = async () => {
      await Promise.all([estate.close(), sts.close(), kms.close(), local.close()]);
    };
  });
  afterAll(async () => {
    await closeAll?.();
    for (const k of Object.keys(process.env)) if (!(k in env)) delete process.env[k];
    Object.assign(process.env, env);
  });

  const newBucket = async () => {
    const bucket = `botvault-accounts-${randomBytes(4).toString('hex')}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    return bucket;
  };
  const body = async (bucket: string, key: string) =>
    Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToByteArray());

  it('backs up every bot where it lives, under keys naming its account and region, through the member role', async () => {
    const config = parseConfig({
      downloadAllowlist: [new URL(estate.url).origin],
      accounts: [{ id: MEMBER, name: 'prod', roleArn: ROLE, externalId: EXTERNAL_ID }],
      targets: [
        { provider: 'lex', discover: true, accounts: ['home', 'prod'], regions: ['us-east-1', 'eu-west-1'], versions: 'all' },
        // A static target in the member account, the same resource as one discovery finds: backed up once.
        { provider: 'lex', botId: 'PRODBOTEU1', botVersion: '1', account: MEMBER, region: 'eu-west-1' },
      ],
    });
    const bucket = await newBucket();
    const assumedBefore = credentials.issued.length;
    const run = await runLocal({ config, bucket, fast: true });

    expect(run.status).toBe('SUCCEEDED');
    const results = run.manifest!.results;
    expect(results.map((r) => [r.target, r.key]).sort()).toEqual(
      [
        ['lex:HOMEBOTUS1:DRAFT', `lex/${HOME.accountId}/us-east-1/HOMEBOTUS1/DRAFT/bot.zip`],
        [`lex:${HOME.accountId}:eu-west-1:HOMEBOTEU1:DRAFT`, `lex/${HOME.accountId}/eu-west-1/HOMEBOTEU1/DRAFT/bot.zip`],
        [`lex:${MEMBER}:us-east-1:PRODBOTUS1:DRAFT`, `lex/${MEMBER}/us-east-1/PRODBOTUS1/DRAFT/bot.zip`],
        [`lex:${MEMBER}:eu-west-1:PRODBOTUS1:DRAFT`, `lex/${MEMBER}/eu-west-1/PRODBOTUS1/DRAFT/bot.zip`],
        [`lex:${MEMBER}:eu-west-1:PRODBOTEU1:DRAFT`, `lex/${MEMBER}/eu-west-1/PRODBOTEU1/DRAFT/bot.zip`],
        [`lex:${MEMBER}:eu-west-1:PRODBOTEU1:1`, `lex/${MEMBER}/eu-west-1/PRODBOTEU1/1/bot.zip`],
      ].sort(),
    );
    // Each archive holds exactly what its own account and region's Lex exported.
    for (const r of results) {
      const [, account, region] = r.key!.split('/');
      expect((await body(bucket, r.key!)).equals(estate.tenant(account!, region!).archiveFor(r.exportId!))).toBe(true);
    }
    // The member account was reached with assumed credentials only, the home account with the functions' own.
    const memberCalls = estate.calls.filter((c) => c.account === MEMBER);
    expect(memberCalls.map((c) => c.op)).toEqual(expect.arrayContaining(['ListBots', 'CreateExport', 'DescribeExport', 'DeleteExport']));
    expect(estate.calls.filter((c) => c.op === 'Rejected')).toEqual([]);
    const assumed = credentials.issued.slice(assumedBefore);
    expect(assumed.length).toBeGreaterThan(0);
    expect(new Set(assumed.map((p) => p.roleArn))).toEqual(new Set([ROLE]));
    // Nothing of the temporary credentials travels through the state machine or the manifest.
    const state = JSON.stringify(run.manifest);
    for (const p of assumed) {
      expect(state).not.toContain(p.secretAccessKey);
      expect(state).not.toContain(p.sessionToken!);
      expect(state).not.toContain(p.accessKeyId);
    }
  });

  it('a member account that refuses the role fails as one job; the other accounts are backed up', async () => {
    const config = parseConfig({
      downloadAllowlist: [new URL(estate.url).origin],
      accounts: [
        { id: MEMBER, name: 'prod', roleArn: ROLE, externalId: EXTERNAL_ID },
        { id: OTHER, name: 'other', roleArn: OTHER_ROLE, externalId: EXTERNAL_ID },
      ],
      targets: [{ provider: 'lex', discover: true, accounts: ['home', 'prod', 'other'] }],
    });
    const bucket = await newBucket();
    const run = await runLocal({ config, bucket, fast: true });

    expect(run.status).toBe('FAILED');
    const byTarget = Object.fromEntries(run.manifest!.results.map((r) => [r.target, r]));
    expect(byTarget['lex:HOMEBOTUS1:DRAFT']?.status).toBe('SUCCEEDED');
    expect(byTarget[`lex:${MEMBER}:us-east-1:PRODBOTUS1:DRAFT`]?.status).toBe('SUCCEEDED');
    const failed = byTarget[`lex:${OTHER}:us-east-1:discovery`];
    expect(failed).toMatchObject({ status: 'FAILED', error: 'ProviderAuthError' });
    expect(failed!.cause).toContain(`account ${OTHER} region us-east-1`);
    expect(failed!.cause).toContain('AccessDenied');
    expect(run.cause).toContain(`lex:${OTHER}:us-east-1:discovery`);
    // Its bot was never listed, let alone exported.
    expect(estate.calls.filter((c) => c.account === OTHER && c.op !== 'Rejected')).toEqual([]);
  });
});
