/**
 * The Lex estate through the real @aws-sdk/client-lex-models-v2, signed with
 * credentials from the STS simulator's AssumeRole: each account and region
 * sees only its own bots and exports, home credentials see the home tenant,
 * refused credentials get Lex's errors, downloads and uploads work through the
 * one origin, and fromTemporaryCredentials with AWS_ENDPOINT_URL_STS gives a
 * Lex client the member account's view, as the Lambdas will get it.
 */
import {
  CreateExportCommand,
  CreateUploadUrlCommand,
  DescribeBotCommand,
  DescribeExportCommand,
  LexModelsV2Client,
  ListBotsCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-lex-models-v2';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type LexEstate, startLexEstate } from './lex-estate';
import { HOME, SimCredentials } from './sim-credentials';
import { type StsSimulator, startStsSimulator } from './sts-simulator';

type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | ReturnType<typeof fromTemporaryCredentials>;

const A = '210987654321';
const B = '345678901234';
const ROLE_A = `arn:aws:iam::${A}:role/BotVaultReader`;
const ROLE_B = `arn:aws:iam::${B}:role/BotVaultReader`;
const EXTERNAL_ID = 'botvault-a-4e1d';
const homeCredentials = { accessKeyId: HOME.accessKeyId, secretAccessKey: HOME.secretAccessKey };

const botNames = async (lex: LexModelsV2Client) => ((await lex.send(new ListBotsCommand({}))).botSummaries ?? []).map((b) => b.botName).sort();

describe('Lex estate: bots per account and region', () => {
  let registry: SimCredentials;
  let sts: StsSimulator;
  let estate: LexEstate;
  const clients: { destroy(): void }[] = [];
  const lex = (credentials: Credentials, region: string) => {
    const c = new LexModelsV2Client({ endpoint: estate.url, region, credentials, maxAttempts: 1 });
    clients.push(c);
    return c;
  };
  const assume = async (RoleArn: string, ExternalId?: string) => {
    const s = new STSClient({ endpoint: sts.url, region: 'us-east-1', credentials: homeCredentials });
    clients.push(s);
    const { Credentials: c } = await s.send(
      new AssumeRoleCommand({ RoleArn, RoleSessionName: 'botvault-test', ...(ExternalId ? { ExternalId } : {}) }),
    );
    return { accessKeyId: c!.AccessKeyId!, secretAccessKey: c!.SecretAccessKey!, sessionToken: c!.SessionToken! };
  };

  beforeAll(async () => {
    registry = new SimCredentials();
    sts = await startStsSimulator({
      credentials: registry,
      roles: [
        { roleArn: ROLE_A, trustedPrincipals: [HOME.roleArn], externalId: EXTERNAL_ID },
        { roleArn: ROLE_B, trustedPrincipals: [HOME.accountId] },
      ],
    });
    estate = await startLexEstate({
      credentials: registry,
      tenants: {
        [`${HOME.accountId}/us-east-1`]: { bots: [{ botId: 'HOMEBOT001', botName: 'HomeBot' }] },
        [`${A}/eu-west-1`]: {
          bots: [
            { botId: 'ALPHABOT01', botName: 'Alpha', versions: ['1'] },
            { botId: 'ALPHABOT02', botName: 'AlphaTwo' },
            { botId: 'SHAREDBOT1', botName: 'SharedInA' },
          ],
        },
        [`${A}/us-east-1`]: { bots: [{ botId: 'ALPHAUS001', botName: 'AlphaVirginia' }] },
        [`${B}/eu-west-1`]: { bots: [{ botId: 'SHAREDBOT1', botName: 'SharedInB' }] },
      },
    });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
  });
  afterAll(async () => {
    await estate.close();
    await sts.close();
  });

  it('assumed credentials list only their account and region; home credentials the home tenant; an unconfigured one is an empty Lex', async () => {
    const a = await assume(ROLE_A, EXTERNAL_ID);
    const b = await assume(ROLE_B);
    const before = estate.calls.length;
    expect(await botNames(lex(a, 'eu-west-1'))).toEqual(['Alpha', 'AlphaTwo', 'SharedInA']);
    expect(await botNames(lex(a, 'us-east-1'))).toEqual(['AlphaVirginia']);
    expect(await botNames(lex(b, 'eu-west-1'))).toEqual(['SharedInB']);
    expect(await botNames(lex(homeCredentials, 'us-east-1'))).toEqual(['HomeBot']);
    expect(await botNames(lex(homeCredentials, 'eu-west-1'))).toEqual([]);
    expect(await botNames(lex(a, 'ap-southeast-2'))).toEqual([]);
    await expect(lex(a, 'ap-southeast-2').send(new DescribeBotCommand({ botId: 'ALPHABOT01' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      $metadata: { httpStatusCode: 404 },
    });
    expect(estate.calls.slice(before).map(({ account, region, op, status }) => ({ account, region, op, status }))).toEqual([
      { account: A, region: 'eu-west-1', op: 'ListBots', status: 200 },
      { account: A, region: 'us-east-1', op: 'ListBots', status: 200 },
      { account: B, region: 'eu-west-1', op: 'ListBots', status: 200 },
      { account: HOME.accountId, region: 'us-east-1', op: 'ListBots', status: 200 },
      { account: HOME.accountId, region: 'eu-west-1', op: 'ListBots', status: 200 },
      { account: A, region: 'ap-southeast-2', op: 'ListBots', status: 200 },
      { account: A, region: 'ap-southeast-2', op: 'DescribeBot', status: 404 },
    ]);
  });

  it("ARNs are the tenant's: default bot role in its account; ListTagsForResource takes only its own account and region", async () => {
    const a = await assume(ROLE_A, EXTERNAL_ID);
    const bot = await lex(a, 'eu-west-1').send(new DescribeBotCommand({ botId: 'ALPHABOT01' }));
    expect(bot.roleArn).toBe(`arn:aws:iam::${A}:role/aws-service-role/lexv2.amazonaws.com/AWSServiceRoleForLexV2Bots_ALPHABOT01`);
    estate.tenant(A, 'eu-west-1').setBotSettings('ALPHABOT01', { tags: { team: 'alpha' } });
    const tags = (resourceARN: string) => lex(a, 'eu-west-1').send(new ListTagsForResourceCommand({ resourceARN }));
    expect((await tags(`arn:aws:lex:eu-west-1:${A}:bot/ALPHABOT01`)).tags).toEqual({ team: 'alpha' });
    await expect(tags(`arn:aws:lex:us-east-1:${A}:bot/ALPHABOT01`)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(tags(`arn:aws:lex:eu-west-1:${B}:bot/ALPHABOT01`)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('refused credentials: unknown key and wrong or missing session token UnrecognizedClientException, wrong secret InvalidSignatureException, expired ExpiredTokenException', async () => {
    const a = await assume(ROLE_A, EXTERNAL_ID);
    const list = (c: Credentials) => lex(c, 'eu-west-1').send(new ListBotsCommand({}));
    const invalidToken = {
      name: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
      $metadata: { httpStatusCode: 403 },
    };
    await expect(list({ accessKeyId: 'ASIANOBODY0000000000', secretAccessKey: 'x', sessionToken: 'y' })).rejects.toMatchObject(invalidToken);
    await expect(list({ ...a, sessionToken: `${a.sessionToken.slice(0, -4)}AAAA` })).rejects.toMatchObject(invalidToken);
    await expect(list({ accessKeyId: a.accessKeyId, secretAccessKey: a.secretAccessKey })).rejects.toMatchObject(invalidToken);
    await expect(list({ ...homeCredentials, sessionToken: 'not-a-session' })).rejects.toMatchObject(invalidToken);
    await expect(list({ ...a, secretAccessKey: homeCredentials.secretAccessKey })).rejects.toMatchObject({
      name: 'InvalidSignatureException',
      $metadata: { httpStatusCode: 403 },
    });
    const before = estate.calls.length;
    registry.expireAll();
    await expect(list(a)).rejects.toMatchObject({
      name: 'ExpiredTokenException',
      message: 'The security token included in the request is expired',
      $metadata: { httpStatusCode: 403 },
    });
    expect(estate.calls.slice(before)).toEqual([{ region: 'eu-west-1', op: 'Rejected', status: 403, error: 'ExpiredTokenException' }]);
    // Home credentials do not expire; new assumed ones work again.
    expect(await botNames(lex(homeCredentials, 'us-east-1'))).toEqual(['HomeBot']);
    expect(await botNames(lex(await assume(ROLE_A, EXTERNAL_ID), 'eu-west-1'))).toContain('Alpha');
  });

  it('an export in account A, region X is invisible from account B and from region Y; its download works through the estate origin', async () => {
    const aEu = lex(await assume(ROLE_A, EXTERNAL_ID), 'eu-west-1');
    const { exportId } = await aEu.send(
      new CreateExportCommand({
        resourceSpecification: { botExportSpecification: { botId: 'SHAREDBOT1', botVersion: 'DRAFT' } },
        fileFormat: 'LexJson',
      }),
    );
    const described = await aEu.send(new DescribeExportCommand({ exportId }));
    expect(described.exportStatus).toBe('Completed');
    expect(described.downloadUrl!.startsWith(`${estate.url}/t/${A}/eu-west-1/downloads/${exportId}?`)).toBe(true);
    expect(described.downloadUrl).toContain(encodeURIComponent('/eu-west-1/s3/aws4_request'));

    // The same bot id exists in B's eu-west-1, but the export is A's.
    const bEu = lex(await assume(ROLE_B), 'eu-west-1');
    await expect(bEu.send(new DescribeExportCommand({ exportId }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    const aUs = lex(await assume(ROLE_A, EXTERNAL_ID), 'us-east-1');
    await expect(aUs.send(new DescribeExportCommand({ exportId }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    expect(estate.tenant(B, 'eu-west-1').exports.has(exportId!)).toBe(false);

    // No credentials on a presigned URL: the path prefix names the tenant.
    const res = await fetch(described.downloadUrl!);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(estate.tenant(A, 'eu-west-1').archiveFor(exportId!))).toBe(true);
    expect(estate.calls.at(-1)).toMatchObject({ account: A, region: 'eu-west-1', op: 'Download', status: 200, exportId });
    // The prefix serves downloads and uploads only: no API call bypasses the credentials.
    expect((await fetch(`${estate.url}/t/${A}/eu-west-1/bots/`, { method: 'POST', body: '{}' })).status).toBe(404);
  });

  it("faults are per tenant: a conflict on A's SHAREDBOT1 leaves B's bot of the same id alone", async () => {
    estate.tenant(A, 'eu-west-1').setFaults('SHAREDBOT1', { conflictCreate: 1 });
    const spec = { resourceSpecification: { botExportSpecification: { botId: 'SHAREDBOT1', botVersion: 'DRAFT' } }, fileFormat: 'LexJson' as const };
    await expect(lex(await assume(ROLE_A, EXTERNAL_ID), 'eu-west-1').send(new CreateExportCommand(spec))).rejects.toMatchObject({
      name: 'ConflictException',
    });
    await expect(lex(await assume(ROLE_B), 'eu-west-1').send(new CreateExportCommand(spec))).resolves.toMatchObject({ exportStatus: 'InProgress' });
    estate.tenant(A, 'eu-west-1').setFaults('SHAREDBOT1', {});
  });

  it("upload URLs are the tenant's too: a PUT through the estate reaches that tenant's import", async () => {
    const { importId, uploadUrl } = await lex(await assume(ROLE_B), 'eu-west-1').send(new CreateUploadUrlCommand({}));
    expect(uploadUrl!.startsWith(`${estate.url}/t/${B}/eu-west-1/uploads/${importId}?`)).toBe(true);
    expect((await fetch(uploadUrl!, { method: 'PUT', body: Buffer.from('PK\u0005\u0006') })).status).toBe(200);
    expect(estate.tenant(B, 'eu-west-1').imports.get(importId!)?.uploaded).toBe(true);
    expect(estate.tenant(A, 'eu-west-1').imports.has(importId!)).toBe(false);
  });

  it('fromTemporaryCredentials through AWS_ENDPOINT_URL_STS gives a Lex client in eu-west-1 the member account view', async () => {
    const saved = process.env.AWS_ENDPOINT_URL_STS;
    process.env.AWS_ENDPOINT_URL_STS = sts.url;
    try {
      const stsBefore = sts.calls.length;
      const credentials = fromTemporaryCredentials({
        masterCredentials: homeCredentials,
        params: { RoleArn: ROLE_A, RoleSessionName: 'botvault-lex-eu-west-1', ExternalId: EXTERNAL_ID },
      });
      const client = lex(credentials, 'eu-west-1');
      expect(await botNames(client)).toEqual(['Alpha', 'AlphaTwo', 'SharedInA']);
      expect(await botNames(client)).toEqual(['Alpha', 'AlphaTwo', 'SharedInA']);
      // One AssumeRole, then the credentials are cached for both calls.
      expect(sts.calls.slice(stsBefore)).toEqual(['AssumeRole']);
      expect(registry.issued.at(-1)).toMatchObject({ accountId: A, roleSessionName: 'botvault-lex-eu-west-1' });
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_STS;
      else process.env.AWS_ENDPOINT_URL_STS = saved;
    }
  });
});
