/**
 * `botvault status [RUN] [--wait]`: a run's manifest (README "S3 layout":
 * `runs/<yyyy>/<mm>/<dd>/<runId>.json`) as a table.
 *
 * The manifest, not the execution history, is the record: it survives the
 * 90 days Step Functions keeps history, and it is what the run stored. Its
 * MAC is checked first: a manifest planted to hide a failed run is refused.
 *
 * A run has a manifest only once it ended (Summarize writes it). For a RUN
 * without one, the execution is asked (DescribeExecution; the state
 * machine's ARN names it: `…:stateMachine:NAME` → `…:execution:NAME:RUN`):
 * a run still going is shown as such, with its jobs so far from the
 * execution history, and `--wait` follows it to the end as `run --wait`
 * does (the same follow()).
 */
import { paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, type DescribeExecutionCommandOutput, type SFNClient } from '@aws-sdk/client-sfn';
import { type Authenticator, authenticator } from './authentication';
import { MANIFEST_PREFIX } from '../core/names';
import type { RunManifest } from '../core/run-manifest';
import { aws, regionFromArn, s3Client, sfnClient } from './aws';
import { readManifest } from './manifest';
import {
  CliError,
  formatBytes,
  formatRunSummary,
  formatTable,
  formatTime,
  onTerminal,
  printJson,
  printLines,
  readableCause,
  shortHash,
} from './output';
import { RunProgress } from './progress';
import { locate, type LocateOptions } from './resolve';
import { followRun, newHistoryEvents } from './run';

export interface StatusCommandOptions extends LocateOptions {
  readonly json: boolean;
  /** Show a manifest whose MAC is missing or wrong (a warning says UNVERIFIED). */
  readonly acceptUnverified?: boolean;
  /** A run still going: follow it to the end (live progress, then the summary). */
  readonly wait?: boolean;
  /** How often `--wait` polls the execution. @default 2000 */
  readonly pollMs?: number;
}

async function listAll(s3: S3Client, bucket: string, prefix: string): Promise<{ keys: { key: string; lastModified?: Date }[] }> {
  const keys: { key: string; lastModified?: Date }[] = [];
  await aws(`ListObjectsV2 s3://${bucket}/${prefix}`, async () => {
    try {
      for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix }))
        for (const o of page.Contents ?? []) if (o.Key) keys.push({ key: o.Key, lastModified: o.LastModified });
    } catch (err) {
      if ((err as Error).name === 'NoSuchBucket')
        throw new CliError(`bucket ${bucket} does not exist: check --bucket or the stack's ArchiveBucketName output`);
      throw err;
    }
  });
  return { keys };
}

/**
 * The newest manifest's key. Keys sort by date (`runs/yyyy/mm/dd/<runId>.json`),
 * so the newest day is the last key's day; within that day run ids do not
 * sort by time, so LastModified decides. One listing of `runs/` (a page per
 * 1,000 runs: about three pages for three years of nightly runs) rather than
 * walking "folders" with a delimiter, which not every S3-compatible server
 * answers correctly (s3rver returns no CommonPrefixes for nested keys).
 */
async function latestManifestKey(s3: S3Client, bucket: string): Promise<string | undefined> {
  const { keys } = await listAll(s3, bucket, MANIFEST_PREFIX);
  return newestManifest(keys);
}

/** Pure part of latestManifestKey: the newest day's most recently written manifest. */
export function newestManifest(keys: readonly { key: string; lastModified?: Date }[]): string | undefined {
  const manifests = keys.filter((k) => /^runs\/\d{4}\/\d{2}\/\d{2}\/[^/]+\.json$/.test(k.key));
  if (manifests.length === 0) return undefined;
  const day = manifests
    .map((k) => k.key.slice(0, 'runs/yyyy/mm/dd/'.length))
    .sort()
    .at(-1)!;
  return manifests
    .filter((k) => k.key.startsWith(day))
    .sort((a, b) => (a.lastModified?.getTime() ?? 0) - (b.lastModified?.getTime() ?? 0) || a.key.localeCompare(b.key))
    .at(-1)!.key;
}

/**
 * The manifest key for RUN: a manifest key as is, an execution ARN's name, or
 * a run id (execution name), looked up under `runs/` because a run id does
 * not say which day it ran.
 */
