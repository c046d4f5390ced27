/**
 * A run's live progress, rebuilt from Step Functions execution history.
 *
 * Every state of the per-job graph gets the job in its input (`$.job`, set by
 * the Map's ItemSelector and kept by every ResultPath), so a StateEntered
 * event names its job directly: no need to follow previousEventId chains
 * through interleaved Map iterations. Plan's output lists every job up front,
 * so jobs show as pending before their iteration starts.
 *
 * Pure: `RunProgress.record` takes one `ProgressEvent` and returns what
 * changed. Two sources come down to that shape: Step Functions history events
 * (`apply`, through `fromHistoryEvent`; run.ts fetches them) and the local
 * runner's aws-local-stepfunctions event logs (lib/cli/local.ts). run.ts draws.
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { States } from '../core/names';
import { formatTable } from './output';

type JobOutcome = 'SUCCEEDED' | 'UNCHANGED' | 'FAILED';

export interface JobProgress {
  readonly target: string;
  /** The state the job is in (a state name from backup-workflow.ts), or "Pending". */
  state: string;
  /** CheckExport calls so far. */
  polls: number;
  outcome?: JobOutcome;
  error?: string;
}

type ExecutionEnd = 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** The little RunProgress reads of an execution event; state inputs and outputs are parsed JSON. */
export type ProgressEvent = { readonly at?: Date } & (
  | { readonly kind: 'stateEntered'; readonly state: string; readonly input: unknown }
  | { readonly kind: 'taskExited'; readonly state: string; readonly output: unknown }
  | { readonly kind: 'executionEnded'; readonly status: ExecutionEnd; readonly output?: unknown }
);

export interface ProgressChange {
  readonly target?: string;
  /** When it happened (the history event's time, not when this poll saw it). */
  readonly at?: Date;
  /** A line for plain (non-terminal) output. */
  readonly line: string;
}

/** The step a job is in, as an operator says it; plain output prints a line when this changes. */
export function phaseOf(state: string): string {
  switch (state) {
    case 'Pending':
      return 'pending';
    case States.startExport:
      return 'starting export';
    case States.wait:
    case States.checkExport:
    case States.exportReady:
    // The Pass states that turn a failed or stuck export into the job's error lead straight to
    // JobFailed, whose line names the error: no line of their own.
    case States.exportFailed:
    case States.exportTimedOut:
      return 'exporting';
    case States.storeArchive:
      return 'storing archive';
    case States.cleanup:
      return 'cleaning up';
    case States.jobFailed:
      return 'failed';
    case States.jobSucceeded:
      return 'done';
    default:
      return state;
  }
}

function parseJson(text: string | undefined): Record<string, unknown> | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined; // truncated (over 256 KiB) or absent execution data: progress is best effort
  }
}

const FINAL_EVENTS = {
  ExecutionSucceeded: 'SUCCEEDED',
  ExecutionFailed: 'FAILED',
  ExecutionTimedOut: 'TIMED_OUT',
  ExecutionAborted: 'ABORTED',
} as const;

/** A Step Functions history event as RunProgress reads it; undefined for the events it has no use for. */
function fromHistoryEvent(event: HistoryEvent): ProgressEvent | undefined {
  const type = event.type ?? '';
  const at = event.timestamp;
  if (type.endsWith('StateEntered') && event.stateEnteredEventDetails) {
    const { name = '', input } = event.stateEnteredEventDetails;
    return { kind: 'stateEntered', state: name, input: parseJson(input), at };
  }
  if (type === 'TaskStateExited' && event.stateExitedEventDetails) {
    const { name = '', output } = event.stateExitedEventDetails;
    return { kind: 'taskExited', state: name, output: parseJson(output), at };
  }
  if (type in FINAL_EVENTS) {
    const status = FINAL_EVENTS[type as keyof typeof FINAL_EVENTS];
    return { kind: 'executionEnded', status, output: parseJson(event.executionSucceededEventDetails?.output), at };
  }
  return undefined;
}

const QUIET_RUN_STATES = new Set<string>([States.anyFailed, States.runFailed, States.runSucceeded]);

const isObject = (v: unknown): v is Record<string, unknown> => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

export class RunProgress {
  readonly jobs = new Map<string, JobProgress>();
  /** The top-level state the execution is in (Plan, BackUpEachTarget, Summarize, ...). */
  stage = 'Starting';
  /** Final execution status once the history says so. */
  status?: ExecutionEnd;
  /** The Summarize step's output: where the manifest is. */
  manifestKey?: string;
  /** Highest event id applied; the next history fetch asks only for newer ones. */
  lastEventId = 0;

