/**
 * The deep drill (lambdas/deep-drill; README "Proving restores"): on its own
 * schedule, one Lambda imports a few stored archives into scratch bots,
 * builds them, exports them again and compares, then deletes the scratch
 * bots. Off unless the config enables it.
 *
 *  - an EventBridge Scheduler schedule invokes the Lambda (15 minutes, the
 *    Lambda limit: the drill keeps its last 3 minutes for deleting the
 *    scratch bots and writing the report); a failed drill is not retried;
 *  - alarms: any archive that lost content or failed (DeepDrillDifferences +
 *    DeepDrillFailures ≥ 1), and the drill itself failing to run (Errors);
 *  - its own HMAC key (an AuthenticationKey whose one writer is the drill's
 *    role): its reports and scratch bot records are MACed and verified with
 *    it, never with the archive key, of which the drill may only VerifyMac —
 *    so the drill's role (a Kore.ai Admin app's secret, Lex rights on scratch
 *    bots) cannot make a MAC that verifies as an archive, sidecar or manifest;
 *  - IAM: read the archives (and verify their MACs), write `drills/*`, and on
 *    Lex V2 only what the drill calls, limited to scratch bots by tag —
 *    Lex V2 has no condition key on a bot's name, only aws:RequestTag,
 *    aws:ResourceTag and aws:TagKeys (Service Authorization Reference,
 *    "Actions, resources, and condition keys for Amazon Lex V2": StartImport
 *    and CreateBot take all three on `bot` and `bot alias`; BuildBotLocale,
 *    CreateExport, DescribeExport, DeleteBot and the import's definition
 *    actions take aws:ResourceTag on `bot`). So a scratch bot can only be
 *    created WITH the drill tag in the request, and built, exported or
 *    deleted only while it CARRIES the tag; iam:PassRole only of the
 *    configured scratch bot role, only to lexv2.amazonaws.com.
 */