async function manifestKeyFor(s3: S3Client, bucket: string, run: string): Promise<string | undefined> {
  if (run.startsWith(MANIFEST_PREFIX) && run.endsWith('.json')) return run;
  const runId = run.startsWith('arn:') ? run.split(':').at(-1)! : run;
  const file = `/${runId.replace(/\//g, '_')}.json`;
  const { keys } = await listAll(s3, bucket, MANIFEST_PREFIX);
  // Newest first: a re-used name (after 90 days) should show the latest run.
  return keys.filter((k) => k.key.endsWith(file)).sort((a, b) => b.key.localeCompare(a.key))[0]?.key;
}

/**
 * The table `status` prints: one row per job. `compact` (a terminal): no SIZE
 * and no key (the target names it), the manifest on a line of its own, so a
 * Kore.ai target and a 32-character S3 version id fit 120 columns.
 */
export function formatManifest(manifest: RunManifest, bucket: string, key: string, compact = false): string[] {
  const head = [
    `run ${manifest.runId} (${manifest.trigger})  started ${formatTime(manifest.startedAt)}  took ${manifest.durationSeconds} s`,
    ...formatRunSummary(undefined, manifest.counts, `s3://${bucket}/${key}`, compact),
  ];
  if (manifest.results.length === 0) return [...head, '(no jobs: the run had nothing to back up)'];
  const error = (r: RunManifest['results'][number]) => `${r.error ?? 'Error'}: ${readableCause(r.cause) ?? ''}`.trim();
  if (compact) {
    const rows = manifest.results.map((r) => [r.status, r.target, shortHash(r.sha256), r.status === 'FAILED' ? error(r) : (r.versionId ?? '-')]);
    return [...head, '', ...formatTable(['STATUS', 'TARGET', 'SHA256', 'VERSION / ERROR'], rows)];
  }
  const rows = manifest.results.map((r) => [
    r.status,
    r.target,
    formatBytes(r.bytes),
    r.versionId ?? '-',
    shortHash(r.sha256),
    r.status === 'FAILED' ? error(r) : (r.key ?? '-'),
  ]);
  return [...head, '', ...formatTable(['STATUS', 'TARGET', 'SIZE', 'VERSION', 'SHA256', 'KEY / ERROR'], rows, [2])];
}

/** `arn:aws:states:R:A:stateMachine:NAME` and a run id → `arn:aws:states:R:A:execution:NAME:<runId>`. */
function executionArnFor(stateMachineArn: string, runId: string): string | undefined {
  const m = /^(arn:[^:]+:states:[^:]*:[^:]*):stateMachine:([^:]+)$/.exec(stateMachineArn);
  return m ? `${m[1]}:execution:${m[2]}:${runId}` : undefined;
}

/** The run id RUN names: an execution ARN's last part, a manifest key's file name, or RUN itself. */
function runIdOf(run: string): string {
  if (run.startsWith('arn:')) return run.split(':').at(-1)!;
  if (run.startsWith(MANIFEST_PREFIX) && run.endsWith('.json')) return run.slice(run.lastIndexOf('/') + 1, -'.json'.length);
  return run;
}

/** The execution, or undefined when Step Functions has none by that ARN. */
async function describeExecution(sfn: SFNClient, executionArn: string): Promise<DescribeExecutionCommandOutput | undefined> {
  try {
    return await aws('DescribeExecution', () => sfn.send(new DescribeExecutionCommand({ executionArn })));
  } catch (err) {
    if ((err as Error).name === 'ExecutionDoesNotExist' || (err as Error).name === 'InvalidArn') return undefined;
    throw err;
  }
}

const seconds = (ms: number) => `${Math.max(0, Math.round(ms / 1000))} s`;

/**
 * A run with no manifest yet, as its execution tells it: still going (its
 * jobs so far) or ended before writing a manifest. Exit code: 0 while it
 * runs, else as `run --wait`.
 */
