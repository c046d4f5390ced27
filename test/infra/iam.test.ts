/**
 * Exact IAM per Lambda, derived from the config (lib/botvault-stack.ts).
 * Resource types per action follow the Service Authorization Reference for
 * Amazon Lex V2: ListBots takes no resource (`*`); ListBotVersions and
 * ListBotLocales take `bot`; CreateExport, DescribeExport and DeleteExport
 * take `bot` or `test set`.
 */
import { describe, expect, it } from 'vitest';
import { LEX_DESCRIBE_EXPORT_BOT_ACTIONS } from '../../lib/providers/lex/grants';
import { ACCOUNT, REGION, functionStatements, logicalId, synth, type CfnTemplate } from './helpers';

const XRAY = { Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Effect: 'Allow', Resource: '*' };
/**
 * MACs with the stack's HMAC key (AuthenticationKey): only the two writers of archives, sidecars and manifests
 * make them; StoreArchive also verifies the current version's before it calls a bot unchanged.
 */
const macs = (json: CfnTemplate, name: string) => ({
  Action: name === 'StoreArchive' ? ['kms:GenerateMac', 'kms:VerifyMac'] : 'kms:GenerateMac',
  Effect: 'Allow',
  Resource: `${logicalId(json, 'AWS::KMS::Key', 'AuthenticationKey')}.Arn`,
});
/**
 * What every BackupFunction's role starts with: write to its own log group (no AWSLambdaBasicExecutionRole),
 * send traces; the writers (StoreArchive, Summarize) also make MACs.
 */
const base = (json: CfnTemplate, name: string) => [
  {
    Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    Effect: 'Allow',
    Resource: `${logicalId(json, 'AWS::Logs::LogGroup', `${name}LogGroup`)}.Arn`,
  },
  XRAY,
  ...(name === 'StoreArchive' || name === 'Summarize' ? [macs(json, name)] : []),
];
/** How many statements base() gives `fn` (a function's logical id prefix, e.g. StoreArchiveFunction). */
const baseCount = (json: CfnTemplate, fn: string) => base(json, fn.replace(/Function$/, '')).length;
const lex = (resource: string) => `arn:aws:lex:${REGION}:${ACCOUNT}:${resource}`;
const secret = (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}`;
const secretRead = (resource: string | string[]) => ({ Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: resource });
const PASSWORD_ARN = 'arn:aws:secretsmanager:eu-central-1:210987654321:secret:shared/lex-testset-AbCdEf';
const BOT_READS = [...LEX_DESCRIBE_EXPORT_BOT_ACTIONS, 'lex:DescribeExport'].sort();
/** StoreArchive's extra bot reads for the restore sidecar (DescribeBot is already among the export reads). */
const SIDECAR_BOT_READS = ['lex:ListBotAliases', 'lex:ListTagsForResource'];
const withSidecar = (fn: string, actions: string[]) => (fn === 'StoreArchiveFunction' ? [...actions, ...SIDECAR_BOT_READS].sort() : actions);

/** The stack key's data-key actions for objects in the archive bucket, usable only through S3 (ArchiveBucket grants). */
function keyViaS3(json: CfnTemplate, actions: string | string[]) {
  return {
    Action: actions,
    Condition: { StringEquals: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` } },
    Effect: 'Allow',
    Resource: `${logicalId(json, 'AWS::KMS::Key', 'EncryptionKey')}.Arn`,
  };
}

/**
 * Plan's schedule tick markers (ArchiveBucket.grantTickMarkers): conditional put and read-back under ticks/ only;
 * and DescribeExecution of this state machine's executions only, to check a marker's owner.
 */
function tickMarkers(json: CfnTemplate) {
  const b = logicalId(json, 'AWS::S3::Bucket', 'ArchiveBucket');
  return [
    { Action: ['s3:GetObject', 's3:PutObject'], Effect: 'Allow', Resource: `${b}.Arn/ticks/*` },
    keyViaS3(json, ['kms:Decrypt', 'kms:GenerateDataKey']),
    { Action: 'states:DescribeExecution', Effect: 'Allow', Resource: `arn:aws:states:${REGION}:${ACCOUNT}:execution:BotVault:*` },
  ];
}

