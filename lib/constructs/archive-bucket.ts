/**
 * The archive bucket: one stable key per backed-up resource, so the bucket's
 * object versions *are* each bot's history (DESIGN §3).
 *
 * Everything about the bucket lives here: its protection (versioning, no
 * public access, TLS only, encryption, retained on stack deletion), its
 * lifecycle rules, and the grants the Lambdas get, each limited to the key
 * prefixes that Lambda actually writes.
 */
import { type CfnResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct, type IConstruct } from 'constructs';
import { MANIFEST_PREFIX, TICK_PREFIX } from '../core/names';
import { ARCHIVE_PREFIXES } from '../providers/definitions';

/** S3 Object Lock default retention for every new object version. */
interface ArchiveObjectLock {
  /** GOVERNANCE: users with s3:BypassGovernanceRetention may shorten or remove it; COMPLIANCE: nobody can, not even root. */
  readonly mode: 'GOVERNANCE' | 'COMPLIANCE';
  /** Days each new version is protected from deletion and overwrite of that version. */
  readonly days: number;
}

/** How long versions that are no longer current are kept, and where. */
interface ArchiveRetention {
  /**
   * Days after which a non-current version moves to S3 Glacier Instant Retrieval.
   * @default - non-current versions stay in S3 Standard
   */
  readonly noncurrentTransitionDays?: number;
  /**
   * Days after which a non-current version is deleted (subject to `noncurrentVersionsToKeep`).
   * @default - non-current versions are kept forever
   */
  readonly noncurrentExpirationDays?: number;
  /**
   * How many of the newest non-current versions of each key to keep regardless of age.
   * Only meaningful with `noncurrentExpirationDays`.
   * @default - age alone decides
   */
  readonly noncurrentVersionsToKeep?: number;
}

export interface ArchiveBucketProps {
  /**
   * Retention of non-current versions (a bot's older backups).
   * @default - keep every version forever, in S3 Standard
   */
  readonly retention?: ArchiveRetention;
  /**
   * A customer managed KMS key to encrypt objects with (SSE-KMS, with an S3
   * Bucket Key to keep KMS request costs down). The grant helpers then also
   * grant the key permissions each grantee needs.
   * @default - S3 managed keys (SSE-S3)
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Whether to write S3 server access logs (who read, wrote or deleted which
   * version): to `accessLogsBucket`, or to a dedicated bucket this construct creates.
   * @default true
   */
  readonly serverAccessLogs?: boolean;
  /**
   * A bucket to write S3 server access logs to. It must allow the S3 logging
   * service to write to it. Ignored when `serverAccessLogs` is false.
   * @default - a dedicated, private, SSE-S3 encrypted, TLS-only bucket, retained with the stack deleted
   */
  readonly accessLogsBucket?: s3.IBucket;
  /**
   * How long the dedicated access logs bucket keeps logs.
   * @default Duration.days(365)
   */
  readonly accessLogsRetention?: Duration;
  /**
   * S3 Object Lock default retention: no version can be deleted (by anyone in
   * COMPLIANCE mode) until it is this old. Best chosen before the first deploy.
   * @default - no Object Lock
   */
  readonly objectLock?: ArchiveObjectLock;
  /**
   * Key prefix for the server access logs in `accessLogsBucket`.
   * @default 'botvault-archive/'
   */
  readonly accessLogsPrefix?: string;
  /**
   * Physical bucket name.
   * @default - CloudFormation generates a unique name
   */
  readonly bucketName?: string;
}

/** A versioned, private, encrypted, TLS-only bucket that outlives the stack. */
export class ArchiveBucket extends Construct {
  /** The bucket. */
  public readonly bucket: s3.Bucket;
  /** The key objects are encrypted with, when a customer managed key was given. */
  public readonly encryptionKey?: kms.IKey;
  /** Where S3 server access logs go (absent when they are turned off). */
  public readonly accessLogsBucket?: s3.IBucket;

