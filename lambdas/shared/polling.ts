/**
 * The polling schedule between StartExport and CheckExport, as pure functions
 * of the previous state. The Wait state reads `waitSeconds`; the Choice state
 * reads `status` and `withinBudget`.
 *
 * The budget is counted in *scheduled* wait seconds, not wall-clock time: a
 * local run that shortens every Wait to milliseconds then makes exactly the
 * same number of checks and the same timeout decision as a real run.
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
export function firstPoll(ref: ExportRef, polling: PollingConfig): ExportState {
  const waitSeconds = waitBeforeCheck(0, polling);
  return {
    ref,
    status: 'IN_PROGRESS',
    polls: 0,
    waitSeconds,
    waitedSeconds: 0,
    withinBudget: waitSeconds <= polling.budgetSeconds,
  };
}

/**
 * The state after one more status check. `state.waitSeconds` is the wait that
 * just happened before this check, so it is added to `waitedSeconds`.
 */
export function nextPoll(state: ExportState, check: CheckResult, polling: PollingConfig): ExportState {
  const polls = state.polls + 1;
  const waitedSeconds = state.waitedSeconds + state.waitSeconds;
  const waitSeconds = waitBeforeCheck(polls, polling);
  const next: ExportState = {
    ref: state.ref,
    status: check.status,
    polls,
    waitSeconds,
    waitedSeconds,
    withinBudget: waitedSeconds + waitSeconds <= polling.budgetSeconds,
  };
  if (check.status === 'FAILED') next.reasons = check.reasons?.length ? check.reasons : ['the provider gave no reason'];
  return next;
}
