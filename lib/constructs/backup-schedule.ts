/**
 * The nightly trigger: an EventBridge Scheduler schedule that starts the
 * backup state machine, with a retry policy and a dead-letter queue so a
 * start that keeps failing (throttling, a deleted state machine, missing
 * permissions) leaves a message someone can alarm on instead of vanishing.
 */
import { Duration, TimeZone, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { cronSchema, timezoneSchema } from '../core/schemas';
import { schedulerRole } from './scheduler-role';

export interface BackupScheduleProps {
  /** The state machine each tick starts. */
  readonly stateMachine: sfn.IStateMachine;
  /**
   * EventBridge Scheduler cron expression, six fields, as stored in the config.
   * @default 'cron(0 3 * * ? *)' (03:00 every day)
   */
  readonly cron?: string;
  /**
   * IANA time zone the cron expression is evaluated in (daylight saving time included).
   * @default 'UTC'
   */
  readonly timezone?: string;
  /**
   * Whether the schedule is enabled. A disabled schedule is still deployed, so
   * turning it back on is a config change, not a new resource.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * How long Scheduler keeps retrying a start that failed.
   * @default Duration.hours(1)
   */
  readonly maxEventAge?: Duration;
  /**
   * How many times Scheduler retries a start that failed.
   * @default 3
   */
  readonly retryAttempts?: number;
  /**
   * The customer managed key the state machine is encrypted with: starting an
   * execution encrypts its input with it, so the schedule's role may use the
   * key for this state machine's executions (encryption context) only.
   * @default - the state machine uses AWS owned keys; no key permission
   */
  readonly stateMachineKey?: kms.IKey;
}

/** A cron schedule starting the backup state machine with `{"trigger":"schedule","tickTime":...}`. */
export class BackupSchedule extends Construct {
  /** The schedule. */
  public readonly schedule: scheduler.Schedule;
  /** Where Scheduler puts starts it gave up on (encrypted, TLS only, kept 14 days). */
  public readonly deadLetterQueue: sqs.Queue;
  /** The role Scheduler assumes to start executions (and dead-letter a start it gave up on). */
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: BackupScheduleProps) {
    super(scope, id);
    const cron = props.cron ?? 'cron(0 3 * * ? *)';
    const timezone = props.timezone ?? 'UTC';
    // Same rules and messages as the config file, so a construct user gets the same help.
    const cronCheck = cronSchema.safeParse(cron);
    if (!cronCheck.success) throw new Error(`BackupSchedule: cron "${cron}" ${cronCheck.error.issues[0]?.message ?? 'is invalid'}.`);
    const tzCheck = timezoneSchema.safeParse(timezone);
    if (!tzCheck.success) throw new Error(`BackupSchedule: timezone "${timezone}" ${tzCheck.error.issues[0]?.message ?? 'is invalid'}.`);
    const retryAttempts = props.retryAttempts ?? 3;
    if (!Number.isInteger(retryAttempts) || retryAttempts < 0 || retryAttempts > 185) {
      throw new Error(`BackupSchedule: retryAttempts must be a whole number from 0 to 185, the Scheduler limit (got ${retryAttempts}).`);
    }
    const maxEventAge = props.maxEventAge ?? Duration.hours(1);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // The SQS maximum: long enough to notice over a holiday weekend.
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SQS3',
      reason: "This queue is the schedule target's dead-letter queue (Scheduler's DeadLetterConfig), which cdk-nag cannot see.",
    });

    this.role = schedulerRole(this, 'Role', 'BotVault schedule: start the backup state machine');
    if (props.stateMachineKey) {
      iam.Grant.addToPrincipal({
        grantee: this.role,
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resourceArns: [props.stateMachineKey.keyArn],
        conditions: { StringEquals: { 'kms:EncryptionContext:aws:states:stateMachineArn': props.stateMachine.stateMachineArn } },
      });
    }

    const target = new targets.StepFunctionsStartExecution(props.stateMachine, {
      role: this.role,
      // The scheduled tick travels as tickTime, so a late retry still knows which night it was for.
      input: scheduler.ScheduleTargetInput.fromObject({ trigger: 'schedule', tickTime: scheduler.ContextAttribute.scheduledTime }),
      deadLetterQueue: this.deadLetterQueue,
      maxEventAge,
      retryAttempts,
    });

    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      // The config stores the raw `cron(...)` string; Scheduler takes it as is, with the time zone beside it.
      schedule: scheduler.ScheduleExpression.expression(cron.trim(), TimeZone.of(timezone)),
      target,
      enabled: props.enabled ?? true,
      description: `BotVault: start a backup run at ${cron.trim()} (${timezone})`,
    });
  }
}
