/**
 * `botvault run`: starts the deployed state machine by hand (StartExecution)
 * and, with `--wait`, follows it live and prints the run's summary.
 *
 * Everything that can be wrong on the operator's side is checked before the
 * execution starts (the `--only` targets against the config, the stack, the
 * bucket the summary needs), so "could not start" (exit 2) really means
 * nothing was started.
 */
import { randomBytes } from 'node:crypto';
import {
  DescribeExecutionCommand,
  paginateGetExecutionHistory,
  StartExecutionCommand,
  type DescribeExecutionCommandOutput,
  type HistoryEvent,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import { manifestKey as manifestKeyOf } from '../core/run-manifest';
import { aws, cliHome, regionFromArn, s3Client, sfnClient } from './aws';
import {
  CliError,
  fitLine,
  formatJobLines,
  formatRunSummary,
  formatTime,
  onTerminal,
  printJson,
  printLines,
  readableCause,
  TTY_COLUMNS,
} from './output';
import { RunProgress, type ProgressChange } from './progress';
import { locate, readConfig, type LocateOptions } from './resolve';
import { readManifest } from './manifest';
import { type Authenticator, authenticator } from './authentication';
import { checkOnly, unverifiedWarning } from './targets';

export interface RunCommandOptions extends LocateOptions {
  readonly only?: string[];
  readonly wait: boolean;
  readonly json: boolean;
  /** Execution name (= run id). @default manual-<time>-<random> */
  readonly name?: string;
  /** How often `--wait` polls the execution. @default 2000 */
  readonly pollMs: number;
}

/** `manual-20240517T030012Z-1a2b3c`: sorts by time, says how it was started, unique. */
export function manualRunName(now = new Date()): string {
  return `manual-${now.toISOString().slice(0, 19).replace(/[-:]/g, '')}Z-${randomBytes(3).toString('hex')}`;
}

/** Step Functions execution names: 1–80 characters, no whitespace, wildcards, brackets or control characters. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: Step Functions execution names may not contain control characters; this lists them.
const EXECUTION_NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]{1,80}$/;

/**
 * History events newer than `afterId`, oldest first. Reads the history
 * backwards and stops at the first known event, so each poll of a long run
 * costs one small page instead of re-reading everything.
 */
export async function newHistoryEvents(sfn: SFNClient, executionArn: string, afterId: number): Promise<HistoryEvent[]> {
  const fresh: HistoryEvent[] = [];
  return aws('GetExecutionHistory', async () => {
    const pages = paginateGetExecutionHistory({ client: sfn, pageSize: 200 }, { executionArn, reverseOrder: true, includeExecutionData: true });
    for await (const page of pages) {
      for (const event of page.events ?? []) {
        if ((event.id ?? 0) <= afterId) return fresh.reverse();
        fresh.push(event);
      }
    }
    return fresh.reverse();
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface Display {
  update(progress: RunProgress, changes: ProgressChange[]): void;
  done(): void;
}

/** A per-job table redrawn in place: cursor up over the previous drawing, clear, draw. */
function terminalDisplay(out: NodeJS.WriteStream): Display {
  let drawn = 0;
  return {
    update(progress) {
      // Rows beyond the screen scroll away and the cursor-up would miss them; cap to the terminal.
      // A pseudo-terminal may report 0 x 0: treat that as unknown.
      const width = Math.max(20, Math.min(TTY_COLUMNS, (out.columns || TTY_COLUMNS) - 1));
      const lines = progress.render(Math.max(3, (out.rows || 40) - 4)).map((l) => fitLine(l, width));
      out.write(`${drawn ? `\x1b[${drawn}F\x1b[0J` : ''}${lines.join('\n')}\n`);
      drawn = lines.length;
    },
    done() {
      out.write('\n');
    },
  };
}

/** One timestamped line per change: for logs and CI, where redrawing would only add noise. */
function plainDisplay(out: NodeJS.WritableStream): Display {
  return {
    update(_progress, changes) {
      for (const c of changes) out.write(`${formatTime(c.at ?? new Date()).slice(11)} ${c.line}\n`);
    },
    done() {},
  };
}

const quietDisplay: Display = { update() {}, done() {} };

/** Polls in a row that may fail (throttling, a network blip) before following gives up. */
export const MAX_POLL_FAILURES = 5;

/**
 * Polls the execution until it ends, feeding its history to the display.
 * The run is already going: a failing poll is retried at the next interval,
 * and only a run of failures (or credentials expiring mid-run) stops the
 * following, with a message that says the run itself goes on.
 */
export async function follow(
  sfn: SFNClient,
  executionArn: string,
  pollMs: number,
  display: Display,
): Promise<{ progress: RunProgress; execution: DescribeExecutionCommandOutput }> {
  const progress = new RunProgress();
  let failures = 0;
  for (;;) {
    let execution: DescribeExecutionCommandOutput;
    try {
      // Describe first: once it reports the end, the history read after it holds every event.
      execution = await aws('DescribeExecution', () => sfn.send(new DescribeExecutionCommand({ executionArn })));
      const changes = progress.apply(await newHistoryEvents(sfn, executionArn, progress.lastEventId));
      if (changes.length) display.update(progress, changes);
      failures = 0;
    } catch (err) {
      failures += 1;
      if (err instanceof CliError || failures >= MAX_POLL_FAILURES) {
        display.done();
        const name = executionArn.split(':').at(-1);
        const reason = err instanceof Error ? `${err instanceof CliError ? '' : `${err.name}: `}${err.message}` : String(err);
        throw new CliError(`stopped following run ${name} (${reason}); the run goes on: see it later with \`botvault status ${name}\``);
      }
      await sleep(pollMs);
      continue;
    }
    if (execution.status !== 'RUNNING' && execution.status !== 'PENDING_REDRIVE') {
      display.done();
      return { progress, execution };
    }
    await sleep(pollMs);
  }
}

export async function runCommand(opts: RunCommandOptions): Promise<number> {
  if (opts.name !== undefined && !EXECUTION_NAME.test(opts.name)) {
    throw new CliError(`--name "${opts.name}": an execution name is 1-80 characters without spaces, brackets, wildcards or any of "#%\\^|~\`$&,;:/`);
  }
  if (opts.only) {
    // The config is the list of what can be backed up; without it --only cannot be checked.
    const config = readConfig(opts.config, true)!;
    const warning = unverifiedWarning(checkOnly(opts.only, config, await cliHome(opts)).unverified);
    if (warning) process.stderr.write(`botvault: warning: ${warning}\n`);
  }
  // --wait reads the run's manifest at the end: with the stack's key, to check its MAC.
  const where = await locate(opts, { stateMachine: true, bucket: opts.wait, ...(opts.wait ? { macKey: 'required' as const } : {}) });
  const stateMachineArn = where.stateMachineArn!;
  // An explicit ARN names its region; the client must talk to that region whatever AWS_REGION says.
  const sfn = sfnClient({ region: opts.region ?? regionFromArn(stateMachineArn) });
  try {
    const name = opts.name ?? manualRunName();
    const input = { trigger: 'manual', ...(opts.only ? { only: opts.only } : {}) };
    const started = await aws('StartExecution', async () => {
      try {
        return await sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
      } catch (err) {
        throw startError(err, stateMachineArn, name) ?? err;
      }
    });
    const executionArn = started.executionArn!;

    if (!opts.wait) {
      if (opts.json) printJson({ executionArn, name, startDate: started.startDate?.toISOString(), input });
      else
        printLines([
          `started run ${name}`,
          `  execution ${executionArn}`,
          `  follow it: botvault status ${name} --wait, or the Step Functions console`,
        ]);
      return 0;
    }

    // On a terminal the ARN gets a line of its own: with it, the line would pass 120 columns.
    if (!opts.json) printLines(onTerminal() ? [`started run ${name}`, `  execution ${executionArn}`] : [`started run ${name} (${executionArn})`]);
    const auth = authenticator(where.macKeyArn, opts, (line) => process.stderr.write(`botvault: warning: ${line}\n`));
    try {
      return await followRun(sfn, { executionArn, name, bucket: where.bucket!, pollMs: opts.pollMs, json: opts.json, region: opts.region, auth });
    } finally {
      auth.close();
    }
  } finally {
    sfn.destroy();
  }
}

/** StartExecution's own refusals, each with what to do. */
function startError(err: unknown, arn: string, name: string): CliError | undefined {
  switch ((err as Error).name) {
    case 'StateMachineDoesNotExist':
      return new CliError(`state machine ${arn} does not exist: check --state-machine, or deploy the stack with \`npx cdk deploy\``);
    case 'InvalidArn':
      return new CliError(`--state-machine ${arn} is not a state machine ARN (arn:aws:states:<region>:<account>:stateMachine:<name>)`);
    case 'ExecutionAlreadyExists':
      return new CliError(
        `a run named "${name}" already exists (names are unique for 90 days): pick another --name, or see it with \`botvault status ${name}\``,
      );
    case 'InvalidName':
      return new CliError(`--name "${name}" is not a valid execution name: ${(err as Error).message}`);
    case 'ExecutionLimitExceeded':
      return new CliError('too many running executions in this account and region: wait for some to finish');
    case 'StateMachineDeleting':
      return new CliError(`state machine ${arn} is being deleted`);
    default:
      return undefined;
  }
}

/** What followRun follows and where it finds the summary. */
interface FollowedRun {
  readonly executionArn: string;
  /** The execution name (= run id). */
  readonly name: string;
  /** The archive bucket: the manifest the summary comes from. */
  readonly bucket: string;
  readonly pollMs: number;
  readonly json: boolean;
  readonly region?: string;
  /** Checks the manifest's MAC before the summary uses it, as `status` does. */
  readonly auth: Authenticator;
}

/**
 * The live progress display for this stdout: a table redrawn in place on a
 * terminal, a line per change otherwise, none with --json (stdout is then the
 * JSON alone). `run --wait`, `status --wait` and `local` all draw with it.
 */
export function progressDisplay(json: boolean): Display {
  return json ? quietDisplay : process.stdout.isTTY ? terminalDisplay(process.stdout) : plainDisplay(process.stdout);
}

/**
 * Follows a started run to its end with live progress (`run --wait`,
 * `status RUN --wait`), then prints its summary from the run manifest.
 * Ctrl-C stops following, not the run. Exit code: 0 SUCCEEDED, 1 otherwise.
 */
export async function followRun(sfn: SFNClient, r: FollowedRun): Promise<number> {
  const display = progressDisplay(r.json);
  // Ctrl-C stops following, not the run: say so, and how to look at it later.
  const onInterrupt = () => {
    process.stderr.write(`\nbotvault: stopped following; run ${r.name} goes on. See it with: botvault status ${r.name}\n`);
    process.exit(130);
  };
  process.once('SIGINT', onInterrupt);
  let followed: Awaited<ReturnType<typeof follow>>;
  try {
    followed = await follow(sfn, r.executionArn, r.pollMs, display);
  } finally {
    process.off('SIGINT', onInterrupt);
  }
  const { progress, execution } = followed;
  const status = execution.status ?? 'UNKNOWN';

  const s3 = s3Client({ region: r.region });
  try {
    const key = progress.manifestKey ?? manifestKeyOf(r.name, execution.startDate ?? new Date());
    const manifest = await readManifest(s3, r.bucket, key, r.auth);
    if (r.json) {
      printJson({
        executionArn: r.executionArn,
        name: r.name,
        status,
        ...(execution.error ? { error: execution.error, cause: execution.cause } : {}),
        manifestKey: manifest ? key : undefined,
        manifest,
      });
    } else if (manifest) {
      const compact = onTerminal();
      printLines([
        ...formatJobLines(manifest.results, compact),
        ...formatRunSummary(`run ${r.name} ${status}`, manifest.counts, `s3://${r.bucket}/${key}`, compact),
      ]);
    } else {
      // Failed before Summarize (bad input, discovery could not list bots, ...): the execution's error is all there is.
      printLines([`run ${r.name} ${status} before writing a manifest: ${execution.error ?? 'Error'}: ${readableCause(execution.cause) ?? ''}`]);
    }
  } finally {
    s3.destroy();
  }
  return status === 'SUCCEEDED' ? 0 : 1;
}
