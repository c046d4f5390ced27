import { describe, expect, it } from 'vitest';
import { firstPoll, nextPoll, waitBeforeCheck } from '../../lambdas/shared/polling';
import type { ExportState } from '../../lib/core/contracts';
import { pollingSchema } from '../../lib/core/schemas';

const ref = { exportId: 'EXP1' };

/** Runs the state machine's loop on paper: check until not (IN_PROGRESS and within budget). */
function simulate(polling: ReturnType<typeof pollingSchema.parse>, finishAfterChecks = Infinity) {
  let state = firstPoll(ref, polling);
  const waits: number[] = [];
  for (;;) {
    waits.push(state.waitSeconds);
    state = nextPoll(state, { status: state.polls + 1 >= finishAfterChecks ? 'READY' : 'IN_PROGRESS' }, polling);
    if (state.status !== 'IN_PROGRESS' || !state.withinBudget) return { state, waits };
  }
}

describe('polling schedule', () => {
  it('starts at firstWaitSeconds with nothing waited and no checks made', () => {
    const polling = pollingSchema.parse({ firstWaitSeconds: 15 });
    expect(firstPoll(ref, polling, 1_000)).toEqual({
      ref,
      status: 'IN_PROGRESS',
      polls: 0,
      waitSeconds: 15,
      waitedSeconds: 0,
      withinBudget: true,
      startedAt: 1_000,
    });
  });

  it('with the elapsed clock (local --fast), the budget is the time that passed since the export started, however many checks', () => {
    const polling = pollingSchema.parse({ firstWaitSeconds: 10, backoffFactor: 1, maxWaitSeconds: 10, budgetSeconds: 30 });
    let state = firstPoll(ref, polling, 0);
    // Fifty checks in 2.5 s: scheduled, that is 500 s of waiting, far past the budget; elapsed, 2 s.
    for (let i = 1; i <= 50; i++) state = nextPoll(state, { status: 'IN_PROGRESS' }, polling, { kind: 'elapsed', now: i * 50 });
    expect(state).toMatchObject({ polls: 50, waitedSeconds: 2, withinBudget: true, startedAt: 0 });
    expect(nextPoll(state, { status: 'IN_PROGRESS' }, polling, { kind: 'elapsed', now: 30_000 })).toMatchObject({
      waitedSeconds: 30,
      withinBudget: false,
    });
    // The same checks on the scheduled clock (deployed runs): out of budget after three.
    let scheduled = firstPoll(ref, polling, 0);
    for (let i = 1; i <= 3; i++) scheduled = nextPoll(scheduled, { status: 'IN_PROGRESS' }, polling);
    expect(scheduled).toMatchObject({ polls: 3, waitedSeconds: 30, withinBudget: false });
  });

  it('backs off by the factor, caps at maxWaitSeconds and times out when the next wait would exceed the budget', () => {
    const polling = pollingSchema.parse({ firstWaitSeconds: 10, backoffFactor: 2, maxWaitSeconds: 40, budgetSeconds: 140 });
    const { state, waits } = simulate(polling);
    expect(waits).toEqual([10, 20, 40, 40]);
    expect(state).toMatchObject({ status: 'IN_PROGRESS', polls: 4, waitedSeconds: 110, waitSeconds: 40, withinBudget: false });
  });

  it('a wait that lands exactly on the budget is still within it', () => {
    const polling = pollingSchema.parse({ firstWaitSeconds: 10, backoffFactor: 1, maxWaitSeconds: 10, budgetSeconds: 30 });
    const { state, waits } = simulate(polling);
    expect(waits).toEqual([10, 10, 10]);
    expect(state.waitedSeconds).toBe(30);
    expect(state.withinBudget).toBe(false);
  });

  it('rounds fractional backoff to whole seconds without accumulating rounding error', () => {
    const polling = pollingSchema.parse({ firstWaitSeconds: 3, backoffFactor: 1.5, maxWaitSeconds: 3600, budgetSeconds: 86_400 });
    expect([0, 1, 2, 3, 4, 5].map((n) => waitBeforeCheck(n, polling))).toEqual([3, 5, 7, 10, 15, 23]);
    for (let n = 0; n < 12; n++) expect(Number.isInteger(waitBeforeCheck(n, polling))).toBe(true);
  });

  it('waitedSeconds is the sum of the waits actually scheduled', () => {
    const polling = pollingSchema.parse({ firstWaitSeconds: 7, backoffFactor: 1.7, maxWaitSeconds: 50, budgetSeconds: 600 });
    const { state, waits } = simulate(polling);
    expect(state.waitedSeconds).toBe(waits.reduce((a, b) => a + b, 0));
    expect(state.polls).toBe(waits.length);
    expect(state.waitedSeconds + state.waitSeconds).toBeGreaterThan(600);
  });

  it('stops on READY and carries the ref', () => {
    const polling = pollingSchema.parse({});
    const { state } = simulate(polling, 3);
    expect(state).toMatchObject({ ref, status: 'READY', polls: 3, withinBudget: true });
    expect(state.reasons).toBeUndefined();
  });

  it('FAILED keeps the provider reasons, or says none were given', () => {
    const polling = pollingSchema.parse({});
    const start: ExportState = firstPoll(ref, polling);
    expect(nextPoll(start, { status: 'FAILED', reasons: ['locale not built'] }, polling).reasons).toEqual(['locale not built']);
    expect(nextPoll(start, { status: 'FAILED' }, polling).reasons).toEqual(['the provider gave no reason']);
  });

  it('a first wait longer than the budget is reported as outside it', () => {
    const polling = pollingSchema.parse({ firstWaitSeconds: 60, maxWaitSeconds: 60, budgetSeconds: 30 });
    expect(firstPoll(ref, polling).withinBudget).toBe(false);
  });
});
