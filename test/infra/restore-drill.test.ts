/** The restore drill (lib/constructs/restore-drill.ts) as the stack builds it from the config. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ArchiveBucket } from '../../lib/constructs/archive-bucket';
import { AuthenticationKey } from '../../lib/constructs/authentication-key';
import { RestoreDrill } from '../../lib/constructs/restore-drill';
import { ConfigError, parseConfig } from '../../lib/config/config';
import { buildApp } from '../../lib/app';
import { ACCOUNT, REGION, SKIP_BUNDLING, cdkJsonContext, functionStatements, logicalId, render, synth, type CfnTemplate } from './helpers';

const TARGETS = [{ provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' }];

const ofType = (json: CfnTemplate, type: string) => Object.entries(json.Resources).filter(([, r]) => r.Type === type);

describe('restore drill from the config', () => {
  it('is off by default: no drill Lambda, no second schedule, no drill alarms', () => {
    const { json } = synth({ targets: TARGETS });
    expect(Object.keys(json.Resources).filter((id) => id.startsWith('RestoreDrill'))).toEqual([]);
    expect(ofType(json, 'AWS::Scheduler::Schedule')).toHaveLength(1);
  });

  describe('enabled', () => {
    const { json } = synth({ targets: TARGETS, restoreDrill: { enabled: true, cron: 'cron(0 6 ? * SUN *)', timezone: 'Europe/Berlin' } });
    const fn = logicalId(json, 'AWS::Lambda::Function', 'RestoreDrillFunction');
    const bucket = logicalId(json, 'AWS::S3::Bucket', 'ArchiveBucket');
    const topic = logicalId(json, 'AWS::SNS::Topic', 'AlarmsTopic');

    it('a Scheduler schedule invokes the drill Lambda on the configured cron and time zone (deliveries retried for an hour)', () => {
      const drill = ofType(json, 'AWS::Scheduler::Schedule').find(([id]) => id.startsWith('RestoreDrill'));
      expect(drill).toBeDefined();
      const props = render(drill![1].Properties) as Record<string, unknown> & { Target: Record<string, unknown> };
      expect(props).toMatchObject({
        ScheduleExpression: 'cron(0 6 ? * SUN *)',
        ScheduleExpressionTimezone: 'Europe/Berlin',
        State: 'ENABLED',
        FlexibleTimeWindow: { Mode: 'OFF' },
      });
      expect(props.Target).toMatchObject({
        Arn: `${fn}.Arn`,
        Input: '{"trigger":"restore-drill"}',
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
      });
    });

    it('the Lambda knows the bucket, has 15 minutes, and its failed async invocations are not retried', () => {
      const props = render(json.Resources[fn]!.Properties) as {
        Environment: { Variables: Record<string, string> };
        Timeout: number;
        MemorySize: number;
        Architectures: string[];
      };
      expect(props.Environment.Variables.BOTVAULT_BUCKET).toBe(`Ref(${bucket})`);
      expect(props.Timeout).toBe(900);
      expect(props.MemorySize).toBe(512);
      expect(props.Architectures).toEqual(['arm64']);
      const invokeConfigs = ofType(json, 'AWS::Lambda::EventInvokeConfig').map(([, r]) => render(r.Properties) as Record<string, unknown>);
      expect(invokeConfigs).toContainEqual(expect.objectContaining({ FunctionName: `Ref(${fn})`, MaximumRetryAttempts: 0 }));
    });

    it('the Lambda may read archives and list versions, and nothing else in S3: no write, no delete', () => {
      const statements = functionStatements(json, 'RestoreDrillFunction') as { Action: string | string[]; Resource: unknown }[];
      const s3Actions = statements.flatMap((s) => [s.Action].flat()).filter((a) => a.startsWith('s3:'));
      expect(new Set(s3Actions)).toEqual(new Set(['s3:ListBucket', 's3:ListBucketVersions', 's3:GetObject', 's3:GetObjectVersion']));
      const reads = statements.find((s) => [s.Action].flat().includes('s3:GetObject'))!;
      expect([reads.Resource].flat()).toEqual(expect.arrayContaining([`${bucket}.Arn/lex/*`, `${bucket}.Arn/koreai/*`]));
    });

    it('alarms: any archive failing the drill (BotVault/DrillFailures >= 1) and the drill Lambda failing, both to the alarm topic', () => {
      const alarms = ofType(json, 'AWS::CloudWatch::Alarm')
        .filter(([id]) => id.startsWith('RestoreDrill'))
        .map(([, r]) => render(r.Properties) as Record<string, unknown>);
      expect(alarms).toHaveLength(2);
      expect(alarms).toContainEqual(
        expect.objectContaining({
          Namespace: 'BotVault',
          MetricName: 'DrillFailures',
          Dimensions: [{ Name: 'service', Value: 'botvault' }],
          Statistic: 'Maximum',
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          EvaluationPeriods: 1,
          TreatMissingData: 'notBreaching',
          AlarmActions: [`Ref(${topic})`],
          OKActions: [`Ref(${topic})`],
        }),
      );
      expect(alarms).toContainEqual(
        expect.objectContaining({
          Namespace: 'AWS/Lambda',
          MetricName: 'Errors',
          Dimensions: [{ Name: 'FunctionName', Value: `Ref(${fn})` }],
          Threshold: 1,
          AlarmActions: [`Ref(${topic})`],
        }),
      );
    });
  });

  it('with password-protected targets, the drill may read exactly those secrets (to decrypt as a restore would); without them, no secret at all', () => {
    const { json } = synth({
      targets: [...TARGETS, { provider: 'lex', botId: 'KLMNOPQRST', botVersion: 'DRAFT', passwordSecret: 'botvault/lex-password' }],
      restoreDrill: { enabled: true },
    });
    const secretReads = (functionStatements(json, 'RestoreDrillFunction') as { Action: string | string[]; Resource: unknown }[]).filter((st) =>
      [st.Action].flat().some((a) => a.startsWith('secretsmanager:')),
    );
    expect(secretReads).toEqual([
      {
        Action: 'secretsmanager:GetSecretValue',
        Effect: 'Allow',
        Resource: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:botvault/lex-password-??????`,
      },
    ]);
    const plain = synth({ targets: TARGETS, restoreDrill: { enabled: true } }).json;
    expect(
      (functionStatements(plain, 'RestoreDrillFunction') as { Action: string | string[] }[])
        .flatMap((st) => [st.Action].flat())
        .filter((a) => a.startsWith('secretsmanager:')),
    ).toEqual([]);
  });

  it('passes cdk-nag AwsSolutions with the drill enabled (its read grant and X-Ray wildcards acknowledged where they are)', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'botvault-drill-nag-'));
    try {
      const { app } = buildApp(
        parseConfig({ targets: TARGETS, restoreDrill: { enabled: true } }),
        { outdir, context: { ...cdkJsonContext(), ...SKIP_BUNDLING } },
        { account: ACCOUNT, region: REGION },
      );
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
      expect(() => app.synth()).not.toThrow();
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('a bad cron in the config is one error naming restoreDrill.cron', () => {
    let err: unknown;
    try {
      parseConfig({ targets: TARGETS, restoreDrill: { enabled: true, cron: 'every sunday' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('restoreDrill.cron');
  });

  it('the construct refuses a bad time zone with an actionable message', () => {
    const stack = new Stack(new App(), 'DrillProps', { env: { account: '123456789012', region: 'eu-west-1' } });
    const archiveBucket = new ArchiveBucket(stack, 'Archive', {});
    const authenticationKey = new AuthenticationKey(stack, 'Mac', {
      writers: [new iam.Role(stack, 'Writer', { assumedBy: new iam.AccountRootPrincipal() })],
    });
    expect(() => new RestoreDrill(stack, 'Drill', { archiveBucket, authenticationKey, timezone: 'Mars/Olympus' })).toThrow(
      /^RestoreDrill: timezone "Mars\/Olympus" /,
    );
  });
});
