/**
 * The Step Functions simulator speaks the real AWS JSON 1.0 protocol: the real
 * SFNClient parses every answer (timestamps, error names, paging), and the
 * history it returns has the shapes and ordering the real service gives.
 */
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config/config';
import { States } from '../../lib/core/names';
import { startLexSimulator, type LexSimulator } from './lex-simulator';
import { s3ClientFor, startS3Server, type S3Server } from './s3-server';
import { startKmsForHandlers } from './kms-simulator';
import { startSfnSimulator, type SfnSimulator } from './sfn-simulator';

let lex: LexSimulator;
let s3server: S3Server;
let sim: SfnSimulator;
let sfn: SFNClient;
let kms: Awaited<ReturnType<typeof startKmsForHandlers>>;
const saved = { ...process.env };

beforeAll(async () => {
  lex = await startLexSimulator({
    bots: [
      { botId: 'ALPHABOT01', botName: 'Alpha', locales: ['en_US'], intents: ['Greet'] },
      { botId: 'BRAVOBOT02', botName: 'Bravo', locales: ['en_US'], intents: ['Help'] },
    ],
    defaultFaults: { exportLatencyMs: 60 },
    faults: { BRAVOBOT02: { failExport: ['not built'] } },
  });
  s3server = await startS3Server();
  kms = await startKmsForHandlers();
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_LEX_MODELS_V2: lex.url,
    AWS_ENDPOINT_URL_S3: s3server.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
  });
  const bucket = `sfn-sim-${randomBytes(4).toString('hex')}`;
  await s3ClientFor(s3server.endpoint).send(new CreateBucketCommand({ Bucket: bucket }));
  const config = parseConfig({
    stackName: 'SfnSimTest',
    downloadAllowlist: [lex.url],
    targets: [
      { provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' },
      { provider: 'lex', botId: 'BRAVOBOT02', botVersion: 'DRAFT' },
    ],
  });
  sim = await startSfnSimulator({ config, bucket, accessKeyIds: ['S3RVER'] });
  sfn = new SFNClient({ endpoint: sim.url, region: 'us-east-1', credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
});
afterAll(async () => {
  sfn?.destroy();
  await sim?.close();
  await lex?.close();
  await s3server?.close();
  await kms?.close();
  process.env = saved;
});

async function allEvents(executionArn: string, reverseOrder = false, maxResults = 7): Promise<{ events: HistoryEvent[]; pages: number }> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  let pages = 0;
  do {
    const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, reverseOrder, maxResults, nextToken }));
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
    pages++;
  } while (nextToken);
  return { events, pages };
}

