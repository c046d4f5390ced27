/**
 * A Step Functions simulator for tests: the AWS JSON 1.0 protocol on
 * node:http (StartExecution, DescribeExecution, GetExecutionHistory,
 * ListExecutions), so `botvault run` is tested through the real
 * @aws-sdk/client-sfn (point it here with AWS_ENDPOINT_URL_SFN).
 *
 * Behind the protocol is no fake workflow: StartExecution runs the
 * synthesized definition with `runLocal` (aws-local-stepfunctions, every Task
 * bound to its real handler) in this process, and its event log is
 * translated, as it happens, into the history events the real service
 * returns (TaskStateEntered, MapIterationStarted, ExecutionFailed, ...), with
 * ids, previousEventId chains, timestamps and nextToken paging.
 *
 * The handlers' own clients go wherever this process's
 * AWS_ENDPOINT_URL_<SERVICE> variables point (the Lex simulator, s3rver):
 * set them before starting executions.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listen, readBody, sendJson } from './http';
import type { BotVaultConfig } from '../../lib/config/config';
import type { StateMachine } from 'aws-local-stepfunctions';
import { runLocal, synthesizeDefinition } from '../../lib/local/runner';

/** aws-local-stepfunctions' event type: the package declares it without exporting it, so take it from `run()`. */
type EventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

export interface SfnSimulatorOptions {
  /** The config whose synthesized definition every execution runs. */
  readonly config: BotVaultConfig;
  /** The archive bucket the handlers write to (must exist). */
  readonly bucket: string;
  /** Shorten Wait states and retry pauses (see LocalRunOptions.fast). @default true */
  readonly fast?: boolean;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default `config.stackName` */
  readonly stateMachineName?: string;
  /** Access key ids accepted; any other is refused as UnrecognizedClientException. @default any */
  readonly accessKeyIds?: readonly string[];
  readonly port?: number;
}

type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';

/** A history event as it goes on the wire (timestamps in epoch seconds). */
type WireHistoryEvent = { id: number; previousEventId: number; timestamp: number; type: string } & Record<string, unknown>;

interface SimExecution {
  readonly executionArn: string;
  readonly name: string;
  readonly input: string;
  status: ExecutionStatus;
  readonly startDate: number;
  stopDate?: number;
  output?: string;
  error?: string;
  cause?: string;
  readonly history: WireHistoryEvent[];
  /** Resolves when the execution has ended. */
  readonly finished: Promise<void>;
}

export interface SfnSimulator {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly stateMachineArn: string;
  readonly executions: Map<string, SimExecution>;
  /** Every request's operation, in order (tests assert what the CLI called). */
  readonly calls: string[];
  close(): Promise<void>;
}

const ACCOUNT = '000000000000';
/** Step Functions execution names: 1-80 characters, none of whitespace, brackets, wildcards or these specials. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: execution names may not contain control characters (as Step Functions checks).
const NAME = /^[^\s<>{}[\]?*"#%\\^|~`$&,;:/\u0000-\u001f\u007f-\u009f]{1,80}$/;
const ARN = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:(stateMachine|execution):[^:]+(:[^:]+)?$/;

class SfnError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const seconds = (ms: number) => ms / 1000;

/** `$.a.b` over a JSON value: the only ItemsPath form the workflow uses. */
function atPath(value: unknown, path: string | undefined): unknown {
  if (!path || path === '$') return value;
  return path
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean)
    .reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), value);
}

/**
 * Turns aws-local-stepfunctions events into Step Functions history events.
 * previousEventId follows the real service: events of one Map iteration chain
 * to each other (starting at its MapIterationStarted), the rest to the
 * previous top-level event.
 */
class HistoryRecorder {
  private lastRoot = 0;
  private readonly lastInIteration = new Map<number, number>();
  /** Task states that failed since they were entered (their exit is then no TaskSucceeded). */
  private readonly failedTasks = new Set<string>();

  constructor(
    private readonly history: WireHistoryEvent[],
    private readonly itemsLength: (mapState: string, input: unknown) => number | undefined,
    private readonly region: string,
  ) {}

  private lastAt = 0;

  private push(type: string, at: number, details: Record<string, unknown>, iteration?: number): void {
    const id = this.history.length + 1;
    // Events of Map iterations reach the root logger a little after they happened, so their own
    // timestamps can run backwards; the service's history never does.
    at = this.lastAt = Math.max(at, this.lastAt);
    const previousEventId = iteration === undefined ? this.lastRoot : (this.lastInIteration.get(iteration) ?? this.lastRoot);
    this.history.push({ id, previousEventId, timestamp: seconds(at), type, ...details });
    if (iteration === undefined) this.lastRoot = id;
    else this.lastInIteration.set(iteration, id);
  }

