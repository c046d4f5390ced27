/**
 * The backup job graph (DESIGN §1) as a Standard, JSONPath state machine.
 *
 * JSONPath, not JSONata: the very definition this construct emits is what
 * `botvault local` and the workflow tests run in aws-local-stepfunctions,
 * which has no JSONata.
 */
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import type { BotVaultConfig } from '../config';

/** The Lambda behind each Task state. */
export interface BackupFunctions {
  readonly plan: lambda.IFunction;
  readonly startExport: lambda.IFunction;
  readonly checkExport: lambda.IFunction;
  readonly storeArchive: lambda.IFunction;
  readonly cleanup: lambda.IFunction;
  readonly summarize: lambda.IFunction;
}

/**
 * State names. They are bound to handlers by the local runner and show up in
 * the console and in alarms, so they are part of the operator's vocabulary.
 */
export const States = {
  plan: 'Plan',
  map: 'BackUpEachTarget',
  startExport: 'StartExport',
  wait: 'WaitForExport',
  checkExport: 'CheckExport',
  exportReady: 'IsExportReady',
  exportFailed: 'ExportFailed',
  exportTimedOut: 'ExportTimedOut',
  storeArchive: 'StoreArchive',
  cleanup: 'Cleanup',
  jobSucceeded: 'JobSucceeded',
  jobFailed: 'JobFailed',
  summarize: 'Summarize',
  anyFailed: 'AnyJobFailed',
  runFailed: 'BackupRunFailed',
  runSucceeded: 'BackupRunSucceeded',
  duplicateTick: 'DuplicateTickSkipped',
} as const;

/** Task state name → the Lambda (key of BackupFunctions) it invokes. */
export const TASK_FUNCTIONS = {
  [States.plan]: 'plan',
  [States.startExport]: 'startExport',
  [States.checkExport]: 'checkExport',
  [States.storeArchive]: 'storeArchive',
  [States.cleanup]: 'cleanup',
  [States.summarize]: 'summarize',
} as const satisfies Record<string, keyof BackupFunctions>;

/** Errors raised by Lambda itself (not our code): always worth a retry. */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
];

/** What Plan throws when the execution's schedule tick was already started by another execution. */
export const DUPLICATE_TICK_ERROR = 'DuplicateTickError';

/** Provider errors our handlers raise that a later attempt can fix (lambdas/shared/errors.ts). */
export const RETRYABLE_PROVIDER_ERRORS = ['RateLimitedError', 'ProviderUnavailableError'];

/**
 * Named errors (lambdas/shared/errors.ts) that a retry cannot fix: bad input,
 * refused credentials, a broken deployment, an unsafe URL, bytes that failed
 * their checks. A `MaxAttempts: 0` retrier listed before the catch-all keeps
 * them from being retried by it.
 */
export const NEVER_RETRIED_ERRORS = [
  'InvalidInputError',
  'ProviderAuthError',
  'ProviderRequestError',
  'EnvironmentError',
  'UnsafeUrlError',
  'DownloadIntegrityError',
  'DownloadUrlExpiredError',
  'ExportFailedError',
  'ExportTimedOutError',
  // A repeated schedule tick: Plan's Catch ends the execution; retrying would only find the tick again.
  'DuplicateTickError',
];

export interface BackupWorkflowProps {
  /** The validated BotVault config; its targets and polling settings are embedded in the definition. */
  readonly config: BotVaultConfig;
  /** The Lambdas behind the Task states. */
  readonly functions: BackupFunctions;
  /**
   * Log group for execution logs (level ALL, execution data excluded).
   * @default a new log group with `config.logRetentionDays` retention
   */
  readonly logGroup?: logs.ILogGroup;
  /**
   * Longest a whole run may take before Step Functions stops it.
   * @default 12 hours
   */
  readonly timeout?: Duration;
  /**
   * Customer managed key for the state machine's definition and execution
   * history and for the execution log group (whose key policy must let
   * CloudWatch Logs use it; EncryptionKey does).
   * @default - AWS owned keys
   */
  readonly encryptionKey?: kms.IKey;
}

