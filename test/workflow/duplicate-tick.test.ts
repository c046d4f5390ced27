/**
 * Schedule ticks, end to end: executions of the synthesized definition
 * started through the Step Functions simulator's StartExecution (as
 * Scheduler starts them), every Task bound to its real handler, against the
 * Lex V2 simulator and an S3-compatible server that honours conditional
 * writes. Plan's check of a tick marker's owner (lambdas/plan/tick-marker.ts)
 * is a real DescribeExecution against the same simulator.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterEach, describe, expect, it } from 'vitest';
import { States } from '../../lib/constructs/backup-workflow';
import { type SfnSimulator, startSfnSimulator } from '../simulators/sfn-simulator';
import { type Harness, harnessPerTest } from './harness';

const BOTS = [{ botId: 'ALPHABOT01', botName: 'Alpha', versions: [], locales: ['en_US'], intents: ['Greet'] }];
const TARGETS = [{ provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' }];
const TICK = '2024-05-17T03:00:00Z';

const harness = harnessPerTest();
let sims: SfnSimulator[] = [];
const sim = () => sims[sims.length - 1]!;
afterEach(async () => {
  for (const s of sims) await s.close();
  sims = [];
  delete process.env.AWS_ENDPOINT_URL_SFN;
});

/** The harness plus a Step Functions simulator running its config; Plan's SFN client is pointed at it. */
async function setUp(): Promise<{ h: Harness; start: (name: string, input: Record<string, unknown>) => Promise<Ended> }> {
  const h = await harness({ bots: BOTS });
  const config = h.config({ targets: TARGETS });
  const sim = await startSfnSimulator({ config, bucket: h.bucket });
  sims.push(sim);
  process.env.AWS_ENDPOINT_URL_SFN = sim.url;
  const sfn = new SFNClient({ endpoint: sim.url, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  return {
    h,
    async start(name, input) {
      const { executionArn } = await sfn.send(
        new StartExecutionCommand({ stateMachineArn: sim.stateMachineArn, name, input: JSON.stringify(input) }),
      );
      const execution = sim.executions.get(executionArn!)!;
      await execution.finished;
      const entered = execution.history.flatMap((e) => {
        const details = e.stateEnteredEventDetails as { name?: string } | undefined;
        return details?.name ? [details.name] : [];
      });
      return { status: execution.status, entered };
    },
  };
}

interface Ended {
  status: string;
  entered: string[];
}

const marker = async (h: Harness) => JSON.parse((await h.object(`ticks/${TICK}.json`))!.body.toString('utf8')) as Record<string, unknown>;
const creates = (h: Harness) => h.lex.calls.filter((c) => c.op === 'CreateExport').length;

describe('schedule ticks', () => {
  it('the first execution backs up; a second one for the same tick (its owner SUCCEEDED) stops in Plan and ends SUCCEEDED without exporting', async () => {
    const { h, start } = await setUp();
    const first = await start('schedule-first', { trigger: 'schedule', tickTime: TICK });
    expect(first.status).toBe('SUCCEEDED');
    expect(creates(h)).toBe(1);

    const second = await start('schedule-second', { trigger: 'schedule', tickTime: TICK });
    expect(second.status).toBe('SUCCEEDED');
    expect(second.entered).toEqual([States.plan, States.duplicateTick]);
    expect(creates(h)).toBe(1);
    expect((await h.keys('runs/')).filter((k) => k.includes('schedule-second'))).toEqual([]);
    expect(await h.keys('ticks/')).toEqual([`ticks/${TICK}.json`]);
    expect(await marker(h)).toMatchObject({ runId: 'schedule-first', tickTime: TICK });
  });

  it('a planted marker naming a run that never existed does not skip the night: Plan takes the tick over and backs up', async () => {
    const { h, start } = await setUp();
    const planted = { runId: 'ghost-run-that-never-existed', tickTime: TICK, claimedAt: '2024-05-17T02:59:00.000Z' };
    await h.s3.send(new PutObjectCommand({ Bucket: h.bucket, Key: `ticks/${TICK}.json`, Body: JSON.stringify(planted) }));

    const night = await start('schedule-night', { trigger: 'schedule', tickTime: TICK });
    expect(night.status).toBe('SUCCEEDED');
    expect(night.entered).not.toContain(States.duplicateTick);
    expect(creates(h)).toBe(1);
    expect((await h.keys('runs/')).some((k) => k.includes('schedule-night'))).toBe(true);
    expect(await marker(h)).toMatchObject({
      runId: 'schedule-night',
      takenOverFrom: { runId: 'ghost-run-that-never-existed', status: 'NOT_FOUND' },
    });
    // The owner was looked up among this state machine's executions, and found missing.
    expect(sim().calls).toContain('DescribeExecution');
  });

  it("a marker that names something no execution can be called (another state machine's ARN parts) is taken over too", async () => {
    const { h, start } = await setUp();
    await h.s3.send(new PutObjectCommand({ Bucket: h.bucket, Key: `ticks/${TICK}.json`, Body: '{"runId":"../../other:machine:x"}' }));
    expect((await start('schedule-a', { trigger: 'schedule', tickTime: TICK })).status).toBe('SUCCEEDED');
    expect(await marker(h)).toMatchObject({ runId: 'schedule-a', takenOverFrom: { status: 'NOT_FOUND' } });
    expect(creates(h)).toBe(1);
  });

  it("a marker naming last night's successful run (copied from an old marker) does not skip tonight: taken over, backed up", async () => {
    const { h, start } = await setUp();
    expect((await start('night-before', { trigger: 'schedule', tickTime: '2024-05-16T03:00:00Z' })).status).toBe('SUCCEEDED');
    const copied = { runId: 'night-before', tickTime: TICK, claimedAt: '2024-05-17T02:59:00.000Z' };
    await h.s3.send(new PutObjectCommand({ Bucket: h.bucket, Key: `ticks/${TICK}.json`, Body: JSON.stringify(copied) }));
    const tonight = await start('tonight', { trigger: 'schedule', tickTime: TICK });
    expect(tonight.status).toBe('SUCCEEDED');
    expect(tonight.entered).not.toContain(States.duplicateTick);
    expect(creates(h)).toBe(2);
    expect(await marker(h)).toMatchObject({ runId: 'tonight', takenOverFrom: { runId: 'night-before', status: 'OTHER_TICK' } });
  });

  it('a tick whose owner FAILED is taken over by the repeated delivery, which backs up', async () => {
    const { h, start } = await setUp();
    h.lex.setFaults('ALPHABOT01', { failExport: ['not built'] });
    expect((await start('schedule-failed', { trigger: 'schedule', tickTime: TICK })).status).toBe('FAILED');
    h.lex.setFaults('ALPHABOT01', {});
    const retry = await start('schedule-retry', { trigger: 'schedule', tickTime: TICK });
    expect(retry.status).toBe('SUCCEEDED');
    expect(await marker(h)).toMatchObject({ runId: 'schedule-retry', takenOverFrom: { runId: 'schedule-failed', status: 'FAILED' } });
    expect((await h.keys('lex/')).length).toBeGreaterThan(0);
  });

  it('the next tick runs normally; manual runs leave no marker', async () => {
    const { h, start } = await setUp();
    expect((await start('night-1', { trigger: 'schedule', tickTime: TICK })).status).toBe('SUCCEEDED');
    expect((await start('night-2', { trigger: 'schedule', tickTime: '2024-05-18T03:00:00Z' })).status).toBe('SUCCEEDED');
    expect(creates(h)).toBe(2);
    expect((await start('manual-1', { trigger: 'manual' })).status).toBe('SUCCEEDED');
    expect(await h.keys('ticks/')).toEqual([`ticks/${TICK}.json`, 'ticks/2024-05-18T03:00:00Z.json']);
  });
});
