/**
 * The deep drill (lib/constructs/deep-drill.ts) as the stack builds it from
 * the config: off by default; when enabled its schedule, its Lambda's
 * settings, its alarms, and its IAM — exactly, with the tag conditions that
 * hold it to scratch bots — and cdk-nag.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app';
import { ConfigError, parseConfig } from '../../lib/config/config';
import { ArchiveBucket } from '../../lib/constructs/archive-bucket';
import { DEEP_DRILL_LEX_ACTIONS, DeepDrill } from '../../lib/constructs/deep-drill';
import { ACCOUNT, REGION, SKIP_BUNDLING, type CfnTemplate, cdkJsonContext, functionStatements, logicalId, render, synth } from './helpers';

const KORE = {
  provider: 'koreai',
  host: 'https://bots.kore.ai',
  botId: 'st-5e1f0c2a-7b3d-4c8e-9a6f-1d2b3c4e5f60',
  credentialsSecret: 'botvault/kore',
};
const TARGETS = [{ provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT', passwordSecret: 'botvault/lex-password' }, KORE];
const ROLE = `arn:aws:iam::${ACCOUNT}:role/BotVaultDrillBot`;
const ENABLED = {
  targets: TARGETS,
  deepDrill: {
    enabled: true,
    cron: 'cron(0 5 ? * SAT *)',
    timezone: 'Europe/Berlin',
    lexBotRoleArn: ROLE,
    koreaiCredentialsSecret: 'botvault/kore-admin',
  },
};

const ofType = (json: CfnTemplate, type: string) => Object.entries(json.Resources).filter(([, r]) => r.Type === type);
type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Effect: string; Condition?: unknown };
const actionsOf = (s: Statement) => [s.Action].flat();
/** A statement with its action and resource lists sorted (CDK may merge and reorder them). */
const sorted = (s: Statement): Statement => ({
  ...s,
  Action: Array.isArray(s.Action) ? [...s.Action].sort() : s.Action,
  Resource: Array.isArray(s.Resource) ? [...(s.Resource as string[])].sort() : s.Resource,
});
const LEX = `arn:aws:lex:${REGION}:${ACCOUNT}`;
const TAG_IN_REQUEST = {
  StringEquals: { 'aws:RequestTag/botvault:drill': 'true' },
  'ForAllValues:StringEquals': { 'aws:TagKeys': ['botvault:drill'] },
};

