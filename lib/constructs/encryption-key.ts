/**
 * BotVault's customer managed KMS key: one key for everything the stack
 * stores at rest — archive objects (SSE-KMS with an S3 Bucket Key), the alarm
 * topic, the Lambda and Step Functions log groups, and the state machine's
 * definition and execution history.
 *
 * One key, so an operator revokes or audits BotVault's data in one place; its
 * key policy names each AWS service that uses it on our behalf, each limited
 * to this account (and, for CloudWatch Logs, to this account's log groups).
 */
import { ArnFormat, Aspects, Duration, type IAspect, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct, type IConstruct } from 'constructs';

export interface EncryptionKeyProps {
  /**
   * Alias for the key, without the `alias/` prefix.
   * @default - no alias
   */
  readonly alias?: string;
  /**
   * Days KMS waits before deleting the key once it is scheduled for deletion.
   * Only relevant if the key is ever removed by hand: the stack retains it.
   * @default Duration.days(30)
   */
  readonly pendingWindow?: Duration;
}

/** A symmetric, yearly-rotated KMS key whose policy lets CloudWatch Logs and CloudWatch alarms use it. */
export class EncryptionKey extends Construct {
  /** The key. */
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: EncryptionKeyProps = {}) {
    super(scope, id);
    const pendingWindow = props.pendingWindow ?? Duration.days(30);
    if (!pendingWindow.isUnresolved() && (pendingWindow.toDays() < 7 || pendingWindow.toDays() > 30)) {
      throw new Error(`EncryptionKey: pendingWindow must be from 7 to 30 days, the KMS limit (got ${pendingWindow.toHumanString()}).`);
    }
    const stack = Stack.of(this);

    this.key = new kms.Key(this, 'Key', {
      description: 'BotVault: archive objects, alarm topic, log groups and Step Functions execution data',
      enableKeyRotation: true,
      alias: props.alias,
      pendingWindow,
      // Deleting the key would make every archived version unreadable: never with the stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // CloudWatch Logs encrypts log groups with the key; the encryption context names the log group,
    // so the service may use the key for this account's log groups only.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchLogsForThisAccountsLogGroups',
        principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
              service: 'logs',
              resource: 'log-group',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );

    // CloudWatch alarms publish to the encrypted alarm topic as the CloudWatch service: SNS asks KMS for a
    // data key on its behalf (the SNS guide documents these two actions). Limited, like the topic's own policy
    // (alarms.ts), to this account's alarms by the confused-deputy keys aws:SourceAccount and aws:SourceArn.
    // (EventBridge publishes through a role of its own, granted in IAM; it needs nothing here.)
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsToTheEncryptedTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: thisAccountsSources(stack, 'cloudwatch', 'alarm:*'),
      }),
    );
    Aspects.of(this).add(new LimitLogDeliveryToThisAccount());
  }
}

/** aws:SourceAccount is this account, aws:SourceArn one of this account's `service` resources matching `resource`. */
function thisAccountsSources(stack: Stack, service: string, resource: string): Record<string, Record<string, string>> {
  return {
    StringEquals: { 'aws:SourceAccount': stack.account },
    ArnLike: { 'aws:SourceArn': `arn:${stack.partition}:${service}:${stack.region}:${stack.account}:${resource}` },
  };
}

/**
 * The state machine (aws-cdk-lib's StateMachine, for logs into a log group
 * encrypted with this key) adds its own statement letting the vended-logs
 * service `delivery.logs.amazonaws.com` decrypt with the key, with no
 * condition; construct code cannot reach that statement, so this aspect adds
 * the conditions CloudWatch Logs documents for vended-log deliveries
 * (CloudWatch Logs User Guide, "Logs sent to Amazon S3": aws:SourceAccount,
 * and aws:SourceArn `arn:aws:logs:<region>:<account>:*`) to it in the
 * synthesized template.
 */
class LimitLogDeliveryToThisAccount implements IAspect {
  visit(node: IConstruct): void {
    if (!(node instanceof kms.CfnKey)) return;
    const stack = Stack.of(node);
    const policy = stack.resolve(node.keyPolicy) as { Statement?: { Principal?: { Service?: unknown }; Condition?: unknown }[] };
    (policy.Statement ?? []).forEach((statement, i) => {
      if (statement.Principal?.Service === 'delivery.logs.amazonaws.com' && statement.Condition === undefined) {
        node.addPropertyOverride(`KeyPolicy.Statement.${i}.Condition`, thisAccountsSources(stack, 'logs', '*'));
      }
    });
  }
}
