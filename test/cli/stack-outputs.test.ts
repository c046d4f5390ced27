/**
 * The CLI's contract with the deployed stack: `botvault` finds the bucket and
 * the state machine through DescribeStacks by output key, so the synthesized
 * template must carry exactly these keys (CloudFormation's OutputKey is the
 * output's logical id: an output created inside a construct would get a hash
 * suffix and the CLI would not find it), plus the ready-to-paste manual-run
 * command the README points operators to.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BotVaultStack } from '../../lib/botvault-stack';
import { OUTPUTS } from '../../lib/cli/resolve';
import { parseConfig } from '../../lib/config/config';

type Outputs = Record<string, { Value: unknown; Description?: string }>;

let outdir: string;
let outputs: Outputs;
let resources: Record<string, { Type: string }>;

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'botvault-outputs-'));
  // No bundling: the outputs do not depend on the Lambda code.
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  const config = parseConfig({ targets: [{ provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' }] });
  const stack = new BotVaultStack(app, config.stackName, { config, env: { account: '123456789012', region: 'eu-west-1' } });
  const template = Template.fromStack(stack).toJSON() as { Outputs?: Outputs; Resources: Record<string, { Type: string }> };
  outputs = template.Outputs ?? {};
  resources = template.Resources;
});
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** The logical id a `{Ref}` / `{Fn::GetAtt}` / `{Fn::Join}` value points at (the first one found). */
function referenced(value: unknown): string[] {
  if (!value || typeof value !== 'object') return [];
  const v = value as Record<string, unknown>;
  if (typeof v.Ref === 'string') return [v.Ref];
  if (Array.isArray(v['Fn::GetAtt'])) return [String(v['Fn::GetAtt'][0])];
  return Object.values(v).flatMap((x) => (Array.isArray(x) ? x.flatMap(referenced) : referenced(x)));
}

describe('stack outputs the CLI and the README rely on', () => {
  it(`${OUTPUTS.bucket} is the archive bucket's name`, () => {
    const out = outputs[OUTPUTS.bucket];
    expect(out, `no output with logical id ${OUTPUTS.bucket}; outputs: ${Object.keys(outputs).join(', ')}`).toBeDefined();
    const [id] = referenced(out!.Value);
    expect(resources[id!]?.Type).toBe('AWS::S3::Bucket');
    expect(out!.Value).toEqual({ Ref: id });
  });

  it(`${OUTPUTS.stateMachine} is the backup state machine's ARN`, () => {
    const out = outputs[OUTPUTS.stateMachine];
    expect(out, `no output with logical id ${OUTPUTS.stateMachine}; outputs: ${Object.keys(outputs).join(', ')}`).toBeDefined();
    const [id] = referenced(out!.Value);
    expect(resources[id!]?.Type).toBe('AWS::StepFunctions::StateMachine');
  });

  it('StartManualRunCommand is a ready-to-paste start-execution command for a manual run of that state machine', () => {
    const out = outputs.StartManualRunCommand;
    expect(out, `no output StartManualRunCommand; outputs: ${Object.keys(outputs).join(', ')}`).toBeDefined();
    const value = JSON.stringify(out!.Value);
    expect(value).toContain('aws stepfunctions start-execution');
    expect(value).toContain('--state-machine-arn');
    // The input is the manual trigger, quoted for a POSIX shell.
    expect(value).toMatch(/--input '\{\\"trigger\\":\\"manual\\"\}'/);
    const machines = referenced(out!.Value).filter((id) => resources[id]?.Type === 'AWS::StepFunctions::StateMachine');
    expect(machines).toEqual(referenced(outputs[OUTPUTS.stateMachine]!.Value));
  });
});
