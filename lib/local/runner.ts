/**
 * Runs the synthesized state machine on this machine: the definition `cdk
 * synth` emits, executed by aws-local-stepfunctions, with every Task bound to
 * the real Lambda handler in this process. The handlers' AWS clients go
 * wherever the standard `AWS_ENDPOINT_URL_<SERVICE>` variables point (local
 * simulators), or to real AWS when none is set.
 */
import { LOCAL_ACCOUNT_ID } from '../core/accounts';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Template } from 'aws-cdk-lib/assertions';
import type { StateMachine } from 'aws-local-stepfunctions';
import type { BotVaultConfig } from '../config/config';
import { TASK_FUNCTIONS } from '../constructs/backup-workflow';
import { METRICS_NAMESPACE, States } from '../core/names';
import type { RunManifest } from '../core/run-manifest';
import { buildApp } from '../app';
import { cdkJsonContext } from '../cdk-context';
import { definitionFromTemplate } from './definition';
import type { ExecutionInput } from '../core/contracts';

/** One entry of the local execution's event log (the package does not export the type). */
export type EventLog = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

/** Lambda folder per workflow function. */
const HANDLER_MODULES = {
  plan: '../../lambdas/plan/handler',
  startExport: '../../lambdas/start-export/handler',
  checkExport: '../../lambdas/check-export/handler',
  storeArchive: '../../lambdas/store-archive/handler',
  cleanup: '../../lambdas/cleanup/handler',
  summarize: '../../lambdas/summarize/handler',
} as const;

type Handler = (event: unknown, context?: { getRemainingTimeInMillis(): number }) => Promise<unknown>;

export interface LocalRunOptions {
  /** The validated config whose synthesized definition is run. */
  readonly config: BotVaultConfig;
  /** The archive bucket (must exist). */
  readonly bucket: string;
  /** Execution input, as a manual or scheduled execution would get it. */
  readonly input?: Partial<ExecutionInput>;
  /** Execution name; also the run id. @default `local-<timestamp>-<random>` */
  readonly runId?: string;
  /** Shorten Wait states and retry pauses to milliseconds (simulators only: real exports take minutes). */
  readonly fast?: boolean;
  /**
   * How a job's poll budget is counted: `scheduled` wait seconds, as a
   * deployed run counts them (with `fast`, the same checks and timeout
   * decision as a deployed run), or `elapsed` time since the export started
   * (with `fast`: the budget is real seconds, as `botvault local --fast` uses).
   * @default 'scheduled'
   */
  readonly deadline?: 'scheduled' | 'elapsed';
  /** Called for every execution event as it happens (progress display, tests). */
  readonly onEvent?: (event: EventLog) => void;
  /** The KMS HMAC key the writing handlers make MACs with (BOTVAULT_MAC_KEY_ID). @default BOTVAULT_MAC_KEY_ID as set */
  readonly macKeyId?: string;
  /** The topic a run's change notification goes to (BOTVAULT_CHANGE_TOPIC_ARN), unless config notifications.changes is false. @default BOTVAULT_CHANGE_TOPIC_ARN as set */
  readonly changeTopicArn?: string;
  /** AWS region the handlers think they run in. @default AWS_REGION or us-east-1 */
  readonly region?: string;
  /** The account the handlers think they run in (BOTVAULT_ACCOUNT_ID). @default BOTVAULT_ACCOUNT_ID or 123456789012 */
  readonly accountId?: string;
  /**
   * Faults of the Lambda service itself, per Task state (tests, drills): what
   * Step Functions sees when a function's runtime dies or its invocation times out.
   */
  readonly lambdaFaults?: Partial<Record<keyof typeof TASK_FUNCTIONS, LambdaFault>>;
  /**
   * A function timeout per Task state, in ms: the handler then gets a Lambda
   * context whose getRemainingTimeInMillis() counts down from it (handlers that
   * plan around their deadline, like StoreArchive, see it). Not enforced.
   * @default no context, as a handler called outside Lambda
   */
  readonly functionTimeoutMs?: Partial<Record<keyof typeof TASK_FUNCTIONS, number>>;
}

/** A Lambda invocation that fails although the handler is fine. */
interface LambdaFault {
  /** How many invocations of the state fail (counted over all jobs of the run). */
  readonly times: number;
  /**
   * `before`: the runtime dies before the handler runs (nothing happened).
   * `after`: the handler ran to the end (its S3 writes happened) but its result
   * is lost, as when the invocation times out right before returning.
   */
  readonly when: 'before' | 'after';
  /** The error Lambda reports. @default 'Lambda.Unknown' */
  readonly error?: string;
}

