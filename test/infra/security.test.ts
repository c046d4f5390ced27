/**
 * Encryption at rest with the stack's customer managed key, server access
 * logs, Object Lock, and Step Functions logging and tracing
 * (lib/constructs/encryption-key.ts, archive-bucket.ts, backup-workflow.ts).
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import { describe, expect, it } from 'vitest';
import { createS3Client } from '../../lambdas/shared/clients';
import { ConfigError, parseConfig } from '../../lib/config/config';
import { ArchiveBucket, type ArchiveBucketProps } from '../../lib/constructs/archive-bucket';
import { BackupWorkflow } from '../../lib/constructs/backup-workflow';
import { EncryptionKey } from '../../lib/constructs/encryption-key';
import { ACCOUNT, REGION, bucketPolicies, cdkJsonContext, denyInsecureTransport, logicalId, render, synth, type CfnTemplate } from './helpers';

const TARGETS = [{ provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' }];

describe('the stack key', () => {
  const { json } = synth({ targets: TARGETS });
  const keyId = logicalId(json, 'AWS::KMS::Key', 'EncryptionKey');
  const key = json.Resources[keyId]!;

  it('is one symmetric key with yearly rotation, retained when the stack is deleted (the other key is the HMAC key)', () => {
    const keys = Object.entries(json.Resources).filter(([, r]) => r.Type === 'AWS::KMS::Key');
    expect(keys.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(['AuthenticationKey', 'EncryptionKey']);
    expect(key.Properties).toMatchObject({ EnableKeyRotation: true, PendingWindowInDays: 30 });
    expect(key.Properties!.KeySpec).toBeUndefined();
    expect(key.DeletionPolicy).toBe('Retain');
    expect(key.UpdateReplacePolicy).toBe('Retain');
  });

  it("key policy: the account, CloudWatch Logs for this account's log groups (encryption-context condition), CloudWatch alarms, Step Functions log delivery", () => {
    expect(render(key.Properties!.KeyPolicy)).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Action: 'kms:*', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Resource: '*' },
        {
          Sid: 'CloudWatchLogsForThisAccountsLogGroups',
          Action: ['kms:Decrypt*', 'kms:Describe*', 'kms:Encrypt*', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'],
          Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:*` } },
          Effect: 'Allow',
          Principal: { Service: `logs.${REGION}.amazonaws.com` },
          Resource: '*',
        },
        {
          Sid: 'CloudWatchAlarmsToTheEncryptedTopic',
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          Condition: {
            StringEquals: { 'aws:SourceAccount': ACCOUNT },
            ArnLike: { 'aws:SourceArn': `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:*` },
          },
          Effect: 'Allow',
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Resource: '*',
        },
        // Added by StateMachine for execution logs delivered into the encrypted log group; its conditions by EncryptionKey's aspect.
        {
          Action: 'kms:Decrypt*',
          Condition: {
            StringEquals: { 'aws:SourceAccount': ACCOUNT },
            ArnLike: { 'aws:SourceArn': `arn:aws:logs:${REGION}:${ACCOUNT}:*` },
          },
          Effect: 'Allow',
          Principal: { Service: 'delivery.logs.amazonaws.com' },
          Resource: '*',
        },
      ],
    });
  });

  it('no AWS service may use the key for another account: every service statement is limited to this account', () => {
    const statements = (
      render(json.Resources[keyId]!.Properties!.KeyPolicy) as {
        Statement: { Principal: { Service?: string }; Condition?: Record<string, Record<string, string>> }[];
      }
    ).Statement;
    const services = statements.filter((st) => st.Principal.Service);
    expect(services.length).toBeGreaterThanOrEqual(3);
    for (const st of services) {
      const conditions = Object.assign({}, ...Object.values(st.Condition ?? {})) as Record<string, string>;
      const limited =
        conditions['aws:SourceAccount'] === ACCOUNT || (conditions['kms:EncryptionContext:aws:logs:arn'] ?? '').includes(`:${ACCOUNT}:`);
      expect(limited, st.Principal.Service).toBe(true);
    }
  });

  it('every log group (six Lambdas, the state machine) is encrypted with it', () => {
    const groups = Object.values(json.Resources).filter((r) => r.Type === 'AWS::Logs::LogGroup');
    expect(groups).toHaveLength(7);
    for (const g of groups) expect(render(g.Properties!.KmsKeyId)).toBe(`${keyId}.Arn`);
  });
});

describe('the authentication key (MACs of archives, sidecars, manifests)', () => {
  const { json } = synth({ targets: TARGETS, restoreDrill: { enabled: true } });
  const keyId = logicalId(json, 'AWS::KMS::Key', 'AuthenticationKey');
  const key = json.Resources[keyId]!;
  const role = (name: string) => `${logicalId(json, 'AWS::IAM::Role', `${name}Role`)}.Arn`;

  it('is an HMAC_256 key for GENERATE_VERIFY_MAC, without rotation (KMS rotates only symmetric encryption keys), retained', () => {
    expect(key.Properties).toMatchObject({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC', EnableKeyRotation: false });
    expect(key.DeletionPolicy).toBe('Retain');
    expect(key.UpdateReplacePolicy).toBe('Retain');
  });

  it('key policy: the account, and an explicit Deny of GenerateMac to every principal but the StoreArchive and Summarize roles', () => {
    expect(render(key.Properties!.KeyPolicy)).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Action: 'kms:*', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Resource: '*' },
        {
          Sid: 'GenerateMacOnlyByTheWritingFunctions',
          Action: 'kms:GenerateMac',
          Condition: { ArnNotEquals: { 'aws:PrincipalArn': [role('StoreArchive'), role('Summarize')] } },
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Resource: '*',
        },
      ],
    });
  });

  it("GenerateMac is in the policies of the two writers only; VerifyMac in StoreArchive's (is the current version authentic?) and the drill's; each names this key", () => {
    const grants: Record<string, string[]> = {};
    for (const r of Object.values(json.Resources)) {
      if (r.Type !== 'AWS::IAM::Policy') continue;
      const doc = render(r.Properties!.PolicyDocument) as { Statement: { Action: string | string[]; Resource: unknown }[] };
      const roleName = String(render((r.Properties!.Roles as unknown[])[0])).replace(/^Ref\((.*)Role[0-9A-F]{8}\)$/, '$1');
      for (const st of doc.Statement) {
        for (const a of [st.Action].flat()) {
          if (!/^kms:(GenerateMac|VerifyMac|\*)$/.test(a)) continue;
          expect(st.Resource).toBe(`${keyId}.Arn`);
          (grants[a] ??= []).push(roleName);
        }
      }
    }
    expect(grants).toEqual({ 'kms:GenerateMac': ['StoreArchive', 'Summarize'], 'kms:VerifyMac': ['StoreArchive', 'RestoreDrillFunction'] });
  });

  it('StoreArchive, Summarize and the drill are told the key (BOTVAULT_MAC_KEY_ID); the stack outputs it for the CLI', () => {
    for (const fn of ['StoreArchiveFunction', 'SummarizeFunction', 'RestoreDrillFunction']) {
      const env = (json.Resources[logicalId(json, 'AWS::Lambda::Function', fn)]!.Properties!.Environment as { Variables: Record<string, unknown> })
        .Variables;
      expect(render(env.BOTVAULT_MAC_KEY_ID)).toBe(`${keyId}.Arn`);
    }
    expect(render(json.Outputs?.AuthenticationKeyArn?.Value)).toBe(`${keyId}.Arn`);
  });

  describe('with the deep drill: its own key, and only VerifyMac on this one', () => {
    const { json } = synth({
      targets: TARGETS,
      deepDrill: { enabled: true, lexBotRoleArn: `arn:aws:iam::${ACCOUNT}:role/BotVaultDrillBot` },
    });
    const archiveKey = logicalId(json, 'AWS::KMS::Key', 'AuthenticationKey');
    const drillKey = logicalId(json, 'AWS::KMS::Key', 'DeepDrillAuthenticationKey');
    const roleArn = (name: string) => `${logicalId(json, 'AWS::IAM::Role', `${name}Role`)}.Arn`;
    const spared = (id: string) => {
      const policy = render(json.Resources[id]!.Properties!.KeyPolicy) as { Statement: { Sid?: string; Condition?: unknown }[] };
      const deny = policy.Statement.find((st) => st.Sid === 'GenerateMacOnlyByTheWritingFunctions')!;
      return [(deny.Condition as { ArnNotEquals: { 'aws:PrincipalArn': string | string[] } }).ArnNotEquals['aws:PrincipalArn']].flat();
    };

    it("key policies: the archive key's Deny spares StoreArchive and Summarize only; the drill key's the drill's role only", () => {
      expect(spared(archiveKey)).toEqual([roleArn('StoreArchive'), roleArn('Summarize')]);
      expect(spared(drillKey)).toEqual([roleArn('DeepDrillFunction')]);
      expect(json.Resources[drillKey]!.Properties).toMatchObject({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
    });

    it('IAM: GenerateMac on the archive key for the two writers only; the drill GenerateMacs and VerifyMacs its own key and only VerifyMacs the archive key', () => {
      const grants: Record<string, string[]> = {};
      for (const r of Object.values(json.Resources)) {
        if (r.Type !== 'AWS::IAM::Policy') continue;
        const doc = render(r.Properties!.PolicyDocument) as { Statement: { Action: string | string[]; Resource: unknown }[] };
        const roleName = String(render((r.Properties!.Roles as unknown[])[0])).replace(/^Ref\((.*)Role[0-9A-F]{8}\)$/, '$1');
        for (const st of doc.Statement) {
          for (const a of [st.Action].flat()) {
            if (!/^kms:(GenerateMac|VerifyMac|\*)$/.test(a)) continue;
            const key = st.Resource === `${archiveKey}.Arn` ? 'archive' : st.Resource === `${drillKey}.Arn` ? 'drill' : String(st.Resource);
            (grants[`${key} ${a}`] ??= []).push(roleName);
          }
        }
      }
      expect(grants).toEqual({
        'archive kms:GenerateMac': ['StoreArchive', 'Summarize'],
        'archive kms:VerifyMac': ['StoreArchive', 'DeepDrillFunction'],
        'drill kms:GenerateMac': ['DeepDrillFunction'],
        'drill kms:VerifyMac': ['DeepDrillFunction'],
      });
    });
  });
});

describe('Step Functions', () => {
  const { json } = synth({ targets: TARGETS, stackName: 'NightlyBots' });
  const machineId = logicalId(json, 'AWS::StepFunctions::StateMachine', 'Workflow');
  const machine = render(json.Resources[machineId]!.Properties) as Record<string, unknown>;
  const keyArn = `${logicalId(json, 'AWS::KMS::Key', 'EncryptionKey')}.Arn`;

  it('definition and execution history encrypted with the stack key (data keys reused 5 minutes)', () => {
    expect(machine.EncryptionConfiguration).toEqual({ Type: 'CUSTOMER_MANAGED_KMS_KEY', KmsKeyId: keyArn, KmsDataKeyReusePeriodSeconds: 300 });
  });

  it('logs every event without execution data (no inputs or outputs in the logs), X-Ray tracing on', () => {
    expect(machine.LoggingConfiguration).toEqual({
      Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: `${logicalId(json, 'AWS::Logs::LogGroup', 'WorkflowExecutionLogs')}.Arn` } }],
      IncludeExecutionData: false,
      Level: 'ALL',
    });
    expect(machine.TracingConfiguration).toEqual({ Enabled: true });
  });

  it("is named after the stack, so the role's key permission names exactly this state machine", () => {
    expect(machine.StateMachineName).toBe('NightlyBots');
    const roleId = String(machine.RoleArn).replace(/\.Arn$/, '');
    const statements = Object.values(json.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && (r.Properties!.Roles as { Ref: string }[]).some((x) => x.Ref === roleId))
      .flatMap((r) => render((r.Properties!.PolicyDocument as { Statement: unknown[] }).Statement) as { Action: unknown }[])
      .filter((st) => JSON.stringify(st.Action).includes('kms:'));
    expect(statements).toEqual([
      {
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Condition: {
          StringEquals: { 'kms:EncryptionContext:aws:states:stateMachineArn': `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:NightlyBots` },
        },
        Effect: 'Allow',
        Resource: keyArn,
      },
      {
        Action: 'kms:GenerateDataKey',
        Condition: { StringEquals: { 'kms:EncryptionContext:SourceArn': `arn:aws:logs:${REGION}:${ACCOUNT}:*` } },
        Effect: 'Allow',
        Resource: keyArn,
      },
    ]);
  });

  it('BackupWorkflow refuses a key without a state machine name (the key grant would name no state machine)', () => {
    const stack = new Stack(new App({ context: cdkJsonContext() }), 'Test', { env: { account: ACCOUNT, region: REGION } });
    const config = parseConfig({ targets: TARGETS });
    const fns = new Proxy({}, { get: () => undefined }) as never;
    expect(() => new BackupWorkflow(stack, 'W', { config, functions: fns, encryptionKey: new kms.Key(stack, 'K') })).toThrow(
      /encryptionKey needs stateMachineName/,
    );
    expect(() => new BackupWorkflow(stack, 'W2', { config, functions: fns, stateMachineName: 'has space' })).toThrow(
      /stateMachineName "has space" must be 1 to 80 letters/,
    );
  });
});

describe('server access logs', () => {
  const { json } = synth({ targets: TARGETS });
  const archiveId = logicalId(json, 'AWS::S3::Bucket', 'ArchiveBucket');
  const logsId = logicalId(json, 'AWS::S3::Bucket', 'ArchiveAccessLogs');

  it('the archive bucket logs to a dedicated bucket, under botvault-archive/', () => {
    expect(render(json.Resources[archiveId]!.Properties!.LoggingConfiguration)).toEqual({
      DestinationBucketName: `Ref(${logsId})`,
      LogFilePrefix: 'botvault-archive/',
    });
  });

  it('the log bucket: private, owner-enforced, SSE-S3 (what log delivery supports), logs kept 365 days, retained', () => {
    const logs = json.Resources[logsId]!;
    expect(render(logs.Properties)).toEqual({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      LifecycleConfiguration: { Rules: [{ Id: 'ExpireAccessLogs', Status: 'Enabled', ExpirationInDays: 365 }] },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    });
    expect(logs.DeletionPolicy).toBe('Retain');
  });

  it('the log bucket policy: TLS only, and S3 log delivery may write for the archive bucket of this account only', () => {
    const policy = bucketPolicies(json, logsId)[0]!;
    expect(render(policy.Properties!.PolicyDocument)).toEqual({
      Version: '2012-10-17',
      Statement: [
        denyInsecureTransport(logsId),
        {
          Sid: 'S3ServerAccessLogsOfTheArchiveBucket',
          Action: 's3:PutObject',
          Condition: { ArnLike: { 'aws:SourceArn': `${archiveId}.Arn` }, StringEquals: { 'aws:SourceAccount': ACCOUNT } },
          Effect: 'Allow',
          Principal: { Service: 'logging.s3.amazonaws.com' },
          Resource: `${logsId}.Arn/botvault-archive/*`,
        },
      ],
    });
  });

  it('ArchiveBucket with serverAccessLogs: false creates no log bucket and writes no logging configuration', () => {
    const json2 = bucketTemplate({ serverAccessLogs: false });
    expect(Object.values(json2.Resources).filter((r) => r.Type === 'AWS::S3::Bucket')).toHaveLength(1);
    expect(json2.Resources[logicalId(json2, 'AWS::S3::Bucket', 'ArchiveBucket')]!.Properties!.LoggingConfiguration).toBeUndefined();
  });
});

function bucketTemplate(props: ArchiveBucketProps): CfnTemplate {
  const stack = new Stack(new App({ context: cdkJsonContext() }), 'Test', { env: { account: ACCOUNT, region: REGION } });
  new ArchiveBucket(stack, 'Archive', props);
  return Template.fromStack(stack).toJSON() as CfnTemplate;
}

describe('Object Lock', () => {
  it.each(['GOVERNANCE', 'COMPLIANCE'] as const)('objectLock %s for 30 days: every new version locked by default', (mode) => {
    const { json } = synth({ targets: TARGETS, objectLock: { mode, days: 30 } });
    const props = json.Resources[logicalId(json, 'AWS::S3::Bucket', 'ArchiveBucket')]!.Properties!;
    expect(props.ObjectLockEnabled).toBe(true);
    expect(props.ObjectLockConfiguration).toEqual({ ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: mode, Days: 30 } } });
    expect(props.VersioningConfiguration).toEqual({ Status: 'Enabled' });
  });

  it('with Object Lock every Lambda sends upload checksums (S3 requires them under default retention); without it none is told to', async () => {
    const { json } = synth({ targets: TARGETS, objectLock: { mode: 'GOVERNANCE', days: 7 } });
    const fns = Object.values(json.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(fns).toHaveLength(6);
    for (const f of fns)
      expect((f.Properties!.Environment as { Variables: Record<string, unknown> }).Variables.BOTVAULT_S3_CHECKSUMS).toBe('WHEN_SUPPORTED');
    const { json: plain } = synth({ targets: TARGETS });
    expect(JSON.stringify(plain)).not.toContain('BOTVAULT_S3_CHECKSUMS');
    // What the variable does to the Lambdas' S3 client.
    const withSums = createS3Client({ BOTVAULT_S3_CHECKSUMS: 'WHEN_SUPPORTED' });
    const without = createS3Client({});
    expect(await withSums.config.requestChecksumCalculation()).toBe('WHEN_SUPPORTED');
    expect(await without.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
    withSums.destroy();
    without.destroy();
  });

  it('config errors name the field', () => {
    let err: unknown;
    try {
      parseConfig({ targets: TARGETS, objectLock: { mode: 'LEGAL_HOLD', days: 0 } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([
      { path: 'objectLock.mode', message: 'must be "GOVERNANCE" (privileged users may shorten it) or "COMPLIANCE" (nobody can, not even root)' },
      { path: 'objectLock.days', message: 'must be at least 1' },
    ]);
    expect(() => parseConfig({ targets: TARGETS, objectLock: { mode: 'GOVERNANCE' } })).toThrow(/objectLock\.days: is required/);
  });

  it.each([
    [{ mode: 'GOVERNANCE', days: 0 }, /objectLock.days must be a whole number from 1 to 36500 \(got 0\)/],
    [{ mode: 'LEGAL', days: 3 }, /objectLock.mode must be "GOVERNANCE" or "COMPLIANCE" \(got "LEGAL"\)/],
  ])('ArchiveBucket rejects objectLock %j', (objectLock, message) => {
    expect(() => bucketTemplate({ objectLock: objectLock as ArchiveBucketProps['objectLock'] })).toThrow(message);
  });
});

describe('EncryptionKey construct', () => {
  it('takes an alias and refuses a pending window outside 7 to 30 days', () => {
    const stack = new Stack(new App(), 'Test', { env: { account: ACCOUNT, region: REGION } });
    new EncryptionKey(stack, 'Key', { alias: 'botvault' });
    Template.fromStack(stack).hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/botvault' });
    expect(() => new EncryptionKey(stack, 'Key2', { pendingWindow: Duration.days(3) })).toThrow(/pendingWindow must be from 7 to 30 days/);
  });
});
