/** The Lambdas: BackupFunction defaults and each function's settings in the stack. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { archiveLimits as archiveLimitsFromEnv } from '../../lib/core/env';
import { PROJECT_ROOT } from '../../lib/project-root';
import { App, type CfnElement, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { BackupFunction, type BackupFunctionProps } from '../../lib/constructs/backup-function';
import { SKIP_BUNDLING, logicalId, render, synth } from './helpers';

const FUNCTIONS = ['Plan', 'StartExport', 'CheckExport', 'StoreArchive', 'Cleanup', 'Summarize'] as const;
const DEFAULT_ENV = { POWERTOOLS_SERVICE_NAME: 'botvault', POWERTOOLS_METRICS_NAMESPACE: 'BotVault' };

describe('the six Lambdas in the stack', () => {
  const { template, json } = synth({
    targets: [{ provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' }],
    downloadAllowlist: ['http://127.0.0.1:4010', 'https://files.example.com'],
    logRetentionDays: 30,
  });
  const bucketRef = `Ref(${logicalId(json, 'AWS::S3::Bucket', 'ArchiveBucket')})`;
  const macKeyRef = `${logicalId(json, 'AWS::KMS::Key', 'AuthenticationKey')}.Arn`;
  const props = (name: string) => json.Resources[logicalId(json, 'AWS::Lambda::Function', `${name}Function`)]!.Properties!;

  it('run on the Node.js this project develops and tests on: the runtime, .nvmrc, engines and the `node` package agree', () => {
    // npm scripts put node_modules/.bin first on PATH, where the `node` devDependency installs its binary:
    // this test itself runs on it, so a machine's own older Node cannot slip into the suite unnoticed.
    const pkg = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
      engines: { node: string };
      devDependencies: Record<string, string>;
    };
    const major = (v: string) => Number(/(\d+)/.exec(v)?.[1]);
    const runtime = major(String(props('Plan').Runtime));
    expect(runtime).toBe(24);
    expect(major(process.versions.node)).toBe(runtime);
    expect(major(readFileSync(join(PROJECT_ROOT, '.nvmrc'), 'utf8'))).toBe(runtime);
    expect(major(pkg.engines.node)).toBe(runtime);
    expect(major(pkg.devDependencies.node!)).toBe(runtime);
  });

  it('are exactly six', () => {
    template.resourceCountIs('AWS::Lambda::Function', 6);
  });

  it.each(FUNCTIONS)('%s: Node.js 24 on arm64, X-Ray tracing, handler "index.handler"', (name) => {
    expect(props(name)).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Handler: 'index.handler',
    });
  });

  it.each(FUNCTIONS)('%s: logs to its own log group with the configured retention, encrypted with the stack key, deleted with the stack', (name) => {
    const logGroupId = (render(props(name).LoggingConfig) as { LogGroup: string }).LogGroup.replace(/^Ref\((.*)\)$/, '$1');
    const logGroup = json.Resources[logGroupId]!;
    expect(logGroup.Type).toBe('AWS::Logs::LogGroup');
    expect(render(logGroup.Properties)).toEqual({ RetentionInDays: 30, KmsKeyId: `${logicalId(json, 'AWS::KMS::Key', 'EncryptionKey')}.Arn` });
    expect(logGroup.DeletionPolicy).toBe('Delete');
  });

  it.each([
    ['Plan', 256, 300],
    ['StartExport', 256, 60],
    ['CheckExport', 256, 60],
    ['StoreArchive', 1024, 900],
    ['Cleanup', 256, 60],
    ['Summarize', 256, 60],
  ] as const)('%s: %i MB, %i s', (name, memory, timeout) => {
    expect(props(name)).toMatchObject({ MemorySize: memory, Timeout: timeout });
  });

  it.each(FUNCTIONS.filter((n) => n !== 'StoreArchive'))(
    '%s: environment is the defaults plus BOTVAULT_BUCKET (Plan: and the account id; Plan, StartExport, CheckExport: and the download allowlist; Summarize: and the MAC key and the change notification topic)',
    (name) => {
      const topicRef = `Ref(${logicalId(json, 'AWS::SNS::Topic', 'AlarmsTopic')})`;
      expect(render(props(name).Environment)).toEqual({
        Variables: {
          ...DEFAULT_ENV,
          BOTVAULT_BUCKET: bucketRef,
          ...(name === 'Plan' ? { BOTVAULT_ACCOUNT_ID: 'Ref(AWS::AccountId)' } : {}),
          // Their provider API calls go through the download guard (Kore.ai's host may be an allowlisted simulator).
          ...(['Plan', 'StartExport', 'CheckExport'].includes(name)
            ? { BOTVAULT_DOWNLOAD_ALLOWLIST: 'http://127.0.0.1:4010,https://files.example.com' }
            : {}),
          ...(name === 'Summarize' ? { BOTVAULT_MAC_KEY_ID: macKeyRef, BOTVAULT_CHANGE_TOPIC_ARN: topicRef } : {}),
        },
      });
    },
  );

  it('StoreArchive: also BOTVAULT_DOWNLOAD_ALLOWLIST, the config allowlist joined by commas, BOTVAULT_CHANGE_DETECTION (default skipUnchanged) and BOTVAULT_MAX_ARCHIVE_MIB (default 1024)', () => {
    expect(render(props('StoreArchive').Environment)).toEqual({
      Variables: {
        ...DEFAULT_ENV,
        BOTVAULT_BUCKET: bucketRef,
        BOTVAULT_DOWNLOAD_ALLOWLIST: 'http://127.0.0.1:4010,https://files.example.com',
        BOTVAULT_CHANGE_DETECTION: 'skipUnchanged',
        BOTVAULT_MAX_ARCHIVE_MIB: '1024',
        BOTVAULT_ARCHIVE_LIMITS: '{"maxEntries":10000,"maxUncompressedMiB":2048,"maxCompressionRatio":100}',
        BOTVAULT_MAC_KEY_ID: macKeyRef,
      },
    });
  });

  it("StoreArchive: ephemeral storage for the largest archive's spool (maxArchiveMiB + 64 MiB, at least 512); the others keep the default", () => {
    expect(props('StoreArchive').EphemeralStorage).toEqual({ Size: 1088 });
    for (const name of ['Plan', 'StartExport', 'CheckExport', 'Cleanup', 'Summarize']) expect(props(name).EphemeralStorage).toBeUndefined();
    const { json: small } = synth({ maxArchiveMiB: 100, targets: [{ provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' }] });
    const p = small.Resources[logicalId(small, 'AWS::Lambda::Function', 'StoreArchiveFunction')]!.Properties!;
    expect(p.EphemeralStorage).toEqual({ Size: 512 });
    expect((p.Environment as { Variables: Record<string, unknown> }).Variables.BOTVAULT_MAX_ARCHIVE_MIB).toBe('100');
  });

  it('archiveLimits reach StoreArchive and the restore drill as BOTVAULT_ARCHIVE_LIMITS, which the handlers read back', () => {
    const archiveLimits = { maxEntries: 500, maxUncompressedMiB: 4096, maxCompressionRatio: 40 };
    const { json: j } = synth({
      archiveLimits,
      restoreDrill: { enabled: true },
      targets: [{ provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' }],
    });
    for (const id of ['StoreArchiveFunction', 'RestoreDrillFunction']) {
      const p = j.Resources[logicalId(j, 'AWS::Lambda::Function', id)]!.Properties!;
      const raw = (p.Environment as { Variables: Record<string, string> }).Variables.BOTVAULT_ARCHIVE_LIMITS!;
      expect(archiveLimitsFromEnv({ BOTVAULT_ARCHIVE_LIMITS: raw })).toEqual({
        maxEntries: 500,
        maxUncompressedBytes: 4096 * 1024 * 1024,
        maxCompressionRatio: 40,
      });
    }
  });

  it('StoreArchive: changeDetection "always" reaches BOTVAULT_CHANGE_DETECTION', () => {
    const { json: j } = synth({ changeDetection: 'always', targets: [{ provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' }] });
    const p = j.Resources[logicalId(j, 'AWS::Lambda::Function', 'StoreArchiveFunction')]!.Properties!;
    expect((p.Environment as { Variables: Record<string, unknown> }).Variables.BOTVAULT_CHANGE_DETECTION).toBe('always');
  });

  it('StoreArchive: an empty allowlist is an empty variable (no extra origins)', () => {
    const { json: j } = synth({ targets: [{ provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' }] });
    const p = j.Resources[logicalId(j, 'AWS::Lambda::Function', 'StoreArchiveFunction')]!.Properties!;
    expect((p.Environment as { Variables: Record<string, unknown> }).Variables.BOTVAULT_DOWNLOAD_ALLOWLIST).toBe('');
  });
});

describe('BackupFunction construct', () => {
  const stackWith = (props: BackupFunctionProps) => {
    const stack = new Stack(new App({ context: SKIP_BUNDLING }), 'Test');
    const fn = new BackupFunction(stack, 'Fn', props);
    return { stack, fn, template: Template.fromStack(stack) };
  };

  it('defaults: 256 MB, 60 s, 90 days of logs, description naming the Lambda', () => {
    const { template, fn } = stackWith({ name: 'plan' });
    template.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 256, Timeout: 60, Description: 'BotVault plan' });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
    // The public logGroup is the one the function logs to.
    const logGroupId = Stack.of(fn).getLogicalId(fn.logGroup.node.defaultChild as CfnElement);
    template.hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: { LogGroup: { Ref: logGroupId } } });
  });

  it('merges the caller environment with the defaults; a default repeated with the same value is fine', () => {
    const { template } = stackWith({ name: 'plan', environment: { FOO: 'bar', POWERTOOLS_SERVICE_NAME: 'botvault' } });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: { ...DEFAULT_ENV, FOO: 'bar' } } });
  });

  it('honours memory, timeout and log retention props', () => {
    const { template } = stackWith({ name: 'plan', memorySize: 512, timeout: Duration.minutes(2), logRetention: logs.RetentionDays.ONE_WEEK });
    template.hasResourceProperties('AWS::Lambda::Function', { MemorySize: 512, Timeout: 120, LoggingConfig: { LogGroup: Match.anyValue() } });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 7 });
  });

  it.each([
    [
      { name: 'plan', environment: { POWERTOOLS_SERVICE_NAME: 'mine' } },
      /POWERTOOLS_SERVICE_NAME is set by BackupFunction for every Lambda \("botvault"\) and cannot be changed/,
    ],
    [{ name: 'no-such-lambda' }, /no handler for "no-such-lambda": expected .*lambdas\/no-such-lambda\/handler\.ts/],
    [{ name: '../plan' }, /must be a folder name under lambdas\//],
    [{ name: 'plan', memorySize: 64 }, /memorySize must be a whole number of MB from 128 to 10240 \(got 64\)/],
    [{ name: 'plan', timeout: Duration.minutes(16) }, /timeout must be from 1 second to 15 minutes/],
  ] as [BackupFunctionProps, RegExp][])('rejects %j with an actionable message', (props, message) => {
    expect(() => stackWith(props)).toThrow(message);
  });
});
