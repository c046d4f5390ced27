/**
 * The names every side of BotVault shares: the state machine's states, the
 * stack's outputs, the metrics' namespace and service, the default stack
 * name. Defined once here (no aws-cdk-lib, no CLI, no Lambda runtime), so the
 * constructs, the Lambdas, the CLI and the local runner cannot drift apart;
 * the CLI reads state names from here without loading the CDK.
 */

/** State names of the backup state machine (lib/constructs/backup-workflow.ts builds them). */
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

/** The stack's outputs (their logical ids are their OutputKeys), which the CLI looks up. */
export const STACK_OUTPUTS = {
  bucket: 'ArchiveBucketName',
  stateMachine: 'StateMachineArn',
  startCommand: 'StartManualRunCommand',
} as const;

/** The stack name BotVault deploys under when the config does not say. */
export const DEFAULT_STACK_NAME = 'BotVault';

/** CloudWatch namespace of every metric BotVault emits (Powertools Metrics). */
export const METRICS_NAMESPACE = 'BotVault';
/** Powertools' service name: the `service` dimension of every metric and the `service` of every log line. */
export const SERVICE_NAME = 'botvault';
/** The restore drill's metrics (lambdas/restore-drill). */
export const DRILL_METRICS = { failures: 'DrillFailures', checked: 'DrillArchivesChecked' } as const;
