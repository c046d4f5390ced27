/**
 * Idempotent schedule ticks (lambdas/plan/tick-marker.ts) against a real
 * S3-compatible server that honours `If-None-Match: *` on PutObject, and
 * through Plan's core: a tick runs once, a repeated tick stops in Plan before
 * any provider call, a retried Plan of the claiming execution goes on.
 */
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plan } from '../../lambdas/plan/plan';
import { claimTick, tickMarkerKey } from '../../lambdas/plan/tick-marker';
import { DuplicateTickError, InvalidInputError } from '../../lib/core/errors';
import { rejection } from '../helpers/rejection';
import type { Provider } from '../../lib/providers/types';
import { type S3Server, startLocalS3, stopLocalS3 } from '../simulators/s3-server';

let server: S3Server;
let s3: S3Client;
const bucket = 'ticks-test';
const deps = () => ({ s3, bucket });

beforeAll(async () => {
  ({ server, s3 } = await startLocalS3(bucket));
});
afterAll(() => stopLocalS3({ server, s3 }));

const failure = (p: Promise<unknown>) => rejection(p, Error);

describe('the local S3 server honours conditional writes', () => {
  it('If-None-Match: * fails with 412 on an existing key and writes nothing; without it, PutObject overwrites', async () => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond/a', Body: 'one', IfNoneMatch: '*' }));
    const err = (await failure(s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond/a', Body: 'two', IfNoneMatch: '*' })))) as Error & {
      $metadata: { httpStatusCode: number };
    };
    expect(err.name).toBe('PreconditionFailed');
    expect(err.$metadata.httpStatusCode).toBe(412);
    const read = async () => (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'cond/a' }))).Body!.transformToString();
    expect(await read()).toBe('one');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'cond/a', Body: 'three' }));
    expect(await read()).toBe('three');
  });
});

