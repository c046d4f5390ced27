/** Alarms, the failed-run message and the dashboard (lib/constructs/alarms.ts) as the stack builds them. */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { describe, expect, it } from 'vitest';
import { BackupAlarms, type BackupAlarmsProps } from '../../lib/constructs/alarms';
import { ConfigError, parseConfig } from '../../lib/config/config';
import { ACCOUNT, REGION, functionStatements, logicalId, render, synth, type CfnTemplate } from './helpers';

const TARGETS = [{ provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' }];

describe('alarms in the stack', () => {
  const { template, json } = synth({ targets: TARGETS, notifications: { email: 'ops@example.com' } });
  const machine = logicalId(json, 'AWS::StepFunctions::StateMachine', 'Workflow');
  const topic = logicalId(json, 'AWS::SNS::Topic', 'AlarmsTopic');
  const key = logicalId(json, 'AWS::KMS::Key', 'EncryptionKey');
  const alarm = (prefix: string) => render(json.Resources[logicalId(json, 'AWS::CloudWatch::Alarm', prefix)]!.Properties) as Record<string, unknown>;

  it('one topic, encrypted with the stack key, TLS-only, with the configured email subscribed', () => {
    template.resourceCountIs('AWS::SNS::Topic', 1);
    expect(render(json.Resources[topic]!.Properties)).toEqual({ DisplayName: 'BotVault backup alarms', KmsMasterKeyId: `${key}.Arn` });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: { Ref: topic } });
  });

  it("topic policy: TLS only, and CloudWatch may publish for this account's alarms only", () => {
    const policies = Object.values(json.Resources).filter((r) => r.Type === 'AWS::SNS::TopicPolicy');
    expect(policies).toHaveLength(1);
    expect(render(policies[0]!.Properties)).toEqual({
      Topics: [`Ref(${topic})`],
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AllowPublishThroughSSLOnly',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Effect: 'Deny',
            Principal: '*',
            Resource: `Ref(${topic})`,
          },
          {
            Sid: 'ThisAccountsAlarms',
            Action: 'sns:Publish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Resource: `Ref(${topic})`,
            Condition: {
              StringEquals: { 'aws:SourceAccount': ACCOUNT },
              ArnLike: { 'aws:SourceArn': `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:*` },
            },
          },
        ],
      },
    });
  });

  it.each([
    ['AlarmsRunFailed', 'ExecutionsFailed'],
    ['AlarmsRunTimedOut', 'ExecutionsTimedOut'],
    ['AlarmsRunAborted', 'ExecutionsAborted'],
  ])('%s: any %s of this state machine in 5 minutes notifies the topic', (id, metricName) => {
    expect(alarm(id)).toMatchObject({
      AlarmName: `BotVault-${id.replace(/^Alarms/, '')}`,
      Namespace: 'AWS/States',
      MetricName: metricName,
      Dimensions: [{ Name: 'StateMachineArn', Value: `Ref(${machine})` }],
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [`Ref(${topic})`],
    });
  });

  it('NoSuccessfulRun: 26 hourly periods (within the 7-day limit for hour periods) with no ExecutionsSucceeded, missing data breaching; alarm and OK notify', () => {
    const props = alarm('AlarmsNoSuccessfulRun');
    expect(props).toMatchObject({
      AlarmName: 'BotVault-NoSuccessfulRun',
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsSucceeded',
      Dimensions: [{ Name: 'StateMachineArn', Value: `Ref(${machine})` }],
      Statistic: 'Sum',
      Period: 3600,
      EvaluationPeriods: 26,
      DatapointsToAlarm: 26,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [`Ref(${topic})`],
      OKActions: [`Ref(${topic})`],
    });
    expect((props.Period as number) * (props.EvaluationPeriods as number)).toBeLessThanOrEqual(604_800);
  });

  it("ScheduleStartFailed: a message in the schedule's dead-letter queue", () => {
    expect(alarm('AlarmsScheduleStartFailed')).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: `${logicalId(json, 'AWS::SQS::Queue', 'ScheduleDeadLetterQueue')}.QueueName` }],
      Statistic: 'Maximum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [`Ref(${topic})`],
    });
  });

  it('failed-run rule: FAILED, TIMED_OUT and ABORTED executions of this machine only', () => {
    const rule = render(json.Resources[logicalId(json, 'AWS::Events::Rule', 'AlarmsFailedRunRule')]!.Properties) as Record<string, unknown>;
    expect(rule.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { stateMachineArn: [`Ref(${machine})`], status: ['FAILED', 'TIMED_OUT', 'ABORTED'] },
    });
  });

  it("failed-run message: names the run and carries error and cause (Summarize's failed jobs line), never the execution's input or output", () => {
    const rule = json.Resources[logicalId(json, 'AWS::Events::Rule', 'AlarmsFailedRunRule')]!.Properties as { Targets: Record<string, unknown>[] };
    expect(rule.Targets).toHaveLength(1);
    const target = render(rule.Targets[0]) as {
      Arn: string;
      RoleArn: string;
      InputTransformer: { InputPathsMap: Record<string, string>; InputTemplate: string };
    };
    expect(target.Arn).toBe(`Ref(${topic})`);
    expect(Object.values(target.InputTransformer.InputPathsMap).sort()).toEqual([
      '$.detail.cause',
      '$.detail.error',
      '$.detail.executionArn',
      '$.detail.name',
      '$.detail.status',
    ]);
    expect(JSON.stringify(target.InputTransformer)).not.toMatch(/\$\.detail\.(input|output)|<aws\.events\.event>/);
    expect(target.InputTransformer.InputTemplate).toBe(
      '"BotVault run <detail-name> ended <detail-status>: <detail-error>: <detail-cause> (execution <detail-executionArn>)"',
    );
  });

  it("failed-run rule publishes through a role of its own: exactly Publish on the topic and the topic key's data-key actions", () => {
    const roleId = (
      render(json.Resources[logicalId(json, 'AWS::Events::Rule', 'AlarmsFailedRunRule')]!.Properties) as { Targets: { RoleArn: string }[] }
    ).Targets[0]!.RoleArn.replace(/\.Arn$/, '');
    expect(render(json.Resources[roleId]!.Properties!.AssumeRolePolicyDocument)).toEqual({
      Version: '2012-10-17',
      Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' } }],
    });
    const statements = Object.values(json.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && (r.Properties!.Roles as { Ref: string }[]).some((x) => x.Ref === roleId))
      .flatMap((r) => render((r.Properties!.PolicyDocument as { Statement: unknown[] }).Statement) as unknown[]);
    expect(statements).toEqual([
      { Action: 'sns:Publish', Effect: 'Allow', Resource: `Ref(${topic})` },
      { Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Effect: 'Allow', Resource: `${key}.Arn` },
    ]);
  });

  it('the key lets CloudWatch alarms use it for the encrypted topic', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: 'CloudWatchAlarmsToTheEncryptedTopic',
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            // Only this account's alarms (the confused-deputy keys; security.test.ts has their values).
            Condition: { StringEquals: { 'aws:SourceAccount': Match.anyValue() }, ArnLike: { 'aws:SourceArn': Match.anyValue() } },
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Resource: '*',
          },
        ]),
      },
    });
  });

  it("dashboard: alarm status, runs, jobs, bytes and durations from AWS/States and Summarize's BotVault metrics (service dimension)", () => {
    const dashboards = Object.values(json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Dashboard');
    expect(dashboards).toHaveLength(1);
    expect(dashboards[0]!.Properties!.DashboardName).toBe('BotVault-Backups');
    const body = JSON.parse(String(render(dashboards[0]!.Properties!.DashboardBody))) as {
      widgets: { properties: { title?: string; metrics?: unknown[][] } }[];
    };
    expect(body.widgets.map((w) => w.properties.title).filter(Boolean)).toEqual([
      'Alarms',
      'Runs per day',
      'Backup jobs per day',
      'Bytes stored per day',
      'Run duration',
    ]);
    const metrics = body.widgets.flatMap((w) => w.properties.metrics ?? []).map((m) => m.slice(0, 2).join('/'));
    expect(metrics).toEqual(
      expect.arrayContaining([
        'AWS/States/ExecutionsSucceeded',
        'AWS/States/ExecutionsFailed',
        'AWS/States/ExecutionsTimedOut',
        'AWS/States/ExecutionsAborted',
        'AWS/States/ExecutionTime',
        'BotVault/JobsSucceeded',
        'BotVault/JobsUnchanged',
        'BotVault/JobsFailed',
        'BotVault/BytesStored',
        'BotVault/RunDurationSeconds',
      ]),
    );
    const botvault = body.widgets.flatMap((w) => w.properties.metrics ?? []).filter((m) => m[0] === 'BotVault');
    for (const m of botvault) expect(m.slice(2, 4)).toEqual(['service', 'botvault']);
  });

  it('notifications.noSuccessHours widens the window (a weekday-only schedule has a 72 h weekend gap)', () => {
    const { json: j } = synth({ targets: TARGETS, schedule: { cron: 'cron(0 3 ? * MON-FRI *)' }, notifications: { noSuccessHours: 80 } });
    expect(j.Resources[logicalId(j, 'AWS::CloudWatch::Alarm', 'AlarmsNoSuccessfulRun')]!.Properties).toMatchObject({
      Period: 3600,
      EvaluationPeriods: 80,
      DatapointsToAlarm: 80,
    });
    expect(() => parseConfig({ targets: TARGETS, notifications: { noSuccessHours: 200 } })).toThrow(
      /notifications\.noSuccessHours: must be at most 168/,
    );
  });

  it("Summarize publishes the run's change notification: exactly Publish on the alarm topic and its key's data-key actions, the topic in its environment", () => {
    const summarize = logicalId(json, 'AWS::Lambda::Function', 'Summarize');
    expect(render(json.Resources[summarize]!.Properties!.Environment)).toMatchObject({ Variables: { BOTVAULT_CHANGE_TOPIC_ARN: `Ref(${topic})` } });
    const statements = functionStatements(json, 'Summarize');
    expect(statements).toContainEqual({ Action: 'sns:Publish', Effect: 'Allow', Resource: `Ref(${topic})` });
    expect(statements).toContainEqual({ Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Effect: 'Allow', Resource: `${key}.Arn` });
    // No other function may publish.
    for (const other of ['Plan', 'StartExport', 'CheckExport', 'StoreArchive', 'Cleanup'])
      expect(JSON.stringify(functionStatements(json, other))).not.toContain('sns:Publish');
  });

  it('notifications.changes false: Summarize gets neither the topic nor sns:Publish; a value that is not a boolean is refused by name', () => {
    const { json: j } = synth({ targets: TARGETS, notifications: { changes: false } });
    const summarize = logicalId(j, 'AWS::Lambda::Function', 'Summarize');
    expect(JSON.stringify(j.Resources[summarize]!.Properties!.Environment)).not.toContain('BOTVAULT_CHANGE_TOPIC_ARN');
    expect(JSON.stringify(functionStatements(j, 'Summarize'))).not.toContain('sns:Publish');
    expect(() => parseConfig({ targets: TARGETS, notifications: { changes: 'yes' } })).toThrow(
      /notifications\.changes: must be true \(notify what changed in each run\) or false/,
    );
  });

  it('without notifications.email: the topic, no subscription', () => {
    const { template: t } = synth({ targets: TARGETS });
    t.resourceCountIs('AWS::SNS::Topic', 1);
    t.resourceCountIs('AWS::SNS::Subscription', 0);
  });
});

