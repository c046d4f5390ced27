/**
 * Live progress from execution history: events in the shapes GetExecutionHistory
 * returns, interleaved the way concurrent Map iterations interleave them.
 */
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { States } from '../../lib/core/names';
import { RunProgress, phaseOf } from '../../lib/cli/progress';

let nextId = 1;
const ev = (type: string, details: Partial<HistoryEvent> = {}): HistoryEvent => ({
  id: nextId++,
  type: type as HistoryEvent['type'],
  timestamp: new Date(),
  ...details,
});
const entered = (name: string, input: unknown, kind = 'Task') =>
  ev(`${kind}StateEntered`, { stateEnteredEventDetails: { name, input: JSON.stringify(input) } });
const job = (id: string) => ({ job: { id, provider: 'lex', key: `k/${id}`, spec: {} }, runId: 'r1' });

function history(): HistoryEvent[] {
  nextId = 1;
  const a = 'lex:ALPHABOT01:DRAFT';
  const b = 'lex:BRAVOBOT02:DRAFT';
  return [
    ev('ExecutionStarted', { executionStartedEventDetails: { input: '{"trigger":"manual"}' } }),
    entered(States.plan, { trigger: 'manual' }),
    ev('TaskStateExited', {
      stateExitedEventDetails: { name: States.plan, output: JSON.stringify({ plan: { runId: 'r1', jobs: [job(a).job, job(b).job] } }) },
    }),
    entered(States.map, {}, 'Map'),
    ev('MapIterationStarted', { mapIterationStartedEventDetails: { name: States.map, index: 0 } }),
    ev('MapIterationStarted', { mapIterationStartedEventDetails: { name: States.map, index: 1 } }),
    entered(States.startExport, job(a)),
    entered(States.startExport, job(b)),
    entered(States.wait, job(a), 'Wait'),
    entered(States.checkExport, job(a)),
    entered(States.wait, job(b), 'Wait'),
    entered(States.checkExport, job(b)),
    entered(States.exportFailed, { ...job(b), export: { status: 'FAILED' } }, 'Pass'),
    entered(States.jobFailed, { ...job(b), error: { Error: 'ExportFailedError', Cause: 'not built' } }, 'Pass'),
    entered(States.wait, job(a), 'Wait'),
    entered(States.checkExport, job(a)),
    entered(States.storeArchive, job(a)),
    entered(States.cleanup, job(a)),
    entered(States.jobSucceeded, { ...job(a), result: { status: 'UNCHANGED' } }, 'Pass'),
    entered(States.summarize, { plan: {} }),
    ev('TaskStateExited', {
      stateExitedEventDetails: { name: States.summarize, output: JSON.stringify({ summary: { manifestKey: 'runs/2024/05/17/r1.json' } }) },
    }),
    entered(States.anyFailed, { summary: { failed: 1 } }, 'Choice'),
    entered(States.runFailed, { summary: { failed: 1 } }, 'Fail'),
    ev('ExecutionFailed', { executionFailedEventDetails: { error: 'BackupJobsFailed', cause: '1 of 2 failed' } }),
  ];
}

