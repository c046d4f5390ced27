/**
 * cdk-nag's AWS Solutions rules pass: every finding is either fixed or
 * acknowledged, with a reason, for exactly the resource it concerns (no
 * blanket rule acknowledgments), so a new wildcard or a new unprotected
 * resource fails here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import * as iam from 'aws-cdk-lib/aws-iam';
import { buildApp } from '../../lib/app';
import type { BotVaultStack } from '../../lib/botvault-stack';
import { parseConfig } from '../../lib/config/config';
import { ACCOUNT, REGION, SKIP_BUNDLING, cdkJsonContext } from './helpers';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Synthesizes with the AWS Solutions pack; returns the validation failure message, or undefined when it passes. */
function nag(
  raw: Record<string, unknown>,
  env: { account?: string; region?: string } | undefined = { account: ACCOUNT, region: REGION },
  tamper?: (stack: BotVaultStack) => void,
): string | undefined {
  const outdir = mkdtempSync(join(tmpdir(), 'botvault-nag-'));
  dirs.push(outdir);
  const { app, stack } = buildApp(parseConfig(raw), { outdir, context: { ...cdkJsonContext(), ...SKIP_BUNDLING } }, env);
  tamper?.(stack);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  try {
    app.synth();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

describe('cdk-nag AwsSolutions', () => {
  it('passes for configured bots', () => {
    expect(nag({ targets: [{ provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' }] })).toBeUndefined();
  });

  it('passes with discovery, a test set and export passwords', () => {
    expect(
      nag({
        targets: [
          { provider: 'lex', discover: true, passwordSecret: 'botvault/lex-password' },
          { provider: 'lex', testSetId: 'TESTSET001', passwordSecret: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ts-AbCdEf' },
        ],
      }),
    ).toBeUndefined();
  });

  it('passes for an environment-agnostic stack with discovery (tokens for region and account)', () => {
    expect(nag({ targets: [{ provider: 'lex', discover: true }] }, undefined)).toBeUndefined();
  });

  it('passes with Object Lock, an alarm email and server access logs (the log bucket, the alarm topic, the key)', () => {
    expect(
      nag({
        targets: [{ provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' }],
        objectLock: { mode: 'COMPLIANCE', days: 30 },
        notifications: { email: 'ops@example.com' },
      }),
    ).toBeUndefined();
  });

  it('still flags a wildcard nobody acknowledged (the acknowledgments are per resource, not per rule)', () => {
    const message = nag({ targets: [{ provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' }] }, undefined, (stack) => {
      stack.functions.summarize.function.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [stack.archiveBucket.bucket.arnForObjects('other/*')] }),
      );
    });
    expect(message).toMatch(/AwsSolutions-IAM5\[Resource::<ArchiveBucket\w+\.Arn>\/other\/\*\]/);
    expect(message).toContain('Summarize/Role/DefaultPolicy');
  });
});
