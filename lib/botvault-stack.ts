/**
 * The BotVault stack (DESIGN §1): the archive bucket, six Lambdas, the backup
 * state machine, the schedule that starts it, the alarms that watch it, and
 * the one KMS key that encrypts them, all built from one validated config.
 *
 * Each Lambda gets exactly the permissions its code uses, on exactly the
 * resources the config names; the IAM is derived from the config here, so a
 * new target in the config is a new ARN in the policy at the next deploy.
 */
import { ArnFormat, CfnOutput, type CfnResource, Duration, Fn, Stack, type StackProps, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { BotVaultConfig } from './config/config';
import { STACK_OUTPUTS } from './core/names';
import { BackupAlarms } from './constructs/alarms';
import { ArchiveBucket } from './constructs/archive-bucket';
import { BackupFunction } from './constructs/backup-function';
import { BackupSchedule } from './constructs/backup-schedule';
import { BackupWorkflow, type BackupFunctions } from './constructs/backup-workflow';
import { EncryptionKey } from './constructs/encryption-key';
import { RestoreDrill } from './constructs/restore-drill';
import type { KoreaiTarget } from './providers/koreai/target';
import type { LexTarget } from './providers/lex/target';

/**
 * Stack output ids. The CLI finds the stack's resources by these keys
 * (lib/cli/resolve.ts `OUTPUTS`) and the README tells operators about them:
 * renaming one is a breaking change (test/cli/stack-outputs.test.ts).
 */

/**
 * What the DescribeExport API operation is authorized against, per the
 * Service Authorization Reference for Amazon Lex V2 ("API operations defined
 * by Amazon Lex V2": DescribeExport maps to lex:DescribeExport plus these
 * read/list actions on the exported resource). All of them are reads of the
 * very bot whose full definition the export hands us anyway.
 */
export const LEX_DESCRIBE_EXPORT_BOT_ACTIONS = [
  'lex:DescribeBot',
  'lex:DescribeBotLocale',
  'lex:DescribeCustomVocabulary',
  'lex:DescribeIntent',
  'lex:DescribeSlot',
  'lex:DescribeSlotType',
  'lex:ListBotLocales',
  'lex:ListIntents',
  'lex:ListSlotTypes',
  'lex:ListSlots',
] as const;

export interface BotVaultStackProps extends StackProps {
  /** The validated BotVault config (lib/core/config.ts `loadConfig` / `parseConfig`). */
  readonly config: BotVaultConfig;
}

/** The six Lambdas, keyed like the workflow's BackupFunctions. */
export type BotVaultFunctions = { readonly [K in keyof BackupFunctions]: BackupFunction };

export class BotVaultStack extends Stack {
  /** The versioned archive bucket (retained when the stack is deleted). */
  public readonly archiveBucket: ArchiveBucket;
  /** The Lambdas behind the workflow's Task states. */
  public readonly functions: BotVaultFunctions;
  /** The backup state machine. */
  public readonly workflow: BackupWorkflow;
  /** The schedule that starts it. */
  public readonly schedule: BackupSchedule;
  /** The customer managed key for archives, topic, log groups and execution data. */
  public readonly encryptionKey: EncryptionKey;
  /** Alarms, failed-run messages and the dashboard, all to one topic. */
  public readonly alarms: BackupAlarms;
  /** The scheduled restore drill, when the config enables it. */
  public readonly restoreDrill?: RestoreDrill;

  constructor(scope: Construct, id: string, props: BotVaultStackProps) {
    super(scope, id, {
      description: 'BotVault: scheduled backups of chatbot definitions into a versioned, encrypted S3 bucket',
      ...props,
    });
    const { config } = props;
    const logRetention = config.logRetentionDays as logs.RetentionDays;

    this.encryptionKey = new EncryptionKey(this, 'EncryptionKey');
    const key = this.encryptionKey.key;
    this.archiveBucket = new ArchiveBucket(this, 'Archive', { retention: config.retention, encryptionKey: key, objectLock: config.objectLock });
    const bucketEnv: Record<string, string> = {
      BOTVAULT_BUCKET: this.archiveBucket.bucket.bucketName,
      // Object Lock default retention makes S3 require a checksum (or Content-MD5) on every upload.
      ...(config.objectLock ? { BOTVAULT_S3_CHECKSUMS: 'WHEN_SUPPORTED' } : {}),
    };

    const fn = (id: string, name: string, opts: { memorySize?: number; timeout?: Duration; environment?: Record<string, string> } = {}) =>
      new BackupFunction(this, id, { name, logRetention, logEncryptionKey: key, ...opts, environment: { ...bucketEnv, ...opts.environment } });

    this.functions = {
      // Discovery pages through every bot, version and locale under Lex's list rate limits: the workflow allows 5 minutes.
      plan: fn('Plan', 'plan', { timeout: Duration.minutes(5) }),
      startExport: fn('StartExport', 'start-export'),
      checkExport: fn('CheckExport', 'check-export'),
      // Network-bound streaming of the archive into S3: the most memory (and with it bandwidth) and the full 15 minutes.
      storeArchive: fn('StoreArchive', 'store-archive', {
        memorySize: 1024,
        timeout: Duration.minutes(15),
        environment: { BOTVAULT_DOWNLOAD_ALLOWLIST: config.downloadAllowlist.join(','), BOTVAULT_CHANGE_DETECTION: config.changeDetection },
      }),
      cleanup: fn('Cleanup', 'cleanup'),
      summarize: fn('Summarize', 'summarize', { timeout: Duration.seconds(60) }),
    };
    const f = this.functions;

    this.grantLex(config);
    this.grantKoreai(config);
    this.archiveBucket.grantArchiveWrite(f.storeArchive.function);
    this.archiveBucket.grantManifestWrite(f.summarize.function);
    this.archiveBucket.grantTickMarkers(f.plan.function);

    this.workflow = new BackupWorkflow(this, 'Workflow', {
      config,
      functions: {
        plan: f.plan.function,
        startExport: f.startExport.function,
        checkExport: f.checkExport.function,
        storeArchive: f.storeArchive.function,
        cleanup: f.cleanup.function,
        summarize: f.summarize.function,
      },
      encryptionKey: key,
      // Named after the stack (execution ARNs read ...:execution:BotVault:<run id>); the key grant needs a known name.
      stateMachineName: this.stackName.slice(0, 80),
    });

    this.acknowledgeWorkflowWildcards();

    this.schedule = new BackupSchedule(this, 'Schedule', {
      stateMachine: this.workflow.stateMachine,
      cron: config.schedule.cron,
      timezone: config.schedule.timezone,
      enabled: config.schedule.enabled,
      stateMachineKey: key,
    });

    this.alarms = new BackupAlarms(this, 'Alarms', {
      stateMachine: this.workflow.stateMachine,
      encryptionKey: key,
      email: config.notifications.email,
      noSuccessWindow: Duration.hours(config.notifications.noSuccessHours),
      deadLetterQueue: this.schedule.deadLetterQueue,
    });

    if (config.restoreDrill.enabled) {
      this.restoreDrill = new RestoreDrill(this, 'RestoreDrill', {
        archiveBucket: this.archiveBucket,
        cron: config.restoreDrill.cron,
        timezone: config.restoreDrill.timezone,
        logRetention,
        logEncryptionKey: key,
        alarmTopic: this.alarms.topic,
        passwordSecretArns: unique(config.targets.flatMap((t) => (t.provider === 'lex' && t.passwordSecret ? [t.passwordSecret] : []))).map((s) =>
          this.secretArn(s),
        ),
      });
    }

    // Top-level outputs: their logical ids are their OutputKeys (no construct-path hash), which the CLI looks up.
    new CfnOutput(this, STACK_OUTPUTS.bucket, {
      description: 'The archive bucket: one S3 object version per bot per run',
      value: this.archiveBucket.bucket.bucketName,
    });
    new CfnOutput(this, STACK_OUTPUTS.stateMachine, {
      description: 'The backup state machine; start it by hand for a manual run',
      value: this.workflow.stateMachine.stateMachineArn,
    });
    new CfnOutput(this, STACK_OUTPUTS.startCommand, {
      description: 'Start a manual backup run of every configured target',
      value: Fn.join('', [
        'aws stepfunctions start-execution --region ',
        this.region,
        ' --state-machine-arn ',
        this.workflow.stateMachine.stateMachineArn,
        ` --input '{"trigger":"manual"}'`,
      ]),
    });
  }

  /**
   * Lex permissions per function, scoped to the bots and test sets the config
   * names (every bot only when a target discovers them). Verified against the
   * Service Authorization Reference for Amazon Lex V2:
   * - ListBots has no resource type: it needs `*`.
   * - ListBotVersions, ListBotLocales: `bot`.
   * - CreateExport, DescribeExport, DeleteExport: `bot` or `test set`
   *   (`bot/<botId>` and `test-set/<testSetId>`).
   */
  private grantLex(config: BotVaultConfig): void {
    const lex = config.targets.filter((t): t is LexTarget => t.provider === 'lex');
    if (lex.length === 0) return;
    const f = this.functions;
    const discover = lex.some((t) => t.discover === true);
    const botArn = (botId: string) =>
      this.formatArn({ service: 'lex', resource: 'bot', resourceName: botId, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    const testSetArn = (testSetId: string) =>
      this.formatArn({ service: 'lex', resource: 'test-set', resourceName: testSetId, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });

    const botIds = unique(lex.flatMap((t) => (t.botId ? [t.botId] : [])));
    const testSetIds = unique(lex.flatMap((t) => (t.testSetId ? [t.testSetId] : [])));
    // Discovery may export any bot, so `bot/*` replaces the individual bots.
    const bots = discover ? [botArn('*')] : botIds.map(botArn);
    const testSets = testSetIds.map(testSetArn);
    const exportResources = [...bots, ...testSets];

    const allow = (grantee: BackupFunction, actions: readonly string[], resourceArns: string[]) => {
      if (resourceArns.length > 0) iam.Grant.addToPrincipal({ grantee: grantee.function, actions: [...actions], resourceArns });
    };

    if (discover) {
      allow(f.plan, ['lex:ListBots'], ['*']);
      allow(f.plan, ['lex:ListBotVersions', 'lex:ListBotLocales'], [botArn('*')]);
      // cdk-nag (AwsSolutions-IAM5) flags these wildcards; record why, for exactly these resources.
      const flat = (v: string, pseudo: string) => (Token.isUnresolved(v) ? `<${pseudo}>` : v);
      const anyBot = `arn:<AWS::Partition>:lex:${flat(this.region, 'AWS::Region')}:${flat(this.account, 'AWS::AccountId')}:bot/*`;
      for (const fn of [f.plan, f.startExport, f.checkExport, f.storeArchive, f.cleanup]) {
        Validations.of(fn.role).acknowledge({
          id: `AwsSolutions::AwsSolutions-IAM5[Resource::${anyBot}]`,
          reason: 'A target has "discover": true: the bots to back up are found at run time, so any bot in this account and region.',
        });
      }
      Validations.of(f.plan.role).acknowledge({
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
        reason: 'lex:ListBots supports no resource-level permissions (Service Authorization Reference); X-Ray likewise.',
      });
    }

    allow(f.startExport, ['lex:CreateExport'], exportResources);
    // The export password is read where it is used: StartExport passes it to CreateExport, StoreArchive
    // decrypts the download with it (checks and content hash of the plaintext). It never travels further.
    const secrets = unique(lex.flatMap((t) => (t.passwordSecret ? [t.passwordSecret] : []))).map((s) => this.secretArn(s));
    allow(f.startExport, ['secretsmanager:GetSecretValue'], secrets);
    allow(f.storeArchive, ['secretsmanager:GetSecretValue'], secrets);

    // CheckExport polls the status; StoreArchive asks for a fresh download URL right before downloading.
    for (const grantee of [f.checkExport, f.storeArchive]) {
      allow(grantee, ['lex:DescribeExport'], exportResources);
      allow(grantee, LEX_DESCRIBE_EXPORT_BOT_ACTIONS, bots);
      allow(grantee, ['lex:DescribeTestSet'], testSets);
    }

    // The restore sidecar (issue 6): StoreArchive records what the export leaves out. DescribeBot is
    // among the reads above; ListBotAliases and ListTagsForResource take `bot`, DescribeBotAlias takes
    // `bot alias` (`bot-alias/<botId>/<botAliasId>`: any alias of the bot, so a wildcard per bot).
    allow(f.storeArchive, ['lex:ListBotAliases', 'lex:ListTagsForResource'], bots);
    const aliasArns = (discover ? ['*'] : botIds).map((botId) =>
      this.formatArn({
        service: 'lex',
        resource: 'bot-alias',
        resourceName: botId === '*' ? '*' : `${botId}/*`,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      }),
    );
    allow(f.storeArchive, ['lex:DescribeBotAlias'], aliasArns);
    for (const botId of discover ? ['*'] : botIds) {
      const flat = (v: string, pseudo: string) => (Token.isUnresolved(v) ? `<${pseudo}>` : v);
      Validations.of(f.storeArchive.role).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lex:${flat(this.region, 'AWS::Region')}:${flat(this.account, 'AWS::AccountId')}:bot-alias/${botId === '*' ? '*' : `${botId}/*`}]`,
        reason: 'The restore sidecar records every alias of the bot (DescribeBotAlias); aliases are created at any time, so all aliases of this bot.',
      });
    }

    allow(f.cleanup, ['lex:DeleteExport'], exportResources);
  }

  /**
   * Kore.ai needs no AWS API but its credentials: every Lambda that calls the
   * Bot Export API (start, status checks, the fresh status before a download)
   * reads exactly the configured `credentialsSecret`s, nothing else.
   */
  private grantKoreai(config: BotVaultConfig): void {
    const kore = config.targets.filter((t): t is KoreaiTarget => t.provider === 'koreai');
    if (kore.length === 0) return;
    const secrets = unique(kore.map((t) => t.credentialsSecret)).map((s) => this.secretArn(s));
    for (const grantee of [this.functions.startExport, this.functions.checkExport, this.functions.storeArchive]) {
      iam.Grant.addToPrincipal({ grantee: grantee.function, actions: ['secretsmanager:GetSecretValue'], resourceArns: secrets });
    }
  }

  /**
   * The workflow's role (BackupWorkflow, via LambdaInvoke and StateMachine)
   * holds two kinds of wildcard that cdk-nag's AwsSolutions-IAM5 flags; both
   * are the narrowest IAM allows.
   */
  private acknowledgeWorkflowWildcards(): void {
    const workflow = Validations.of(this.workflow);
    for (const fn of Object.values(this.functions)) {
      const id = this.getLogicalId(fn.function.node.defaultChild as CfnResource);
      workflow.acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::<${id}.Arn>:*]`,
        reason: 'lambda:InvokeFunction on the versions and aliases of this one BotVault function.',
      });
    }
    workflow.acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason: 'Step Functions execution logging (logs:*LogDelivery, DescribeLogGroups, ...) and X-Ray tracing support no resource-level permissions.',
    });
  }

  /**
   * A secret given by name becomes the ARN pattern Secrets Manager names it
   * with (`<name>-` and six random characters); an ARN is used as given.
   */
  private secretArn(ref: string): string {
    if (ref.startsWith('arn:')) return ref;
    return this.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${ref}-??????`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)].sort();
}