describe('deep drill from the config', () => {
  it('is off by default: no deep drill Lambda, schedule, alarm or grant', () => {
    const { json } = synth({ targets: TARGETS });
    expect(Object.keys(json.Resources).filter((id) => id.startsWith('DeepDrill'))).toEqual([]);
    expect(ofType(json, 'AWS::Scheduler::Schedule')).toHaveLength(1);
    expect(JSON.stringify(json)).not.toContain('botvault:drill');
  });

  describe('enabled', () => {
    const { json } = synth(ENABLED);
    const fn = logicalId(json, 'AWS::Lambda::Function', 'DeepDrillFunction');
    const bucket = logicalId(json, 'AWS::S3::Bucket', 'ArchiveBucket');
    const topic = logicalId(json, 'AWS::SNS::Topic', 'AlarmsTopic');
    const macKey = logicalId(json, 'AWS::KMS::Key', 'AuthenticationKey');
    const drillMacKey = logicalId(json, 'AWS::KMS::Key', 'DeepDrillAuthenticationKey');
    const statements = functionStatements(json, 'DeepDrillFunction') as Statement[];

    it('a Scheduler schedule invokes it on its own cron and time zone; its failed invocations are not retried', () => {
      const schedule = ofType(json, 'AWS::Scheduler::Schedule').find(([id]) => id.startsWith('DeepDrill'));
      const props = render(schedule![1].Properties) as Record<string, unknown> & { Target: Record<string, unknown> };
      expect(props).toMatchObject({ ScheduleExpression: 'cron(0 5 ? * SAT *)', ScheduleExpressionTimezone: 'Europe/Berlin', State: 'ENABLED' });
      expect(props.Target).toMatchObject({
        Arn: `${fn}.Arn`,
        Input: '{"trigger":"deep-drill"}',
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
      });
      const invokeConfigs = ofType(json, 'AWS::Lambda::EventInvokeConfig').map(([, r]) => render(r.Properties) as Record<string, unknown>);
      expect(invokeConfigs).toContainEqual(expect.objectContaining({ FunctionName: `Ref(${fn})`, MaximumRetryAttempts: 0 }));
    });

    it("the Lambda: 15 minutes, one run at a time, the config's settings in BOTVAULT_DEEP_DRILL (identifiers only), the HMAC key and the alarm topic", () => {
      const props = render(json.Resources[fn]!.Properties) as {
        Environment: { Variables: Record<string, string> };
        Timeout: number;
        MemorySize: number;
        ReservedConcurrentExecutions: number;
      };
      expect(props.Timeout).toBe(900);
      expect(props.MemorySize).toBe(1024);
      // Two runs at once would import into the same Kore.ai scratch bot of a host.
      expect(props.ReservedConcurrentExecutions).toBe(1);
      const env = props.Environment.Variables;
      expect(env).toMatchObject({
        BOTVAULT_BUCKET: `Ref(${bucket})`,
        BOTVAULT_MAC_KEY_ID: `${macKey}.Arn`,
        BOTVAULT_DRILL_MAC_KEY_ID: `${drillMacKey}.Arn`,
        BOTVAULT_DEEP_DRILL_TOPIC_ARN: `Ref(${topic})`,
        BOTVAULT_ACCOUNT_ID: ACCOUNT,
      });
      expect(JSON.parse(env.BOTVAULT_DEEP_DRILL!)).toEqual({
        sample: 2,
        concurrency: 2,
        pollSeconds: 10,
        lexBotRoleArn: ROLE,
        koreaiCredentialsSecret: 'botvault/kore-admin',
        koreaiTargets: [{ ...KORE, exportType: 'published', enforceJti: false, downloadHosts: [] }],
      });
    });

    it('Lex: created only with the drill tag in the request, touched only while it carries it; exactly these statements', () => {
      const lex = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('lex:')));
      expect(lex.map(sorted)).toEqual([
        { Sid: 'LexUnscoped', Effect: 'Allow', Action: ['lex:CreateUploadUrl', 'lex:DescribeImport', 'lex:ListBots'], Resource: '*' },
        {
          Sid: 'CreateScratchBotsOnlyWithTheDrillTag',
          Effect: 'Allow',
          Action: ['lex:CreateBot', 'lex:StartImport'],
          Resource: [`${LEX}:bot-alias/*/*`, `${LEX}:bot/*`],
          Condition: TAG_IN_REQUEST,
        },
        {
          Sid: 'TagScratchBotsOnlyWithTheDrillTag',
          Effect: 'Allow',
          Action: 'lex:TagResource',
          Resource: [`${LEX}:bot-alias/*/*`, `${LEX}:bot/*`],
          Condition: TAG_IN_REQUEST,
        },
        {
          Sid: 'OnlyBotsCarryingTheDrillTag',
          Effect: 'Allow',
          Action: [...DEEP_DRILL_LEX_ACTIONS.scratchBot],
          Resource: `${LEX}:bot/*`,
          Condition: { StringEquals: { 'aws:ResourceTag/botvault:drill': 'true' } },
        },
        { Sid: 'ScratchBotAliases', Effect: 'Allow', Action: ['lex:DeleteBot', 'lex:DescribeBotAlias'], Resource: `${LEX}:bot-alias/*/*` },
      ]);
      // Build, export and delete are among the tag-held actions, and StartImport's dependent deletes (an import replaces
      // locales, intents, slots and slot types); nothing that changes a bot is allowed without a tag condition.
      expect(DEEP_DRILL_LEX_ACTIONS.scratchBot).toEqual(
        expect.arrayContaining([
          'lex:BuildBotLocale',
          'lex:CreateExport',
          'lex:DeleteBot',
          'lex:UpdateIntent',
          'lex:DeleteBotLocale',
          'lex:DeleteIntent',
          'lex:DeleteSlot',
          'lex:DeleteSlotType',
        ]),
      );
      for (const s of lex.filter((x) => x.Condition === undefined))
        expect(
          actionsOf(s).every((a) =>
            ['lex:CreateUploadUrl', 'lex:DescribeImport', 'lex:ListBots', 'lex:DeleteBot', 'lex:DescribeBotAlias'].includes(a),
          ),
        ).toBe(true);
    });

    it("iam:PassRole of the configured scratch bot role only, to Lex V2 only; GetServiceQuota of Lex's bots quota only", () => {
      expect(statements.filter((s) => actionsOf(s).some((a) => a.startsWith('iam:') || a.startsWith('servicequotas:')))).toEqual([
        {
          Sid: 'PassTheScratchBotRoleToLexOnly',
          Effect: 'Allow',
          Action: 'iam:PassRole',
          Resource: ROLE,
          Condition: { StringEquals: { 'iam:PassedToService': 'lexv2.amazonaws.com' } },
        },
        {
          Sid: 'ReadTheBotsQuota',
          Effect: 'Allow',
          Action: 'servicequotas:GetServiceQuota',
          Resource: `arn:aws:servicequotas:${REGION}:${ACCOUNT}:lex/L-36FA8BD2`,
        },
      ]);
    });

    it('S3: reads archives, writes drills/* only, deletes nothing; secrets: the export password and the Kore.ai drill app', () => {
      const s3 = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
      const writes = s3.filter((s) => actionsOf(s).includes('s3:PutObject'));
      expect(writes.map(sorted)).toEqual([{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `${bucket}.Arn/drills/*` }]);
      expect(s3.flatMap(actionsOf).filter((a) => /Delete/.test(a))).toEqual([]);
      const secrets = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));
      expect(secrets.map(sorted)).toEqual([
        {
          Effect: 'Allow',
          Action: 'secretsmanager:GetSecretValue',
          Resource: [
            `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:botvault/kore-admin-??????`,
            `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:botvault/lex-password-??????`,
          ],
        },
      ]);
    });

    const role = (render(json.Resources[fn]!.Properties!.Role) as string).replace(/\.Arn$/, '');
    const roleOf = (name: string) => `${logicalId(json, 'AWS::IAM::Role', `${name}Role`)}.Arn`;
    /** The principals a key policy's Deny of GenerateMac spares: the key's only writers. */
    const writersOf = (keyId: string) => {
      const policy = render((json.Resources[keyId]!.Properties as { KeyPolicy: unknown }).KeyPolicy) as { Statement: Statement[] };
      const deny = policy.Statement.find((s) => s.Sid === 'GenerateMacOnlyByTheWritingFunctions')!;
      expect(deny).toMatchObject({ Effect: 'Deny', Action: 'kms:GenerateMac', Principal: { AWS: '*' }, Resource: '*' });
      return (deny.Condition as { ArnNotEquals: { 'aws:PrincipalArn': string | string[] } }).ArnNotEquals['aws:PrincipalArn'];
    };

    it("its reports and scratch bot records: its own HMAC key, whose only writer is the drill's role", () => {
      const key = json.Resources[drillMacKey]!;
      expect(key.Properties).toMatchObject({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC', EnableKeyRotation: false });
      expect(key.DeletionPolicy).toBe('Retain');
      expect([writersOf(drillMacKey)].flat()).toEqual([`${role}.Arn`]);
    });

    it('the archive key: GenerateMac only by StoreArchive and Summarize, never the drill (which may only VerifyMac with it)', () => {
      expect([writersOf(macKey)].flat()).toEqual([roleOf('StoreArchive'), roleOf('Summarize')]);
      const kms = statements.filter((s) => actionsOf(s).some((a) => a.endsWith('Mac') || a === 'kms:*'));
      expect(kms.map(sorted)).toEqual([
        { Effect: 'Allow', Action: ['kms:GenerateMac', 'kms:VerifyMac'], Resource: `${drillMacKey}.Arn` },
        { Effect: 'Allow', Action: 'kms:VerifyMac', Resource: `${macKey}.Arn` },
      ]);
    });

    it("GenerateMac with the drill's key is in the drill's policy only; no other role may verify with it either", () => {
      const grants: string[] = [];
      for (const [id, r] of Object.entries(json.Resources)) {
        if (r.Type !== 'AWS::IAM::Policy') continue;
        const doc = render(r.Properties!.PolicyDocument) as { Statement: Statement[] };
        for (const st of doc.Statement)
          if ([st.Resource].flat().includes(`${drillMacKey}.Arn`)) grants.push(...actionsOf(st).map((a) => `${id.replace(/[0-9A-F]{8}$/, '')} ${a}`));
      }
      expect(grants.sort()).toEqual(['DeepDrillFunctionRoleDefaultPolicy kms:GenerateMac', 'DeepDrillFunctionRoleDefaultPolicy kms:VerifyMac']);
    });

    it('alarms: any difference or failure (FILL(DeepDrillDifferences) + FILL(DeepDrillFailures) >= 1) and the Lambda failing, both to the alarm topic', () => {
      const alarms = ofType(json, 'AWS::CloudWatch::Alarm')
        .filter(([id]) => id.startsWith('DeepDrill'))
        .map(([, r]) => render(r.Properties) as Record<string, unknown>);
      expect(alarms).toHaveLength(2);
      const metric = (id: string, name: string) => ({
        Id: id,
        MetricStat: {
          Metric: { Namespace: 'BotVault', MetricName: name, Dimensions: [{ Name: 'service', Value: 'botvault' }] },
          Period: 3600,
          Stat: 'Sum',
        },
        ReturnData: false,
      });
      expect(alarms).toContainEqual(
        expect.objectContaining({
          Metrics: [
            {
              Id: 'expr_1',
              Expression: 'FILL(differences, 0) + FILL(failures, 0)',
              Label: 'archives with differences or failures',
              ReturnData: true,
            },
            metric('differences', 'DeepDrillDifferences'),
            metric('failures', 'DeepDrillFailures'),
          ],
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          EvaluationPeriods: 1,
          // A finding stays in ALARM until a later drill reports none: the hours without data do not clear it.
          TreatMissingData: 'ignore',
          AlarmActions: [`Ref(${topic})`],
          OKActions: [`Ref(${topic})`],
        }),
      );
      expect(alarms).toContainEqual(
        expect.objectContaining({ MetricName: 'Errors', Namespace: 'AWS/Lambda', Threshold: 1, AlarmActions: [`Ref(${topic})`] }),
      );
    });

    it('passes cdk-nag AwsSolutions (each wildcard acknowledged for its resource, with the tag condition as the reason)', () => {
      const outdir = mkdtempSync(join(tmpdir(), 'botvault-deep-drill-nag-'));
      try {
        const { app } = buildApp(
          parseConfig(ENABLED),
          { outdir, context: { ...cdkJsonContext(), ...SKIP_BUNDLING } },
          { account: ACCOUNT, region: REGION },
        );
        Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
        expect(() => app.synth()).not.toThrow();
      } finally {
        rmSync(outdir, { recursive: true, force: true });
      }
    });
  });

  it('with Object Lock, its report writes carry the checksums S3 then requires (BOTVAULT_S3_CHECKSUMS, as every writer)', () => {
    const { json } = synth({ ...ENABLED, objectLock: { mode: 'GOVERNANCE', days: 30 } });
    const fn = logicalId(json, 'AWS::Lambda::Function', 'DeepDrillFunction');
    const env = (render(json.Resources[fn]!.Properties) as { Environment: { Variables: Record<string, string> } }).Environment.Variables;
    expect(env.BOTVAULT_S3_CHECKSUMS).toBe('WHEN_SUPPORTED');
  });

  it('deepDrill.targets instead of a sample: the settings carry them, and without Kore.ai targets no Kore.ai secret', () => {
    const { json } = synth({ targets: [TARGETS[0]], deepDrill: { enabled: true, targets: ['lex:ABCDEFGHIJ:DRAFT'], lexBotRoleArn: ROLE } });
    const fn = logicalId(json, 'AWS::Lambda::Function', 'DeepDrillFunction');
    const env = (render(json.Resources[fn]!.Properties) as { Environment: { Variables: Record<string, string> } }).Environment.Variables;
    expect(JSON.parse(env.BOTVAULT_DEEP_DRILL!)).toEqual({
      targets: ['lex:ABCDEFGHIJ:DRAFT'],
      concurrency: 2,
      pollSeconds: 10,
      lexBotRoleArn: ROLE,
      koreaiTargets: [],
    });
  });
});