describe('an execution through the real SFNClient', () => {
  let executionArn = '';

  it('StartExecution answers at once; DescribeExecution shows RUNNING, then the final status, error and cause', async () => {
    const started = await sfn.send(new StartExecutionCommand({ stateMachineArn: sim.stateMachineArn, name: 'run-1', input: '{"trigger":"manual"}' }));
    executionArn = started.executionArn!;
    expect(executionArn).toBe('arn:aws:states:us-east-1:000000000000:execution:SfnSimTest:run-1');
    expect(started.startDate).toBeInstanceOf(Date);
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('RUNNING');

    await sim.executions.get(executionArn)!.finished;
    const done = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(done).toMatchObject({
      name: 'run-1',
      status: 'FAILED',
      error: 'BackupJobsFailed',
      input: '{"trigger":"manual"}',
      stateMachineArn: sim.stateMachineArn,
    });
    expect(done.cause).toContain('lex:BRAVOBOT02:DRAFT');
    expect(done.stopDate!.getTime()).toBeGreaterThanOrEqual(done.startDate!.getTime());
    // Epoch seconds on the wire keep sub-second precision.
    expect(Math.abs(done.startDate!.getTime() - started.startDate!.getTime())).toBeLessThan(1);
  });

  it('history: real event types in order, ids 1..n, timestamps rising, iterations chained by previousEventId', async () => {
    const { events, pages } = await allEvents(executionArn);
    expect(pages).toBeGreaterThan(2);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('ExecutionStarted');
    expect(types.at(-1)).toBe('ExecutionFailed');
    expect(types.slice(1, 6)).toEqual(['TaskStateEntered', 'TaskScheduled', 'TaskStarted', 'TaskSucceeded', 'TaskStateExited']);
    for (const t of [
      'MapStateEntered',
      'MapStateStarted',
      'MapIterationStarted',
      'MapIterationSucceeded',
      'WaitStateEntered',
      'ChoiceStateEntered',
      'PassStateEntered',
      'MapStateSucceeded',
      'MapStateExited',
      'FailStateEntered',
    ]) {
      expect(types).toContain(t);
    }
    for (let i = 1; i < events.length; i++) expect(events[i]!.timestamp!.getTime()).toBeGreaterThanOrEqual(events[i - 1]!.timestamp!.getTime());

    expect(events[0]!.executionStartedEventDetails?.input).toBe('{"trigger":"manual"}');
    expect(events.find((e) => e.type === 'MapStateStarted')?.mapStateStartedEventDetails?.length).toBe(2);
    expect(events.at(-1)!.executionFailedEventDetails).toMatchObject({ error: 'BackupJobsFailed' });

    // Walking previousEventId back from an iteration's JobFailed reaches that iteration's MapIterationStarted, through its own states only.
    const byId = new Map(events.map((e) => [e.id!, e]));
    const jobFailed = events.find((e) => e.stateEnteredEventDetails?.name === States.jobFailed)!;
    expect(JSON.parse(jobFailed.stateEnteredEventDetails!.input!).job.id).toBe('lex:BRAVOBOT02:DRAFT');
    let cursor: HistoryEvent | undefined = jobFailed;
    const chain: string[] = [];
    while (cursor && cursor.type !== 'MapIterationStarted') {
      const input = cursor.stateEnteredEventDetails?.input;
      if (input) chain.push(JSON.parse(input).job.id as string);
      cursor = byId.get(cursor.previousEventId!);
    }
    expect(cursor?.type).toBe('MapIterationStarted');
    expect(new Set(chain)).toEqual(new Set(['lex:BRAVOBOT02:DRAFT']));
  });

  it('reverseOrder pages give the same events newest first; includeExecutionData=false leaves out inputs and outputs', async () => {
    const forward = (await allEvents(executionArn)).events;
    const backward = (await allEvents(executionArn, true, 5)).events;
    expect(backward.map((e) => e.id)).toEqual(forward.map((e) => e.id).reverse());

    const bare = await sfn.send(new GetExecutionHistoryCommand({ executionArn, includeExecutionData: false, maxResults: 3 }));
    expect(bare.events![0]!.executionStartedEventDetails?.input).toBeUndefined();
    expect(bare.events![1]!.stateEnteredEventDetails).toEqual({ name: States.plan, inputDetails: { truncated: false } });
  });

  it('a successful execution has its output; ListExecutions lists newest first, with paging and a status filter', async () => {
    const started = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: sim.stateMachineArn, name: 'run-2', input: '{"only":["ALPHABOT01"]}' }),
    );
    await sim.executions.get(started.executionArn!)!.finished;
    const done = await sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
    expect(done.status).toBe('SUCCEEDED');
    // run-1 already stored ALPHABOT01 and the simulator's bot has not changed since, so change detection reports it UNCHANGED.
    expect(JSON.parse(done.output!)).toMatchObject({
      total: 1,
      succeeded: 0,
      unchanged: 1,
      failed: 0,
      manifestKey: expect.stringMatching(/^runs\/.*\/run-2\.json$/),
    });

    const first = await sfn.send(new ListExecutionsCommand({ stateMachineArn: sim.stateMachineArn, maxResults: 1 }));
    expect(first.executions!.map((e) => e.name)).toEqual(['run-2']);
    const second = await sfn.send(new ListExecutionsCommand({ stateMachineArn: sim.stateMachineArn, maxResults: 1, nextToken: first.nextToken }));
    expect(second.executions!.map((e) => [e.name, e.status])).toEqual([['run-1', 'FAILED']]);
    expect(second.nextToken).toBeUndefined();
    const failed = await sfn.send(new ListExecutionsCommand({ stateMachineArn: sim.stateMachineArn, statusFilter: 'FAILED' }));
    expect(failed.executions!.map((e) => e.name)).toEqual(['run-1']);
  });
});

