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
  macKey: 'AuthenticationKeyArn',
  /** The roles that call Lex, comma-separated: what a member account's BotVaultMemberAccount stack trusts (TrustedRoleArns). */
  functionRoles: 'FunctionRoleArns',
} as const;

/** The stack name BotVault deploys under when the config does not say. */
export const DEFAULT_STACK_NAME = 'BotVault';

/** CloudWatch namespace of every metric BotVault emits (Powertools Metrics). */
export const METRICS_NAMESPACE = 'BotVault';
/** Powertools' service name: the `service` dimension of every metric and the `service` of every log line. */
export const SERVICE_NAME = 'botvault';
/** The restore drill's metrics (lambdas/restore-drill). */
export const DRILL_METRICS = { failures: 'DrillFailures', checked: 'DrillArchivesChecked' } as const;

// ---- the archive bucket's layout (README "S3 layout"); each Lambda's role may write only its own prefixes ----

/** Where Summarize writes run manifests (`runs/<yyyy>/<mm>/<dd>/<runId>.json`). */
export const MANIFEST_PREFIX = 'runs/';
/** Where Plan records each schedule tick it started (`ticks/<scheduled time>.json`), so a repeated tick runs nothing. */
export const TICK_PREFIX = 'ticks/';

// ---- object metadata BotVault writes on archive versions and sidecars (README "S3 layout") ----

/** Object metadata: the SHA-256 (hex) of the stored bytes, checked on every read. */
export const SHA256_METADATA = 'sha256';
/** Object metadata: the MAC (`v1:<base64>`) of an archive version, sidecar or manifest (lib/core/mac.ts). */
export const MAC_METADATA = 'mac';
/** Object metadata: the run (execution name) that wrote the version. */
export const RUN_ID_METADATA = 'run-id';

/** The sidecar of an archive lives beside it, versioned like it: `<archive key>.restore.json`. */
const RESTORE_INFO_SUFFIX = '.restore.json';
/** Object metadata naming the sidecar details an archive version (and each sidecar version) belongs to. */
export const RESTORE_INFO_SHA256_METADATA = 'restore-info-sha256';
/** Object metadata: the archive's content hash (entries' names and contents; see archive-store.ts). */
export const CONTENT_SHA256_METADATA = 'content-sha256';
/**
 * Object metadata of a password-protected export: the Secrets Manager secret
 * (name or ARN, never its value) whose password decrypts it, so `diff`,
 * `restore` and the drill can open it later.
 */
export const PASSWORD_SECRET_METADATA = 'password-secret';
export function restoreInfoKey(archiveKey: string): string {
  return `${archiveKey}${RESTORE_INFO_SUFFIX}`;
}

/** What changed in the bot with each archive version (lib/providers/change-record.ts) lives beside it, versioned like it. */
const CHANGE_RECORD_SUFFIX = '.changes.json';
export function changeRecordKey(archiveKey: string): string {
  return `${archiveKey}${CHANGE_RECORD_SUFFIX}`;
}