describe('deep drill config errors name the field', () => {
  const error = (deepDrill: Record<string, unknown>, targets: unknown[] = TARGETS) => {
    try {
      parseConfig({ targets, deepDrill: { enabled: true, ...deepDrill } });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('the config was accepted');
  };

  it('sample and targets together', () => {
    expect(error({ sample: 3, targets: ['ABCDEFGHIJ'], lexBotRoleArn: ROLE, koreaiCredentialsSecret: 'k' })).toContain(
      'deepDrill.targets: cannot be given with deepDrill.sample',
    );
  });

  it('a target that selects nothing in the config', () => {
    expect(error({ targets: ['lex:ZZZZZZZZZZ:DRAFT'], lexBotRoleArn: ROLE })).toContain(
      'deepDrill.targets[0]: "lex:ZZZZZZZZZZ:DRAFT" selects none of',
    );
  });

  it("Lex archives without the scratch bots' role; Kore.ai archives without the drill's Admin Console app", () => {
    const message = error({});
    expect(message).toContain('deepDrill.lexBotRoleArn: is required to drill Lex archives');
    expect(message).toContain('deepDrill.koreaiCredentialsSecret: is required to drill Kore.ai archives');
    // Only what the chosen targets need: a Kore.ai-only choice needs no Lex role.
    expect(error({ targets: [KORE.botId] })).not.toContain('lexBotRoleArn');
  });

  it('out of range and malformed values', () => {
    expect(error({ sample: 0, lexBotRoleArn: ROLE, koreaiCredentialsSecret: 'k' })).toContain('deepDrill.sample: must be at least 1');
    expect(error({ concurrency: 9, lexBotRoleArn: ROLE, koreaiCredentialsSecret: 'k' })).toContain('deepDrill.concurrency: must be at most 5');
    expect(error({ lexBotRoleArn: 'BotVaultDrillBot', koreaiCredentialsSecret: 'k' })).toContain('deepDrill.lexBotRoleArn: must be an IAM role ARN');
  });

  it('disabled, nothing is required', () => {
    expect(() => parseConfig({ targets: TARGETS, deepDrill: { sample: 3 } })).not.toThrow();
  });
});

describe('DeepDrill construct props', () => {
  const stack = () => new Stack(new App(), 'DeepDrillProps', { env: { account: ACCOUNT, region: REGION } });
  it('refuses what cannot work, saying what to change', () => {
    const s = stack();
    const archiveBucket = new ArchiveBucket(s, 'Archive', {});
    expect(() => new DeepDrill(s, 'A', { archiveBucket, timezone: 'Mars/Olympus' })).toThrow(/^DeepDrill: timezone "Mars\/Olympus" /);
    expect(() => new DeepDrill(s, 'B', { archiveBucket, sample: 2, targets: ['x'] })).toThrow('DeepDrill: give sample or targets, not both.');
    expect(() => new DeepDrill(s, 'C', { archiveBucket, lexBotRoleArn: 'role/x' })).toThrow(
      'DeepDrill: lexBotRoleArn "role/x" is not an IAM role ARN.',
    );
    expect(() => new DeepDrill(s, 'D', { archiveBucket, koreaiCredentialsSecret: 'k' })).toThrow(/go together/);
  });
});