/** StoreArchive's S3 statements (ArchiveBucket.grantArchiveWrite), and the key through S3 for SSE-KMS uploads and copies. */
function archiveWrite(json: CfnTemplate) {
  const b = logicalId(json, 'AWS::S3::Bucket', 'ArchiveBucket');
  return [
    // GetObjectVersion: the change summary reads the version a new one replaces by its version id (lambdas/shared/change-record.ts).
    {
      Action: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:GetObjectVersion', 's3:PutObject'],
      Effect: 'Allow',
      Resource: [`${b}.Arn/koreai/*`, `${b}.Arn/lex/*`],
    },
    keyViaS3(json, ['kms:Decrypt', 'kms:GenerateDataKey']),
  ];
}

/** A function's statements: its secret reads (GetSecretValue) apart from the rest. */
function secretReadsApart(json: CfnTemplate, fn: string) {
  const all = functionStatements(json, fn) as { Action?: unknown }[];
  const isSecretRead = (st: { Action?: unknown }) => st.Action === 'secretsmanager:GetSecretValue';
  return { secretReads: all.filter(isSecretRead), statements: all.filter((st) => !isSecretRead(st)) };
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

  it('Plan: no Lex permission at all (nothing to discover), only its logs, X-Ray and the schedule tick markers', () => {
    expect(functionStatements(json, 'PlanFunction')).toEqual([...base(json, 'Plan'), ...tickMarkers(json)]);
  });

  it('StartExport: CreateExport on each configured bot (each bot once), no secrets', () => {
    expect(functionStatements(json, 'StartExportFunction')).toEqual([
      ...base(json, 'StartExport'),
      { Action: 'lex:CreateExport', Effect: 'Allow', Resource: bots },
    ]);
  });

  it.each(['CheckExportFunction', 'StoreArchiveFunction'])(
    '%s: DescribeExport (and the reads it is authorized against) on the bots; StoreArchive also the sidecar reads',
    (fn) => {
      const statements = functionStatements(json, fn);
      expect(statements.slice(0, baseCount(json, fn) + 1)).toEqual([
        ...base(json, fn.replace(/Function$/, '')),
        { Action: withSidecar(fn, BOT_READS), Effect: 'Allow', Resource: bots },
      ]);
      const aliases = { Action: 'lex:DescribeBotAlias', Effect: 'Allow', Resource: [lex('bot-alias/ABCDEFGHIJ/*'), lex('bot-alias/KLMNOPQRST/*')] };
      expect(statements.slice(baseCount(json, fn) + 1)).toEqual(fn === 'StoreArchiveFunction' ? [aliases, ...archiveWrite(json)] : []);
    },
  );

  it('Cleanup: DeleteExport on the bots', () => {
    expect(functionStatements(json, 'CleanupFunction')).toEqual([
      ...base(json, 'Cleanup'),
      { Action: 'lex:DeleteExport', Effect: 'Allow', Resource: bots },
    ]);
  });

  it("Summarize: PutObject on runs/* only, a data key through S3 to encrypt the manifest, and Publish on the alarm topic (the run's change notification)", () => {
    const b = logicalId(json, 'AWS::S3::Bucket', 'ArchiveBucket');
    const key = logicalId(json, 'AWS::KMS::Key', 'EncryptionKey');
    expect(functionStatements(json, 'SummarizeFunction')).toEqual([
      ...base(json, 'Summarize'),
      { Action: 's3:PutObject', Effect: 'Allow', Resource: `${b}.Arn/runs/*` },
      keyViaS3(json, 'kms:GenerateDataKey'),
      { Action: 'sns:Publish', Effect: 'Allow', Resource: `Ref(${logicalId(json, 'AWS::SNS::Topic', 'AlarmsTopic')})` },
      { Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Effect: 'Allow', Resource: `${key}.Arn` },
    ]);
  });

  it('every Lambda role: assumable by Lambda only, no managed policies (AWSLambdaBasicExecutionRole would allow writing to any log group)', () => {
    const roles = Object.entries(json.Resources).filter(
      ([id, r]) => r.Type === 'AWS::IAM::Role' && /^(Plan|StartExport|CheckExport|StoreArchive|Cleanup|Summarize)Role/.test(id),
    );
    expect(roles).toHaveLength(6);
    for (const [, role] of roles) {
      expect(role.Properties!.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties!.AssumeRolePolicyDocument).toEqual({
        Version: '2012-10-17',
        Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }],
      });
    }
  });

  it('no Lambda can read secrets, list bots or touch the bucket beyond its grant', () => {
    const all = JSON.stringify(['StartExport', 'CheckExport', 'Cleanup'].map((f) => functionStatements(json, `${f}Function`)));
    expect(all).not.toMatch(/secretsmanager|lex:ListBots"|s3:|kms:/);
    expect(JSON.stringify(functionStatements(json, 'PlanFunction'))).not.toMatch(/secretsmanager|lex:|runs\/|staging\/|lex\/\*|koreai\/\*/);
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
      ...base(json, 'StartExport'),
      { Action: 'lex:CreateExport', Effect: 'Allow', Resource: [...bots, testSet] },
      secretRead([PASSWORD_ARN, secret('botvault/lex-password-??????')]),
    ]);
  });

  it.each(['CheckExportFunction', 'StoreArchiveFunction'])(
    '%s: DescribeExport on bots and test set, bot reads on bots, DescribeTestSet on the test set; only StoreArchive reads the password secrets (to decrypt)',
    (fn) => {
      const { secretReads, statements } = secretReadsApart(json, fn);
      expect(secretReads).toEqual(fn === 'StoreArchiveFunction' ? [secretRead([PASSWORD_ARN, secret('botvault/lex-password-??????')])] : []);
      expect(statements.slice(0, baseCount(json, fn) + 3)).toEqual([
        ...base(json, fn.replace(/Function$/, '')),
        { Action: 'lex:DescribeExport', Effect: 'Allow', Resource: [...bots, testSet] },
        { Action: withSidecar(fn, [...LEX_DESCRIBE_EXPORT_BOT_ACTIONS].sort()), Effect: 'Allow', Resource: bots },
        { Action: 'lex:DescribeTestSet', Effect: 'Allow', Resource: testSet },
      ]);
      // No alias reads for the test set: it has no aliases and no sidecar.
      const aliases = { Action: 'lex:DescribeBotAlias', Effect: 'Allow', Resource: [lex('bot-alias/ABCDEFGHIJ/*'), lex('bot-alias/KLMNOPQRST/*')] };
      expect(statements.slice(baseCount(json, fn) + 3)).toEqual(fn === 'StoreArchiveFunction' ? [aliases, ...archiveWrite(json)] : []);
    },
  );

  it('Cleanup: DeleteExport on bots and the test set', () => {
    expect(functionStatements(json, 'CleanupFunction')).toEqual([
      ...base(json, 'Cleanup'),
      { Action: 'lex:DeleteExport', Effect: 'Allow', Resource: [...bots, testSet] },
    ]);
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
      base(json, 'Plan')[0],
      // cdk.json's minimizePolicies merges it with X-Ray's statement: both are on "*".
      { Action: ['lex:ListBots', ...XRAY.Action], Effect: 'Allow', Resource: '*' },
      { Action: ['lex:ListBotLocales', 'lex:ListBotVersions'], Effect: 'Allow', Resource: anyBot },
      ...tickMarkers(json),
    ]);
  });

  it('StartExport: CreateExport on bot/* (discovered bots are unknown at deploy time) and the discovery target password', () => {
    expect(functionStatements(json, 'StartExportFunction')).toEqual([
      ...base(json, 'StartExport'),
      { Action: 'lex:CreateExport', Effect: 'Allow', Resource: anyBot },
      secretRead(secret('botvault/lex-password-??????')),
    ]);
  });

  it.each(['CheckExportFunction', 'StoreArchiveFunction'])(
    "%s: DescribeExport and its reads on bot/*; StoreArchive reads the discovery target's password",
    (fn) => {
      const { secretReads, statements } = secretReadsApart(json, fn);
      expect(secretReads).toEqual(fn === 'StoreArchiveFunction' ? [secretRead(secret('botvault/lex-password-??????'))] : []);
      expect(statements.slice(0, baseCount(json, fn) + 1)).toEqual([
        ...base(json, fn.replace(/Function$/, '')),
        { Action: withSidecar(fn, BOT_READS), Effect: 'Allow', Resource: anyBot },
      ]);
      const aliases = { Action: 'lex:DescribeBotAlias', Effect: 'Allow', Resource: lex('bot-alias/*') };
      expect(statements.slice(baseCount(json, fn) + 1)).toEqual(fn === 'StoreArchiveFunction' ? [aliases, ...archiveWrite(json)] : []);
    },
  );

  it('Cleanup: DeleteExport on bot/*', () => {
    expect(functionStatements(json, 'CleanupFunction')).toEqual([
      ...base(json, 'Cleanup'),
      { Action: 'lex:DeleteExport', Effect: 'Allow', Resource: anyBot },
    ]);
  });
});
