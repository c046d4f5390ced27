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

/** Where StoreArchive uploads first; it then copies onto the stable key (lambdas/shared/archive-store.ts). */
export const STAGING_PREFIX = 'staging/';
/** Where archives live, one prefix per provider (`lex/<region>/<botId>/...`, `koreai/<host>/<botId>/...`). */
export const ARCHIVE_PREFIXES = ['lex/', 'koreai/'] as const;
/** Where Summarize writes run manifests (`runs/<yyyy>/<mm>/<dd>/<runId>.json`). */
export const MANIFEST_PREFIX = 'runs/';

/** How long versions that are no longer current are kept, and where. */
export interface ArchiveRetention {
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
   * A bucket to write S3 server access logs to (who read, wrote or deleted
   * which version). It must allow the S3 logging service to write to it.
   * @default - no server access logs; audit object access with CloudTrail data events instead
   */
  readonly accessLogsBucket?: s3.IBucket;
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

  constructor(scope: Construct, id: string, props: ArchiveBucketProps = {}) {
    super(scope, id);
    const retention = props.retention ?? {};
    validateRetention(retention);
    this.encryptionKey = props.encryptionKey;

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
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: props.accessLogsBucket ? (props.accessLogsPrefix ?? 'botvault-archive/') : undefined,
    });
    if (!props.accessLogsBucket) {
      Validations.of(this.bucket).acknowledge({
        id: 'AwsSolutions::AwsSolutions-S1',
        reason: 'Server access logs are opt-in (accessLogsBucket): they need a second bucket; CloudTrail data events audit object access too.',
      });
    }

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

    // Staging objects live seconds (StoreArchive copies then deletes them); this is the backstop
    // for a Lambda that died in between. Non-current staging versions go too: they are never history.
    this.bucket.addLifecycleRule({
      id: 'ExpireStaging',
      prefix: STAGING_PREFIX,
      expiration: Duration.days(1),
      noncurrentVersionExpiration: Duration.days(1),
    });
    // Expiring a current version in a versioned bucket leaves a delete marker; once its
    // non-current versions are gone it is "expired" and this removes it. (S3 does not allow
    // ExpiredObjectDeleteMarker in a rule that also expires after a number of days.)
    this.bucket.addLifecycleRule({
      id: 'RemoveStagingDeleteMarkers',
      prefix: STAGING_PREFIX,
      expiredObjectDeleteMarker: true,
    });
  }

  /**
   * What StoreArchive needs to land one archive (lambdas/shared/archive-store.ts):
   * multipart upload to `staging/`, CopyObject onto the stable key under
   * `lex/` or `koreai/`, HeadObject of the written version, delete of the
   * staged version. Nothing else: it cannot touch manifests, and it cannot
   * delete archive versions, so a compromised function can add versions but
   * never remove history. (The price: when HeadObject finds the copied
   * version does not match, StoreArchive's attempt to remove that version is
   * denied and logged; the job still fails, and the next run adds a good
   * version on top.)
   */
  public grantArchiveWrite(grantee: iam.IGrantable): iam.Grant {
    const staging = this.bucket.arnForObjects(`${STAGING_PREFIX}*`);
    const archives = ARCHIVE_PREFIXES.map((p) => this.bucket.arnForObjects(`${p}*`));
    const grant = iam.Grant.addToPrincipal({
      grantee,
      // PutObject covers CreateMultipartUpload/UploadPart/CompleteMultipartUpload. GetObjectVersion and
      // DeleteObjectVersion because the bucket is versioned: the copy source and the delete name the staged version.
      actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject', 's3:GetObjectVersion', 's3:DeleteObject', 's3:DeleteObjectVersion'],
      resourceArns: [staging],
    });
    grant.combine(
      iam.Grant.addToPrincipal({
        grantee,
        // PutObject: CopyObject's destination. GetObject(Version): HeadObject of the version just written.
        actions: ['s3:PutObject', 's3:GetObject', 's3:GetObjectVersion'],
        resourceArns: archives,
      }),
    );
    grant.combine(
      iam.Grant.addToPrincipal({
        grantee,
        // Sweeping a staging key's leftover multipart uploads lists them; this is a bucket-level action
        // without prefix conditions, and every multipart upload in this bucket is under staging/.
        actions: ['s3:ListBucketMultipartUploads'],
        resourceArns: [this.bucket.bucketArn],
      }),
    );
    // Multipart uploads and copies of SSE-KMS objects need both data key generation and decryption.
    this.encryptionKey?.grantEncryptDecrypt(grantee);
    this.acknowledgePrefixWildcards(grantee, [STAGING_PREFIX, ...ARCHIVE_PREFIXES]);
    return grant;
  }

  /** What Summarize needs: PutObject of run manifests under `runs/`. */
  public grantManifestWrite(grantee: iam.IGrantable): iam.Grant {
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3:PutObject'],
      resourceArns: [this.bucket.arnForObjects(`${MANIFEST_PREFIX}*`)],
    });
    this.encryptionKey?.grantEncrypt(grantee);
    this.acknowledgePrefixWildcards(grantee, [MANIFEST_PREFIX]);
    return grant;
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
    this.encryptionKey?.grantDecrypt(grantee);
    this.acknowledgePrefixWildcards(grantee, [...ARCHIVE_PREFIXES, MANIFEST_PREFIX]);
    return grant;
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
  if (r.noncurrentTransitionDays !== undefined && r.noncurrentExpirationDays !== undefined && r.noncurrentExpirationDays <= r.noncurrentTransitionDays) {
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