  started(input: string, roleArn: string, at: number): void {
    this.push('ExecutionStarted', at, { executionStartedEventDetails: { input, inputDetails: { truncated: false }, roleArn } });
  }

  record(event: EventLog): void {
    const at = event.timestamp;
    const json = (v: unknown) => JSON.stringify(v ?? null);
    const lambda = { resourceType: 'lambda', resource: 'invoke' };
    const scheduleTask = (input: unknown, it: number | undefined) => {
      this.push('TaskScheduled', at, { taskScheduledEventDetails: { ...lambda, region: this.region, parameters: json(input) } }, it);
      this.push('TaskStarted', at, { taskStartedEventDetails: lambda }, it);
    };
    switch (event.type) {
      case 'ExecutionStarted':
        return; // recorded by StartExecution itself, before the definition is even loaded
      case 'ExecutionSucceeded':
        return this.push('ExecutionSucceeded', at, {
          executionSucceededEventDetails: { output: json(event.output), outputDetails: { truncated: false } },
        });
      case 'ExecutionFailed':
        return this.push('ExecutionFailed', at, { executionFailedEventDetails: { error: event.Error, cause: causeText(event.Cause) } });
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        // The iteration's first event chains to the Map's last top-level event.
        if (event.type === 'MapIterationStarted') this.lastInIteration.set(event.index, this.lastRoot);
        // mapIterationStartedEventDetails, mapIterationSucceededEventDetails, mapIterationFailedEventDetails
        const detailsKey = `m${event.type.slice(1)}EventDetails`;
        return this.push(event.type, at, { [detailsKey]: { name: event.parentState.name, index: event.index } }, event.index);
      }
      case 'StateEntered': {
        const { name, type, input } = event.state;
        const it = event.index;
        this.failedTasks.delete(`${it}:${name}`);
        this.push(`${type}StateEntered`, at, { stateEnteredEventDetails: { name, input: json(input), inputDetails: { truncated: false } } }, it);
        if (type === 'Task') scheduleTask(input, it);
        if (type === 'Map') this.push('MapStateStarted', at, { mapStateStartedEventDetails: { length: this.itemsLength(name, input) ?? 0 } }, it);
        return;
      }
      case 'StateExited': {
        const { name, type, output } = event.state;
        const it = event.index;
        if (type === 'Task' && !this.failedTasks.has(`${it}:${name}`)) {
          this.push('TaskSucceeded', at, { taskSucceededEventDetails: { ...lambda, output: json(output), outputDetails: { truncated: false } } }, it);
        }
        if (type === 'Map') this.push('MapStateSucceeded', at, {}, it);
        if (type === 'Fail') return; // a Fail state has no exit
        return this.push(
          `${type}StateExited`,
          at,
          { stateExitedEventDetails: { name, output: json(output), outputDetails: { truncated: false } } },
          event.index,
        );
      }
      case 'StateFailed': {
        const { name, type } = event.state;
        if (type === 'Task') {
          this.failedTasks.add(`${event.index}:${name}`);
          return this.push(
            'TaskFailed',
            at,
            { taskFailedEventDetails: { ...lambda, error: event.Error, cause: causeText(event.Cause) } },
            event.index,
          );
        }
        if (type === 'Map') return this.push('MapStateFailed', at, {}, event.index);
        return;
      }
      case 'StateRetried':
        // The real service shows a retry as the Task being scheduled again.
        this.failedTasks.delete(`${event.index}:${event.state.name}`);
        return scheduleTask(event.state.input, event.index);
      default:
        // The library also dispatches ExecutionAborted / ExecutionTimeout (not in its declared types).
        if ((event.type as string) === 'ExecutionAborted') return this.push('ExecutionAborted', at, { executionAbortedEventDetails: {} });
        if ((event.type as string) === 'ExecutionTimeout') return this.push('ExecutionTimedOut', at, { executionTimedOutEventDetails: {} });
        return; // StateCaught and Parallel events: the workflow has no Parallel state; a catch shows as the next state
    }
  }
}

/** aws-local-stepfunctions hands causes as strings or Error-like objects; the service always has a string. */
function causeText(cause: unknown): string {
  if (typeof cause === 'string') return cause;
  if (cause instanceof Error) return cause.message;
  return JSON.stringify(cause ?? '');
}

