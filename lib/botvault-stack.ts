/**
 * The BotVault stack (DESIGN §1): the archive bucket, six Lambdas, the backup
 * state machine, the schedule that starts it, the alarms that watch it, and
 * the one KMS key that encrypts them, and the HMAC key that authenticates
 * what they store, all built from one validated config.
 *
 * Each Lambda gets exactly the permissions its code uses, on exactly the
 * resources the config names; the IAM is derived from the config here, so a
 * new target in the config is a new ARN in the policy at the next deploy.
 */
import { ArnFormat, Aws, CfnOutput, type CfnResource, Duration, Fn, Stack, type StackProps, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { BotVaultConfig } from './config/config';
import { STACK_OUTPUTS } from './core/names';
import { BackupAlarms } from './constructs/alarms';
import { ArchiveBucket } from './constructs/archive-bucket';
import { AuthenticationKey } from './constructs/authentication-key';
import { BackupFunction, type BackupFunctionProps } from './constructs/backup-function';
import { BackupSchedule } from './constructs/backup-schedule';
import { BackupWorkflow, type BackupFunctions } from './constructs/backup-workflow';
import { DeepDrill } from './constructs/deep-drill';
import { EncryptionKey } from './constructs/encryption-key';
import { RestoreDrill } from './constructs/restore-drill';
import type { GrantContext } from './providers/grant-context';
import { archiveSecrets, grantProviders } from './providers/grants';

export interface BotVaultStackProps extends StackProps {
  /** The validated BotVault config (lib/config/config.ts `loadConfig` / `parseConfig`). */
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
  /** The HMAC key whose MACs authenticate every archive version, sidecar and manifest. */
  public readonly authenticationKey: AuthenticationKey;
  /** Alarms, failed-run messages and the dashboard, all to one topic. */
  public readonly alarms: BackupAlarms;
  /** The scheduled restore drill, when the config enables it. */
  public readonly restoreDrill?: RestoreDrill;
  /** The scheduled deep drill (restores into scratch bots), when the config enables it. */
  public readonly deepDrill?: DeepDrill;

  constructor(scope: Construct, id: string, props: BotVaultStackProps) {
    super(scope, id, {
      description: 'BotVault: scheduled backups of chatbot definitions into a versioned, encrypted S3 bucket',
      ...props,
    });
    const { config } = props;
    const logRetention = config.logRetentionDays as logs.RetentionDays;

    this.encryptionKey = new EncryptionKey(this, 'EncryptionKey');
    const key = this.encryptionKey.key;
    const expiration = config.retention.noncurrentExpirationDays;
    this.archiveBucket = new ArchiveBucket(this, 'Archive', {
      // "never": no expiration rule, so S3 keeps every version (the construct's default).
      retention: { ...config.retention, noncurrentExpirationDays: expiration === 'never' ? undefined : expiration },
      encryptionKey: key,
      objectLock: config.objectLock,
    });
    const bucketEnv: Record<string, string> = {
      BOTVAULT_BUCKET: this.archiveBucket.bucket.bucketName,
      // Object Lock default retention makes S3 require a checksum (or Content-MD5) on every upload.
      ...(config.objectLock ? { BOTVAULT_S3_CHECKSUMS: 'WHEN_SUPPORTED' } : {}),
    };

    // The API calls of Plan (Kore.ai discovery), StartExport and CheckExport go through the download guard
    // too (lib/core/guarded-fetch.ts): an allowlisted plain-http or internal provider host must pass there as well.
    const allowlist = { BOTVAULT_DOWNLOAD_ALLOWLIST: config.downloadAllowlist.join(',') };
    const fn = (id: string, name: string, opts: Pick<BackupFunctionProps, 'memorySize' | 'timeout' | 'environment' | 'ephemeralStorageMiB'> = {}) =>
      new BackupFunction(this, id, { name, logRetention, logEncryptionKey: key, ...opts, environment: { ...bucketEnv, ...opts.environment } });

    this.functions = {
      // Discovery pages through every bot, version and locale under Lex's list rate limits: the workflow allows 5 minutes.
      // BOTVAULT_ACCOUNT_ID: the home account of the Lex keys it plans (`lex/<account>/<region>/…`).
      plan: fn('Plan', 'plan', { timeout: Duration.minutes(5), environment: { BOTVAULT_ACCOUNT_ID: Aws.ACCOUNT_ID, ...allowlist } }),
      startExport: fn('StartExport', 'start-export', { environment: allowlist }),
      checkExport: fn('CheckExport', 'check-export', { environment: allowlist }),
      // Network-bound streaming of the archive into S3: the most memory (and with it bandwidth) and the full 15 minutes.
      // The spool of an archive above 64 MiB lives in /tmp while it is checked (lambdas/shared/spool.ts): room for the largest one.
      storeArchive: fn('StoreArchive', 'store-archive', {
        memorySize: 1024,
        timeout: Duration.minutes(15),
        ephemeralStorageMiB: Math.max(512, config.maxArchiveMiB + 64),
        environment: {
          ...allowlist,
          BOTVAULT_CHANGE_DETECTION: config.changeDetection,
          BOTVAULT_MAX_ARCHIVE_MIB: String(config.maxArchiveMiB),
          BOTVAULT_ARCHIVE_LIMITS: JSON.stringify(config.archiveLimits),
        },
      }),
      cleanup: fn('Cleanup', 'cleanup'),
      summarize: fn('Summarize', 'summarize', { timeout: Duration.seconds(60) }),
    };
    const f = this.functions;

    // The deep drill MACs its reports with its own key (DeepDrill.authenticationKey), never with the archive key.
    const drill = config.deepDrill;
    const koreaiDrillSecret = drill.koreaiCredentialsSecret;
    this.deepDrill = drill.enabled
      ? new DeepDrill(this, 'DeepDrill', {
          archiveBucket: this.archiveBucket,
          cron: drill.cron,
          timezone: drill.timezone,
          ...(drill.targets ? { targets: drill.targets } : { sample: drill.sample ?? 2 }),
          concurrency: drill.concurrency,
          pollSeconds: drill.pollSeconds,
          ...(drill.lexBotRoleArn ? { lexBotRoleArn: drill.lexBotRoleArn } : {}),
          ...(koreaiDrillSecret
            ? {
                koreaiCredentialsSecret: koreaiDrillSecret,
                koreaiCredentialsSecretArn: this.secretArn(koreaiDrillSecret),
                koreaiTargets: config.targets.filter((t) => t.provider === 'koreai'),
              }
            : {}),
          passwordSecretArns: archiveSecrets(config.targets).map((s) => this.secretArn(s)),
          logRetention,
          logEncryptionKey: key,
          // bucketEnv: with Object Lock, its report writes need the checksums every writer sends.
          environment: { ...bucketEnv, ...allowlist, BOTVAULT_ARCHIVE_LIMITS: JSON.stringify(config.archiveLimits) },
        })
      : undefined;

    // Only the functions that write archives, sidecars and manifests may make MACs with the archive key.
    this.authenticationKey = new AuthenticationKey(this, 'AuthenticationKey', { writers: [f.storeArchive.role, f.summarize.role] });
    for (const writer of [f.storeArchive, f.summarize]) writer.function.addEnvironment('BOTVAULT_MAC_KEY_ID', this.authenticationKey.key.keyArn);
    // StoreArchive also checks the current version's MAC before it calls a bot unchanged (archive-store.ts).
    this.authenticationKey.grantVerify(f.storeArchive.function);

    grantProviders(config.targets, this.grantContext(config.accounts));
    this.archiveBucket.grantArchiveWrite(f.storeArchive.function);
    this.archiveBucket.grantManifestWrite(f.summarize.function);
    this.archiveBucket.grantTickMarkers(f.plan.function);

    const stateMachineName = this.stackName.slice(0, 80);
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
      stateMachineName,
    });

    this.acknowledgeWorkflowWildcards();

    // Plan checks that a schedule tick's marker names an execution of this state machine that is running or
    // succeeded (lambdas/plan/tick-marker.ts): DescribeExecution on this state machine's executions, no others.
    const grants = this.grantContext(config.accounts);
    const executions = { service: 'states', resource: 'execution', sep: ':', name: `${stateMachineName}:*` } as const;
    grants.allow('plan', ['states:DescribeExecution'], [grants.arn(executions)]);
    grants.acknowledgeWildcard(
      'plan',
      executions,
      "DescribeExecution of this state machine's executions (their names are run ids, not known in advance): the owner of a schedule tick's marker.",
    );

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

    // The run's change notification (lambdas/summarize/summarize.ts): Summarize publishes to the alarm topic.
    if (config.notifications.changes) {
      f.summarize.function.addEnvironment('BOTVAULT_CHANGE_TOPIC_ARN', this.alarms.topic.topicArn);
      this.alarms.topic.grantPublish(f.summarize.function);
      Validations.of(f.summarize.role).acknowledge({
        id: 'AwsSolutions::AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        reason:
          "Summarize publishes the run's change notification to the encrypted alarm topic: grantPublish allows GenerateDataKey* (with or without plaintext) on the topic's one key, nothing else.",
      });
    }

    if (config.restoreDrill.enabled) {
      this.restoreDrill = new RestoreDrill(this, 'RestoreDrill', {
        archiveBucket: this.archiveBucket,
        authenticationKey: this.authenticationKey,
        cron: config.restoreDrill.cron,
        timezone: config.restoreDrill.timezone,
        logRetention,
        logEncryptionKey: key,
        alarmTopic: this.alarms.topic,
        passwordSecretArns: archiveSecrets(config.targets).map((s) => this.secretArn(s)),
        environment: { BOTVAULT_ARCHIVE_LIMITS: JSON.stringify(config.archiveLimits) },
      });
    }

    if (this.deepDrill) {
      this.deepDrill.verifyArchivesWith(this.authenticationKey);
      this.deepDrill.notifyTo(this.alarms.topic);
      this.alarms.addDrillAlarms('Deep drill (restores into scratch bots)', [this.deepDrill.findingsAlarm, this.deepDrill.errorsAlarm]);
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
    new CfnOutput(this, STACK_OUTPUTS.macKey, {
      description: 'The KMS HMAC key whose MACs `botvault get/diff/restore/status` verify (the CLI needs kms:VerifyMac on it)',
      value: this.authenticationKey.key.keyArn,
    });
    // Summarize and the restore drill never call Lex: a member account need not trust them.
    new CfnOutput(this, STACK_OUTPUTS.functionRoles, {
      description:
        'The roles that call Lex: a member account\'s BotVaultMemberAccount stack trusts them (its TrustedRoleArns parameter; README "Many accounts and regions")',
      value: Fn.join(
        ',',
        [f.plan, f.startExport, f.checkExport, f.storeArchive, f.cleanup].map((x) => x.role.roleArn),
      ),
    });
    new CfnOutput(this, STACK_OUTPUTS.startCommand, {
      description: 'Start a manual backup run of every configured target',
      value: Fn.join('', [
        'aws stepfunctions start-execution --region ',
        // The deployed stack's own region, resolved by CloudFormation: `cdk synth` without a region
        // would otherwise bake in whatever default the CDK CLI picked (us-east-1).
        Aws.REGION,
        ' --state-machine-arn ',
        this.workflow.stateMachine.stateMachineArn,
        ` --input '{"trigger":"manual"}'`,
      ]),
    });
  }

  /**
   * The providers' IAM (lib/providers/grants.ts) on these Lambdas' roles:
   * each provider names actions and resources for the targets the config
   * gives it; this turns them into policy statements and cdk-nag records.
   */
  private grantContext(accounts: BotVaultConfig['accounts']): GrantContext {
    const f = this.functions;
    // cdk-nag names a resource with its tokens flattened (`arn:<AWS::Partition>:lex:<AWS::Region>:...`); the partition
    // is a literal once the region is known (cdk.json's @aws-cdk/core:enablePartitionLiterals).
    const flat = (v: string, pseudo: string) => (Token.isUnresolved(v) ? `<${pseudo}>` : v);
    const arnFormat = (sep: '/' | ':') => (sep === '/' ? ArnFormat.SLASH_RESOURCE_NAME : ArnFormat.COLON_RESOURCE_NAME);
    return {
      allow: (fn, actions, resources) => {
        if (resources.length > 0) iam.Grant.addToPrincipal({ grantee: f[fn].function, actions: [...actions], resourceArns: [...resources] });
      },
      accounts,
      arn: (r) =>
        this.formatArn({
          service: r.service,
          resource: r.resource,
          resourceName: r.name,
          arnFormat: arnFormat(r.sep),
          ...(r.region ? { region: r.region } : {}),
        }),
      secretArn: (ref) => this.secretArn(ref),
      acknowledgeWildcard: (fn, r, reason) => {
        const resource =
          r === '*'
            ? '*'
            : `arn:${flat(this.partition, 'AWS::Partition')}:${r.service}:${r.region ?? flat(this.region, 'AWS::Region')}:${flat(this.account, 'AWS::AccountId')}:${r.resource}${r.sep}${r.name}`;
        Validations.of(f[fn].role).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[Resource::${resource}]`, reason });
      },
    };
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