describe('RunProgress', () => {
  it('tracks each job through its states from interleaved iteration events', () => {
    const p = new RunProgress();
    p.apply(history());
    expect([...p.jobs.values()]).toEqual([
      { target: 'lex:ALPHABOT01:DRAFT', state: States.jobSucceeded, polls: 2, outcome: 'UNCHANGED' },
      { target: 'lex:BRAVOBOT02:DRAFT', state: States.jobFailed, polls: 1, outcome: 'FAILED', error: 'ExportFailedError' },
    ]);
    expect(p.status).toBe('FAILED');
    expect(p.manifestKey).toBe('runs/2024/05/17/r1.json');
    expect(p.counts()).toEqual({ total: 2, done: 2, failed: 1 });
  });

  it('lists planned jobs as pending before their iteration starts', () => {
    const p = new RunProgress();
    p.apply(history().slice(0, 3));
    expect([...p.jobs.values()].map((j) => [j.target, j.state])).toEqual([
      ['lex:ALPHABOT01:DRAFT', 'Pending'],
      ['lex:BRAVOBOT02:DRAFT', 'Pending'],
    ]);
  });

  it('plain output: one line per phase change, not one per poll', () => {
    const lines = new RunProgress().apply(history()).map((c) => c.line);
    expect(lines.filter((l) => l.startsWith('lex:ALPHABOT01:DRAFT'))).toEqual([
      'lex:ALPHABOT01:DRAFT: starting export',
      'lex:ALPHABOT01:DRAFT: exporting',
      'lex:ALPHABOT01:DRAFT: storing archive',
      'lex:ALPHABOT01:DRAFT: cleaning up',
      'lex:ALPHABOT01:DRAFT: UNCHANGED',
    ]);
    expect(lines.filter((l) => l.startsWith('lex:BRAVOBOT02:DRAFT'))).toEqual([
      'lex:BRAVOBOT02:DRAFT: starting export',
      'lex:BRAVOBOT02:DRAFT: exporting',
      'lex:BRAVOBOT02:DRAFT: FAILED (ExportFailedError)',
    ]);
    expect(lines).toContain('run: 2 jobs planned');
    expect(lines.filter((l) => l.startsWith('run:'))).toEqual([
      'run: Plan',
      'run: 2 jobs planned',
      'run: BackUpEachTarget',
      'run: Summarize',
      'run: FAILED',
    ]);
  });

  it('dates each change by its event, not by when the poll saw it', () => {
    const events = history();
    events.forEach((e, i) => (e.timestamp = new Date(Date.UTC(2024, 4, 17, 3, 0, i))));
    const changes = new RunProgress().apply(events);
    const failed = changes.find((c) => c.line === 'lex:BRAVOBOT02:DRAFT: FAILED (ExportFailedError)');
    expect(failed?.at?.toISOString()).toBe('2024-05-17T03:00:13.000Z');
  });

  it('applies pages in any order and ignores events it has already seen', () => {
    const all = history();
    const p = new RunProgress();
    p.apply(all.slice(10).reverse());
    // Older events arriving after newer ones are dropped: the poll cursor only moves forward.
    expect(p.lastEventId).toBe(all.length);
    expect(p.apply(all)).toEqual([]);

    const q = new RunProgress();
    q.apply(all.slice(0, 12));
    q.apply(all.slice(8, 16)); // overlap
    q.apply(all.slice(16));
    const fresh = new RunProgress();
    fresh.apply(all);
    expect([...q.jobs.values()]).toEqual([...fresh.jobs.values()]);
  });

  it('renders a table with a status line, capped to the rows a terminal has', () => {
    const p = new RunProgress();
    p.apply(history());
    expect(p.render()).toEqual([
      'TARGET                STATE                     POLLS',
      'lex:ALPHABOT01:DRAFT  UNCHANGED                     2',
      'lex:BRAVOBOT02:DRAFT  FAILED ExportFailedError      1',
      'FAILED: 2 of 2 jobs done, 1 failed',
    ]);
    expect(p.render(1)).toEqual([
      'TARGET                STATE      POLLS',
      'lex:ALPHABOT01:DRAFT  UNCHANGED      2',
      '... and 1 more',
      'FAILED: 2 of 2 jobs done, 1 failed',
    ]);
  });

  it('survives events without execution data (includeExecutionData=false, truncated input)', () => {
    nextId = 100;
    const p = new RunProgress();
    const changes = p.apply([
      ev('TaskStateEntered', { stateEnteredEventDetails: { name: States.plan } }),
      ev('TaskStateEntered', { stateEnteredEventDetails: { name: States.startExport, input: '{"job":' } }),
    ]);
    expect(p.jobs.size).toBe(0);
    expect(changes.map((c) => c.line)).toEqual(['run: Plan', 'run: StartExport']);
  });
});

describe('phaseOf', () => {
  it('folds the polling loop into one phase', () => {
    expect([States.wait, States.checkExport, States.exportReady].map(phaseOf)).toEqual(['exporting', 'exporting', 'exporting']);
    // A failed export's own Pass state leads straight to JobFailed, whose line carries the error.
    expect(phaseOf(States.exportTimedOut)).toBe('exporting');
    expect(phaseOf(States.jobFailed)).toBe('failed');
  });
});
