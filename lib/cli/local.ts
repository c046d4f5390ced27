/**
 * `botvault local`: run the synthesized workflow in-process against whatever
 * endpoints the environment names, with the live progress of `run --wait`:
 * the runner's event logs become the events RunProgress reads, drawn by the
 * same display (a table on a terminal, a line per change otherwise, nothing
 * with --json).
 */
import { type BotVaultConfig, ConfigError, loadConfig } from '../config/config';
import { LOCAL_ACCOUNT_ID } from '../core/accounts';
import type { EventLog } from '../local/runner';
import { CliError, formatJobLines, formatRunSummary, onTerminal, printLines, readableCause } from './output';
import { type ProgressChange, type ProgressEvent, RunProgress } from './progress';
import { progressDisplay } from './run';
import { checkOnly, unverifiedWarning } from './targets';

export interface LocalCommandOptions {
  config: string;
  bucket: string;
  fast: boolean;
  only?: string[];
  json: boolean;
  runId?: string;
  macKey?: string;
}

/** Returns the exit code: 0 when every job succeeded, 1 otherwise. */
export async function runLocalCommand(opts: LocalCommandOptions): Promise<number> {
  let config: BotVaultConfig;
  try {
    config = loadConfig(opts.config);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
  if (opts.only) {
    // The same check as `run --only` (lib/cli/targets.ts): a typo stops here, nothing runs.
    // The home the local runner gives Plan (lib/local/runner.ts): BOTVAULT_ACCOUNT_ID, AWS_REGION, or their local defaults.
    const home = { account: process.env.BOTVAULT_ACCOUNT_ID ?? LOCAL_ACCOUNT_ID, region: process.env.AWS_REGION ?? 'us-east-1' };
    const warning = unverifiedWarning(checkOnly(opts.only, config, home).unverified);
    if (warning) process.stderr.write(`botvault: warning: ${warning}\n`);
  }
  // Loaded on demand: it pulls in aws-cdk-lib, which `botvault --help` does not need.
  const { runLocal } = await import('../local/runner');
  const progress = new RunProgress();
  const display = progressDisplay(opts.json);
  // Events come by the hundred under --fast: draw what changed at most every REDRAW_MS (plain lines keep each event's time).
  let pending: ProgressChange[] = [];
  const draw = () => {
    if (pending.length) display.update(progress, pending);
    pending = [];
  };
  const redraw = setInterval(draw, REDRAW_MS);
  let result: Awaited<ReturnType<typeof runLocal>>;
  try {
    result = await runLocal({
      config,
      bucket: opts.bucket,
      fast: opts.fast,
      // Under --fast the waits are milliseconds: a job's deadline is the time that really passed.
      ...(opts.fast ? { deadline: 'elapsed' as const } : {}),
      runId: opts.runId,
      ...(opts.macKey ? { macKeyId: opts.macKey } : {}),
      input: { trigger: 'manual', ...(opts.only ? { only: opts.only } : {}) },
      onEvent(event) {
        const read = progressEventOf(event);
        if (read) pending.push(...progress.record(read));
      },
    });
  } finally {
    clearInterval(redraw);
    draw();
    display.done();
  }
  if (!result.manifest) {
    // Failed before any job ran (bad input, unreachable provider during discovery, ...).
    throw new CliError(`run ${result.runId} failed before backing anything up: ${result.error}: ${readableCause(result.cause)}`);
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(result.manifest, null, 2)}\n`);
  } else {
    const compact = onTerminal();
    printLines([
      ...formatJobLines(result.manifest.results, compact),
      ...formatRunSummary(`run ${result.runId}`, result.manifest.counts, `s3://${opts.bucket}/${result.manifestKey}`, compact),
    ]);
  }
  return result.status === 'SUCCEEDED' ? 0 : 1;
}

/** How often the live progress is drawn, at most. */
const REDRAW_MS = 250;

/** An aws-local-stepfunctions event as RunProgress reads a Step Functions history event; undefined for those it has no use for. */
function progressEventOf(event: EventLog): ProgressEvent | undefined {
  const at = new Date(event.timestamp);
  switch (event.type) {
    case 'StateEntered':
      return { kind: 'stateEntered', state: event.state.name, input: event.state.input, at };
    case 'StateExited':
      // The history has TaskStateExited only for Task states; RunProgress reads Plan's and Summarize's.
      return event.state.type === 'Task' ? { kind: 'taskExited', state: event.state.name, output: event.state.output, at } : undefined;
    case 'ExecutionSucceeded':
      return { kind: 'executionEnded', status: 'SUCCEEDED', output: event.output, at };
    case 'ExecutionFailed':
      return { kind: 'executionEnded', status: 'FAILED', at };
    case 'ExecutionAborted':
      return { kind: 'executionEnded', status: 'ABORTED', at };
    case 'ExecutionTimeout':
      return { kind: 'executionEnded', status: 'TIMED_OUT', at };
    default:
      return undefined;
  }
}
