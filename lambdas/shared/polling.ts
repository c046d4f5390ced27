/**
 * The polling schedule between StartExport and CheckExport, as pure functions
 * of the previous state. The Wait state reads `waitSeconds`; the Choice state
 * reads `status` and `withinBudget`.
 *
 * The budget is counted in *scheduled* wait seconds, not wall-clock time: a
 * local run that shortens every Wait to milliseconds then makes exactly the
 * same number of checks and the same timeout decision as a real run. Under
 * `botvault local --fast` (the runner's `deadline: 'elapsed'`) it counts the
 * time that really passed since the export started instead: the waits are
 * milliseconds there, and a simulated export that takes seconds must not
 * time out after a second of "1800 s" of polling.
 */
import type { ExportRef, ExportState } from '../../lib/core/contracts';
import type { CheckResult } from '../../lib/providers/types';
import type { PollingConfig } from '../../lib/core/schemas';

/**
 * Seconds of the wait before check number `polls + 1`: firstWaitSeconds ×
 * backoffFactor^polls, capped at maxWaitSeconds, rounded to whole seconds
 * (Step Functions' SecondsPath needs an integer). Computed from the poll count
 * rather than the previous wait so rounding never accumulates.
 */
export function waitBeforeCheck(polls: number, polling: PollingConfig): number {
  const raw = polling.firstWaitSeconds * polling.backoffFactor ** polls;
  return Math.max(1, Math.min(polling.maxWaitSeconds, Math.round(raw)));
}

/** The state right after the export was started: nothing checked, nothing waited yet. */
export function firstPoll(ref: ExportRef, polling: PollingConfig, now = Date.now()): ExportState {
  const waitSeconds = waitBeforeCheck(0, polling);
  return {
    ref,
    status: 'IN_PROGRESS',
    polls: 0,
    waitSeconds,
    waitedSeconds: 0,
    withinBudget: waitSeconds <= polling.budgetSeconds,
    startedAt: now,
  };
}

/** How the budget is counted: scheduled wait seconds (deployed), or elapsed time since the export started (`local --fast`). */
export type DeadlineClock = { readonly kind: 'scheduled' } | { readonly kind: 'elapsed'; readonly now: number };

/**
 * The state after one more status check. `state.waitSeconds` is the wait that
 * just happened before this check, so it is added to `waitedSeconds`.
 */
export function nextPoll(state: ExportState, check: CheckResult, polling: PollingConfig, clock: DeadlineClock = { kind: 'scheduled' }): ExportState {
  const polls = state.polls + 1;
  const waitSeconds = waitBeforeCheck(polls, polling);
  const elapsed = clock.kind === 'elapsed' && state.startedAt !== undefined;
  const elapsedMs = elapsed ? Math.max(0, clock.now - state.startedAt!) : 0;
  const waitedSeconds = elapsed ? Math.floor(elapsedMs / 1000) : state.waitedSeconds + state.waitSeconds;
  const next: ExportState = {
    ref: state.ref,
    status: check.status,
    polls,
    waitSeconds,
    waitedSeconds,
    // Elapsed: the next wait is whatever the runner makes it (milliseconds), so only the time passed counts.
    withinBudget: elapsed ? elapsedMs < polling.budgetSeconds * 1000 : waitedSeconds + waitSeconds <= polling.budgetSeconds,
    ...(state.startedAt !== undefined ? { startedAt: state.startedAt } : {}),
  };
  if (check.status === 'FAILED') next.reasons = check.reasons?.length ? check.reasons : ['the provider gave no reason'];
  return next;
}