export interface LocalRunResult {
  readonly runId: string;
  readonly status: 'SUCCEEDED' | 'FAILED';
  /** Error and cause of a failed execution. */
  readonly error?: string;
  readonly cause?: string;
  /** The run manifest as read back from the bucket (absent when the run failed before Summarize). */
  readonly manifest?: RunManifest;
  readonly manifestKey?: string;
  /** Every event of the execution, in order. */
  readonly events: EventLog[];
  /** The definition that was run. */
  readonly definition: Record<string, unknown>;
}

const definitionCache = new Map<string, Record<string, unknown>>();

/**
 * Synthesizes the stack for `config` (without bundling) and returns its state machine definition.
 * Always with the inline Map: aws-local-stepfunctions has no Distributed Map (no child executions),
 * and `mapMode` changes only how the same job graph is hosted, not the graph itself.
 */
export function synthesizeDefinition(configAsGiven: BotVaultConfig, region = 'us-east-1'): Record<string, unknown> {
  const config: BotVaultConfig = { ...configAsGiven, mapMode: 'inline' };
  const cacheKey = JSON.stringify([config, region]);
  const cached = definitionCache.get(cacheKey);
  if (cached) return structuredClone(cached);
  const outdir = mkdtempSync(join(tmpdir(), 'botvault-synth-'));
  try {
    // Bundling is irrelevant to the definition; skipping it keeps local runs fast.
    const { stack } = buildApp(
      config,
      { outdir, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } },
      { account: '000000000000', region },
    );
    const definition = definitionFromTemplate(Template.fromStack(stack).toJSON(), region);
    definitionCache.set(cacheKey, definition);
    return structuredClone(definition);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/**
 * Lambda reports a thrown error as `{Error: errorType, Cause: JSON of
 * {errorType, errorMessage, trace}}`; the local binding reproduces that shape
 * (without the trace) so job results look the same locally and in AWS.
 */
class LambdaFunctionError extends Error {
  constructor(name: string, message: string) {
    super(JSON.stringify({ errorType: name, errorMessage: message }));
    this.name = name;
  }
}

async function loadHandlers(): Promise<Record<keyof typeof HANDLER_MODULES, Handler>> {
  const entries = await Promise.all(
    Object.entries(HANDLER_MODULES).map(async ([key, path]) => {
      const mod = (await import(path)) as { handler: Handler };
      return [key, mod.handler] as const;
    }),
  );
  return Object.fromEntries(entries) as Record<keyof typeof HANDLER_MODULES, Handler>;
}

function bindTask(handler: Handler, fault?: LambdaFault, timeoutMs?: number) {
  let faultsLeft = fault?.times ?? 0;
  const injected = () => {
    const name = fault?.error ?? 'Lambda.Unknown';
    return new LambdaFunctionError(name, `Injected Lambda fault (${fault?.when}): the function's runtime did not return a result.`);
  };
  return async (input: unknown) => {
    // The payload crosses a JSON boundary in AWS; do the same here so nothing non-JSON sneaks through.
    const payload = JSON.parse(JSON.stringify(input)) as unknown;
    const failing = faultsLeft > 0 ? fault!.when : undefined;
    if (failing) faultsLeft--;
    if (failing === 'before') throw injected();
    let result: unknown;
    try {
      const started = Date.now();
      const context = timeoutMs === undefined ? undefined : { getRemainingTimeInMillis: () => Math.max(0, timeoutMs - (Date.now() - started)) };
      result = await handler(payload, context);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      throw new LambdaFunctionError(e.name || 'Error', e.message);
    }
    if (failing === 'after') throw injected();
    return JSON.parse(JSON.stringify(result ?? null));
  };
}

/** Sets the environment the Lambdas get from the stack, for handlers running in this process. */
function applyLambdaEnvironment(opts: LocalRunOptions, region: string): void {
  process.env.BOTVAULT_BUCKET = opts.bucket;
  const allow = new Set(
    [...(process.env.BOTVAULT_DOWNLOAD_ALLOWLIST ?? '').split(','), ...opts.config.downloadAllowlist].map((o) => o.trim()).filter(Boolean),
  );
  process.env.BOTVAULT_DOWNLOAD_ALLOWLIST = [...allow].join(',');
  process.env.BOTVAULT_CHANGE_DETECTION = opts.config.changeDetection ?? 'skipUnchanged';
  if (opts.macKeyId) process.env.BOTVAULT_MAC_KEY_ID = opts.macKeyId;
  // The stack sets the topic only when config notifications.changes is on (lib/botvault-stack.ts).
  if (opts.config.notifications?.changes === false) delete process.env.BOTVAULT_CHANGE_TOPIC_ARN;
  else if (opts.changeTopicArn) process.env.BOTVAULT_CHANGE_TOPIC_ARN = opts.changeTopicArn;
  if (opts.deadline === 'elapsed') process.env.BOTVAULT_DEADLINE_CLOCK = 'elapsed';
  else delete process.env.BOTVAULT_DEADLINE_CLOCK;
  process.env.AWS_REGION ??= region;
  // The stack sets it from AWS::AccountId; locally the simulators' home account (test/simulators/lex-simulator.ts).
  process.env.BOTVAULT_ACCOUNT_ID ??= opts.accountId ?? LOCAL_ACCOUNT_ID;
  process.env.POWERTOOLS_SERVICE_NAME ??= 'botvault';
  process.env.POWERTOOLS_METRICS_NAMESPACE ??= METRICS_NAMESPACE;
  // Handlers' JSON logs and EMF metrics would drown the run's own output; opt back in with POWERTOOLS_LOG_LEVEL.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
}

export async function runLocal(opts: LocalRunOptions): Promise<LocalRunResult> {
  const region = opts.region ?? process.env.AWS_REGION ?? 'us-east-1';
  applyLambdaEnvironment(opts, region);
  const definition = synthesizeDefinition(opts.config, region);
  const { StateMachine, ExecutionError } = await import('aws-local-stepfunctions');
  const handlers = await loadHandlers();

  const taskResourceLocalHandlers = Object.fromEntries(
    Object.entries(TASK_FUNCTIONS).map(([stateName, fn]) => [
      stateName,
      bindTask(
        handlers[fn],
        opts.lambdaFaults?.[stateName as keyof typeof TASK_FUNCTIONS],
        opts.functionTimeoutMs?.[stateName as keyof typeof TASK_FUNCTIONS],
      ),
    ]),
  );
  const fastMs = 20;
  const overrides = {
    taskResourceLocalHandlers,
    ...(opts.fast
      ? {
          waitTimeOverrides: { [States.wait]: fastMs },
          retryIntervalOverrides: Object.fromEntries(Object.keys(TASK_FUNCTIONS).map((s) => [s, fastMs])),
        }
      : {}),
  };

  const runId = opts.runId ?? `local-${new Date().toISOString().replace(/[:.]/g, '-')}-${randomUUID().slice(0, 8)}`;
  const input = { trigger: 'manual', ...opts.input };
  const machine = new StateMachine(definition as never, { validationOptions: { checkArn: false } });
  const execution = machine.run(input as never, {
    overrides: overrides as never,
    context: {
      Execution: {
        Id: `arn:aws:states:${region}:000000000000:execution:${opts.config.stackName}:${runId}`,
        Name: runId,
        StartTime: new Date().toISOString(),
        Input: input,
      },
    } as never,
  });

  const events: EventLog[] = [];
  const collecting = (async () => {
    for await (const event of execution.eventLogs) {
      events.push(event);
      opts.onEvent?.(event);
    }
  })();

  let status: LocalRunResult['status'] = 'SUCCEEDED';
  let error: string | undefined;
  let cause: string | undefined;
  try {
    await execution.result;
  } catch (err) {
    if (!(err instanceof ExecutionError)) throw err;
    status = 'FAILED';
    const inner = (err as { cause?: Error }).cause;
    error = inner?.name ?? err.name;
    cause = inner?.message ?? err.message;
  }
  await collecting;

  const summary = [...events]
    .reverse()
    .find((e): e is Extract<EventLog, { type: 'StateExited' }> => e.type === 'StateExited' && e.state.name === States.summarize);
  const manifestKey = (summary?.state.output as { summary?: { manifestKey?: string } } | undefined)?.summary?.manifestKey;
  const manifest = manifestKey ? await readManifest(opts.bucket, manifestKey) : undefined;
  return { runId, status, error, cause, manifest, manifestKey, events, definition };
}

/** Reads the manifest back from the bucket: what the run reports is what the run stored. */
async function readManifest(bucket: string, key: string): Promise<RunManifest> {
  const s3 = new S3Client({ forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL) });
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return JSON.parse(await res.Body!.transformToString()) as RunManifest;
  } finally {
    s3.destroy();
  }
}
