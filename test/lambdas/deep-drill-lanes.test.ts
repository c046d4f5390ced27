/**
 * The deep drill's scheduling (lambdas/deep-drill/deep-drill.ts drillInLanes): an
 * archive whose turn comes at or after the steps' deadline is not started —
 * nothing of it is read or imported — and is handed to `skip`, to be
 * reported as not drilled.
 */
import { describe, expect, it } from 'vitest';
import { drillInLanes } from '../../lambdas/deep-drill/deep-drill';

describe('deep drill lanes and the deadline', () => {
  it('archives whose turn comes after the deadline are skipped, not started; a lane keeps its order', async () => {
    let clock = 0;
    const started: string[] = [];
    const skipped: string[] = [];
    // Each archive takes 30 "seconds"; the deadline is at 100: two lanes, one at a time (b2 would start at 120).
    await drillInLanes(
      [
        ['a1', 'a2', 'a3'],
        ['b1', 'b2', 'b3'],
      ],
      1,
      100,
      () => clock,
      async (item) => {
        started.push(item);
        await Promise.resolve();
        clock += 30;
      },
      (item) => skipped.push(item),
    );
    expect(started).toEqual(['a1', 'a2', 'a3', 'b1']);
    expect(skipped).toEqual(['b2', 'b3']);
  });
});
