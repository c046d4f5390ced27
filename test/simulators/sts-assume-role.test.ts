/**
 * The STS simulator's AssumeRole, through the real @aws-sdk/client-sts: a
 * trusted caller gets ASIA credentials that GetCallerIdentity knows as the
 * role's session; everyone else, and a missing or wrong external id, gets
 * AccessDenied; bad parameters ValidationError; refused credentials the
 * codes STS answers; and fromTemporaryCredentials (@aws-sdk/credential-providers,
 * what the Lambdas use) reaches the simulator through AWS_ENDPOINT_URL_STS.
 */
import { AssumeRoleCommand, type AssumeRoleCommandInput, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HOME, SimCredentials } from './sim-credentials';
import { type SimRole, type StsSimulator, startStsSimulator } from './sts-simulator';

const MEMBER = '210987654321';
const READER = `arn:aws:iam::${MEMBER}:role/BotVaultReader`;
const EXTERNAL_ID = 'botvault-7f3c9a';
/** Trusts the whole home account, no external id, 12-hour sessions. */
const LONG = `arn:aws:iam::${MEMBER}:role/service/BotVaultLong`;
/** Trusts only sessions of READER (reached by role chaining); 12-hour sessions, which chaining cannot have. */
const CHAINED = 'arn:aws:iam::345678901234:role/BotVaultChained';
const STRANGER = {
  accessKeyId: 'AKIASTRANGER00000000',
  secretAccessKey: 'stranger-secret',
  accountId: '999999999999',
  arn: 'arn:aws:iam::999999999999:user/mallory',
};
type AwsCredentialIdentity = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
const ROLES: SimRole[] = [
  { roleArn: READER, trustedPrincipals: [HOME.roleArn], externalId: EXTERNAL_ID },
  { roleArn: LONG, trustedPrincipals: [`arn:aws:iam::${HOME.accountId}:root`], maxSessionDuration: 43200 },
  { roleArn: CHAINED, trustedPrincipals: [READER], maxSessionDuration: 43200 },
];
const homeCredentials = { accessKeyId: HOME.accessKeyId, secretAccessKey: HOME.secretAccessKey };