describe('claimTick: a marker counts only when its owner is running or succeeded', () => {
  // A bucket of its own: the tests below list ticks/ in theirs.
  const owners = 'ticks-owners';
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: owners }));
  });
  const deps = () => ({ s3, bucket: owners });
  const OWN = 'arn:aws:states:eu-west-1:123456789012:execution:BotVault:run-new';
  /** DescribeExecution as Plan asks it, answered from `statuses` (absent: ExecutionDoesNotExist), each started for `tickFor` (default: the one asked about); records the ARNs asked. */
  function lookups(statuses: Record<string, string>, tickFor: Record<string, string> = {}) {
    const asked: string[] = [];
    let tick = '';
    return {
      asked,
      setTick: (t: string) => {
        tick = t;
      },
      deps: {
        ...deps(),
        executionArn: OWN,
        executionStatus: async (arn: string) => {
          asked.push(arn);
          const name = arn.split(':').pop()!;
          const status = statuses[name];
          return status ? { status, input: JSON.stringify({ trigger: 'schedule', tickTime: tickFor[name] ?? tick }) } : undefined;
        },
      },
    };
  }
  const plant = (tick: string, body: string) => s3.send(new PutObjectCommand({ Bucket: owners, Key: tickMarkerKey(tick), Body: body }));

  it.each(['RUNNING', 'SUCCEEDED'])(
    'owner %s: DuplicateTickError naming it and its status; the owner is looked up beside this execution',
    async (status) => {
      const tick = `2024-06-0${status === 'RUNNING' ? 1 : 2}T03:00:00Z`;
      await plant(tick, JSON.stringify({ runId: 'run-old', tickTime: tick }));
      const { asked, deps: d, setTick } = lookups({ 'run-old': status });
      setTick(tick);
      const err = await rejection(claimTick(tick, 'run-new', d), DuplicateTickError);
      expect(err.message).toBe(`Schedule tick ${tick} was already started by execution run-old (${status}); this execution backs up nothing.`);
      expect(asked).toEqual(['arn:aws:states:eu-west-1:123456789012:execution:BotVault:run-old']);
    },
  );

  it.each(['FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE', undefined])(
    'owner %s: the tick is taken over (If-Match the marker read)',
    async (status) => {
      const tick = `2024-06-1${['FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE', undefined].indexOf(status)}T03:00:00Z`;
      await plant(tick, JSON.stringify({ runId: 'run-old', tickTime: tick }));
      const { deps: d, setTick } = lookups(status ? { 'run-old': status } : {});
      setTick(tick);
      expect(await claimTick(tick, 'run-new', d, new Date('2024-06-10T03:00:05Z'))).toBe('taken-over');
      const marker = await s3.send(new GetObjectCommand({ Bucket: owners, Key: tickMarkerKey(tick) }));
      expect(JSON.parse(await marker.Body!.transformToString())).toEqual({
        runId: 'run-new',
        tickTime: tick,
        claimedAt: '2024-06-10T03:00:05.000Z',
        takenOverFrom: { runId: 'run-old', status: status ?? 'NOT_FOUND' },
      });
      // A retried Plan of the taker finds its own marker now.
      expect(await claimTick(tick, 'run-new', d)).toBe('already-ours');
    },
  );

  it("last night's successful run named in tonight's marker does not count: it was started for another tick, so the tick is taken over", async () => {
    const tick = '2024-06-23T03:00:00Z';
    await plant(tick, JSON.stringify({ runId: 'last-night', tickTime: tick }));
    const { deps: d } = lookups({ 'last-night': 'SUCCEEDED' }, { 'last-night': '2024-06-22T03:00:00Z' });
    expect(await claimTick(tick, 'run-new', d)).toBe('taken-over');
    const manual = '2024-06-24T03:00:00Z';
    await plant(manual, JSON.stringify({ runId: 'a-manual-run', tickTime: manual }));
    const m = lookups({ 'a-manual-run': 'SUCCEEDED' });
    m.deps.executionStatus = async () => ({ status: 'SUCCEEDED', input: '{"trigger":"manual"}' });
    expect(await claimTick(manual, 'run-new', m.deps)).toBe('taken-over');
  });

  it('names no execution can have are not looked up at all: taken over', async () => {
    const tick = '2024-06-20T03:00:00Z';
    await plant(tick, JSON.stringify({ runId: 'x:stateMachine:Other', tickTime: tick }));
    const { asked, deps: d } = lookups({});
    expect(await claimTick(tick, 'run-new', d)).toBe('taken-over');
    expect(asked).toEqual([]);
  });

  it('two executions taking over the same dead tick: one wins, the other then sees a running owner and stops', async () => {
    const tick = '2024-06-21T03:00:00Z';
    await plant(tick, JSON.stringify({ runId: 'run-dead', tickTime: tick }));
    const statuses: Record<string, string> = { 'run-dead': 'FAILED', 'run-x': 'RUNNING', 'run-y': 'RUNNING' };
    const la = lookups(statuses);
    const lb = lookups(statuses);
    la.setTick(tick);
    lb.setTick(tick);
    const a = la.deps;
    const b = lb.deps;
    const results = await Promise.allSettled([claimTick(tick, 'run-x', a), claimTick(tick, 'run-y', b)]);
    expect(results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<string>).value)).toEqual(['taken-over']);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).toBeInstanceOf(DuplicateTickError);
    expect(String(lost.reason.message)).toMatch(/by execution run-[xy] \(RUNNING\)/);
  });

  it('a DescribeExecution that fails (access denied, throttled) fails the claim: a check that cannot be made never skips a night', async () => {
    const tick = '2024-06-22T03:00:00Z';
    await plant(tick, JSON.stringify({ runId: 'run-old', tickTime: tick }));
    const denied = Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' });
    const d = { ...deps(), executionArn: OWN, executionStatus: async () => Promise.reject(denied) };
    await expect(claimTick(tick, 'run-new', d)).rejects.toBe(denied);
  });
});

