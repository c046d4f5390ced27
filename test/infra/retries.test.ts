/**
 * Retry policy of the synthesized state machine, read the way Step Functions
 * reads it: for an error, the first retrier whose ErrorEquals names it (or
 * States.ALL) decides, and `MaxAttempts: 0` means "never retried".
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { definitionFromTemplate } from '../../lib/local/definition';
import { LAMBDA_SERVICE_ERRORS, NEVER_RETRIED_ERRORS, RETRYABLE_PROVIDER_ERRORS, States, TASK_FUNCTIONS } from '../../lib/constructs/backup-workflow';
import * as errors from '../../lib/core/errors';
import { REGION, synth } from './helpers';

interface Retrier {
  ErrorEquals: string[];
  IntervalSeconds?: number;
  MaxAttempts?: number;
  BackoffRate?: number;
  MaxDelaySeconds?: number;
  JitterStrategy?: string;
}
interface StateDef {
  Type: string;
  SecondsPath?: string;
  Next?: string;
  Default?: string;
  Choices?: unknown[];
  ItemSelector?: Record<string, unknown>;
  Retry?: Retrier[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
  ItemProcessor?: { States: Record<string, StateDef> };
  Iterator?: { States: Record<string, StateDef> };
}

const { json } = synth({ targets: [{ provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' }] });
const definition = definitionFromTemplate(json, REGION) as { States: Record<string, StateDef> };

/** Every state, Map item processors included, by name. */
function allStates(states: Record<string, StateDef>): Record<string, StateDef> {
  const out: Record<string, StateDef> = {};
  for (const [name, s] of Object.entries(states)) {
    out[name] = s;
    const inner = s.ItemProcessor ?? s.Iterator;
    if (inner) Object.assign(out, allStates(inner.States));
  }
  return out;
}
const states = allStates(definition.States);
const tasks = Object.entries(states).filter(([, s]) => s.Type === 'Task');

/** The retrier Step Functions applies to `error`: the first that names it or States.ALL. */
function retrierFor(state: StateDef, error: string): Retrier | undefined {
  return state.Retry?.find((r) => r.ErrorEquals.includes(error) || r.ErrorEquals.includes('States.ALL'));
}
const attempts = (r: Retrier | undefined) => (r ? (r.MaxAttempts ?? 3) : 0);

/** Named errors defined in lib/core/errors.ts (every concrete BotVaultError subclass). */
const definedErrorNames = (Object.values(errors) as unknown[])
  .filter((v) => typeof v === 'function' && (v as { prototype: unknown }).prototype instanceof errors.BotVaultError)
  .map((cls) => new (cls as new (message: string) => errors.BotVaultError)('x').name);

