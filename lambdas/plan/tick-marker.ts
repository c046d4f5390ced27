/**
 * Idempotent schedule ticks. Scheduler delivers a tick at least once, and a
 * start whose reply was lost is retried, so one tick can start two
 * executions. Execution names cannot carry the tick (Scheduler's
 * `<aws.scheduler.scheduled-time>` contains ':', which names may not), so
 * Plan claims the tick instead: a conditional PutObject (`If-None-Match: *`)
 * of `ticks/<scheduled time>.json` succeeds for exactly one execution. Any
 * other execution of that tick finds the marker and ends (DuplicateTickError).
 * A retried Plan of the claiming execution finds its own run id in the marker
 * and goes on.
 *
 * A marker is a claim, not a proof: anyone who can write `ticks/` could plant
 * one naming a run that never existed, or last night's run, and the night
 * would silently back up nothing. So a marker counts only when its owner is
 * an execution of this same state machine, started for this very tick
 * (its input's `tickTime`), that is RUNNING or SUCCEEDED (Step Functions
 * DescribeExecution; the owner's ARN is this execution's own ARN with the
 * owner's name, so no marker can point the check anywhere else). Otherwise —
 * no such execution (ExecutionDoesNotExist), a name no execution can have, or
 * one that FAILED, TIMED_OUT, was ABORTED or waits for a redrive — this
 * execution takes the tick over with a conditional overwrite (`If-Match` the
 * marker it read, so of two takers one wins) and backs up.
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { DuplicateTickError, InvalidInputError } from '../../lib/core/errors';
import { logger } from '../../lib/core/logger';
import { TICK_PREFIX } from '../../lib/core/names';

/** Scheduler's scheduled time: `2024-05-17T03:00:00Z`. Anything else would make a key of its own choosing. */
const TICK_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;
/** A Step Functions execution name (1–80 characters; no whitespace, brackets, wildcards, ':' or other specials: StartExecution's `name`). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: execution names may not contain control characters.
const EXECUTION_NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]{1,80}$/;
/** The statuses with which an owner's claim stands (DescribeExecution `status`). */
const LIVE_OR_DONE = new Set(['RUNNING', 'SUCCEEDED']);
/** Conditional overwrites tried before giving up on a contested takeover. */
const TAKEOVER_ATTEMPTS = 3;

export interface TickMarkerDeps {
  readonly s3: S3Client;
  readonly bucket: string;
  /**
   * This execution's ARN (`$$.Execution.Id`), from which the owner's ARN is
   * made. @default - unknown: a marker of another run then counts unchecked
   */
  readonly executionArn?: string;
  /**
   * DescribeExecution's `status` and `input` of an execution ARN; undefined
   * when the execution does not exist (ExecutionDoesNotExist). Other failures
   * throw (Plan is retried; a check that cannot be made never skips a night).
   */
  readonly executionStatus?: (executionArn: string) => Promise<OwnerExecution | undefined>;
}

/** What DescribeExecution says about a marker's owner. */
export interface OwnerExecution {
  readonly status: string;
  /** The execution's input (JSON text), whose `tickTime` says which tick it was started for. */
  readonly input?: string;
}

interface TickMarker {
  runId: string;
  tickTime: string;
  claimedAt: string;
  /** The owner this execution took the tick from, and why. */
  takenOverFrom?: { runId: string; status: string };
}

export function tickMarkerKey(tickTime: string): string {
  if (!TICK_TIME.test(tickTime) || Number.isNaN(Date.parse(tickTime))) {
    throw new InvalidInputError(`input.tickTime: "${tickTime}" is not a schedule time such as "2024-05-17T03:00:00Z".`);
  }
  return `${TICK_PREFIX}${tickTime}.json`;
}

const httpStatus = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

/**
 * Claims `tickTime` for `runId`. Resolves when this run owns the tick (it
 * wrote the marker now or on an earlier attempt, or took it over from an
 * owner that is not running or done); throws DuplicateTickError naming the
 * owner when another live or successful execution claimed it first.
 */