export class BackupWorkflow extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly logGroup: logs.ILogGroup;

  constructor(scope: Construct, id: string, props: BackupWorkflowProps) {
    super(scope, id);
    const { config, functions } = props;
    if (config.targets.length === 0) throw new Error('BackupWorkflow: config.targets is empty; add at least one target to back up.');

    const invoke = (name: keyof typeof TASK_FUNCTIONS, payload: Record<string, unknown>, resultPath: string, timeout: Duration) =>
      new tasks.LambdaInvoke(this, name, {
        stateName: name,
        resultPath,
        lambdaFunction: functions[TASK_FUNCTIONS[name]],
        payload: sfn.TaskInput.fromObject(payload),
        // The handler's return value is the state's result; no Lambda envelope to unwrap.
        payloadResponseOnly: true,
        retryOnServiceExceptions: false,
        taskTimeout: sfn.Timeout.duration(timeout),
      })
        .addRetry({ errors: NEVER_RETRIED_ERRORS, maxAttempts: 0 })
        .addRetry({
          errors: LAMBDA_SERVICE_ERRORS,
          interval: Duration.seconds(2),
          backoffRate: 2,
          maxAttempts: 6,
          maxDelay: Duration.seconds(60),
          jitterStrategy: sfn.JitterType.FULL,
        })
        // A crash: the runtime died (Lambda.Unknown, Runtime.ExitError), the task timed out
        // (States.Timeout, perhaps after its work was done: StoreArchive is idempotent per run),
        // or a bug threw an unexpected error (TypeError, an SDK parse error). CDK renders this
        // retrier last, as States.ALL must be.
        .addRetry({
          errors: [sfn.Errors.ALL],
          interval: Duration.seconds(5),
          backoffRate: 2,
          maxAttempts: 2,
          maxDelay: Duration.seconds(60),
          jitterStrategy: sfn.JitterType.FULL,
        });

    const withProviderRetry = (task: sfn.TaskStateBase) =>
      task.addRetry({
        errors: RETRYABLE_PROVIDER_ERRORS,
        interval: Duration.seconds(5),
        backoffRate: 2,
        maxAttempts: 6,
        maxDelay: Duration.seconds(120),
        jitterStrategy: sfn.JitterType.FULL,
      });

    const plan = withProviderRetry(
      invoke(
        States.plan,
        {
          'runId.$': '$$.Execution.Name',
          'startedAt.$': '$$.Execution.StartTime',
          targets: config.targets,
          'input.$': '$',
        },
        '$.plan',
        Duration.minutes(5),
      ),
    );
    // A schedule tick another execution already started (Plan's tick marker, lambdas/plan/plan.ts): this
    // execution backs up nothing and ends successfully at once, so a repeated tick neither runs twice nor alarms.
    plan.addRetry({ errors: [DUPLICATE_TICK_ERROR], maxAttempts: 0 }).addCatch(
      new sfn.Succeed(this, States.duplicateTick, {
        stateName: States.duplicateTick,
        comment: 'This schedule tick was already started by another execution; nothing to do.',
        outputPath: '$.duplicateTick',
      }),
      { errors: [DUPLICATE_TICK_ERROR], resultPath: '$.duplicateTick' },
    );

    // ---- per job ----
    const jobFailed = new sfn.Pass(this, States.jobFailed, {
      stateName: States.jobFailed,
      parameters: {
        'target.$': '$.job.id',
        'provider.$': '$.job.provider',
        'key.$': '$.job.key',
        status: 'FAILED',
        'error.$': '$.error.Error',
        'cause.$': '$.error.Cause',
      },
    });
    const catchTo = (task: sfn.TaskStateBase) => task.addCatch(jobFailed, { errors: ['States.ALL'], resultPath: '$.error' });

    const startExport = catchTo(
      withProviderRetry(invoke(States.startExport, { 'job.$': '$.job', 'polling.$': '$.polling' }, '$.export', Duration.minutes(1))),
    );

    const wait = new sfn.Wait(this, States.wait, {
      stateName: States.wait,
      time: sfn.WaitTime.secondsPath('$.export.waitSeconds'),
    });
    const checkExport = catchTo(
      withProviderRetry(
        invoke(States.checkExport, { 'job.$': '$.job', 'polling.$': '$.polling', 'export.$': '$.export' }, '$.export', Duration.minutes(1)),
      ),
    );
    const storeArchive = catchTo(
      withProviderRetry(
        invoke(States.storeArchive, { 'job.$': '$.job', 'runId.$': '$.runId', 'export.$': '$.export' }, '$.result', Duration.minutes(15)),
      ),
    );
    const cleanup = invoke(States.cleanup, { 'job.$': '$.job', 'export.$': '$.export' }, sfn.JsonPath.DISCARD, Duration.minutes(1));
    const jobSucceeded = new sfn.Pass(this, States.jobSucceeded, { stateName: States.jobSucceeded, outputPath: '$.result' });
    // Cleanup is best effort: a leftover export expires at the provider, the backup is already safe.
    cleanup.addCatch(jobSucceeded, { errors: ['States.ALL'], resultPath: '$.cleanupError' });

    const exportFailed = new sfn.Pass(this, States.exportFailed, {
      stateName: States.exportFailed,
      parameters: {
        Error: 'ExportFailedError',
        'Cause.$': "States.Format('The provider reported export {} as failed: {}', $.export.ref.exportId, States.JsonToString($.export.reasons))",
      },
      resultPath: '$.error',
    }).next(jobFailed);
    const exportTimedOut = new sfn.Pass(this, States.exportTimedOut, {
      stateName: States.exportTimedOut,
      parameters: {
        Error: 'ExportTimedOutError',
        'Cause.$':
          "States.Format('Export {} was still in progress after {} seconds of polling ({} status checks); raise polling.budgetSeconds if this bot is large', $.export.ref.exportId, $.export.waitedSeconds, $.export.polls)",
      },
      resultPath: '$.error',
    }).next(jobFailed);

    const jobGraph = sfn.Chain.start(startExport)
      .next(wait)
      .next(checkExport)
      .next(
        new sfn.Choice(this, States.exportReady, { stateName: States.exportReady })
          .when(sfn.Condition.stringEquals('$.export.status', 'READY'), storeArchive.next(cleanup).next(jobSucceeded))
          .when(sfn.Condition.stringEquals('$.export.status', 'FAILED'), exportFailed)
          .when(
            sfn.Condition.and(
              sfn.Condition.stringEquals('$.export.status', 'IN_PROGRESS'),
              sfn.Condition.booleanEquals('$.export.withinBudget', true),
            ),
            wait,
          )
          .otherwise(exportTimedOut),
      );

    const mapProps = {
      stateName: States.map,
      itemsPath: '$.plan.jobs',
      maxConcurrency: config.maxConcurrency,
      itemSelector: {
        'job.$': '$$.Map.Item.Value',
        'runId.$': '$.plan.runId',
        polling: config.polling,
      },
      resultPath: '$.results',
    };
    // The same job graph either way (config.mapMode). Distributed: every job is a child Standard execution
    // (Standard, not Express: a job's polling waits can outlast Express's 5 minutes) with its own 25,000-event
    // history, so the parent's history grows by a few events per job instead of ~12. README "Performance".
    const map =
      config.mapMode === 'distributed'
        ? new sfn.DistributedMap(this, States.map, { ...mapProps, mapExecutionType: sfn.StateMachineType.STANDARD, label: States.map })
        : new sfn.Map(this, States.map, mapProps);
    map.itemProcessor(jobGraph);

    const summarize = withProviderRetry(
      invoke(
        States.summarize,
        {
          'runId.$': '$.plan.runId',
          'startedAt.$': '$$.Execution.StartTime',
          'trigger.$': '$.plan.trigger',
          'results.$': '$.results',
        },
        '$.summary',
        Duration.minutes(2),
      ),
    );

    const runFailed = new sfn.Fail(this, States.runFailed, {
      stateName: States.runFailed,
      error: 'BackupJobsFailed',
      // Summarize formats the cause; intrinsic functions in CausePath are not run by aws-local-stepfunctions.
      causePath: '$.summary.message',
    });
    const runSucceeded = new sfn.Succeed(this, States.runSucceeded, { stateName: States.runSucceeded, outputPath: '$.summary' });

    const definition = sfn.Chain.start(plan)
      .next(map)
      .next(summarize)
      .next(
        new sfn.Choice(this, States.anyFailed, { stateName: States.anyFailed })
          .when(sfn.Condition.numberGreaterThan('$.summary.failed', 0), runFailed)
          .otherwise(runSucceeded),
      );

    this.logGroup =
      props.logGroup ??
      new logs.LogGroup(this, 'ExecutionLogs', {
        retention: config.logRetentionDays as logs.RetentionDays,
        encryptionKey: props.encryptionKey,
      });

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: props.timeout ?? Duration.hours(12),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      encryptionConfiguration: props.encryptionKey ? new sfn.CustomerManagedEncryptionConfiguration(props.encryptionKey, Duration.minutes(5)) : undefined,
      comment: 'BotVault: export every configured bot, stream each archive into the versioned archive bucket, write a run manifest.',
    });
    if (config.mapMode === 'distributed') acknowledgeChildExecutionWildcards(this.stateMachine);
  }
}

