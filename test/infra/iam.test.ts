/**
 * Exact IAM per Lambda, derived from the config (lib/botvault-stack.ts).
 * Resource types per action follow the Service Authorization Reference for
 * Amazon Lex V2: ListBots takes no resource (`*`); ListBotVersions and
 * ListBotLocales take `bot`; CreateExport, DescribeExport and DeleteExport
 * take `bot` or `test set`.
 */
import { describe, expect, it } from 'vitest';
import { LEX_DESCRIBE_EXPORT_BOT_ACTIONS } from '../../lib/botvault-stack';
import { ACCOUNT, REGION, functionStatements, logicalId, synth, type CfnTemplate } from './helpers';

const XRAY = { Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Effect: 'Allow', Resource: '*' };
const lex = (resource: string) => `arn:aws:lex:${REGION}:${ACCOUNT}:${resource}`;
const secret = (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}`;
const PASSWORD_ARN = 'arn:aws:secretsmanager:eu-central-1:210987654321:secret:shared/lex-testset-AbCdEf';
const BOT_READS = [...LEX_DESCRIBE_EXPORT_BOT_ACTIONS, 'lex:DescribeExport'].sort();

/** StoreArchive's S3 statements (ArchiveBucket.grantArchiveWrite). */
function archiveWrite(json: CfnTemplate) {
  const b = logicalId(json, 'AWS::S3::Bucket', 'ArchiveBucket');
  return [
    {
      Action: ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:DeleteObjectVersion', 's3:GetObject', 's3:GetObjectVersion', 's3:PutObject'],
      Effect: 'Allow',
      Resource: `${b}.Arn/staging/*`,
    },
    { Action: ['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject'], Effect: 'Allow', Resource: [`${b}.Arn/koreai/*`, `${b}.Arn/lex/*`] },
    { Action: 's3:ListBucketMultipartUploads', Effect: 'Allow', Resource: `${b}.Arn` },
  ];
}

describe('IAM with configured bots only (no discovery, no test sets, no passwords)', () => {
  const { json } = synth({
    targets: [
      { provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' },
      { provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: '3', localeId: 'en_US' },
      { provider: 'lex', botId: 'KLMNOPQRST', botVersion: '2' },
    ],
  });
  const bots = [lex('bot/ABCDEFGHIJ'), lex('bot/KLMNOPQRST')];

  it('Plan: no Lex permission at all (nothing to discover), only X-Ray', () => {
    expect(functionStatements(json, 'PlanFunction')).toEqual([XRAY]);
  });

  it('StartExport: CreateExport on each configured bot (each bot once), no secrets', () => {
    expect(functionStatements(json, 'StartExportFunction')).toEqual([XRAY, { Action: 'lex:CreateExport', Effect: 'Allow', Resource: bots }]);
  });

  it.each(['CheckExportFunction', 'StoreArchiveFunction'])('%s: DescribeExport (and the reads it is authorized against) on the bots', (fn) => {
    const statements = functionStatements(json, fn);
    expect(statements.slice(0, 2)).toEqual([XRAY, { Action: BOT_READS, Effect: 'Allow', Resource: bots }]);
    expect(statements.slice(2)).toEqual(fn === 'StoreArchiveFunction' ? archiveWrite(json) : []);
  });

  it('Cleanup: DeleteExport on the bots', () => {
    expect(functionStatements(json, 'CleanupFunction')).toEqual([XRAY, { Action: 'lex:DeleteExport', Effect: 'Allow', Resource: bots }]);
  });

  it('Summarize: PutObject on runs/* only', () => {
    const b = logicalId(json, 'AWS::S3::Bucket', 'ArchiveBucket');
    expect(functionStatements(json, 'SummarizeFunction')).toEqual([XRAY, { Action: 's3:PutObject', Effect: 'Allow', Resource: `${b}.Arn/runs/*` }]);
  });

  it('no Lambda can read secrets, list bots or touch the bucket beyond its grant', () => {
    const all = JSON.stringify(['Plan', 'StartExport', 'CheckExport', 'Cleanup'].map((f) => functionStatements(json, `${f}Function`)));
    expect(all).not.toMatch(/secretsmanager|lex:ListBots"|s3:/);
  });
});

describe('IAM with test sets and export passwords', () => {
  const { json } = synth({
    targets: [
      { provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT', passwordSecret: 'botvault/lex-password' },
      { provider: 'lex', botId: 'KLMNOPQRST', botVersion: '2', localeId: 'en_US', customVocabulary: true, passwordSecret: 'botvault/lex-password' },
      { provider: 'lex', testSetId: 'TESTSET001', passwordSecret: PASSWORD_ARN },
    ],
  });
  const bots = [lex('bot/ABCDEFGHIJ'), lex('bot/KLMNOPQRST')];
  const testSet = lex('test-set/TESTSET001');

  it('StartExport: CreateExport on bots and the test set; GetSecretValue on each password secret (name → ARN pattern, ARN as given)', () => {
    expect(functionStatements(json, 'StartExportFunction')).toEqual([
      XRAY,
      { Action: 'lex:CreateExport', Effect: 'Allow', Resource: [...bots, testSet] },
      { Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: [PASSWORD_ARN, secret('botvault/lex-password-??????')] },
    ]);
  });

  it.each(['CheckExportFunction', 'StoreArchiveFunction'])('%s: DescribeExport on bots and test set, bot reads on bots, DescribeTestSet on the test set; no secrets', (fn) => {
    const statements = functionStatements(json, fn);
    expect(statements.slice(0, 4)).toEqual([
      XRAY,
      { Action: 'lex:DescribeExport', Effect: 'Allow', Resource: [...bots, testSet] },
      { Action: [...LEX_DESCRIBE_EXPORT_BOT_ACTIONS].sort(), Effect: 'Allow', Resource: bots },
      { Action: 'lex:DescribeTestSet', Effect: 'Allow', Resource: testSet },
    ]);
    expect(statements.slice(4)).toEqual(fn === 'StoreArchiveFunction' ? archiveWrite(json) : []);
  });

  it('Cleanup: DeleteExport on bots and the test set', () => {
    expect(functionStatements(json, 'CleanupFunction')).toEqual([XRAY, { Action: 'lex:DeleteExport', Effect: 'Allow', Resource: [...bots, testSet] }]);
  });
});

describe('IAM with discovery', () => {
  const { json } = synth({
    targets: [
      { provider: 'lex', discover: true, include: ['Order*'], passwordSecret: 'botvault/lex-password' },
      { provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' },
    ],
  });
  const anyBot = lex('bot/*');

  it('Plan: ListBots on * (it has no resource type), ListBotVersions and ListBotLocales on every bot', () => {
    expect(functionStatements(json, 'PlanFunction')).toEqual([
      // cdk.json's minimizePolicies merges it with X-Ray's statement: both are on "*".
      { Action: ['lex:ListBots', ...XRAY.Action], Effect: 'Allow', Resource: '*' },
      { Action: ['lex:ListBotLocales', 'lex:ListBotVersions'], Effect: 'Allow', Resource: anyBot },
    ]);
  });

  it('StartExport: CreateExport on bot/* (discovered bots are unknown at deploy time) and the discovery target password', () => {
    expect(functionStatements(json, 'StartExportFunction')).toEqual([
      XRAY,
      { Action: 'lex:CreateExport', Effect: 'Allow', Resource: anyBot },
      { Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: secret('botvault/lex-password-??????') },
    ]);
  });

  it.each(['CheckExportFunction', 'StoreArchiveFunction'])('%s: DescribeExport and its reads on bot/*', (fn) => {
    expect(functionStatements(json, fn).slice(0, 2)).toEqual([XRAY, { Action: BOT_READS, Effect: 'Allow', Resource: anyBot }]);
  });

  it('Cleanup: DeleteExport on bot/*', () => {
    expect(functionStatements(json, 'CleanupFunction')).toEqual([XRAY, { Action: 'lex:DeleteExport', Effect: 'Allow', Resource: anyBot }]);
  });
});
