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
 */
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DuplicateTickError, InvalidInputError } from '../../lib/core/errors';
import { TICK_PREFIX } from '../../lib/core/names';

/** Scheduler's scheduled time: `2024-05-17T03:00:00Z`. Anything else would make a key of its own choosing. */
const TICK_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;

export interface TickMarkerDeps {
  readonly s3: S3Client;
  readonly bucket: string;
}

interface TickMarker {
  runId: string;
  tickTime: string;
  claimedAt: string;
}

export function tickMarkerKey(tickTime: string): string {
  if (!TICK_TIME.test(tickTime) || Number.isNaN(Date.parse(tickTime))) {
    throw new InvalidInputError(`input.tickTime: "${tickTime}" is not a schedule time such as "2024-05-17T03:00:00Z".`);
  }
  return `${TICK_PREFIX}${tickTime}.json`;
}

/**
 * Claims `tickTime` for `runId`. Resolves when this run owns the tick (it
 * wrote the marker now or on an earlier attempt); throws DuplicateTickError
 * naming the owner when another execution claimed it first.
 */
export async function claimTick(tickTime: string, runId: string, deps: TickMarkerDeps, now: Date = new Date()): Promise<'claimed' | 'already-ours'> {
  const key = tickMarkerKey(tickTime);
  const marker: TickMarker = { runId, tickTime, claimedAt: now.toISOString() };
  try {
    await deps.s3.send(
      new PutObjectCommand({ Bucket: deps.bucket, Key: key, Body: JSON.stringify(marker), ContentType: 'application/json', IfNoneMatch: '*' }),
    );
    return 'claimed';
  } catch (err) {
    // 412: the marker exists. (409 ConditionalRequestConflict — a concurrent claim still in flight — is left
    // to fail the attempt: Plan is retried, and by then the marker is there to read.)
    if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 412) throw err;
  }
  const existing = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: key }));
  const owner = (JSON.parse((await existing.Body?.transformToString()) ?? '{}') as Partial<TickMarker>).runId;
  if (owner === runId) return 'already-ours';
  throw new DuplicateTickError(
    `Schedule tick ${tickTime} was already started by execution ${owner ?? '(unknown)'}; this execution backs up nothing.`,
  );
}