describe('claimTick', () => {
  it('the first execution claims the tick and records its run id under ticks/', async () => {
    expect(await claimTick('2024-05-17T03:00:00Z', 'run-a', deps(), new Date('2024-05-17T03:00:02Z'))).toBe('claimed');
    const marker = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'ticks/2024-05-17T03:00:00Z.json' }));
    expect(JSON.parse(await marker.Body!.transformToString())).toEqual({
      runId: 'run-a',
      tickTime: '2024-05-17T03:00:00Z',
      claimedAt: '2024-05-17T03:00:02.000Z',
    });
  });

  it('a retried Plan of the same execution finds its own claim and goes on', async () => {
    expect(await claimTick('2024-05-17T03:00:00Z', 'run-a', deps())).toBe('already-ours');
  });

  it('another execution of the same tick gets DuplicateTickError naming the first one; the marker is unchanged', async () => {
    const err = await failure(claimTick('2024-05-17T03:00:00Z', 'run-b', deps()));
    expect(err).toBeInstanceOf(DuplicateTickError);
    expect(err.name).toBe('DuplicateTickError');
    expect(err.message).toBe('Schedule tick 2024-05-17T03:00:00Z was already started by execution run-a; this execution backs up nothing.');
    const marker = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'ticks/2024-05-17T03:00:00Z.json' }));
    expect(JSON.parse(await marker.Body!.transformToString())).toMatchObject({ runId: 'run-a' });
  });

  it('the next tick is a new claim', async () => {
    expect(await claimTick('2024-05-18T03:00:00Z', 'run-b', deps())).toBe('claimed');
  });

  it.each(['2024-05-17 03:00:00', '../runs/x', '2024-05-17T03:00:00+02:00', '2024-13-45T99:00:00Z'])(
    'rejects tick time %j without writing',
    async (tick) => {
      const err = await failure(claimTick(tick, 'run-c', deps()));
      expect(err).toBeInstanceOf(InvalidInputError);
      expect(err.message).toContain('input.tickTime');
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'ticks/' }));
      expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual(['ticks/2024-05-17T03:00:00Z.json', 'ticks/2024-05-18T03:00:00Z.json']);
    },
  );

  it('keys are the scheduled time, fractional seconds allowed', () => {
    expect(tickMarkerKey('2024-05-17T03:00:00.000Z')).toBe('ticks/2024-05-17T03:00:00.000Z.json');
  });
});

describe('plan with schedule ticks', () => {
  const target = { provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' };
  /** A provider that records whether Plan got as far as planning. */
  const recording = () => {
    const calls: string[] = [];
    const provider = {
      plan: async (t: { botId?: string }) => {
        calls.push(`plan ${t.botId}`);
        return [
          {
            id: `lex:${t.botId}:DRAFT`,
            provider: 'lex',
            key: `lex/123456789012/eu-west-1/${t.botId}/DRAFT/bot.zip`,
            spec: { botId: t.botId, botVersion: 'DRAFT' },
          },
        ];
      },
    } as unknown as Provider;
    return { calls, deps: { providerFor: () => provider, home: { account: '123456789012', region: 'eu-west-1' }, ticks: deps } };
  };
  const scheduled = (runId: string, tickTime: string) => ({
    runId,
    startedAt: tickTime,
    targets: [target],
    input: { trigger: 'schedule', tickTime },
  });

  it('runs the first execution of a tick, and stops a second one before any provider call', async () => {
    const first = recording();
    const out = await plan(scheduled('sched-1', '2024-06-01T03:00:00Z'), first.deps);
    expect(out.jobs.map((j) => j.id)).toEqual(['lex:ALPHABOT01:DRAFT']);
    expect(first.calls).toEqual(['plan ALPHABOT01']);

    const second = recording();
    const err = await failure(plan(scheduled('sched-2', '2024-06-01T03:00:00Z'), second.deps));
    expect(err.name).toBe('DuplicateTickError');
    expect(second.calls).toEqual([]);
  });

  it('a retried Plan of the first execution plans again', async () => {
    const retry = recording();
    expect((await plan(scheduled('sched-1', '2024-06-01T03:00:00Z'), retry.deps)).jobs).toHaveLength(1);
  });

  it('manual runs claim nothing (the marker store is never built)', async () => {
    const manual = recording();
    const out = await plan(
      { runId: 'manual-1', startedAt: '2024-06-01T10:00:00Z', targets: [target], input: { trigger: 'manual' } },
      {
        ...manual.deps,
        ticks: () => {
          throw new Error('ticks must not be used for a manual run');
        },
      },
    );
    expect(out.trigger).toBe('manual');
    expect(out.jobs).toHaveLength(1);
  });
});