describe('state machine retries', () => {
  it('every Task state is one of ours, and each has a retry policy', () => {
    expect(tasks.map(([n]) => n).sort()).toEqual(Object.keys(TASK_FUNCTIONS).sort());
    for (const [, s] of tasks) expect(s.Retry?.length).toBeGreaterThan(0);
  });

  it('every Task retries the Lambda service errors (TooManyRequests included) with exponential backoff, a cap and full jitter', () => {
    expect(LAMBDA_SERVICE_ERRORS).toEqual(
      expect.arrayContaining([
        'Lambda.ServiceException',
        'Lambda.AWSLambdaException',
        'Lambda.SdkClientException',
        'Lambda.TooManyRequestsException',
      ]),
    );
    for (const [name, s] of tasks) {
      for (const error of LAMBDA_SERVICE_ERRORS) {
        const r = retrierFor(s, error);
        expect(r?.ErrorEquals, `${name} ${error}`).toContain(error);
        expect(attempts(r), `${name} ${error}`).toBeGreaterThanOrEqual(3);
        expect(r).toMatchObject({ JitterStrategy: 'FULL', BackoffRate: expect.any(Number), MaxDelaySeconds: expect.any(Number) });
        expect(r!.BackoffRate).toBeGreaterThan(1);
        expect(r!.MaxDelaySeconds).toBeLessThanOrEqual(120);
      }
    }
  });

  it('the provider-facing Tasks retry throttling, conflict and 5xx (RateLimitedError, ProviderUnavailableError) by name, with backoff and full jitter', () => {
    for (const name of [States.plan, States.startExport, States.checkExport, States.storeArchive, States.summarize]) {
      for (const error of RETRYABLE_PROVIDER_ERRORS) {
        const r = retrierFor(states[name]!, error);
        expect(r?.ErrorEquals, `${name} ${error}`).toContain(error);
        expect(attempts(r)).toBeGreaterThanOrEqual(5);
        expect(r).toMatchObject({ JitterStrategy: 'FULL' });
        expect(r!.BackoffRate).toBeGreaterThan(1);
        expect(r!.MaxDelaySeconds).toBeGreaterThan(0);
      }
    }
  });

  it('validation, auth, unsafe-URL and integrity errors are never retried, whatever comes after them', () => {
    expect(NEVER_RETRIED_ERRORS).toEqual(
      expect.arrayContaining(['InvalidInputError', 'ProviderAuthError', 'ProviderRequestError', 'UnsafeUrlError', 'DownloadIntegrityError']),
    );
    for (const [name, s] of tasks) {
      for (const error of NEVER_RETRIED_ERRORS) expect(attempts(retrierFor(s, error)), `${name} ${error}`).toBe(0);
    }
  });

  it('a crash is retried: Lambda.Unknown, a runtime exit, a task timeout and an unexpected error name', () => {
    for (const [name, s] of tasks) {
      for (const error of ['Lambda.Unknown', 'Runtime.ExitError', 'States.Timeout', 'TypeError', 'SomethingNobodyExpected']) {
        const r = retrierFor(s, error);
        expect(attempts(r), `${name} ${error}`).toBeGreaterThanOrEqual(1);
        expect(r).toMatchObject({ JitterStrategy: 'FULL', MaxDelaySeconds: expect.any(Number) });
      }
      // States.ALL must come last, or Step Functions rejects the definition.
      const all = s.Retry!.findIndex((r) => r.ErrorEquals.includes('States.ALL'));
      expect(all).toBe(s.Retry!.length - 1);
      expect(s.Retry![all]!.ErrorEquals).toEqual(['States.ALL']);
    }
  });

  it('every named error in lib/core/errors.ts is classified: retried by name or never retried', () => {
    expect(definedErrorNames.length).toBeGreaterThanOrEqual(10);
    for (const n of definedErrorNames) {
      expect([...RETRYABLE_PROVIDER_ERRORS, ...NEVER_RETRIED_ERRORS], n).toContain(n);
    }
    expect([...errors.RETRYABLE_ERRORS].sort()).toEqual([...RETRYABLE_PROVIDER_ERRORS].sort());
    // And the table names no error that does not exist.
    expect(Object.keys(errors.ERROR_RETRY).sort()).toEqual([...definedErrorNames].sort());
  });

  it('the per-job Tasks catch everything into JobFailed (the Map never dies); Cleanup failures still count as success', () => {
    for (const name of [States.startExport, States.checkExport, States.storeArchive]) {
      expect(states[name]!.Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: States.jobFailed })]);
    }
    expect(states[States.cleanup]!.Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: States.jobSucceeded })]);
  });
});

describe('the definition as a whole', () => {
  it('is valid Amazon States Language (MaxAttempts 0 retriers and States.ALL last included)', () => {
    const validate = createRequire(import.meta.url)('asl-validator') as (d: unknown) => { isValid: boolean; errorsText: (sep?: string) => string };
    const result = validate(definition);
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('polling backs off within a budget: the Wait reads the computed backoff, the Choice leaves the loop as timed out when the budget is spent', () => {
    const wait = states[States.wait]!;
    expect(wait).toMatchObject({ Type: 'Wait', SecondsPath: '$.export.waitSeconds', Next: States.checkExport });
    const choice = JSON.stringify(states[States.exportReady]);
    expect(choice).toContain('"Variable":"$.export.withinBudget","BooleanEquals":true');
    expect(states[States.exportReady]!.Default).toBe(States.exportTimedOut);
    // The config's polling schedule (10 s doubling to a cap, within a budget per job) travels with every job.
    const polling = states[States.map]!.ItemSelector!.polling as Record<string, number>;
    expect(polling).toMatchObject({ firstWaitSeconds: 10, backoffFactor: 2 });
    expect(polling.maxWaitSeconds).toBeGreaterThan(polling.firstWaitSeconds!);
    expect(polling.budgetSeconds).toBeGreaterThan(polling.maxWaitSeconds!);
  });
});