async function executionStatus(
  sfn: SFNClient,
  execution: DescribeExecutionCommandOutput,
  opts: StatusCommandOptions,
  bucket: string,
  auth: Authenticator,
): Promise<number> {
  const executionArn = execution.executionArn!;
  const name = execution.name ?? executionArn.split(':').at(-1)!;
  const status = execution.status ?? 'UNKNOWN';
  const running = status === 'RUNNING' || status === 'PENDING_REDRIVE';
  if (running && opts.wait) {
    if (!opts.json) {
      const running = `run ${name} is running  started ${formatTime(execution.startDate?.toISOString())}  ${seconds(Date.now() - (execution.startDate?.getTime() ?? Date.now()))} ago; following it`;
      printLines(onTerminal() ? [running, `  execution ${executionArn}`] : [`${running} (${executionArn})`]);
    }
    return followRun(sfn, { executionArn, name, bucket, pollMs: opts.pollMs ?? 2000, json: opts.json, region: opts.region, auth });
  }
  const progress = new RunProgress();
  progress.apply(await newHistoryEvents(sfn, executionArn, 0));
  const startedAt = execution.startDate ?? new Date();
  const elapsedMs = (execution.stopDate ?? new Date()).getTime() - startedAt.getTime();
  if (opts.json) {
    printJson({
      runId: name,
      executionArn,
      status,
      startedAt: startedAt.toISOString(),
      ...(execution.stopDate ? { stoppedAt: execution.stopDate.toISOString() } : {}),
      elapsedSeconds: Math.round(elapsedMs / 1000),
      stage: progress.stage,
      jobs: [...progress.jobs.values()].map((j) => ({ ...j })),
      ...(execution.error ? { error: execution.error, cause: execution.cause } : {}),
    });
  } else if (running) {
    const lines = [
      `run ${name} is running  started ${formatTime(startedAt.toISOString())}  ${seconds(elapsedMs)} ago; no manifest until it ends`,
      `execution ${executionArn}`,
      '',
      ...progress.render(),
      `follow it: botvault status ${name} --wait`,
    ];
    printLines(lines);
  } else {
    // Ended before Summarize (bad input, discovery could not list bots, ...): the execution's error is all there is.
    printLines([
      `run ${name} ${status} before writing a manifest  started ${formatTime(startedAt.toISOString())}  took ${seconds(elapsedMs)}: ${execution.error ?? 'Error'}: ${readableCause(execution.cause) ?? ''}`,
    ]);
  }
  return running ? 0 : status === 'SUCCEEDED' ? 0 : 1;
}

/**
 * Exit code: 0 when the run backed up everything (or is still going), 1 when
 * some job failed (handy in monitoring scripts), 2 when there is no such run.
 */
export async function statusCommand(run: string | undefined, opts: StatusCommandOptions): Promise<number> {
  const { bucket, macKeyArn, stateMachineArn } = await locate(opts, { bucket: true, macKey: opts.acceptUnverified ? 'optional' : 'required' });
  const s3 = s3Client(opts);
  const auth = authenticator(macKeyArn, opts, (line) => process.stderr.write(`botvault: warning: ${line}\n`));
  try {
    const key = run ? await manifestKeyFor(s3, bucket!, run) : await latestManifestKey(s3, bucket!);
    if (!key && run) {
      // No manifest yet: the run may still be going (or ended before Summarize). Ask Step Functions.
      const machine = run.startsWith('arn:') ? undefined : (stateMachineArn ?? (await stateMachineOf(opts)));
      const executionArn = run.startsWith('arn:') && run.includes(':execution:') ? run : machine && executionArnFor(machine, runIdOf(run));
      if (executionArn) {
        const sfn = sfnClient({ region: opts.region ?? regionFromArn(executionArn) });
        try {
          const execution = await describeExecution(sfn, executionArn);
          if (execution) return await executionStatus(sfn, execution, opts, bucket!, auth);
        } finally {
          sfn.destroy();
        }
      }
      throw new CliError(
        `no run "${run}" in s3://${bucket}/${MANIFEST_PREFIX}${executionArn ? ` nor among the executions of state machine ${executionArn.split(':')[6]}` : ''}: give a run id (execution name), execution ARN or manifest key; \`botvault status\` shows the latest`,
      );
    }
    if (!key) throw new CliError(`no runs in s3://${bucket}/${MANIFEST_PREFIX} yet: start one with \`botvault run --wait\``);
    const manifest = await readManifest(s3, bucket!, key, auth);
    if (!manifest) throw new CliError(`manifest s3://${bucket}/${key} disappeared while reading it; try again`);
    if (opts.json) printJson(manifest);
    else printLines(formatManifest(manifest, bucket!, key, onTerminal()));
    return manifest.counts.failed > 0 ? 1 : 0;
  } finally {
    s3.destroy();
    auth.close();
  }
}

/** The state machine, when locate had no stack outputs to name it (--bucket and --mac-key given): the stack's, if there is one. */
async function stateMachineOf(opts: StatusCommandOptions): Promise<string | undefined> {
  if (opts.stateMachine) return opts.stateMachine;
  try {
    return (await locate(opts, { stateMachine: true })).stateMachineArn;
  } catch {
    return undefined; // no stack to ask: the run is looked for in the bucket only
  }
}
