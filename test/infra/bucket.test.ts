/** The archive bucket: protection, lifecycle rules, grant helpers (lib/constructs/archive-bucket.ts). */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { ArchiveBucket, type ArchiveBucketProps } from '../../lib/constructs/archive-bucket';
import { bucketPolicies, cdkJsonContext, denyInsecureTransport, logicalId, render, synth, type CfnTemplate } from './helpers';

const LEX_TARGET = { provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' };

const ABORT_RULE = { Id: 'AbortIncompleteMultipartUploads', Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } };
const TICK_RULES = [
  { Id: 'ExpireTickMarkers', Status: 'Enabled', Prefix: 'ticks/', ExpirationInDays: 100, NoncurrentVersionExpiration: { NoncurrentDays: 1 } },
];

/** An ArchiveBucket alone in a stack, plus a role to grant to. */
function bucketStack(props: ArchiveBucketProps = {}) {
  const stack = new Stack(new App({ context: cdkJsonContext() }), 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
  const archive = new ArchiveBucket(stack, 'Archive', props);
  const role = new iam.Role(stack, 'Grantee', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  return { stack, archive, role };
}

/**
 * The statement that makes every archive write conditional, rendered: a PutObject or CompleteMultipartUpload
 * (s3:ObjectCreationOperation true) of an archive with neither If-Match nor If-None-Match is denied.
 */
function denyUnconditionalArchiveWrites(bucketId: string) {
  return {
    Sid: 'DenyUnconditionalArchiveWrites',
    Action: 's3:PutObject',
    Condition: { Null: { 's3:if-match': 'true', 's3:if-none-match': 'true' }, Bool: { 's3:ObjectCreationOperation': 'true' } },
    Effect: 'Deny',
    Principal: { AWS: '*' },
    Resource: [`${bucketId}.Arn/koreai/*.zip`, `${bucketId}.Arn/lex/*.zip`],
  };
}

function roleStatements(stack: Stack): unknown[] {
  const json = Template.fromStack(stack).toJSON() as CfnTemplate;
  return Object.values(json.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .flatMap((r) => render((r.Properties!.PolicyDocument as { Statement: unknown[] }).Statement) as unknown[]);
}

describe('archive bucket in the stack', () => {
  const { template, json } = synth({ targets: [LEX_TARGET] });
  const bucketId = logicalId(json, 'AWS::S3::Bucket', 'ArchiveBucket');

  it('is versioned, private, owner-enforced and SSE-KMS encrypted with the stack key and an S3 Bucket Key', () => {
    // The archive and its access log bucket.
    template.resourceCountIs('AWS::S3::Bucket', 2);
    expect(render(json.Resources[bucketId]!.Properties)).toMatchObject({
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: `${logicalId(json, 'AWS::KMS::Key', 'EncryptionKey')}.Arn` },
          },
        ],
      },
    });
    expect(json.Resources[bucketId]!.Properties!.ObjectLockEnabled).toBeUndefined();
  });

  it('is retained when the stack is deleted or the bucket replaced', () => {
    expect(json.Resources[bucketId]!.DeletionPolicy).toBe('Retain');
    expect(json.Resources[bucketId]!.UpdateReplacePolicy).toBe('Retain');
    // No auto-delete custom resource that could empty it.
    template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
  });

  it('has a bucket policy that denies requests not made over TLS, writes that ask for other encryption and unconditional archive writes, and nothing else', () => {
    const policies = bucketPolicies(json, bucketId);
    expect(policies).toHaveLength(1);
    const keyArn = `${logicalId(json, 'AWS::KMS::Key', 'EncryptionKey')}.Arn`;
    expect(render(policies[0]!.Properties)).toEqual({
      Bucket: `Ref(${bucketId})`,
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          denyInsecureTransport(bucketId),
          {
            // Only a header that is present and names another algorithm: header-less writes (multipart parts,
            // copies, every BotVault Lambda) get the bucket default, SSE-KMS with the stack key.
            Sid: 'DenyOtherEncryptionAlgorithms',
            Action: 's3:PutObject',
            Condition: { Null: { 's3:x-amz-server-side-encryption': 'false' }, StringNotEquals: { 's3:x-amz-server-side-encryption': 'aws:kms' } },
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Resource: `${bucketId}.Arn/*`,
          },
          {
            Sid: 'DenyOtherKmsKeys',
            Action: 's3:PutObject',
            Condition: {
              Null: { 's3:x-amz-server-side-encryption-aws-kms-key-id': 'false' },
              StringNotEquals: { 's3:x-amz-server-side-encryption-aws-kms-key-id': keyArn },
            },
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Resource: `${bucketId}.Arn/*`,
          },
          denyUnconditionalArchiveWrites(bucketId),
        ],
      },
    });
  });

  it('lifecycle with the default retention: abort uploads after 1 day, expire non-current versions after 365 days, expire tick markers', () => {
    expect(json.Resources[bucketId]!.Properties!.LifecycleConfiguration).toEqual({
      Rules: [ABORT_RULE, { Id: 'NoncurrentVersions', Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 365 } }, ...TICK_RULES],
    });
  });

  it('noncurrentExpirationDays "never" keeps every version forever: no expiration, the transition (any day count for Glacier IR) stays', () => {
    const { json: j } = synth({ targets: [LEX_TARGET], retention: { noncurrentTransitionDays: 7, noncurrentExpirationDays: 'never' } });
    const id = logicalId(j, 'AWS::S3::Bucket', 'ArchiveBucket');
    expect(j.Resources[id]!.Properties!.LifecycleConfiguration).toEqual({
      Rules: [
        ABORT_RULE,
        { Id: 'NoncurrentVersions', Status: 'Enabled', NoncurrentVersionTransitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 7 }] },
        ...TICK_RULES,
      ],
    });
    const { json: forever } = synth({ targets: [LEX_TARGET], retention: { noncurrentExpirationDays: 'never' } });
    const rules = forever.Resources[logicalId(forever, 'AWS::S3::Bucket', 'ArchiveBucket')]!.Properties!.LifecycleConfiguration as {
      Rules: { Id: string }[];
    };
    expect(rules.Rules.map((r) => r.Id)).toEqual(['AbortIncompleteMultipartUploads', 'ExpireTickMarkers']);
  });

  it('lifecycle with full retention config: transition to Glacier IR, expire, keep the newest N', () => {
    const { json: j } = synth({
      targets: [LEX_TARGET],
      retention: { noncurrentTransitionDays: 30, noncurrentExpirationDays: 400, noncurrentVersionsToKeep: 10 },
    });
    const id = logicalId(j, 'AWS::S3::Bucket', 'ArchiveBucket');
    expect(j.Resources[id]!.Properties!.LifecycleConfiguration).toEqual({
      Rules: [
        ABORT_RULE,
        {
          Id: 'NoncurrentVersions',
          Status: 'Enabled',
          NoncurrentVersionTransitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 30 }],
          NoncurrentVersionExpiration: { NoncurrentDays: 400, NewerNoncurrentVersions: 10 },
        },
        ...TICK_RULES,
      ],
    });
  });
});