  constructor(scope: Construct, id: string, props: ArchiveBucketProps = {}) {
    super(scope, id);
    const retention = props.retention ?? {};
    validateRetention(retention);
    if (props.objectLock) validateObjectLock(props.objectLock);
    this.encryptionKey = props.encryptionKey;
    if (props.serverAccessLogs ?? true) {
      this.accessLogsBucket = props.accessLogsBucket ?? this.createAccessLogsBucket(props.accessLogsRetention ?? Duration.days(365));
    }
    const lock = props.objectLock;

    this.bucket = new s3.Bucket(this, 'Bucket', {
      bucketName: props.bucketName,
      // Versioning is the product: every nightly backup is a new version of the same key.
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      // Written out, not spread conditionally, so the compiler checks every property name.
      encryption: props.encryptionKey ? s3.BucketEncryption.KMS : s3.BucketEncryption.S3_MANAGED,
      encryptionKey: props.encryptionKey,
      // An S3 Bucket Key cuts KMS requests (and their cost) per object to per bucket.
      bucketKeyEnabled: props.encryptionKey ? true : undefined,
      // Deleting the stack must never delete the backups.
      removalPolicy: RemovalPolicy.RETAIN,
      autoDeleteObjects: false,
      objectLockEnabled: lock ? true : undefined,
      objectLockDefaultRetention: !lock
        ? undefined
        : lock.mode === 'COMPLIANCE'
          ? s3.ObjectLockRetention.compliance(Duration.days(lock.days))
          : s3.ObjectLockRetention.governance(Duration.days(lock.days)),
    });
    if (this.accessLogsBucket) {
      this.logAccessTo(this.accessLogsBucket, props.accessLogsPrefix ?? 'botvault-archive/');
    } else {
      Validations.of(this.bucket).acknowledge({
        id: 'AwsSolutions::AwsSolutions-S1',
        reason: 'Server access logs were turned off (serverAccessLogs: false); CloudTrail data events can audit object access instead.',
      });
    }
    if (props.encryptionKey) this.denyWrongEncryption(props.encryptionKey);
    this.denyUnconditionalArchiveWrites();

    // A failed upload that could not abort itself would otherwise be billed forever.
    this.bucket.addLifecycleRule({
      id: 'AbortIncompleteMultipartUploads',
      abortIncompleteMultipartUploadAfter: Duration.days(1),
    });

    if (retention.noncurrentTransitionDays !== undefined || retention.noncurrentExpirationDays !== undefined) {
      const transitionDays = retention.noncurrentTransitionDays;
      const expirationDays = retention.noncurrentExpirationDays;
      this.bucket.addLifecycleRule({
        id: 'NoncurrentVersions',
        noncurrentVersionTransitions:
          transitionDays === undefined
            ? undefined
            : [{ storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(transitionDays) }],
        noncurrentVersionExpiration: expirationDays === undefined ? undefined : Duration.days(expirationDays),
        // S3's NewerNoncurrentVersions: the newest N non-current versions never expire by age.
        noncurrentVersionsToRetain: retention.noncurrentVersionsToKeep,
      });
    }

    // A tick marker only matters while its tick could still be delivered again (Scheduler retries for at
    // most a day); 100 days outlives the 90 days an execution name stays taken.
    this.bucket.addLifecycleRule({
      id: 'ExpireTickMarkers',
      prefix: TICK_PREFIX,
      expiration: Duration.days(100),
      noncurrentVersionExpiration: Duration.days(1),
    });
  }