export async function startSfnSimulator(opts: SfnSimulatorOptions): Promise<SfnSimulator> {
  const region = opts.region ?? 'us-east-1';
  const machineName = opts.stateMachineName ?? opts.config.stackName;
  const stateMachineArn = `arn:aws:states:${region}:${ACCOUNT}:stateMachine:${machineName}`;
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/${machineName}-StateMachineRole`;
  const executions = new Map<string, SimExecution>();
  const calls: string[] = [];
  let definition: Record<string, unknown> | undefined;

  const itemsLength = (mapState: string, input: unknown) => {
    // Synthesized once, on the first Map state (runLocal has synthesized it by then: a cache hit).
    definition ??= synthesizeDefinition(opts.config, region);
    const state = (definition.States as Record<string, { ItemsPath?: string }> | undefined)?.[mapState];
    const items = atPath(input, state?.ItemsPath);
    return Array.isArray(items) ? items.length : undefined;
  };

  function startExecution(body: Record<string, unknown>): Record<string, unknown> {
    const arn = String(body.stateMachineArn ?? '');
    if (!ARN.test(arn) || !arn.includes(':stateMachine:')) throw new SfnError('InvalidArn', `Invalid Arn: '${arn}'`);
    if (arn !== stateMachineArn) throw new SfnError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    const name = body.name === undefined ? randomUUID() : String(body.name);
    if (!NAME.test(name)) throw new SfnError('InvalidName', `Invalid Name: '${name}'`);
    const inputText = body.input === undefined ? '{}' : String(body.input);
    let input: unknown;
    try {
      input = JSON.parse(inputText);
    } catch (err) {
      throw new SfnError('InvalidExecutionInput', `Invalid State Machine Execution Input: '${(err as Error).message}'`);
    }
    const executionArn = `arn:aws:states:${region}:${ACCOUNT}:execution:${machineName}:${name}`;
    const existing = executions.get(executionArn);
    if (existing) {
      // The service's idempotency: same name and input while running returns the running execution.
      if (existing.status === 'RUNNING' && existing.input === inputText) return { executionArn, startDate: seconds(existing.startDate) };
      throw new SfnError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }

    const startDate = Date.now();
    const history: WireHistoryEvent[] = [];
    const recorder = new HistoryRecorder(history, itemsLength, region);
    recorder.started(inputText, roleArn, startDate);
    let execution!: SimExecution;
    const finish = (status: ExecutionStatus, fields: { output?: string; error?: string; cause?: string }) => {
      if (execution.status !== 'RUNNING') return;
      Object.assign(execution, { status, stopDate: Date.now(), ...fields });
    };
    const finished = runLocal({
      config: opts.config,
      bucket: opts.bucket,
      fast: opts.fast ?? true,
      region,
      runId: name,
      input: input as never,
      onEvent: (event) => {
        recorder.record(event);
        // The terminal event and the status change together, as a caller polling both would expect.
        if (event.type === 'ExecutionSucceeded') finish('SUCCEEDED', { output: JSON.stringify(event.output ?? null) });
        if (event.type === 'ExecutionFailed') finish('FAILED', { error: event.Error, cause: causeText(event.Cause) });
      },
    }).then(
      (result) => finish(result.status, { error: result.error, cause: result.cause }),
      (err: unknown) => {
        // The run could not even start (synthesis, a handler that failed to load): the service would say States.Runtime.
        const cause = err instanceof Error ? err.message : String(err);
        recorder.record({ type: 'ExecutionFailed', timestamp: Date.now(), Error: 'States.Runtime', Cause: cause } as EventLog);
        finish('FAILED', { error: 'States.Runtime', cause });
      },
    );
    execution = { executionArn, name, input: inputText, status: 'RUNNING', startDate, history, finished };
    executions.set(executionArn, execution);
    return { executionArn, startDate: seconds(startDate) };
  }

  function execution(body: Record<string, unknown>): SimExecution {
    const arn = String(body.executionArn ?? '');
    if (!ARN.test(arn) || !arn.includes(':execution:')) throw new SfnError('InvalidArn', `Invalid Arn: '${arn}'`);
    const found = executions.get(arn);
    if (!found) throw new SfnError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return found;
  }

  /** What ListExecutions tells of an execution; DescribeExecution tells more. */
  function summary(e: SimExecution): Record<string, unknown> {
    return {
      executionArn: e.executionArn,
      stateMachineArn,
      name: e.name,
      status: e.status,
      startDate: seconds(e.startDate),
      ...(e.stopDate !== undefined ? { stopDate: seconds(e.stopDate) } : {}),
    };
  }

  function describeExecution(body: Record<string, unknown>): Record<string, unknown> {
    const e = execution(body);
    return {
      ...summary(e),
      input: e.input,
      inputDetails: { included: true },
      ...(e.output !== undefined ? { output: e.output, outputDetails: { included: true } } : {}),
      ...(e.error !== undefined ? { error: e.error } : {}),
      ...(e.cause !== undefined ? { cause: e.cause } : {}),
      redriveCount: 0,
      redriveStatus: 'NOT_REDRIVABLE',
    };
  }

  function getExecutionHistory(body: Record<string, unknown>): Record<string, unknown> {
    const e = execution(body);
    const maxResults = pageSize(body.maxResults);
    const reverse = body.reverseOrder === true;
    const withData = body.includeExecutionData !== false;
    // The token is the id of the next event to return: appending events never shifts a page.
    const from = body.nextToken === undefined ? undefined : decodeToken(body.nextToken);
    const ordered = reverse ? [...e.history].reverse() : e.history;
    const start = from === undefined ? 0 : ordered.findIndex((ev) => ev.id === from);
    if (start < 0) throw new SfnError('InvalidToken', 'Invalid Token');
    const page = ordered.slice(start, start + maxResults);
    const next = ordered[start + maxResults];
    return {
      events: page.map((ev) => (withData ? ev : stripData(ev))),
      ...(next ? { nextToken: encodeToken(next.id) } : {}),
    };
  }

  function listExecutions(body: Record<string, unknown>): Record<string, unknown> {
    const arn = String(body.stateMachineArn ?? '');
    if (arn && (!ARN.test(arn) || !arn.includes(':stateMachine:'))) throw new SfnError('InvalidArn', `Invalid Arn: '${arn}'`);
    if (arn !== stateMachineArn) throw new SfnError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
    const filter = body.statusFilter === undefined ? undefined : String(body.statusFilter);
    const all = [...executions.values()]
      .filter((e) => !filter || e.status === filter)
      .sort((a, b) => b.startDate - a.startDate || b.name.localeCompare(a.name));
    const maxResults = pageSize(body.maxResults);
    const start = body.nextToken === undefined ? 0 : decodeToken(body.nextToken);
    const page = all.slice(start, start + maxResults);
    return {
      executions: page.map(summary),
      ...(start + maxResults < all.length ? { nextToken: encodeToken(start + maxResults) } : {}),
    };
  }

  const operations: Record<string, (body: Record<string, unknown>) => Record<string, unknown>> = {
    StartExecution: startExecution,
    DescribeExecution: describeExecution,
    GetExecutionHistory: getExecutionHistory,
    ListExecutions: listExecutions,
  };

  const server = createServer((req, res) => {
    void handle(req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.startsWith('AWSStepFunctions.') ? target.slice('AWSStepFunctions.'.length) : '';
    calls.push(op || target);
    try {
      if (req.method !== 'POST') throw new SfnError('UnknownOperationException', `${req.method} is not supported`);
      const auth = String(req.headers.authorization ?? '');
      const keyId = /Credential=([^/]+)\//.exec(auth)?.[1];
      if (!keyId) throw new SfnError('MissingAuthenticationTokenException', 'Missing Authentication Token');
      if (opts.accessKeyIds && !opts.accessKeyIds.includes(keyId))
        throw new SfnError('UnrecognizedClientException', 'The security token included in the request is invalid.');
      const operation = operations[op];
      if (!operation)
        throw new SfnError('UnknownOperationException', `Operation ${target || '(no X-Amz-Target)'} is not supported by this simulator`);
      let body: Record<string, unknown>;
      try {
        body = raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
      } catch {
        throw new SfnError('SerializationException', 'Request body is not valid JSON');
      }
      send(res, 200, operation(body));
    } catch (err) {
      if (err instanceof SfnError) {
        res.setHeader('x-amzn-errortype', err.type);
        send(res, 400, { __type: err.type, message: err.message });
      } else {
        send(res, 500, { __type: 'InternalFailure', message: err instanceof Error ? err.message : String(err) });
      }
    }
  }

  const listening = await listen(server, opts.port);
  let closed: Promise<void> | undefined;
  return {
    url: listening.url,
    stateMachineArn,
    executions,
    calls,
    close() {
      closed ??= (async () => {
        await listening.close();
        // Let running executions finish: their handlers still write to the S3 server the test closes next.
        await Promise.all([...executions.values()].map((e) => e.finished));
      })();
      return closed;
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  sendJson(res, status, body, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID() });
}

function pageSize(value: unknown): number {
  if (value === undefined || value === 0) return 100;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 1000)
    throw new SfnError('ValidationException', `maxResults must be between 0 and 1000, got ${String(value)}`);
  return n;
}

const encodeToken = (n: number) => Buffer.from(JSON.stringify({ n })).toString('base64');
function decodeToken(token: unknown): number {
  try {
    const n = (JSON.parse(Buffer.from(String(token), 'base64').toString('utf8')) as { n?: unknown }).n;
    if (typeof n === 'number') return n;
  } catch {
    // fall through
  }
  throw new SfnError('InvalidToken', 'Invalid Token');
}

/** includeExecutionData=false: the service leaves out inputs and outputs. */
function stripData(event: WireHistoryEvent): WireHistoryEvent {
  const out: WireHistoryEvent = { ...event };
  for (const [k, v] of Object.entries(event)) {
    if (k.endsWith('EventDetails') && v && typeof v === 'object') {
      const { input: _i, output: _o, parameters: _p, ...rest } = v as Record<string, unknown>;
      out[k] = rest;
    }
  }
  return out;
}
