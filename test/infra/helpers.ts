/**
 * Shared helpers for the infrastructure tests: synthesize the stack from a
 * config the way `cdk synth` does (same feature flags as cdk.json, bundling
 * skipped), and render CloudFormation intrinsics into readable strings so
 * IAM statements can be compared exactly.
 */
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../lib/app';
import { cdkJsonContext } from '../../lib/cdk-context';
import type { BotVaultStack } from '../../lib/botvault-stack';
import { parseConfig } from '../../lib/config/config';

export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';

export { cdkJsonContext } from '../../lib/cdk-context';

/** No Lambda bundling: the template does not depend on the bundle's contents. */
export const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] as string[] };

export interface Synthesized {
  readonly stack: BotVaultStack;
  readonly template: Template;
  readonly json: CfnTemplate;
}

export interface CfnTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string }>;
  Outputs?: Record<string, { Value: unknown; Description?: string }>;
}

const synthesized = new Map<string, Synthesized>();

/**
 * Validates `raw` like the config file and synthesizes the stack for it
 * (bundling skipped). One synth per distinct config: the result is shared by
 * every test (and, in the `infra` project, which runs its files in shared
 * workers, by every file) that asks for the same config, so tests must only
 * read it.
 */
export function synth(raw: Record<string, unknown>): Synthesized {
  const key = JSON.stringify(raw);
  const hit = synthesized.get(key);
  if (hit) return hit;
  const config = parseConfig(raw);
  const { stack } = buildApp(config, { context: { ...cdkJsonContext(), ...SKIP_BUNDLING } }, { account: ACCOUNT, region: REGION });
  const template = Template.fromStack(stack);
  const result = { stack, template, json: template.toJSON() as CfnTemplate };
  synthesized.set(key, result);
  return result;
}

/**
 * `{"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":lex:..."]]}` → `arn:aws:lex:...`;
 * `{"Fn::GetAtt": ["Bucket123", "Arn"]}` → `Bucket123.Arn`; `{"Ref": "X"}` → `Ref(X)`.
 */
export function render(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(render);
  if (!value || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  if ('Ref' in obj) return obj.Ref === 'AWS::Partition' ? 'aws' : `Ref(${String(obj.Ref)})`;
  if ('Fn::GetAtt' in obj) return (obj['Fn::GetAtt'] as string[]).join('.');
  if ('Fn::Join' in obj) {
    const [sep, parts] = obj['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => String(render(p))).join(sep);
  }
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, render(v)]));
}

/** The logical id of the one resource of `type` whose id starts with `prefix`. */
export function logicalId(json: CfnTemplate, type: string, prefix: string): string {
  const ids = Object.keys(json.Resources).filter((id) => json.Resources[id]!.Type === type && id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} starting with ${prefix}, found ${ids.join(', ') || 'none'}`);
  return ids[0]!;
}

/** The AWS::S3::BucketPolicy resources of the bucket whose logical id is `bucketId`. */
export function bucketPolicies(json: CfnTemplate, bucketId: string) {
  return Object.values(json.Resources).filter((r) => r.Type === 'AWS::S3::BucketPolicy' && render(r.Properties!.Bucket) === `Ref(${bucketId})`);
}

/** The statement each bucket policy opens with, rendered: no request to `bucketId` but over TLS. */
export function denyInsecureTransport(bucketId: string) {
  return {
    Action: 's3:*',
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    Effect: 'Deny',
    Principal: { AWS: '*' },
    Resource: [`${bucketId}.Arn`, `${bucketId}.Arn/*`],
  };
}

/** The statements, rendered, of every IAM policy attached to the role of the Lambda whose logical id starts with `fnPrefix`. */
export function functionStatements(json: CfnTemplate, fnPrefix: string): unknown[] {
  const fnId = logicalId(json, 'AWS::Lambda::Function', fnPrefix);
  const roleRef = json.Resources[fnId]!.Properties!.Role as { 'Fn::GetAtt': [string, string] };
  const roleId = roleRef['Fn::GetAtt'][0];
  return Object.values(json.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && (r.Properties!.Roles as { Ref: string }[]).some((x) => x.Ref === roleId))
    .flatMap((r) => render((r.Properties!.PolicyDocument as { Statement: unknown[] }).Statement) as unknown[]);
}

/**
 * Synthesizes the stack into `outdir` WITH bundling, as `cdk synth` does, and
 * returns each Lambda's bundle directory (index.js and its map) by function
 * name: Plan, StartExport, CheckExport, StoreArchive, Cleanup, Summarize.
 */
export function synthBundles(outdir: string): Map<string, string> {
  const config = parseConfig({ targets: [{ provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' }] });
  const { app, stack } = buildApp(config, { outdir, context: cdkJsonContext() }, { account: ACCOUNT, region: REGION });
  app.synth();
  const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function') as Record<string, { Properties: { Code: { S3Key: string } } }>;
  return new Map(
    Object.entries(functions).map(([logicalId, f]) => [
      /^(\w+?)Function[0-9A-F]{8}$/.exec(logicalId)?.[1] ?? logicalId,
      join(outdir, `asset.${f.Properties.Code.S3Key.replace(/\.zip$/, '')}`),
    ]),
  );
}