  private job(target: string): JobProgress {
    let job = this.jobs.get(target);
    if (!job) {
      job = { target, state: 'Pending', polls: 0 };
      this.jobs.set(target, job);
    }
    return job;
  }

  /** Applies events (any order of pages, duplicates ignored) and returns the plain-output lines for what changed. */
  apply(events: readonly HistoryEvent[]): ProgressChange[] {
    const changes: ProgressChange[] = [];
    for (const event of [...events].sort((a, b) => (a.id ?? 0) - (b.id ?? 0))) {
      if ((event.id ?? 0) <= this.lastEventId) continue;
      this.lastEventId = event.id ?? this.lastEventId;
      const progressEvent = fromHistoryEvent(event);
      if (progressEvent) changes.push(...this.record(progressEvent));
    }
    return changes;
  }

  /** Applies one event and returns the plain-output lines for what changed. */
  record(event: ProgressEvent): ProgressChange[] {
    return this.recordOne(event).map((c) => ({ ...c, at: event.at }));
  }

  private recordOne(event: ProgressEvent): ProgressChange[] {
    if (event.kind === 'stateEntered') {
      const { state: name } = event;
      const data = isObject(event.input) ? event.input : undefined;
      const jobId = isObject(data?.job) && typeof data.job.id === 'string' ? data.job.id : undefined;
      if (!jobId) {
        if (name === this.stage) return [];
        this.stage = name;
        // The closing Choice and Succeed/Fail states add nothing to the "run: SUCCEEDED|FAILED" line that follows.
        return QUIET_RUN_STATES.has(name) ? [] : [{ line: `run: ${name}` }];
      }
      return this.enter(this.job(jobId), name, data!);
    }
    if (event.kind === 'taskExited') {
      const { state: name } = event;
      const data = isObject(event.output) ? event.output : undefined;
      if (name === States.plan && isObject(data?.plan) && Array.isArray(data.plan.jobs)) {
        const ids = data.plan.jobs.map((j) => (isObject(j) && typeof j.id === 'string' ? j.id : undefined)).filter((id): id is string => Boolean(id));
        for (const id of ids) this.job(id);
        return [{ line: `run: ${ids.length} job${ids.length === 1 ? '' : 's'} planned` }];
      }
      if (name === States.summarize && isObject(data?.summary) && typeof data.summary.manifestKey === 'string')
        this.manifestKey = data.summary.manifestKey;
      return [];
    }
    this.status = event.status;
    if (isObject(event.output) && typeof event.output.manifestKey === 'string') this.manifestKey ??= event.output.manifestKey;
    return [{ line: `run: ${this.status}` }];
  }

  private enter(job: JobProgress, state: string, input: Record<string, unknown>): ProgressChange[] {
    const before = phaseOf(job.state);
    job.state = state;
    if (state === States.checkExport) job.polls += 1;
    if (state === States.jobSucceeded) {
      const status = isObject(input.result) ? input.result.status : undefined;
      job.outcome = status === 'UNCHANGED' ? 'UNCHANGED' : 'SUCCEEDED';
    }
    if (state === States.jobFailed) {
      job.outcome = 'FAILED';
      const error = isObject(input.error) ? input.error.Error : undefined;
      if (typeof error === 'string') job.error = error;
    }
    const after = job.outcome ?? phaseOf(state);
    if (after === before) return [];
    return [{ target: job.target, line: `${job.target}: ${after}${job.error ? ` (${job.error})` : ''}` }];
  }

  /** Counts for the table's footer. */
  counts(): { total: number; done: number; failed: number } {
    const all = [...this.jobs.values()];
    return { total: all.length, done: all.filter((j) => j.outcome).length, failed: all.filter((j) => j.outcome === 'FAILED').length };
  }

  /** The table a terminal redraws in place: one row per job, plus a status line. */
  render(maxRows = Number.POSITIVE_INFINITY): string[] {
    const all = [...this.jobs.values()];
    const shown = all.length > maxRows ? all.slice(0, Math.max(1, maxRows)) : all;
    const rows = shown.map((j) => [j.target, j.outcome ? `${j.outcome}${j.error ? ` ${j.error}` : ''}` : j.state, String(j.polls)]);
    const c = this.counts();
    const lines = all.length ? formatTable(['TARGET', 'STATE', 'POLLS'], rows, [2]) : [];
    if (shown.length < all.length) lines.push(`... and ${all.length - shown.length} more`);
    lines.push(`${this.status ?? this.stage}: ${c.done} of ${c.total} jobs done${c.failed ? `, ${c.failed} failed` : ''}`);
    return lines;
  }
}