  /**
   * Every archive version is written conditionally (`If-Match` the version it
   * was compared against, or `If-None-Match: *`), so two writers can never
   * both add a version, and a retried write never adds a second one. The
   * policy holds every principal to it on `<prefix>*.zip`, following AWS's
   * "Enforce conditional writes on Amazon S3 buckets": a PutObject or
   * CompleteMultipartUpload (s3:ObjectCreationOperation true) carrying neither
   * condition is denied; CreateMultipartUpload and UploadPart, which take no
   * conditions, are not (s3:ObjectCreationOperation false). Sidecars
   * (`.restore.json`) are not archives and are not held to it.
   */
  private denyUnconditionalArchiveWrites(): void {
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyUnconditionalArchiveWrites',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: ARCHIVE_PREFIXES.map((p) => this.bucket.arnForObjects(`${p}*.zip`)),
        conditions: {
          Null: { 's3:if-match': 'true', 's3:if-none-match': 'true' },
          Bool: { 's3:ObjectCreationOperation': 'true' },
        },
      }),
    );
  }

  /**
   * Bucket default encryption already gives every object written without
   * encryption headers SSE-KMS with this key. The policy denies the only way
   * around it: a PutObject (also CopyObject's destination and
   * CreateMultipartUpload, which authorize as s3:PutObject) that explicitly
   * asks for another algorithm or another KMS key. A request without the
   * headers — how every BotVault Lambda writes, and UploadPart, which may not
   * carry them — is not denied: the Null guards make each condition apply
   * only when its header is present.
   */
  private denyWrongEncryption(key: kms.IKey): void {
    // A PutObject that names `header` with any value other than `required` is denied; one without it is not.
    const denyUnless = (sid: string, header: string, required: string) =>
      this.bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid,
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['s3:PutObject'],
          resources: [this.bucket.arnForObjects('*')],
          conditions: { Null: { [header]: 'false' }, StringNotEquals: { [header]: required } },
        }),
      );
    denyUnless('DenyOtherEncryptionAlgorithms', 's3:x-amz-server-side-encryption', 'aws:kms');
    denyUnless('DenyOtherKmsKeys', 's3:x-amz-server-side-encryption-aws-kms-key-id', key.keyArn);
  }

  /**
   * Server access logging, written out instead of through `serverAccessLogsBucket`:
   * that prop grants log delivery by bucket policy or by ACL depending on a
   * feature flag, and an ACL cannot work on an owner-enforced bucket. This is
   * the bucket-policy way, whatever the app's flags (the local runner
   * synthesizes without cdk.json). An imported bucket must allow it itself.
   */
  private logAccessTo(logs: s3.IBucket, prefix: string): void {
    const cfn = this.bucket.node.defaultChild as s3.CfnBucket;
    cfn.loggingConfiguration = { destinationBucketName: logs.bucketName, logFilePrefix: prefix };
    logs.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'S3ServerAccessLogsOfTheArchiveBucket',
        principals: [new iam.ServicePrincipal('logging.s3.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [logs.arnForObjects(`${prefix}*`)],
        conditions: {
          ArnLike: { 'aws:SourceArn': this.bucket.bucketArn },
          StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
        },
      }),
    );
  }

  /** A private bucket for the archive bucket's server access logs (log delivery requires SSE-S3). */
  private createAccessLogsBucket(retention: Duration): s3.Bucket {
    const logs = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // S3 server access log delivery supports only SSE-S3 on the destination bucket.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: false,
      // Audit records: kept when the stack is deleted, like the archive itself.
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ id: 'ExpireAccessLogs', expiration: retention }],
    });
    Validations.of(logs).acknowledge({
      id: 'AwsSolutions::AwsSolutions-S1',
      reason: "This is the archive bucket's access log bucket; logging its own access would log into itself.",
    });
    return logs;
  }

  /**
   * What StoreArchive needs to land one archive (lambdas/shared/archive-store.ts):
   * HeadObject of the stable key under `lex/` or `koreai/` (s3:GetObject),
   * one conditional PutObject (or a multipart upload, which s3:PutObject also
   * covers, and its abort), the restore sidecar and the change record beside
   * it, and the GetObject of the version a new one replaces (by its version
   * id, for the change summary: S3's GetObject reference says a request with
   * a versionId needs s3:GetObjectVersion, not s3:GetObject). Nothing else:
   * it cannot touch manifests and it cannot delete anything, so a compromised
   * function can add versions but never remove history; the bucket policy
   * (denyUnconditionalArchiveWrites) makes every archive write conditional.
   */
  public grantArchiveWrite(grantee: iam.IGrantable): iam.Grant {
    return this.grantObjects(grantee, ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject', 's3:GetObjectVersion'], ARCHIVE_PREFIXES, [
      'kms:GenerateDataKey',
      'kms:Decrypt',
    ]);
  }

  /** What Summarize needs: PutObject of run manifests under `runs/`. */
  public grantManifestWrite(grantee: iam.IGrantable): iam.Grant {
    return this.grantObjects(grantee, ['s3:PutObject'], [MANIFEST_PREFIX], ['kms:GenerateDataKey']);
  }

  /**
   * What Plan needs to record a schedule tick (`ticks/<scheduled time>.json`)
   * with a conditional PutObject, and to read the marker back when the write
   * finds one (its own earlier attempt, or another execution of the same tick).
   */
  public grantTickMarkers(grantee: iam.IGrantable): iam.Grant {
    return this.grantObjects(grantee, ['s3:PutObject', 's3:GetObject'], [TICK_PREFIX], ['kms:GenerateDataKey', 'kms:Decrypt']);
  }

  /**
   * Read access for operators and tools (`botvault list/get/status`, restores):
   * list the bucket and its versions, read any version of an archive or a run
   * manifest. Staging objects are not included.
   */
  public grantRead(grantee: iam.IGrantable): iam.Grant {
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:ListBucket', 's3:ListBucketVersions'],
      resourceArns: [this.bucket.bucketArn],
    });
    grant.combine(
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resourceArns: [...ARCHIVE_PREFIXES, MANIFEST_PREFIX].map((p) => this.bucket.arnForObjects(`${p}*`)),
      }),
    );
    this.grantKeyViaS3(grantee, 'kms:Decrypt');
    this.acknowledgePrefixWildcards(grantee, [...ARCHIVE_PREFIXES, MANIFEST_PREFIX]);
    return grant;
  }

  /** `actions` on the objects under `prefixes`, with the key actions S3 needs for them and the cdk-nag record. */
  private grantObjects(grantee: iam.IGrantable, actions: string[], prefixes: readonly string[], keyActions: string[]): iam.Grant {
    const grant = iam.Grant.addToPrincipal({ grantee, actions, resourceArns: prefixes.map((p) => this.bucket.arnForObjects(`${p}*`)) });
    this.grantKeyViaS3(grantee, ...keyActions);
    this.acknowledgePrefixWildcards(grantee, prefixes);
    return grant;
  }

  /** The key actions S3 performs for the grantee on this bucket's objects, usable through S3 only. */
  private grantKeyViaS3(grantee: iam.IGrantable, ...actions: string[]): void {
    if (!this.encryptionKey) return;
    iam.Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [this.encryptionKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` } },
    });
  }

  /**
   * `<prefix>*` is how a grant names "the objects under this prefix"; record
   * why on the grantee, so cdk-nag's wildcard rule (AwsSolutions-IAM5) passes
   * for exactly these resources and still flags any other wildcard.
   */
  private acknowledgePrefixWildcards(grantee: iam.IGrantable, prefixes: readonly string[]): void {
    // The policy hangs off the principal (a Lambda's role), not the function construct.
    const target: unknown = Construct.isConstruct(grantee.grantPrincipal) ? grantee.grantPrincipal : grantee;
    if (!Construct.isConstruct(target)) return;
    const bucketId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnResource);
    Validations.of(target as IConstruct).acknowledge(
      ...prefixes.map((p) => ({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${p}*]`,
        reason: `Objects under ${p} in the archive bucket: the prefix this grant is for, nothing wider.`,
      })),
    );
  }
}