describe('STS simulator: AssumeRole', () => {
  let sts: StsSimulator;
  let registry: SimCredentials;
  const clients: STSClient[] = [];
  const client = (credentials: AwsCredentialIdentity, region = 'us-east-1') => {
    const c = new STSClient({ endpoint: sts.url, region, credentials, maxAttempts: 1 });
    clients.push(c);
    return c;
  };
  const assume = (input: Partial<AssumeRoleCommandInput>, credentials: AwsCredentialIdentity = homeCredentials) =>
    client(credentials).send(new AssumeRoleCommand({ RoleArn: READER, RoleSessionName: 'nightly', ExternalId: EXTERNAL_ID, ...input }));
  const credsOf = async (input: Partial<AssumeRoleCommandInput>, from?: AwsCredentialIdentity): Promise<AwsCredentialIdentity> => {
    const { Credentials: c } = await assume(input, from);
    return { accessKeyId: c!.AccessKeyId!, secretAccessKey: c!.SecretAccessKey!, sessionToken: c!.SessionToken! };
  };

  beforeAll(async () => {
    registry = new SimCredentials({ home: [HOME, STRANGER] });
    sts = await startStsSimulator({
      credentials: registry,
      roles: ROLES,
    });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
  });
  afterAll(() => sts.close());

  it('a trusted caller with the external id gets ASIA credentials of the role, valid for an hour by default', async () => {
    const before = Date.now();
    const out = await assume({});
    const c = out.Credentials!;
    expect(c.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(c.SecretAccessKey).toHaveLength(40);
    expect(c.SessionToken!.length).toBeGreaterThan(100);
    expect(c.Expiration).toBeInstanceOf(Date);
    expect(c.Expiration!.getTime()).toBeGreaterThan(before + 3600_000 - 2000);
    expect(c.Expiration!.getTime()).toBeLessThanOrEqual(Date.now() + 3600_000);
    expect(out.AssumedRoleUser).toEqual({
      Arn: `arn:aws:sts::${MEMBER}:assumed-role/BotVaultReader/nightly`,
      AssumedRoleId: expect.stringMatching(/^AROA[A-Z2-7]{17}:nightly$/),
    });
    // The registry holds them, for the Lex estate to accept.
    expect(registry.issued.at(-1)).toMatchObject({ accessKeyId: c.AccessKeyId, accountId: MEMBER, roleArn: READER });
  });

  it('GetCallerIdentity: home credentials are the Lambda role session; assumed ones the role session in its own account', async () => {
    expect(await client(homeCredentials).send(new GetCallerIdentityCommand({}))).toMatchObject({ Account: HOME.accountId, Arn: HOME.arn });
    const creds = await credsOf({ RoleSessionName: 'botvault-lex@eu-west-1' });
    const id = await client(creds, 'eu-west-1').send(new GetCallerIdentityCommand({}));
    expect(id).toMatchObject({
      Account: MEMBER,
      Arn: `arn:aws:sts::${MEMBER}:assumed-role/BotVaultReader/botvault-lex@eu-west-1`,
      UserId: expect.stringMatching(/^AROA[A-Z2-7]{17}:botvault-lex@eu-west-1$/),
    });
  });

  it('DurationSeconds sets Expiration; above the role maximum (default 3600) or 3600 when chaining is ValidationError', async () => {
    const short = await assume({ DurationSeconds: 900 });
    expect(short.Credentials!.Expiration!.getTime() - Date.now()).toBeLessThanOrEqual(900_000);
    expect(short.Credentials!.Expiration!.getTime() - Date.now()).toBeGreaterThan(895_000);
    await expect(assume({ DurationSeconds: 7200 })).rejects.toMatchObject({
      name: 'ValidationError',
      message: 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
      $metadata: { httpStatusCode: 400 },
    });
    const long = await assume({ RoleArn: LONG, ExternalId: undefined, DurationSeconds: 43200 });
    expect(long.Credentials!.Expiration!.getTime() - Date.now()).toBeGreaterThan(43_195_000);

    // Role chaining: READER's session assumes CHAINED (its trust names READER), for at most an hour.
    const reader = await credsOf({});
    const chained = await client(reader).send(new AssumeRoleCommand({ RoleArn: CHAINED, RoleSessionName: 'chain' }));
    expect(chained.AssumedRoleUser!.Arn).toBe('arn:aws:sts::345678901234:assumed-role/BotVaultChained/chain');
    await expect(
      client(reader).send(new AssumeRoleCommand({ RoleArn: CHAINED, RoleSessionName: 'chain', DurationSeconds: 7200 })),
    ).rejects.toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining('role chaining'),
    });
  });

  it('AccessDenied, in the service words, for an untrusted caller, a missing or wrong external id, and a role that does not exist', async () => {
    const denied = (caller: string, role: string) => ({
      name: 'AccessDenied',
      message: `User: ${caller} is not authorized to perform: sts:AssumeRole on resource: ${role}`,
      $fault: 'client',
      $metadata: { httpStatusCode: 403 },
    });
    await expect(assume({}, STRANGER)).rejects.toMatchObject(denied(STRANGER.arn, READER));
    await expect(assume({ ExternalId: undefined })).rejects.toMatchObject(denied(HOME.arn, READER));
    await expect(assume({ ExternalId: 'botvault-other' })).rejects.toMatchObject(denied(HOME.arn, READER));
    const missing = `arn:aws:iam::${MEMBER}:role/NoSuchRole`;
    await expect(assume({ RoleArn: missing })).rejects.toMatchObject(denied(HOME.arn, missing));
    // CHAINED trusts READER's sessions, not the home role.
    await expect(assume({ RoleArn: CHAINED, ExternalId: undefined })).rejects.toMatchObject(denied(HOME.arn, CHAINED));
    // An account-wide trust is not the stranger's account.
    await expect(assume({ RoleArn: LONG, ExternalId: undefined }, STRANGER)).rejects.toMatchObject(denied(STRANGER.arn, LONG));
    // Until a role trusting the caller exists.
    const later = `arn:aws:iam::${MEMBER}:role/AddedLater`;
    await expect(assume({ RoleArn: later, ExternalId: undefined }, STRANGER)).rejects.toMatchObject(denied(STRANGER.arn, later));
    sts.addRole({ roleArn: later, trustedPrincipals: [STRANGER.arn] });
    await expect(assume({ RoleArn: later, ExternalId: undefined }, STRANGER)).resolves.toMatchObject({
      AssumedRoleUser: { Arn: `arn:aws:sts::${MEMBER}:assumed-role/AddedLater/nightly` },
    });
  });

  it('ValidationError (400) for parameters outside the service model constraints, all reported at once', async () => {
    const invalid = async (input: Partial<AssumeRoleCommandInput>, ...parts: string[]) => {
      const err = await assume(input).then(
        () => undefined,
        (e: unknown) => e as Error & { $metadata: { httpStatusCode: number } },
      );
      expect(err, JSON.stringify(input)).toMatchObject({ name: 'ValidationError', $metadata: { httpStatusCode: 400 } });
      for (const p of parts) expect(err!.message).toContain(p);
    };
    await invalid({ RoleSessionName: 'a' }, "Value 'a' at 'roleSessionName'", 'length greater than or equal to 2');
    await invalid({ RoleSessionName: 'x'.repeat(65) }, 'length less than or equal to 64');
    await invalid({ RoleSessionName: 'has space' }, 'regular expression pattern: [\\w+=,.@-]*');
    await invalid({ ExternalId: 'x' }, "at 'externalId'", 'greater than or equal to 2');
    await invalid({ ExternalId: 'no spaces allowed' }, "at 'externalId'", 'regular expression pattern');
    await invalid({ DurationSeconds: 899 }, "Value '899' at 'durationSeconds'", 'greater than or equal to 900');
    await invalid({ DurationSeconds: 43201 }, 'less than or equal to 43200');
    await invalid({ RoleArn: 'arn:aws:iam::1:r' }, "at 'roleArn'", 'greater than or equal to 20');
    await invalid({ RoleSessionName: 'a', DurationSeconds: 1 }, '2 validation errors detected:');
    // Valid at the bounds.
    await expect(assume({ RoleSessionName: 'ab', DurationSeconds: 900 })).resolves.toBeDefined();
    await expect(assume({ RoleSessionName: 'y'.repeat(64), DurationSeconds: 900 })).resolves.toBeDefined();
  });

  it('refused credentials: unknown key InvalidClientTokenId, wrong secret SignatureDoesNotMatch, after expireAll ExpiredToken', async () => {
    await expect(client({ accessKeyId: 'AKIANOBODY0000000000', secretAccessKey: 'x' }).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'InvalidClientTokenId',
      message: 'The security token included in the request is invalid.',
      $metadata: { httpStatusCode: 403 },
    });
    await expect(client({ ...homeCredentials, secretAccessKey: 'not-the-secret' }).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
      $metadata: { httpStatusCode: 403 },
    });
    const creds = await credsOf({});
    await expect(client({ ...creds, sessionToken: 'forged' }).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'InvalidClientTokenId',
    });
    await expect(client(creds).send(new GetCallerIdentityCommand({}))).resolves.toMatchObject({ Account: MEMBER });
    registry.expireAll();
    await expect(client(creds).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'ExpiredToken',
      message: 'The security token included in the request is expired',
      $metadata: { httpStatusCode: 403 },
    });
    // Home credentials do not expire; new ones work.
    await expect(client(await credsOf({})).send(new GetCallerIdentityCommand({}))).resolves.toMatchObject({ Account: MEMBER });
  });

  it('fromTemporaryCredentials honours AWS_ENDPOINT_URL_STS: its own STS client assumes the role at the simulator, in the caller client region', async () => {
    const saved = process.env.AWS_ENDPOINT_URL_STS;
    process.env.AWS_ENDPOINT_URL_STS = sts.url;
    try {
      const before = sts.calls.length;
      const provider = fromTemporaryCredentials({
        masterCredentials: homeCredentials,
        params: { RoleArn: READER, RoleSessionName: 'botvault-provider', ExternalId: EXTERNAL_ID },
      });
      // As the Lambdas use it: the credentials of a client with no endpoint in code (the env names it too).
      const caller = new STSClient({ region: 'eu-west-1', credentials: provider });
      clients.push(caller);
      const id = await caller.send(new GetCallerIdentityCommand({}));
      expect(id).toMatchObject({ Account: MEMBER, Arn: `arn:aws:sts::${MEMBER}:assumed-role/BotVaultReader/botvault-provider` });
      expect(sts.calls.slice(before)).toEqual(['AssumeRole', 'GetCallerIdentity']);
      // A wrong external id reaches the caller as STS's AccessDenied.
      const wrong = new STSClient({
        region: 'eu-west-1',
        credentials: fromTemporaryCredentials({
          masterCredentials: homeCredentials,
          params: { RoleArn: READER, RoleSessionName: 'x1', ExternalId: 'nope-nope' },
        }),
      });
      clients.push(wrong);
      await expect(wrong.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({ name: 'AccessDenied' });
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_STS;
      else process.env.AWS_ENDPOINT_URL_STS = saved;
    }
  });

  it('credentialLifetimeSeconds: a client on fromTemporaryCredentials assumes the role again once its credentials near their Expiration', async () => {
    // 302 s: the SDK treats credentials within 300 s of their Expiration as expired, so these last it ~2 s.
    const short = await startStsSimulator({
      credentials: registry,
      roles: [{ roleArn: READER, trustedPrincipals: [HOME.roleArn] }],
      credentialLifetimeSeconds: 302,
    });
    try {
      const caller = new STSClient({
        endpoint: short.url,
        region: 'us-east-1',
        credentials: fromTemporaryCredentials({
          masterCredentials: homeCredentials,
          params: { RoleArn: READER, RoleSessionName: 'refresh' },
          clientConfig: { endpoint: short.url },
        }),
      });
      clients.push(caller);
      const first = await caller.send(new GetCallerIdentityCommand({}));
      await caller.send(new GetCallerIdentityCommand({}));
      expect(short.calls).toEqual(['AssumeRole', 'GetCallerIdentity', 'GetCallerIdentity']);
      await new Promise((r) => setTimeout(r, 2500));
      expect((await caller.send(new GetCallerIdentityCommand({}))).Arn).toBe(first.Arn);
      expect(short.calls).toEqual(['AssumeRole', 'GetCallerIdentity', 'GetCallerIdentity', 'AssumeRole', 'GetCallerIdentity']);
    } finally {
      await short.close();
    }
  });
});
