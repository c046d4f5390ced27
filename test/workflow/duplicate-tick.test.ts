/**
 * A repeated schedule tick, end to end: the synthesized definition run twice
 * with the same `tickTime` (as a repeated Scheduler delivery would start it),
 * every Task bound to its real handler, against the Lex V2 simulator and an
 * S3-compatible server that honours conditional writes.
 */
import { describe, expect, it } from 'vitest';
import { States } from '../../lib/constructs/backup-workflow';
import type { EventLog } from '../../lib/local/runner';
import { harnessPerTest } from './harness';

const BOTS = [{ botId: 'ALPHABOT01', botName: 'Alpha', versions: [], locales: ['en_US'], intents: ['Greet'] }];
const TARGETS = [{ provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' }];
const TICK = '2024-05-17T03:00:00Z';

const harness = harnessPerTest();

describe('a repeated schedule tick', () => {
  it('the first execution backs up; a second one for the same tick stops in Plan and ends SUCCEEDED without exporting or writing a manifest', async () => {
    const h = await harness({ bots: BOTS });
    const config = h.config({ targets: TARGETS });

    const first = await h.run(config, { runId: 'schedule-first', input: { trigger: 'schedule', tickTime: TICK } });
    expect(first.status).toBe('SUCCEEDED');
    expect(first.manifest?.counts).toMatchObject({ total: 1, failed: 0 });
    const creates = () => h.lex.calls.filter((c) => c.op === 'CreateExport').length;
    const exportsAfterFirst = creates();
    expect(exportsAfterFirst).toBe(1);

    const second = await h.run(config, { runId: 'schedule-second', input: { trigger: 'schedule', tickTime: TICK } });
    expect(second.status).toBe('SUCCEEDED');
    expect(second.manifest).toBeUndefined();
    const entered = second.events.flatMap((e) => (e.type === 'StateEntered' ? [(e as Extract<EventLog, { type: 'StateEntered' }>).state.name] : []));
    expect(entered).toEqual([States.plan, States.duplicateTick]);
    expect(creates()).toBe(exportsAfterFirst);

    expect((await h.keys('runs/')).filter((k) => k.includes('schedule-second'))).toEqual([]);
    expect(await h.keys('ticks/')).toEqual([`ticks/${TICK}.json`]);
    const marker = await h.object(`ticks/${TICK}.json`);
    expect(JSON.parse(marker!.body.toString('utf8'))).toMatchObject({ runId: 'schedule-first', tickTime: TICK });
  });

  it('the next tick runs normally; manual runs leave no marker', async () => {
    const h = await harness({ bots: BOTS });
    const config = h.config({ targets: TARGETS });
    expect((await h.run(config, { runId: 'night-1', input: { trigger: 'schedule', tickTime: TICK } })).status).toBe('SUCCEEDED');
    const next = await h.run(config, { runId: 'night-2', input: { trigger: 'schedule', tickTime: '2024-05-18T03:00:00Z' } });
    expect(next.status).toBe('SUCCEEDED');
    expect(next.manifest?.counts.total).toBe(1);
    const manual = await h.run(config, { runId: 'manual-1', input: { trigger: 'manual' } });
    expect(manual.status).toBe('SUCCEEDED');
    expect(await h.keys('ticks/')).toEqual([`ticks/${TICK}.json`, 'ticks/2024-05-18T03:00:00Z.json']);
  });
});