describe('errors, as the real SFNClient raises them', () => {
  const fails = async (p: Promise<unknown>) =>
    p.then(
      () => undefined,
      (e: Error) => ({ name: e.name, message: e.message, status: (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode }),
    );

  it('unknown or malformed ARNs, names, inputs and tokens', async () => {
    expect(await fails(sfn.send(new StartExecutionCommand({ stateMachineArn: `${sim.stateMachineArn}X` })))).toMatchObject({
      name: 'StateMachineDoesNotExist',
      status: 400,
    });
    expect(await fails(sfn.send(new StartExecutionCommand({ stateMachineArn: 'not-an-arn' })))).toMatchObject({ name: 'InvalidArn' });
    expect(await fails(sfn.send(new StartExecutionCommand({ stateMachineArn: sim.stateMachineArn, name: 'has space' })))).toMatchObject({
      name: 'InvalidName',
    });
    expect(await fails(sfn.send(new StartExecutionCommand({ stateMachineArn: sim.stateMachineArn, input: '{nope' })))).toMatchObject({
      name: 'InvalidExecutionInput',
    });
    expect(
      await fails(sfn.send(new DescribeExecutionCommand({ executionArn: `${sim.stateMachineArn.replace(':stateMachine:', ':execution:')}:nope` }))),
    ).toMatchObject({
      name: 'ExecutionDoesNotExist',
    });
    expect(
      await fails(
        sfn.send(
          new GetExecutionHistoryCommand({
            executionArn: `${sim.stateMachineArn.replace(':stateMachine:', ':execution:')}:run-1`,
            nextToken: 'garbage',
          }),
        ),
      ),
    ).toMatchObject({
      name: 'InvalidToken',
    });
  });

  it('a reused name: the same input while running is the same execution; anything else is ExecutionAlreadyExists', async () => {
    const a = await sfn.send(new StartExecutionCommand({ stateMachineArn: sim.stateMachineArn, name: 'dup', input: '{"only":["ALPHABOT01"]}' }));
    const again = await sfn.send(new StartExecutionCommand({ stateMachineArn: sim.stateMachineArn, name: 'dup', input: '{"only":["ALPHABOT01"]}' }));
    expect(again.executionArn).toBe(a.executionArn);
    expect(await fails(sfn.send(new StartExecutionCommand({ stateMachineArn: sim.stateMachineArn, name: 'dup', input: '{}' })))).toMatchObject({
      name: 'ExecutionAlreadyExists',
    });
    await sim.executions.get(a.executionArn!)!.finished;
    expect(
      await fails(sfn.send(new StartExecutionCommand({ stateMachineArn: sim.stateMachineArn, name: 'dup', input: '{"only":["ALPHABOT01"]}' }))),
    ).toMatchObject({ name: 'ExecutionAlreadyExists' });
  });

  it('an access key it does not know is UnrecognizedClientException', async () => {
    const stranger = new SFNClient({ endpoint: sim.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDSTRANGER', secretAccessKey: 'x' } });
    try {
      expect(await fails(stranger.send(new ListExecutionsCommand({ stateMachineArn: sim.stateMachineArn })))).toMatchObject({
        name: 'UnrecognizedClientException',
        status: 400,
      });
    } finally {
      stranger.destroy();
    }
  });
});
