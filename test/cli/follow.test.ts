/**
 * Following a run: reading only new history events each poll, riding out
 * failing polls, and stopping with a clear message when they keep failing.
 * The SFN client is a scripted stand-in here (the protocol itself is covered
 * by the simulator and e2e tests): these tests are about the loop's decisions.
 */
import { type HistoryEvent, SFNClient } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { CliError } from '../../lib/cli/output';
import { MAX_POLL_FAILURES, follow, newHistoryEvents, type Display } from '../../lib/cli/run';

const ARN = 'arn:aws:states:us-east-1:000000000000:execution:BotVault:run-1';
const event = (id: number, type = 'PassStateEntered'): HistoryEvent => ({
  id,
  type: type as HistoryEvent['type'],
  timestamp: new Date(),
  stateEnteredEventDetails: { name: `S${id}` },
});

/** A history of `n` events served the way GetExecutionHistory pages them (reverseOrder, maxResults, nextToken). */
function fakeSfn(opts: { history: () => HistoryEvent[]; status: () => string; failures?: () => Error | undefined }) {
  const calls: { op: string; input: Record<string, unknown> }[] = [];
  // A real client whose send() is scripted: the SDK's paginator accepts only an SFNClient.
  const client = new SFNClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const scripted = {
    async send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
      const op = command.constructor.name;
      calls.push({ op, input: command.input });
      const failure = opts.failures?.();
      if (failure) throw failure;
      if (op === 'DescribeExecutionCommand') return { status: opts.status(), executionArn: ARN };
      const all = command.input.reverseOrder ? [...opts.history()].reverse() : opts.history();
      const start = command.input.nextToken ? Number(command.input.nextToken) : 0;
      const size = Number(command.input.maxResults ?? 100);
      return { events: all.slice(start, start + size), nextToken: start + size < all.length ? String(start + size) : undefined };
    },
  };
  client.send = scripted.send as unknown as SFNClient['send'];
  return { client, calls };
}

const quiet: Display = { update() {}, done() {} };
const awsError = (name: string, message: string) => Object.assign(new Error(message), { name });

/** follow() on a run that stays RUNNING while every poll fails with `failure()`: what it throws, and the calls it made. */
async function followFailing(failure: () => Error) {
  const { client, calls } = fakeSfn({ history: () => [], status: () => 'RUNNING', failures: failure });
  const err = await follow(client, ARN, 1, quiet).catch((e: unknown) => e);
  return { err, calls };
}

describe('newHistoryEvents', () => {
  it('reads backwards only as far as the last event it already has, and returns the new ones oldest first', async () => {
    const history = Array.from({ length: 450 }, (_, i) => event(i + 1));
    const { client, calls } = fakeSfn({ history: () => history, status: () => 'RUNNING' });
    expect((await newHistoryEvents(client, ARN, 440)).map((e) => e.id)).toEqual([441, 442, 443, 444, 445, 446, 447, 448, 449, 450]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.input).toMatchObject({ reverseOrder: true, includeExecutionData: true });

    calls.length = 0;
    const all = await newHistoryEvents(client, ARN, 0);
    expect(all.map((e) => e.id)).toEqual(history.map((e) => e.id));
    expect(calls).toHaveLength(3); // 200 + 200 + 50
  });
});

describe('follow', () => {
  it('polls until the execution ends and hands every event to the progress exactly once', async () => {
    const history: HistoryEvent[] = [event(1, 'ExecutionStarted')];
    let polls = 0;
    const { client } = fakeSfn({
      history: () => history,
      status: () => {
        polls += 1;
        history.push(event(history.length + 1));
        if (polls === 4)
          history.push({
            id: history.length + 1,
            type: 'ExecutionSucceeded',
            timestamp: new Date(),
            executionSucceededEventDetails: { output: '{"manifestKey":"runs/2024/05/17/run-1.json"}' },
          });
        return polls === 4 ? 'SUCCEEDED' : 'RUNNING';
      },
    });
    const seen: string[] = [];
    const display: Display = { update: (_p, changes) => seen.push(...changes.map((c) => c.line)), done() {} };
    const { progress, execution } = await follow(client, ARN, 1, display);
    expect(execution.status).toBe('SUCCEEDED');
    expect(progress.lastEventId).toBe(history.length);
    expect(progress.status).toBe('SUCCEEDED');
    expect(progress.manifestKey).toBe('runs/2024/05/17/run-1.json');
    expect(seen).toEqual(['run: S2', 'run: S3', 'run: S4', 'run: S5', 'run: SUCCEEDED']);
  });

  it('rides out a few failing polls', async () => {
    let n = 0;
    const { client } = fakeSfn({
      history: () => [event(1, 'ExecutionStarted')],
      status: () => 'SUCCEEDED',
      failures: () => (++n <= MAX_POLL_FAILURES - 1 ? awsError('ThrottlingException', 'Rate exceeded') : undefined),
    });
    expect((await follow(client, ARN, 1, quiet)).execution.status).toBe('SUCCEEDED');
  });

  it('gives up after too many failing polls in a row, saying the run goes on', async () => {
    const { err, calls } = await followFailing(() => awsError('ThrottlingException', 'Rate exceeded'));
    expect(err).toBeInstanceOf(CliError);
    expect((err as Error).message).toBe(
      'stopped following run run-1 (ThrottlingException: Rate exceeded); the run goes on: see it later with `botvault status run-1`',
    );
    expect(calls).toHaveLength(MAX_POLL_FAILURES);
  });

  it('stops at once when the credentials expire mid-run', async () => {
    const { err, calls } = await followFailing(() => awsError('ExpiredTokenException', 'The security token included in the request is expired'));
    expect((err as Error).message).toMatch(
      /^stopped following run run-1 \(no AWS credentials: set AWS_PROFILE or run `aws sso login` \(AWS said ExpiredTokenException for DescribeExecution\)\); the run goes on/,
    );
    expect(calls).toHaveLength(1);
  });
});