/**
 * CDK's DistributedMapPolicy lets the state machine describe, stop and redrive
 * its own child executions, whose names Step Functions generates: the
 * resources end in `:*`. Acknowledge exactly those resources for cdk-nag's
 * wildcard rule (its flattening of CloudFormation references, mirrored), so
 * any other wildcard on that policy is still flagged.
 */
function acknowledgeChildExecutionWildcards(stateMachine: sfn.StateMachine): void {
  const policy = stateMachine.node.tryFindChild('DistributedMapPolicy');
  if (!(policy instanceof iam.Policy)) throw new Error('BackupWorkflow: expected CDK to add a DistributedMapPolicy to the state machine for the Distributed Map.');
  const document = Stack.of(stateMachine).resolve(policy.document) as { Statement?: { Resource?: unknown }[] };
  const wildcards = (document.Statement ?? [])
    .flatMap((s) => ([] as unknown[]).concat(s.Resource ?? []))
    .map(flattenCfnReference)
    .filter((r) => r.includes('*'));
  Validations.of(policy).acknowledge(
    ...wildcards.map((r) => ({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::${r}]`,
      reason: 'Distributed Map child executions of this state machine: their names are generated by Step Functions, so only a trailing wildcard can name them.',
    })),
  );
}

/** cdk-nag's rendering of a CloudFormation value in finding ids (cdk-nag/lib/utils/flatten-cfn-reference). */
function flattenCfnReference(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
  const obj = node as Record<string, unknown>;
  if (obj['Fn::Join']) {
    const [delimiter, items] = obj['Fn::Join'] as [string, unknown[]];
    return items.map(flattenCfnReference).join(delimiter);
  }
  if (obj['Fn::Sub']) return flattenCfnReference(obj['Fn::Sub']);
  if (obj['Fn::GetAtt']) {
    const [resource, attribute] = obj['Fn::GetAtt'] as [unknown, unknown];
    return `<${flattenCfnReference(resource)}.${flattenCfnReference(attribute)}>`;
  }
  if (obj['Fn::ImportValue']) return flattenCfnReference(obj['Fn::ImportValue']);
  if (obj.Ref) return `<${flattenCfnReference(obj.Ref)}>`;
  return JSON.stringify(node);
}
