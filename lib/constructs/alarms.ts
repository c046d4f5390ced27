/**
 * Knowing that backups happen: alarms on the state machine's own metrics, a
 * one-line message per failed run, and a dashboard — all delivered to one
 * encrypted SNS topic an operator subscribes to.
 *
 * Alarms (README "Alarms and notifications"):
 * - RunFailed / RunTimedOut / RunAborted: any execution that ended FAILED
 *   (a job failed: the workflow's final Choice fails the run), TIMED_OUT or
 *   ABORTED in the last 5 minutes.
 * - NoSuccessfulRun: no execution SUCCEEDED for `noSuccessWindow` (26 h by
 *   default: one nightly run plus slack). Periods without data are breaching,
 *   so a schedule that silently stopped firing alarms too.
 * - ScheduleStartFailed: Scheduler gave up starting a run and dead-lettered it.
 *
 * The failed-run message comes from an EventBridge rule on the execution's
 * status change, not from the alarm: it names the run (execution name) and
 * repeats the execution's `cause` — for a run with failed jobs that is
 * Summarize's one line "N of M backup jobs failed (ids...); run manifest: ...".
 * The rule's input transformer picks only name, status, error, cause and ARN:
 * the execution's input and output never leave Step Functions.
 */
import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../core/names';

/** Execution statuses that send a failed-run message. */
const FAILED_STATUSES = ['FAILED', 'TIMED_OUT', 'ABORTED'] as const;

export interface BackupAlarmsProps {
  /** The backup state machine to watch. */
  readonly stateMachine: sfn.IStateMachine;
  /**
   * Customer managed key for the topic. Its key policy must let
   * cloudwatch.amazonaws.com use it (EncryptionKey does).
   * @default - the AWS managed key for SNS (alias/aws/sns)
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * An email address subscribed to the topic (AWS mails a confirmation link first).
   * @default - no subscription; subscribe on the topic yourself
   */
  readonly email?: string;
  /**
   * How long without a successful run before NoSuccessfulRun fires. Whole
   * hours, from 2 to 168 (CloudWatch evaluates at most 7 days of hourly periods).
   * @default Duration.hours(26)
   */
  readonly noSuccessWindow?: Duration;
  /**
   * The schedule's dead-letter queue: a message there means a scheduled run never started.
   * @default - no ScheduleStartFailed alarm
   */
  readonly deadLetterQueue?: sqs.IQueue;
  /**
   * Prefix of alarm names and the dashboard name.
   * @default the stack name
   */
  readonly namePrefix?: string;
}

/** The alarm topic, the alarms that publish to it, the failed-run rule and the dashboard. */
export class BackupAlarms extends Construct {
  /** Encrypted, TLS-only topic every alarm and failed-run message goes to. */
  public readonly topic: sns.Topic;
  /** Any run ended FAILED. */
  public readonly runFailed: cloudwatch.Alarm;
  /** Any run hit the state machine's timeout. */
  public readonly runTimedOut: cloudwatch.Alarm;
  /** Any run was stopped by hand. */
  public readonly runAborted: cloudwatch.Alarm;
  /** No run succeeded within `noSuccessWindow`. */
  public readonly noSuccessfulRun: cloudwatch.Alarm;
  /** Scheduler dead-lettered a start (only with `deadLetterQueue`). */
  public readonly scheduleStartFailed?: cloudwatch.Alarm;
  /** Sends one message per failed, timed out or aborted run. */
  public readonly failedRunRule: events.Rule;
  /** Runs, failures, bytes and durations. */
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: BackupAlarmsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const prefix = props.namePrefix ?? stack.stackName;
    const window = props.noSuccessWindow ?? Duration.hours(26);
    const windowHours = window.toHours({ integral: false });
    if (!Number.isInteger(windowHours) || windowHours < 2 || windowHours > 168) {
      throw new Error(`BackupAlarms: noSuccessWindow must be whole hours from 2 to 168 (got ${window.toHumanString()}).`);
    }
    if (props.email !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(props.email)) {
      throw new Error(`BackupAlarms: email "${props.email}" is not an email address such as "ops@example.com".`);
    }

    this.topic = new sns.Topic(this, 'Topic', {
      displayName: `${prefix} backup alarms`,
      masterKey: props.encryptionKey,
      enforceSSL: true,
    });
    // CloudWatch alarms publish as the CloudWatch service: only this account's alarms may.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'ThisAccountsAlarms',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    if (props.email !== undefined) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));

