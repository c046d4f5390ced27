/**
 * The restore drill (lambdas/restore-drill): on its own schedule, a Lambda
 * reads back the latest version of every archive, checks its sha256 and opens
 * every zip entry. A backup nobody has tried to restore is a hope; this makes
 * it a weekly fact, and alarms when it stops being one.
 *
 *  - an EventBridge Scheduler schedule invokes the Lambda; Scheduler retries
 *    a failed delivery, but a failed drill is not retried (it is a finding,
 *    and the next one runs next week);
 *  - the Lambda may only read archives and manifests (ArchiveBucket.grantRead)
 *    and verify their MACs (kms:VerifyMac on the authentication key);
 *  - two alarms: any archive failing the drill (metric BotVault/DrillFailures),
 *    and the drill itself failing to run (the function's Errors).
 */
import { type CfnResource, Duration, Stack, TimeZone, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { DRILL_METRICS, METRICS_NAMESPACE, SERVICE_NAME } from '../core/names';
import type { ArchiveBucket } from './archive-bucket';
import type { AuthenticationKey } from './authentication-key';
import { BackupFunction } from './backup-function';
import { cronSchema, timezoneSchema } from '../core/schemas';
import { schedulerRole } from './scheduler-role';

export interface RestoreDrillProps {
  /** The archive bucket whose archives are drilled; the drill gets read access to it. */
  readonly archiveBucket: ArchiveBucket;
  /** The HMAC key whose MACs the drill verifies (kms:VerifyMac; BOTVAULT_MAC_KEY_ID). */
  readonly authenticationKey: AuthenticationKey;
  /**
   * EventBridge Scheduler cron expression, six fields.
   * @default 'cron(0 6 ? * SUN *)' (Sundays 06:00)
   */
  readonly cron?: string;
  /**
   * IANA time zone of the cron expression.
   * @default 'UTC'
   */
  readonly timezone?: string;
  /**
   * How long the drill's log group keeps logs.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Customer managed key for the drill's log group.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
  /**
   * Topic both alarms notify (alarm and OK).
   * @default - no alarm actions; the alarms still show in CloudWatch
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Extra environment for the drill Lambda (merged over BOTVAULT_BUCKET).
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * ARNs (or ARN patterns) of the secrets holding export passwords: the drill
   * decrypts password-protected archives as a restore would.
   * @default - none: password-protected archives fail the drill
   */
  readonly passwordSecretArns?: readonly string[];
}

/** The drill Lambda, its schedule and its alarms. */
export class RestoreDrill extends Construct {
  /** The drill Lambda (Lambda defaults from BackupFunction). */
  public readonly function: BackupFunction;
  /** The schedule that invokes it. */
  public readonly schedule: scheduler.Schedule;
  /** Fires when any archive failed the latest drill. */
  public readonly failuresAlarm: cloudwatch.Alarm;
  /** Fires when the drill could not run to the end (error, timeout). */
  public readonly errorsAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: RestoreDrillProps) {
    super(scope, id);
    const cron = (props.cron ?? 'cron(0 6 ? * SUN *)').trim();
    const timezone = props.timezone ?? 'UTC';
    const cronCheck = cronSchema.safeParse(cron);
    if (!cronCheck.success) throw new Error(`RestoreDrill: cron "${cron}" ${cronCheck.error.issues[0]?.message ?? 'is invalid'}.`);
    const tzCheck = timezoneSchema.safeParse(timezone);
    if (!tzCheck.success) throw new Error(`RestoreDrill: timezone "${timezone}" ${tzCheck.error.issues[0]?.message ?? 'is invalid'}.`);

    const bucket = props.archiveBucket.bucket;
    this.function = new BackupFunction(this, 'Function', {
      name: 'restore-drill',
      description: 'BotVault restore drill: read back every archive, check its sha256 and every zip entry',
      // Streams and hashes every archive: network-bound, so a little more memory (bandwidth) and the full 15 minutes.
      memorySize: 512,
      timeout: Duration.minutes(15),
      logRetention: props.logRetention,
      logEncryptionKey: props.logEncryptionKey,
      environment: { ...props.environment, BOTVAULT_BUCKET: bucket.bucketName, BOTVAULT_MAC_KEY_ID: props.authenticationKey.key.keyArn },
    });
    props.archiveBucket.grantRead(this.function.function);
    props.authenticationKey.grantVerify(this.function.function);
    if (props.passwordSecretArns?.length) {
      this.function.function.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [...props.passwordSecretArns] }),
      );
    }
    // Lambda retries failed async invocations twice by default: a failed drill is a finding, not a glitch to retry.
    this.function.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.hours(1) });

    const stack = Stack.of(this);
    const role = schedulerRole(this, 'ScheduleRole', 'BotVault restore drill schedule: invoke the drill Lambda');
    const fnId = stack.getLogicalId(this.function.function.node.defaultChild as CfnResource);
    Validations.of(role).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${fnId}.Arn>:*]`,
      reason: 'lambda:InvokeFunction on the drill function and its versions/aliases (grantInvoke adds ARN:*): this one function, nothing wider.',
    });

    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      schedule: scheduler.ScheduleExpression.expression(cron, TimeZone.of(timezone)),
      target: new targets.LambdaInvoke(this.function.function, {
        input: scheduler.ScheduleTargetInput.fromObject({ trigger: 'restore-drill' }),
        // Retries of the delivery (throttling, a Lambda service error), not of the drill: its failures are not retried.
        retryAttempts: 3,
        maxEventAge: Duration.hours(1),
        role,
      }),
      description: `BotVault: restore drill at ${cron} (${timezone})`,
    });

    this.failuresAlarm = new cloudwatch.Alarm(this, 'FailuresAlarm', {
      alarmDescription:
        "BotVault restore drill: at least one archive failed its read-back (sha256 or zip entry CRC). The drill Lambda's log names them.",
      metric: new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: DRILL_METRICS.failures,
        dimensionsMap: { service: SERVICE_NAME },
        statistic: cloudwatch.Stats.MAXIMUM,
        period: Duration.hours(1),
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // The drill runs weekly: no data in between is normal, not a breach (the errors alarm covers a drill that never reports).
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.errorsAlarm = new cloudwatch.Alarm(this, 'ErrorsAlarm', {
      alarmDescription: 'BotVault restore drill: the drill Lambda failed (an archive failed the drill, or the drill could not run).',
      metric: this.function.function.metricErrors({ period: Duration.hours(1), statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmTopic) {
      const action = new cwActions.SnsAction(props.alarmTopic);
      for (const alarm of [this.failuresAlarm, this.errorsAlarm]) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }
  }
}