describe('notifications config', () => {
  it('a bad email is one error naming the field', () => {
    let err: unknown;
    try {
      parseConfig({ targets: TARGETS, notifications: { email: 'ops at example.com' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([{ path: 'notifications.email', message: 'must be an email address such as "ops@example.com"' }]);
  });

  it('unknown fields under notifications are errors', () => {
    expect(() => parseConfig({ targets: TARGETS, notifications: { sms: '+4912345' } })).toThrow(/notifications\.sms: unknown field "sms"/);
  });
});

describe('BackupAlarms construct', () => {
  const build = (props: Partial<BackupAlarmsProps>) => {
    const stack = new Stack(new App(), 'Test', { env: { account: ACCOUNT, region: REGION } });
    const stateMachine = new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'Pass')) });
    new BackupAlarms(stack, 'Alarms', { stateMachine, ...props });
    return Template.fromStack(stack).toJSON() as CfnTemplate;
  };

  it('noSuccessWindow sets the number of hourly periods; without a DLQ there is no ScheduleStartFailed alarm', () => {
    const json = build({ noSuccessWindow: Duration.hours(50) });
    const alarms = Object.values(json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    expect(alarms.map((a) => a.Properties!.AlarmName).sort()).toEqual([
      'Test-NoSuccessfulRun',
      'Test-RunAborted',
      'Test-RunFailed',
      'Test-RunTimedOut',
    ]);
    const noSuccess = alarms.find((a) => a.Properties!.AlarmName === 'Test-NoSuccessfulRun')!;
    expect(noSuccess.Properties).toMatchObject({ Period: 3600, EvaluationPeriods: 50, DatapointsToAlarm: 50 });
  });

  it.each([
    [{ noSuccessWindow: Duration.minutes(90) }, /noSuccessWindow must be whole hours from 2 to 168/],
    [{ noSuccessWindow: Duration.days(8) }, /noSuccessWindow must be whole hours from 2 to 168 \(got 8 days\)/],
    [{ email: 'not-an-address' }, /email "not-an-address" is not an email address/],
  ] as [Partial<BackupAlarmsProps>, RegExp][])('rejects %j with an actionable message', (props, message) => {
    expect(() => build(props)).toThrow(message);
  });
});