    const action = new cwActions.SnsAction(this.topic);
    const machine = props.stateMachine;
    const anyIn5Minutes = (alarmId: string, metric: cloudwatch.Metric, description: string) => {
      const alarm = metric.with({ statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5) }).createAlarm(this, alarmId, {
        alarmName: `${prefix}-${alarmId}`,
        alarmDescription: description,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        // No executions ended in those 5 minutes: nothing failed.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(action);
      return alarm;
    };

    this.runFailed = anyIn5Minutes(
      'RunFailed',
      machine.metricFailed(),
      'A BotVault run ended FAILED: at least one backup job failed (the run names them), or the run itself broke (bad input, Plan failed). The failed-run message and the run manifest say which.',
    );
    this.runTimedOut = anyIn5Minutes(
      'RunTimedOut',
      machine.metricTimedOut(),
      'A BotVault run hit the state machine timeout and was stopped; jobs still running at that point stored nothing.',
    );
    this.runAborted = anyIn5Minutes('RunAborted', machine.metricAborted(), 'A BotVault run was stopped by hand (StopExecution) before it finished.');

    this.noSuccessfulRun = machine
      .metricSucceeded()
      .with({ statistic: cloudwatch.Stats.SUM, period: Duration.hours(1) })
      .createAlarm(this, 'NoSuccessfulRun', {
        alarmName: `${prefix}-NoSuccessfulRun`,
        alarmDescription: `No BotVault run succeeded in the last ${windowHours} hours: the schedule is off or failing, or every run failed. Backups are getting stale.`,
        // Every hourly period in the window has no success (a missing data point counts as none).
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: windowHours,
        datapointsToAlarm: windowHours,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    this.noSuccessfulRun.addAlarmAction(action);
    // Its recovery is news (backups are fresh again); the 5-minute alarms going back to OK are not.
    this.noSuccessfulRun.addOkAction(action);

    if (props.deadLetterQueue) {
      this.scheduleStartFailed = props.deadLetterQueue
        .metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, period: Duration.minutes(5) })
        .createAlarm(this, 'ScheduleStartFailed', {
          alarmName: `${prefix}-ScheduleStartFailed`,
          alarmDescription: "EventBridge Scheduler could not start a scheduled BotVault run and put the tick in the schedule's dead-letter queue.",
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
      this.scheduleStartFailed.addAlarmAction(action);
    }

    // One message per failed run, from the status-change event. Only these fields are read from it:
    // the event also carries the execution's input and output, which stay out of the message.
    this.failedRunRule = new events.Rule(this, 'FailedRunRule', {
      description: 'BotVault: one message per backup run that ended FAILED, TIMED_OUT or ABORTED',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { stateMachineArn: [machine.stateMachineArn], status: [...FAILED_STATUSES] },
      },
    });
    this.failedRunRule.addTarget(
      new eventTargets.SnsTopic(this.topic, {
        // A role of its own (sns:Publish on this topic, the key through IAM) instead of a topic policy open to the service.
        authorizeUsingRole: true,
        message: events.RuleTargetInput.fromText(
          `BotVault run ${events.EventField.fromPath('$.detail.name')} ended ${events.EventField.fromPath('$.detail.status')}: ` +
            `${events.EventField.fromPath('$.detail.error')}: ${events.EventField.fromPath('$.detail.cause')} ` +
            `(execution ${events.EventField.fromPath('$.detail.executionArn')})`,
        ),
      }),
    );

    Validations.of(this.failedRunRule).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        "The rule's role publishes to the encrypted alarm topic: grantPublish allows GenerateDataKey* (with or without plaintext) on the topic's one key, nothing else.",
    });

    this.dashboard = this.createDashboard(`${prefix}-Backups`, machine, windowHours);
  }

  /** A row of the dashboard with a drill's alarms (the deep drill's, lib/constructs/deep-drill.ts). */
  addDrillAlarms(title: string, alarms: readonly cloudwatch.IAlarm[]): void {
    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title, width: 24, height: 3, alarms: [...alarms] }));
  }

  private createDashboard(name: string, machine: sfn.IStateMachine, windowHours: number): cloudwatch.Dashboard {
    const daily = { statistic: cloudwatch.Stats.SUM, period: Duration.days(1) };
    const botvault = (metricName: string, label: string, statistic: string = cloudwatch.Stats.SUM) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: SERVICE_NAME },
        label,
        statistic,
        period: Duration.days(1),
      });
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: name, defaultInterval: Duration.days(14) });
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({
        title: 'Alarms',
        width: 24,
        height: 3,
        alarms: [
          this.runFailed,
          this.runTimedOut,
          this.runAborted,
          this.noSuccessfulRun,
          ...(this.scheduleStartFailed ? [this.scheduleStartFailed] : []),
        ],
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Runs per day',
        width: 12,
        stacked: true,
        left: [
          machine.metricSucceeded({ ...daily, label: 'succeeded' }),
          machine.metricFailed({ ...daily, label: 'failed' }),
          machine.metricTimedOut({ ...daily, label: 'timed out' }),
          machine.metricAborted({ ...daily, label: 'aborted' }),
        ],
      }),
      new cloudwatch.GraphWidget({
        title: 'Backup jobs per day',
        width: 12,
        stacked: true,
        left: [botvault('JobsSucceeded', 'stored'), botvault('JobsUnchanged', 'unchanged'), botvault('JobsFailed', 'failed')],
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Bytes stored per day',
        width: 12,
        left: [botvault('BytesStored', 'bytes stored')],
      }),
      new cloudwatch.GraphWidget({
        title: 'Run duration',
        width: 12,
        left: [botvault('RunDurationSeconds', 'longest run (s)', cloudwatch.Stats.MAXIMUM)],
        right: [machine.metricTime({ statistic: cloudwatch.Stats.MAXIMUM, period: Duration.days(1), label: 'execution time (ms)' })],
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        width: 24,
        height: 2,
        markdown: `NoSuccessfulRun fires after ${windowHours} h without a succeeded run. Each run's manifest (runs/<yyyy>/<mm>/<dd>/<run id>.json in the archive bucket) lists every job; \`botvault status\` shows the latest.`,
      }),
    );
    return dashboard;
  }
}