export async function claimTick(
  tickTime: string,
  runId: string,
  deps: TickMarkerDeps,
  now: Date = new Date(),
): Promise<'claimed' | 'already-ours' | 'taken-over'> {
  const key = tickMarkerKey(tickTime);
  const marker: TickMarker = { runId, tickTime, claimedAt: now.toISOString() };
  const put = (body: TickMarker, condition: { IfNoneMatch: '*' } | { IfMatch: string }) =>
    deps.s3.send(new PutObjectCommand({ Bucket: deps.bucket, Key: key, Body: JSON.stringify(body), ContentType: 'application/json', ...condition }));
  try {
    await put(marker, { IfNoneMatch: '*' });
    return 'claimed';
  } catch (err) {
    // 412: the marker exists. (409 ConditionalRequestConflict — a concurrent claim still in flight — is left
    // to fail the attempt: Plan is retried, and by then the marker is there to read.)
    if (httpStatus(err) !== 412) throw err;
  }
  for (let attempt = 1; ; attempt++) {
    const existing = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: key }));
    let owner: string | undefined;
    try {
      owner = (JSON.parse((await existing.Body?.transformToString()) ?? '') as Partial<TickMarker>).runId;
    } catch {
      owner = undefined; // not JSON: no owner at all
    }
    if (owner === runId) return 'already-ours';
    const status = await ownerStatus(owner, tickTime, deps);
    if (status === 'unchecked' || LIVE_OR_DONE.has(status)) {
      throw new DuplicateTickError(
        `Schedule tick ${tickTime} was already started by execution ${owner ?? '(unknown)'}${status === 'unchecked' ? '' : ` (${status})`}; this execution backs up nothing.`,
      );
    }
    try {
      await put({ ...marker, takenOverFrom: { runId: String(owner ?? '(none)').slice(0, 100), status } }, { IfMatch: existing.ETag! });
      logger.warn('Schedule tick taken over: its marker names no execution that is running or succeeded', {
        runId,
        tickTime,
        markerOwner: String(owner ?? '(none)').slice(0, 100),
        ownerStatus: status,
      });
      return 'taken-over';
    } catch (err) {
      // Another execution changed the marker since it was read (412/409): read it again and judge its owner.
      if ((httpStatus(err) !== 412 && httpStatus(err) !== 409) || attempt >= TAKEOVER_ATTEMPTS) throw err;
    }
  }
}

/**
 * The owner's DescribeExecution status; NOT_FOUND for no such execution (or
 * a name none can have); OTHER_TICK for an execution that was not started
 * for this tick (any finished run's name, copied from an old marker or a
 * manifest key, would otherwise pass); `unchecked` without a way to ask.
 */
async function ownerStatus(owner: string | undefined, tickTime: string, deps: TickMarkerDeps): Promise<string> {
  if (typeof owner !== 'string' || !EXECUTION_NAME.test(owner)) return 'NOT_FOUND';
  const own = deps.executionArn?.split(':');
  // arn:<partition>:states:<region>:<account>:execution:<state machine>:<name>
  if (!deps.executionStatus || !own || own.length !== 8 || own[5] !== 'execution') return 'unchecked';
  const execution = await deps.executionStatus([...own.slice(0, 7), owner].join(':'));
  if (!execution) return 'NOT_FOUND';
  let input: { trigger?: unknown; tickTime?: unknown } = {};
  try {
    input = JSON.parse(execution.input ?? '{}') ?? {};
  } catch {
    // Not JSON: it cannot name this tick.
  }
  if (input.trigger !== 'schedule' || input.tickTime !== tickTime) return 'OTHER_TICK';
  return execution.status;
}

/** TickMarkerDeps.executionStatus through Step Functions DescribeExecution (Plan's role may call it on this state machine's executions only). */
export function describeExecutionStatus(sfn: SFNClient): (executionArn: string) => Promise<OwnerExecution | undefined> {
  return async (executionArn) => {
    try {
      const res = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return { status: res.status ?? 'UNKNOWN', ...(res.input !== undefined ? { input: res.input } : {}) };
    } catch (err) {
      if ((err as Error).name === 'ExecutionDoesNotExist') return undefined;
      throw err;
    }
  };
}