import { ArnFormat, type CfnResource, Duration, Stack, TimeZone, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../core/names';
import { cronSchema, timezoneSchema } from '../core/schemas';
import type { Target } from '../providers/definitions';
import { DEEP_DRILL_METRICS, DRILL_REPORT_PREFIX, DRILL_TAG } from '../providers/drill';
import { LEX_DESCRIBE_EXPORT_BOT_ACTIONS } from '../providers/lex/grants';
import type { ArchiveBucket } from './archive-bucket';
import { AuthenticationKey } from './authentication-key';
import { BackupFunction } from './backup-function';
import { schedulerRole } from './scheduler-role';

/** The one service the drill may pass the scratch bots' role to. */
const LEX_SERVICE_PRINCIPAL = 'lexv2.amazonaws.com';
/** Service Quotas' code for Lex V2's bots per account (lambdas/deep-drill/quotas.ts). */
const LEX_BOTS_QUOTA = 'L-36FA8BD2';

/**
 * The Lex V2 actions of the drill, by how IAM can hold them to scratch bots.
 * Every one is a call the drill makes (lib/providers/lex/drill.ts and the
 * restore and export paths it reuses), or one Lex's import requires
 * ("Importing bots in Lex V2", IAM permissions required to import; the
 * member account's restore role, lib/constructs/member-account-role.ts,
 * lists the same).
 */
export const DEEP_DRILL_LEX_ACTIONS = {
  /**
   * `*`: ListBots and CreateUploadUrl have no resource type (Service Authorization Reference); ListBots counts
   * the account's bots and finds scratch bots. DescribeImport's resource type (`bot`) is optional, and while a
   * new bot's import runs there may be no bot, nor a tag, to authorize it against: it only reads an import's status.
   */
  unscoped: ['lex:CreateUploadUrl', 'lex:DescribeImport', 'lex:ListBots'],
  /** Creating a bot: only with the drill tag in the request (aws:RequestTag, aws:TagKeys), on `bot` and `bot alias`. */
  create: ['lex:CreateBot', 'lex:StartImport'],
  /** Tagging on creation (CreateBot with tags is authorized as lex:TagResource too): only the drill tag. */
  tagOnCreate: ['lex:TagResource'],
  /** Everything done to a scratch bot once it exists: only while it carries the drill tag (aws:ResourceTag). */
  scratchBot: [
    ...new Set([
      'lex:BuildBotLocale',
      'lex:CreateBotLocale',
      'lex:CreateCustomVocabulary',
      'lex:CreateExport',
      'lex:CreateIntent',
      'lex:CreateSlot',
      'lex:CreateSlotType',
      'lex:DeleteBot',
      // StartImport's dependent actions (Service Authorization Reference, "Amazon Lex V2": StartImport lists the
      // Create*/Update*/Delete* of bot locales, intents, slots and slot types): an import replaces what it holds.
      'lex:DeleteBotLocale',
      'lex:DeleteExport',
      'lex:DeleteIntent',
      'lex:DeleteSlot',
      'lex:DeleteSlotType',
      'lex:DescribeBotLocale',
      'lex:DescribeBotVersion',
      'lex:DescribeExport',
      ...LEX_DESCRIBE_EXPORT_BOT_ACTIONS,
      'lex:ListTagsForResource',
      'lex:UpdateBot',
      'lex:UpdateBotLocale',
      'lex:UpdateCustomVocabulary',
      'lex:UpdateIntent',
      'lex:UpdateSlot',
      'lex:UpdateSlotType',
    ]),
  ].sort(),
  /**
   * DeleteBot names the bot's aliases too (resource types `bot`, `bot alias`, both required); the test alias
   * carries no tag (the restore sets botTags, not testBotAliasTags), and IAM allows the call only when
   * every resource is allowed, so the bot's own tag condition still decides. DescribeBotAlias: CreateBot's
   * test alias (the operation table).
   */
  scratchBotAlias: ['lex:DeleteBot', 'lex:DescribeBotAlias'],
} as const;

export interface DeepDrillProps {
  /** The archive bucket: the drill reads archives from it and writes its reports under `drills/`. */
  readonly archiveBucket: ArchiveBucket;
  /**
   * EventBridge Scheduler cron expression, six fields.
   * @default 'cron(0 7 ? * SUN *)' (Sundays 07:00)
   */
  readonly cron?: string;
  /**
   * IANA time zone of the cron expression.
   * @default 'UTC'
   */
  readonly timezone?: string;
  /**
   * N archives chosen at random each run (exclusive with `targets`).
   * @default 2 when `targets` is not given
   */
  readonly sample?: number;
  /**
   * These archives every run: job ids, bot ids or bot names, as `botvault run --only` takes them.
   * @default - a sample
   */
  readonly targets?: readonly string[];
  /**
   * Archives drilled at once.
   * @default 2
   */
  readonly concurrency?: number;
  /**
   * Seconds between two polls of an import, a build or an export.
   * @default 10 (as the SDK's own Lex waiters)
   */
  readonly pollSeconds?: number;
  /**
   * The IAM role Lex V2 scratch bots run under: the only role the drill may pass (to lexv2.amazonaws.com).
   * @default - no Lex permissions: Lex archives fail the drill
   */
  readonly lexBotRoleArn?: string;
  /**
   * ARN (or ARN pattern) of the secret of the Kore.ai Admin Console app that imports and exports the scratch bots.
   * @default - Kore.ai archives fail the drill
   */
  readonly koreaiCredentialsSecretArn?: string;
  /** The secret's name or ARN as the config gives it (what the Lambda reads). @default - none */
  readonly koreaiCredentialsSecret?: string;
  /**
   * The config's Kore.ai targets: each archive's host and export options (identifiers only, no secret values).
   * @default - none
   */
  readonly koreaiTargets?: readonly Target[];
  /**
   * ARNs (or ARN patterns) of the secrets holding export passwords: password-protected archives are opened
   * and imported with them (StartImport filePassword).
   * @default - none: password-protected archives fail the drill
   */
  readonly passwordSecretArns?: readonly string[];
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
   * Extra environment for the drill Lambda (merged over its own).
   * @default - none
   */
  readonly environment?: Record<string, string>;
}

/** The deep drill Lambda, its schedule, its alarms and its IAM. */
export class DeepDrill extends Construct {
  /** The drill Lambda (Lambda defaults from BackupFunction). */
  public readonly function: BackupFunction;
  /** The schedule that invokes it. */
  public readonly schedule: scheduler.Schedule;
  /** Fires when an archive lost content in its restore, or failed a step (DeepDrillDifferences + DeepDrillFailures ≥ 1). */
  public readonly findingsAlarm: cloudwatch.Alarm;
  /** Fires when the drill could not run to the end (error, timeout). */
  public readonly errorsAlarm: cloudwatch.Alarm;
  /**
   * The drill's own HMAC key: only the drill's role may make (and verify) MACs with it, for its reports and
   * scratch bot records (BOTVAULT_DRILL_MAC_KEY_ID). Not the archive key: see `verifyArchivesWith`.
   */
  public readonly authenticationKey: AuthenticationKey;

  constructor(scope: Construct, id: string, props: DeepDrillProps) {
    super(scope, id);
    const cron = (props.cron ?? 'cron(0 7 ? * SUN *)').trim();
    const timezone = props.timezone ?? 'UTC';
    const fail = (message: string) => {
      throw new Error(`DeepDrill: ${message}`);
    };
    const cronCheck = cronSchema.safeParse(cron);
    if (!cronCheck.success) fail(`cron "${cron}" ${cronCheck.error.issues[0]?.message ?? 'is invalid'}.`);
    const tzCheck = timezoneSchema.safeParse(timezone);
    if (!tzCheck.success) fail(`timezone "${timezone}" ${tzCheck.error.issues[0]?.message ?? 'is invalid'}.`);
    if (props.sample !== undefined && props.targets !== undefined) fail('give sample or targets, not both.');
    if (props.sample !== undefined && (!Number.isInteger(props.sample) || props.sample < 1 || props.sample > 20))
      fail(`sample must be a whole number of archives from 1 to 20 (got ${props.sample}).`);
    const concurrency = props.concurrency ?? 2;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 5)
      fail(`concurrency must be a whole number from 1 to 5 (got ${concurrency}).`);
    if (
      props.lexBotRoleArn !== undefined &&
      !Token.isUnresolved(props.lexBotRoleArn) &&
      !/^arn:aws[a-z-]*:iam::\d{12}:role\//.test(props.lexBotRoleArn)
    )
      fail(`lexBotRoleArn "${props.lexBotRoleArn}" is not an IAM role ARN.`);
    if ((props.koreaiCredentialsSecret === undefined) !== (props.koreaiCredentialsSecretArn === undefined))
      fail('koreaiCredentialsSecret and koreaiCredentialsSecretArn go together (the name the Lambda reads, the ARN its role may read).');

    const settings = JSON.stringify({
      ...(props.sample !== undefined ? { sample: props.sample } : {}),
      ...(props.targets ? { targets: props.targets } : {}),
      concurrency,
      pollSeconds: props.pollSeconds ?? 10,
      ...(props.lexBotRoleArn ? { lexBotRoleArn: props.lexBotRoleArn } : {}),
      ...(props.koreaiCredentialsSecret ? { koreaiCredentialsSecret: props.koreaiCredentialsSecret } : {}),
      koreaiTargets: props.koreaiTargets ?? [],
    });
    // Lambda's environment holds 4 KB in all: the Kore.ai targets must fit beside the rest.
    if (!Token.isUnresolved(settings) && Buffer.byteLength(settings) > 3000)
      fail(
        `the drill's settings (BOTVAULT_DEEP_DRILL, ${Buffer.byteLength(settings)} bytes with ${props.koreaiTargets?.length ?? 0} Kore.ai targets) exceed the 3,000 bytes kept for them in the Lambda's 4 KB environment; drill fewer Kore.ai targets (deepDrill.targets).`,
      );

    const stack = Stack.of(this);
    const bucket = props.archiveBucket.bucket;
    this.function = new BackupFunction(this, 'Function', {
      name: 'deep-drill',
      description: 'BotVault deep drill: restore archives into scratch bots, build, export again, compare, delete',
      // Both sides of a comparison are held unpacked in memory (a bot definition: kilobytes to megabytes).
      memorySize: 1024,
      timeout: Duration.minutes(15),
      // One drill at a time: two runs would import into the same Kore.ai scratch bot of a host at once.
      reservedConcurrentExecutions: 1,
      logRetention: props.logRetention,
      logEncryptionKey: props.logEncryptionKey,
      environment: {
        ...props.environment,
        BOTVAULT_BUCKET: bucket.bucketName,
        BOTVAULT_ACCOUNT_ID: stack.account,
        BOTVAULT_DEEP_DRILL: settings,
      },
    });
    const fn = this.function.function;
    const role = this.function.role;
    props.archiveBucket.grantRead(fn);
    // Its reports and scratch bot records carry MACs of this key only: the drill is its one writer and reader.
    this.authenticationKey = new AuthenticationKey(this, 'AuthenticationKey', {
      writers: [role],
      description: "BotVault: MACs that authenticate the deep drill's reports and scratch bot records (drills/)",
    });
    this.authenticationKey.grantVerify(fn);
    fn.addEnvironment('BOTVAULT_DRILL_MAC_KEY_ID', this.authenticationKey.key.keyArn);
    // Its reports and Kore.ai's scratch bot records: drills/*, nothing else of the bucket is written.
    iam.Grant.addToPrincipal({
      grantee: fn,
      actions: ['s3:PutObject', 's3:GetObject'],
      resourceArns: [bucket.arnForObjects(`${DRILL_REPORT_PREFIX}*`)],
    });
    if (props.archiveBucket.encryptionKey) {
      iam.Grant.addToPrincipal({
        grantee: fn,
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resourceArns: [props.archiveBucket.encryptionKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` } },
      });
    }
    const nag = (resource: string, reason: string) =>
      Validations.of(role).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[Resource::${resource}]`, reason });
    nag(
      `<${stack.getLogicalId(bucket.node.defaultChild as CfnResource)}.Arn>/${DRILL_REPORT_PREFIX}*`,
      'The deep drill writes its reports and scratch bot records under drills/ only.',
    );

    const secrets = [...(props.passwordSecretArns ?? []), ...(props.koreaiCredentialsSecretArn ? [props.koreaiCredentialsSecretArn] : [])];
    if (secrets.length) role.addToPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: secrets }));

    if (props.lexBotRoleArn) this.grantLex(props.lexBotRoleArn);

    // A failed drill is a finding for the alarm, not a glitch to retry (its scratch bots are deleted or swept).
    fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.hours(1) });

    const scheduleRole = schedulerRole(this, 'ScheduleRole', 'BotVault deep drill schedule: invoke the deep drill Lambda');
    Validations.of(scheduleRole).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn.node.defaultChild as CfnResource)}.Arn>:*]`,
      reason: 'lambda:InvokeFunction on the drill function and its versions/aliases (grantInvoke adds ARN:*): this one function, nothing wider.',
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      schedule: scheduler.ScheduleExpression.expression(cron, TimeZone.of(timezone)),
      target: new targets.LambdaInvoke(fn, {
        input: scheduler.ScheduleTargetInput.fromObject({ trigger: 'deep-drill' }),
        // Retries of the delivery (throttling, a Lambda service error), not of the drill.
        retryAttempts: 3,
        maxEventAge: Duration.hours(1),
        role: scheduleRole,
      }),
      description: `BotVault: deep drill at ${cron} (${timezone})`,
    });

    const metric = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: SERVICE_NAME },
        statistic: cloudwatch.Stats.SUM,
        period: Duration.hours(1),
      });
    this.findingsAlarm = new cloudwatch.Alarm(this, 'FindingsAlarm', {
      alarmDescription:
        "BotVault deep drill: an archive lost content when restored into a scratch bot (DeepDrillDifferences), or a step failed (DeepDrillFailures). The drill's report in drills/ and its notification name each archive and what was lost.",
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(differences, 0) + FILL(failures, 0)',
        usingMetrics: { differences: metric(DEEP_DRILL_METRICS.differences), failures: metric(DEEP_DRILL_METRICS.failures) },
        label: 'archives with differences or failures',
        period: Duration.hours(1),
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // The drill runs weekly and reports once: the hours in between have no data, and IGNORE keeps the alarm where the
      // last drill put it (NOT_BREACHING turned a finding OK an hour later and sent an OK notification, as if it were
      // fixed). It goes OK when a later drill reports no finding; the errors alarm covers a drill that never reports.
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    });
    this.errorsAlarm = new cloudwatch.Alarm(this, 'ErrorsAlarm', {
      alarmDescription: 'BotVault deep drill: the drill Lambda failed or timed out (its scratch bots are swept by the next drill).',
      metric: fn.metricErrors({ period: Duration.hours(1), statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  /**
   * Verifies archives with the stack's archive HMAC key (kms:VerifyMac only: the drill is not one of its
   * writers; its own MACs are made with `this.authenticationKey`).
   */
  verifyArchivesWith(key: AuthenticationKey): void {
    this.function.function.addEnvironment('BOTVAULT_MAC_KEY_ID', key.key.keyArn);
    key.grantVerify(this.function.function);
  }

  /** The summary of every drill, and both alarms (alarm and OK: the findings alarm's OK is a later clean drill), go to `topic`. */
  notifyTo(topic: sns.ITopic): void {
    this.function.function.addEnvironment('BOTVAULT_DEEP_DRILL_TOPIC_ARN', topic.topicArn);
    topic.grantPublish(this.function.function);
    Validations.of(this.function.role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        "The drill publishes its summary to the encrypted alarm topic: grantPublish allows GenerateDataKey* on the topic's one key, nothing else.",
    });
    const action = new cwActions.SnsAction(topic);
    for (const alarm of [this.findingsAlarm, this.errorsAlarm]) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
    }
  }

  /** Lex V2 in the stack's own account and region, held to scratch bots by the drill tag. */
  private grantLex(botRoleArn: string): void {
    const stack = Stack.of(this);
    const role = this.function.role;
    const arn = (resource: string, name: string) =>
      stack.formatArn({ service: 'lex', resource, resourceName: name, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    const bots = arn('bot', '*');
    const aliases = arn('bot-alias', '*/*');
    const tag = `aws:RequestTag/${DRILL_TAG.key}`;
    const onCreate = {
      StringEquals: { [tag]: DRILL_TAG.value },
      'ForAllValues:StringEquals': { 'aws:TagKeys': [DRILL_TAG.key] },
    };
    const a = DEEP_DRILL_LEX_ACTIONS;
    const statements = [
      new iam.PolicyStatement({ sid: 'LexUnscoped', actions: [...a.unscoped], resources: ['*'] }),
      new iam.PolicyStatement({
        sid: 'CreateScratchBotsOnlyWithTheDrillTag',
        actions: [...a.create],
        resources: [bots, aliases],
        conditions: onCreate,
      }),
      new iam.PolicyStatement({
        sid: 'TagScratchBotsOnlyWithTheDrillTag',
        actions: [...a.tagOnCreate],
        resources: [bots, aliases],
        conditions: onCreate,
      }),
      new iam.PolicyStatement({
        sid: 'OnlyBotsCarryingTheDrillTag',
        actions: [...a.scratchBot],
        resources: [bots],
        conditions: { StringEquals: { [`aws:ResourceTag/${DRILL_TAG.key}`]: DRILL_TAG.value } },
      }),
      new iam.PolicyStatement({ sid: 'ScratchBotAliases', actions: [...a.scratchBotAlias], resources: [aliases] }),
      new iam.PolicyStatement({
        sid: 'PassTheScratchBotRoleToLexOnly',
        actions: ['iam:PassRole'],
        resources: [botRoleArn],
        conditions: { StringEquals: { 'iam:PassedToService': LEX_SERVICE_PRINCIPAL } },
      }),
      new iam.PolicyStatement({
        sid: 'ReadTheBotsQuota',
        actions: ['servicequotas:GetServiceQuota'],
        resources: [
          stack.formatArn({ service: 'servicequotas', resource: 'lex', resourceName: LEX_BOTS_QUOTA, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }),
        ],
      }),
    ];
    for (const s of statements) role.addToPolicy(s);
    const flat = (v: string, pseudo: string) => (Token.isUnresolved(v) ? `<${pseudo}>` : v);
    const at = `arn:${flat(stack.partition, 'AWS::Partition')}:lex:${flat(stack.region, 'AWS::Region')}:${flat(stack.account, 'AWS::AccountId')}`;
    const reason = (what: string) =>
      `${what}: a scratch bot's id is made by Lex when the drill creates it; the statement's aws:RequestTag / aws:ResourceTag condition (botvault:drill=true) holds it to scratch bots.`;
    Validations.of(role).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[Resource::${at}:bot/*]`, reason: reason('Any bot') });
    Validations.of(role).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[Resource::${at}:bot-alias/*/*]`, reason: reason("Any bot's alias") });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        'lex:ListBots and lex:CreateUploadUrl support no resource-level permissions (Service Authorization Reference), lex:DescribeImport (read-only) has no bot to name while a new bot is imported; X-Ray likewise.',
    });
  }
}
