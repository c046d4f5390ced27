/** The nightly schedule (lib/constructs/backup-schedule.ts) as the stack builds it from the config. */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { describe, expect, it } from 'vitest';
import { BackupSchedule, type BackupScheduleProps } from '../../lib/constructs/backup-schedule';
import { ACCOUNT, REGION, logicalId, render, synth } from './helpers';

const TARGETS = [{ provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' }];

describe('schedule from the config', () => {
  const { template, json } = synth({ targets: TARGETS, schedule: { cron: 'cron(30 2 ? * MON-FRI *)', timezone: 'Europe/Berlin' } });
  const stateMachine = logicalId(json, 'AWS::StepFunctions::StateMachine', 'Workflow');
  const dlq = logicalId(json, 'AWS::SQS::Queue', 'ScheduleDeadLetterQueue');
  const scheduleProps = () => {
    const schedules = Object.values(json.Resources).filter((r) => r.Type === 'AWS::Scheduler::Schedule');
    expect(schedules).toHaveLength(1);
    return render(schedules[0]!.Properties) as Record<string, unknown> & { Target: { RoleArn: string } };
  };

  it('fires on the configured cron expression in the configured time zone, no flexible window', () => {
    expect(scheduleProps()).toMatchObject({
      ScheduleExpression: 'cron(30 2 ? * MON-FRI *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
    });
  });

  it('starts the state machine with the schedule trigger and the tick time, retries for an hour, then dead-letters', () => {
    const { Target } = scheduleProps();
    expect(Target).toEqual({
      Arn: `Ref(${stateMachine})`,
      RoleArn: Target.RoleArn,
      Input: '{"trigger":"schedule","tickTime":"<aws.scheduler.scheduled-time>"}',
      RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 3 },
      DeadLetterConfig: { Arn: `${dlq}.Arn` },
    });
  });

  it("runs as a role only Scheduler in this account can assume, allowed exactly StartExecution on the machine, the key for this machine's executions, and SendMessage to the DLQ", () => {
    const roleId = scheduleProps().Target.RoleArn.replace(/\.Arn$/, '');
    expect(render(json.Resources[roleId]!.Properties!.AssumeRolePolicyDocument)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'scheduler.amazonaws.com' },
          Condition: {
            StringEquals: { 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': `arn:aws:scheduler:${REGION}:${ACCOUNT}:schedule-group/default` },
          },
        },
      ],
    });
    const policies = Object.values(json.Resources).filter(
      (r) => r.Type === 'AWS::IAM::Policy' && (r.Properties!.Roles as { Ref: string }[]).some((x) => x.Ref === roleId),
    );
    expect(policies.flatMap((p) => render((p.Properties!.PolicyDocument as { Statement: unknown[] }).Statement) as unknown[])).toEqual([
      {
        // The state machine is encrypted with the stack key: StartExecution encrypts the input with it.
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Condition: { StringEquals: { 'kms:EncryptionContext:aws:states:stateMachineArn': `Ref(${stateMachine})` } },
        Effect: 'Allow',
        Resource: `${logicalId(json, 'AWS::KMS::Key', 'EncryptionKey')}.Arn`,
      },
      { Action: 'states:StartExecution', Effect: 'Allow', Resource: `Ref(${stateMachine})` },
      { Action: 'sqs:SendMessage', Effect: 'Allow', Resource: `${dlq}.Arn` },
    ]);
  });

  it('dead-letter queue: SQS-managed encryption, 14 days retention, TLS-only queue policy', () => {
    expect(json.Resources[dlq]!.Properties).toEqual({ MessageRetentionPeriod: 1_209_600, SqsManagedSseEnabled: true });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: dlq }],
      PolicyDocument: {
        Statement: [
          {
            Action: 'sqs:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Resource: { 'Fn::GetAtt': [dlq, 'Arn'] },
          },
        ],
      },
    });
  });

  it('defaults: 03:00 UTC daily; "enabled": false deploys it disabled', () => {
    const { template: t } = synth({ targets: TARGETS, schedule: { enabled: false } });
    t.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 3 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
      State: 'DISABLED',
    });
  });
});

describe('BackupSchedule construct', () => {
  const build = (props: Partial<BackupScheduleProps>) => {
    const stack = new Stack(new App(), 'Test');
    const stateMachine = new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'Pass')) });
    new BackupSchedule(stack, 'Schedule', { stateMachine, ...props });
    return Template.fromStack(stack);
  };

  it('takes retry settings from props', () => {
    build({ retryAttempts: 0 }).hasResourceProperties('AWS::Scheduler::Schedule', {
      Target: { RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 0 } },
    });
  });

  it.each([
    [{ cron: 'rate(1 day)' }, /cron "rate\(1 day\)" must be an EventBridge Scheduler cron expression with 6 fields/],
    [{ cron: 'cron(0 3 * * * *)' }, /"\?" in exactly one of day-of-month and day-of-week/],
    [{ timezone: 'Mars/Olympus' }, /timezone "Mars\/Olympus" must be an IANA time zone/],
    [{ retryAttempts: 200 }, /retryAttempts must be a whole number from 0 to 185/],
  ] as [Partial<BackupScheduleProps>, RegExp][])('rejects %j with an actionable message', (props, message) => {
    expect(() => build(props)).toThrow(message);
  });
});