function validateObjectLock(lock: ArchiveObjectLock): void {
  if (lock.mode !== 'GOVERNANCE' && lock.mode !== 'COMPLIANCE') {
    throw new Error(`ArchiveBucket: objectLock.mode must be "GOVERNANCE" or "COMPLIANCE" (got "${String(lock.mode)}").`);
  }
  if (!Number.isInteger(lock.days) || lock.days < 1 || lock.days > 36_500) {
    throw new Error(`ArchiveBucket: objectLock.days must be a whole number from 1 to 36500 (got ${lock.days}).`);
  }
}

function validateRetention(r: ArchiveRetention): void {
  const days = (field: keyof ArchiveRetention, value: number | undefined, min: number) => {
    if (value !== undefined && (!Number.isInteger(value) || value < min)) {
      throw new Error(`ArchiveBucket: retention.${field} must be a whole number of at least ${min} (got ${value}).`);
    }
  };
  days('noncurrentTransitionDays', r.noncurrentTransitionDays, 1);
  days('noncurrentExpirationDays', r.noncurrentExpirationDays, 1);
  days('noncurrentVersionsToKeep', r.noncurrentVersionsToKeep, 1);
  if (r.noncurrentVersionsToKeep !== undefined && r.noncurrentVersionsToKeep > 100) {
    throw new Error(`ArchiveBucket: retention.noncurrentVersionsToKeep must be at most 100, the S3 limit (got ${r.noncurrentVersionsToKeep}).`);
  }
  if (
    r.noncurrentTransitionDays !== undefined &&
    r.noncurrentExpirationDays !== undefined &&
    r.noncurrentExpirationDays <= r.noncurrentTransitionDays
  ) {
    throw new Error(
      `ArchiveBucket: retention.noncurrentExpirationDays (${r.noncurrentExpirationDays}) must be greater than retention.noncurrentTransitionDays (${r.noncurrentTransitionDays}); otherwise versions would expire before they move.`,
    );
  }
  if (r.noncurrentVersionsToKeep !== undefined && r.noncurrentExpirationDays === undefined) {
    throw new Error(
      'ArchiveBucket: retention.noncurrentVersionsToKeep only applies together with retention.noncurrentExpirationDays (S3 keeps that many versions from expiring); set both or remove it.',
    );
  }
}
