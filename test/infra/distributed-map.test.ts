/**
 * `"mapMode": "distributed"` runs the same job graph as a Distributed Map of
 * child Standard executions (README "Performance"); the default stays the
 * inline Map, and the local runner always runs the inline Map.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app';
import { ConfigError, parseConfig } from '../../lib/config/config';
import { States } from '../../lib/constructs/backup-workflow';
import { synthesizeDefinition } from '../../lib/local/runner';
import { ACCOUNT, REGION, SKIP_BUNDLING, cdkJsonContext, synth, type CfnTemplate } from './helpers';

const TARGETS = [
  { provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' },
  { provider: 'lex', botId: 'KLMNOPQRST', botVersion: '3', localeId: 'en_US' },
];

interface MapState {
  Type: string;
  ItemsPath?: string;
  ItemSelector?: Record<string, unknown>;
  MaxConcurrency?: number;
  ResultPath?: string;
  Label?: string;
  Next?: string;
  ItemProcessor: { ProcessorConfig?: Record<string, unknown>; StartAt: string; States: Record<string, unknown> };
}

/** `{"Fn::Join": ...}` etc. to a string, with every token (Ref, GetAtt, Select/Split) shown as `<token>`. */
function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  const obj = value as Record<string, unknown>;
  if ('Fn::Join' in obj) {
    const [sep, parts] = obj['Fn::Join'] as [string, unknown[]];
    return parts.map(flatten).join(sep);
  }
  if ('Ref' in obj && obj.Ref === 'AWS::Partition') return 'aws';
  return '<token>';
}

function definition(json: CfnTemplate): { States: Record<string, MapState> } {
  const machines = Object.values(json.Resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine');
  expect(machines).toHaveLength(1);
  return JSON.parse(flatten(machines[0]!.Properties!.DefinitionString)) as { States: Record<string, MapState> };
}

/** Every IAM statement in the template that mentions a states: action, rendered. */
function statesStatements(json: CfnTemplate): { actions: string[]; resources: string[] }[] {
  return Object.values(json.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .flatMap((r) => (r.Properties!.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement)
    .map((s) => ({
      actions: ([] as string[]).concat(s.Action),
      resources: ([] as unknown[])
        .concat(s.Resource)
        .map((x) => (typeof x === 'object' && x !== null && 'Ref' in x ? `Ref(${String(x.Ref)})` : flatten(x))),
    }))
    .filter((s) => s.actions.some((a) => a.startsWith('states:')));
}

function stateMachineLogicalId(json: CfnTemplate): string {
  return Object.entries(json.Resources).find(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine')![0];
}

describe('mapMode', () => {
  it('defaults to the inline Map, with no child executions and no states: permissions beyond the scheduler', () => {
    const { json } = synth({ targets: TARGETS });
    const map = definition(json).States[States.map]!;
    expect(map.Type).toBe('Map');
    expect(map.ItemProcessor.ProcessorConfig?.Mode ?? 'INLINE').toBe('INLINE');
    expect(map.Label).toBeUndefined();
    // Only the scheduler may start the state machine; the state machine itself starts nothing. Plan may only
    // look up its own state machine's executions (the owner of a tick marker: lambdas/plan/tick-marker.ts).
    const statements = statesStatements(json);
    expect(statements).toEqual([
      { actions: ['states:DescribeExecution'], resources: [`arn:aws:states:${REGION}:${ACCOUNT}:execution:BotVault:*`] },
      { actions: ['states:StartExecution'], resources: [`Ref(${stateMachineLogicalId(json)})`] },
    ]);
  });

  it('"distributed" emits a Distributed Map of child Standard executions with the same job graph, items and concurrency', () => {
    const inline = definition(synth({ targets: TARGETS, maxConcurrency: 25 }).json).States[States.map]!;
    const { json } = synth({ targets: TARGETS, maxConcurrency: 25, mapMode: 'distributed' });
    const map = definition(json).States[States.map]!;

    expect(map.Type).toBe('Map');
    expect(map.ItemProcessor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
    expect(map.Label).toBe(States.map);
    // The job graph, the items, what each item gets, where the results go and what comes next: all unchanged.
    expect(map.ItemProcessor.StartAt).toBe(States.startExport);
    expect(map.ItemProcessor.States).toEqual(inline.ItemProcessor.States);
    expect(map.ItemsPath).toBe('$.plan.jobs');
    expect(map.ItemSelector).toEqual(inline.ItemSelector);
    expect(map.MaxConcurrency).toBe(25);
    expect(map.ResultPath).toBe('$.plan.jobs');
    expect(map.Next).toBe(States.summarize);
  });

  it('"distributed" lets the state machine start, watch, stop and redrive its own child executions, and nothing else', () => {
    const { json } = synth({ targets: TARGETS, mapMode: 'distributed' });
    const self = stateMachineLogicalId(json);
    const statements = statesStatements(json);
    // The scheduler's statement, Plan's DescribeExecution (tick markers) and the Distributed Map's three.
    expect(statements).toHaveLength(5);
    expect(statements.filter((s) => s.actions.includes('states:StartExecution')).map((s) => s.resources)).toEqual([
      [`Ref(${self})`],
      [`Ref(${self})`],
    ]);
    expect(statements).toContainEqual({
      actions: ['states:DescribeExecution', 'states:StopExecution'],
      resources: [`arn:aws:states:${REGION}:${ACCOUNT}:execution:<token>:*`],
    });
    expect(statements).toContainEqual({
      actions: ['states:RedriveExecution'],
      resources: [`arn:aws:states:${REGION}:${ACCOUNT}:execution:<token>/${States.map}:*`],
    });
  });

  it('"distributed" passes cdk-nag: the child-execution wildcards are acknowledged for exactly that policy', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'botvault-dmap-nag-'));
    try {
      const { app } = buildApp(
        parseConfig({ targets: TARGETS, mapMode: 'distributed' }),
        { outdir, context: { ...cdkJsonContext(), ...SKIP_BUNDLING } },
        { account: ACCOUNT, region: REGION },
      );
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
      let failure: string | undefined;
      try {
        app.synth();
      } catch (err) {
        failure = (err as Error).message;
      }
      expect(failure).toBeUndefined();
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('the local runner runs the inline Map even when the config says "distributed"', () => {
    const config = parseConfig({ targets: TARGETS, mapMode: 'distributed' });
    const map = (synthesizeDefinition(config) as { States: Record<string, MapState> }).States[States.map]!;
    expect(map.ItemProcessor.ProcessorConfig?.Mode ?? 'INLINE').toBe('INLINE');
    expect(map.ItemProcessor.StartAt).toBe(States.startExport);
  });

  it('rejects an unknown mode with one message naming the field and both choices', () => {
    let error: unknown;
    try {
      parseConfig({ targets: TARGETS, mapMode: 'parallel' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { issues } = error as ConfigError;
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe('mapMode');
    expect(issues[0]!.message).toMatch(/^must be "inline" .* or "distributed" /);
  });
});
