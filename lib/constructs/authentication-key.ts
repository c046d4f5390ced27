/**
 * The KMS HMAC key that authenticates every object BotVault writes (archive
 * versions, restore sidecars, run manifests: lib/core/mac.ts).
 *
 * Only the writing functions may make a MAC: they get kms:GenerateMac in
 * IAM, and the key policy denies GenerateMac to every other principal of
 * the account, whatever its IAM policies say (an explicit Deny wins over
 * the default statement that delegates the key to the account's IAM). So a
 * principal that can write the bucket but is not one of those roles cannot
 * make a version that verifies. Readers get kms:VerifyMac.
 *
 * HMAC_256 with GENERATE_VERIFY_MAC (KMS Developer Guide, "HMAC keys in
 * KMS"); KMS rotates only symmetric encryption keys automatically, so no
 * rotation. Retained with the stack: without the key no MAC verifies.
 *
 * The stack holds two: the archive key (writers StoreArchive and Summarize)
 * and, with the deep drill, the drill's own key (writer: the drill's role
 * only, for its reports and scratch bot records), so a MAC the drill can
 * make never verifies as an archive, a sidecar or a manifest.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface AuthenticationKeyProps {
  /** The roles that write authenticated objects: the only principals allowed kms:GenerateMac. */
  readonly writers: readonly iam.IRole[];
  /**
   * The key's description (what its MACs authenticate).
   * @default 'BotVault: MACs that authenticate archive versions, restore sidecars and run manifests'
   */
  readonly description?: string;
}

/** An HMAC key that only `writers` may make MACs with. */
export class AuthenticationKey extends Construct {
  /** The key. */
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AuthenticationKeyProps) {
    super(scope, id);
    if (props.writers.length === 0) throw new Error('AuthenticationKey: writers must name at least one role.');
    this.key = new kms.Key(this, 'Key', {
      description: props.description ?? 'BotVault: MACs that authenticate archive versions, restore sidecars and run manifests',
      keySpec: kms.KeySpec.HMAC_256,
      keyUsage: kms.KeyUsage.GENERATE_VERIFY_MAC,
      enableKeyRotation: false,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const role of props.writers) this.key.grant(role, 'kms:GenerateMac');
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'GenerateMacOnlyByTheWritingFunctions',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:GenerateMac'],
        resources: ['*'],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': props.writers.map((r) => r.roleArn) } },
      }),
    );
  }

  /** kms:VerifyMac on this key. */
  grantVerify(grantee: iam.IGrantable): iam.Grant {
    return this.key.grant(grantee, 'kms:VerifyMac');
  }
}