describe('ArchiveBucket construct', () => {
  it('without retention keeps every version: no non-current rule', () => {
    const { stack } = bucketStack();
    const json = Template.fromStack(stack).toJSON() as CfnTemplate;
    const archive = json.Resources[logicalId(json, 'AWS::S3::Bucket', 'ArchiveBucket')] as unknown as {
      Properties: { LifecycleConfiguration: { Rules: { Id: string }[] } };
    };
    const ids = archive.Properties.LifecycleConfiguration.Rules.map((r) => r.Id);
    expect(ids).toEqual(['AbortIncompleteMultipartUploads', 'ExpireTickMarkers']);
  });

  it('with a KMS key encrypts with SSE-KMS and an S3 Bucket Key', () => {
    const stack = new Stack(new App({ context: cdkJsonContext() }), 'Test');
    new ArchiveBucket(stack, 'Archive', { encryptionKey: new kms.Key(stack, 'Key') });
    Template.fromStack(stack).hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: Match.anyValue() } },
        ],
      },
    });
  });

  it('with an access logs bucket writes S3 server access logs there', () => {
    const stack = new Stack(new App({ context: cdkJsonContext() }), 'Test');
    const logs = new s3.Bucket(stack, 'Logs');
    new ArchiveBucket(stack, 'Archive', { accessLogsBucket: logs });
    const json = Template.fromStack(stack).toJSON() as CfnTemplate;
    const archive = json.Resources[logicalId(json, 'AWS::S3::Bucket', 'ArchiveBucket')]!;
    expect(archive.Properties!.LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: logicalId(json, 'AWS::S3::Bucket', 'Logs') },
      LogFilePrefix: 'botvault-archive/',
    });
  });

  it('grantArchiveWrite: put, abort a multipart upload and read (a version by its id too) under the archive prefixes; no delete, no staging, no listing', () => {
    const { stack, archive, role } = bucketStack();
    archive.grantArchiveWrite(role);
    const b = logicalId(Template.fromStack(stack).toJSON() as CfnTemplate, 'AWS::S3::Bucket', 'ArchiveBucket');
    expect(roleStatements(stack)).toEqual([
      {
        Action: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:GetObjectVersion', 's3:PutObject'],
        Effect: 'Allow',
        Resource: [`${b}.Arn/koreai/*`, `${b}.Arn/lex/*`],
      },
    ]);
  });

  it('without a KMS key the bucket policy still makes every archive write conditional', () => {
    const { stack } = bucketStack();
    const json = Template.fromStack(stack).toJSON() as CfnTemplate;
    const b = logicalId(json, 'AWS::S3::Bucket', 'ArchiveBucket');
    const [policy] = bucketPolicies(json, b);
    const statements = render((policy!.Properties!.PolicyDocument as { Statement: unknown[] }).Statement) as { Sid?: string }[];
    expect(statements.map((st) => st.Sid)).toEqual([undefined, 'DenyUnconditionalArchiveWrites']);
    expect(statements[1]).toEqual(denyUnconditionalArchiveWrites(b));
  });

  it('grantManifestWrite: PutObject on runs/* only', () => {
    const { stack, archive, role } = bucketStack();
    archive.grantManifestWrite(role);
    const b = logicalId(Template.fromStack(stack).toJSON() as CfnTemplate, 'AWS::S3::Bucket', 'ArchiveBucket');
    expect(roleStatements(stack)).toEqual([{ Action: 's3:PutObject', Effect: 'Allow', Resource: `${b}.Arn/runs/*` }]);
  });

  it('grantRead: list the bucket and its versions, read archives and manifests (not staging)', () => {
    const { stack, archive, role } = bucketStack();
    archive.grantRead(role);
    const b = logicalId(Template.fromStack(stack).toJSON() as CfnTemplate, 'AWS::S3::Bucket', 'ArchiveBucket');
    expect(roleStatements(stack)).toEqual([
      { Action: ['s3:ListBucket', 's3:ListBucketVersions'], Effect: 'Allow', Resource: `${b}.Arn` },
      { Action: ['s3:GetObject', 's3:GetObjectVersion'], Effect: 'Allow', Resource: [`${b}.Arn/koreai/*`, `${b}.Arn/lex/*`, `${b}.Arn/runs/*`] },
    ]);
  });

  it('with a KMS key, the grants add exactly the key permissions each writer or reader needs', () => {
    const stack = new Stack(new App({ context: cdkJsonContext() }), 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
    const key = new kms.Key(stack, 'Key');
    const archive = new ArchiveBucket(stack, 'Archive', { encryptionKey: key });
    const writer = new iam.Role(stack, 'Writer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const summarizer = new iam.Role(stack, 'Summarizer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const reader = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    archive.grantArchiveWrite(writer);
    archive.grantManifestWrite(summarizer);
    archive.grantRead(reader);
    const json = Template.fromStack(stack).toJSON() as CfnTemplate;
    const keyId = logicalId(json, 'AWS::KMS::Key', 'Key');
    const kmsActions = (rolePrefix: string) =>
      Object.values(json.Resources)
        .filter((r) => r.Type === 'AWS::IAM::Policy' && (r.Properties!.Roles as { Ref: string }[])[0]!.Ref.startsWith(rolePrefix))
        .flatMap(
          (r) => (r.Properties!.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown; Condition?: unknown }[] }).Statement,
        )
        .filter((s) => [s.Action].flat().some((a) => a.startsWith('kms:')))
        .map((s) => ({ Action: s.Action, Resource: render(s.Resource), Condition: s.Condition }));
    // Only what S3 does with the key for each (SSE-KMS: a data key to write, decrypt to read, both for
    // multipart uploads and copies), and only through S3 in this region.
    const viaS3 = { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } };
    expect(kmsActions('Writer')).toEqual([{ Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: `${keyId}.Arn`, Condition: viaS3 }]);
    expect(kmsActions('Summarizer')).toEqual([{ Action: 'kms:GenerateDataKey', Resource: `${keyId}.Arn`, Condition: viaS3 }]);
    expect(kmsActions('Reader')).toEqual([{ Action: 'kms:Decrypt', Resource: `${keyId}.Arn`, Condition: viaS3 }]);
  });

  it.each([
    [
      { noncurrentTransitionDays: 60, noncurrentExpirationDays: 60 },
      /noncurrentExpirationDays \(60\) must be greater than retention.noncurrentTransitionDays \(60\)/,
    ],
    [{ noncurrentVersionsToKeep: 5 }, /noncurrentVersionsToKeep only applies together with retention.noncurrentExpirationDays/],
    [{ noncurrentExpirationDays: 0 }, /noncurrentExpirationDays must be a whole number of at least 1 \(got 0\)/],
    [{ noncurrentTransitionDays: 1.5 }, /noncurrentTransitionDays must be a whole number/],
    [{ noncurrentExpirationDays: 30, noncurrentVersionsToKeep: 101 }, /at most 100/],
  ])('rejects retention %j with an actionable message', (retention, message) => {
    expect(() => bucketStack({ retention })).toThrow(message);
  });
});
