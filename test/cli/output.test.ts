/** Small CLI helpers: tables, times, run names, ARNs, and which AWS failures become one-line advice. */
import { describe, expect, it } from 'vitest';
import { NO_CREDENTIALS, awsCliError, regionFromArn } from '../../lib/cli/aws';
import { CliError, fitLine, formatJobLines, formatRunSummary, formatTable, formatTime } from '../../lib/cli/output';
import { manualRunName } from '../../lib/cli/run';
import { formatManifest, newestManifest } from '../../lib/cli/status';

describe('formatTable', () => {
  it('aligns columns, right-aligns the listed ones, and leaves no trailing spaces', () => {
    expect(
      formatTable(
        ['A', 'SIZE', 'NOTE'],
        [
          ['x', '1 B', ''],
          ['longer', '10.0 KiB', 'n'],
        ],
        [1],
      ),
    ).toEqual(['A           SIZE  NOTE', 'x            1 B', 'longer  10.0 KiB  n']);
  });
});

describe('formatTime', () => {
  it('prints UTC to the second, and passes unparseable values through', () => {
    expect(formatTime('2024-05-17T03:00:12.345Z')).toBe('2024-05-17 03:00:12Z');
    expect(formatTime(undefined)).toBe('-');
    expect(formatTime('soon')).toBe('soon');
  });
});

describe('manualRunName', () => {
  it('is a valid, time-sortable execution name', () => {
    const name = manualRunName(new Date('2024-05-17T03:00:12.345Z'));
    expect(name).toMatch(/^manual-20240517T030012Z-[0-9a-f]{6}$/);
    expect(manualRunName()).not.toBe(manualRunName());
  });
});

describe('regionFromArn', () => {
  it('reads the region of an ARN, nothing from anything else', () => {
    expect(regionFromArn('arn:aws:states:eu-west-1:123456789012:stateMachine:BotVault')).toBe('eu-west-1');
    expect(regionFromArn('BotVault')).toBeUndefined();
    expect(regionFromArn(undefined)).toBeUndefined();
  });
});

describe('awsCliError', () => {
  const named = (name: string, message = name, extra: object = {}) => Object.assign(new Error(message), { name, ...extra });

  it('turns missing or rejected credentials into the same advice', () => {
    expect(awsCliError(named('CredentialsProviderError', 'Could not load credentials from any providers'), 'x')?.message).toBe(NO_CREDENTIALS);
    for (const name of ['ExpiredToken', 'UnrecognizedClientException', 'InvalidClientTokenId', 'InvalidAccessKeyId']) {
      const e = awsCliError(named(name), 'DescribeStacks BotVault');
      expect(e).toBeInstanceOf(CliError);
      expect(e?.message).toBe(`${NO_CREDENTIALS} (AWS said ${name} for DescribeStacks BotVault)`);
    }
  });

  it('names a missing region, an unreachable endpoint and a denied call', () => {
    expect(awsCliError(new Error('Region is missing'), 'x')?.message).toMatch(/^no AWS region: set AWS_REGION/);
    expect(awsCliError(named('Error', 'connect ECONNREFUSED 127.0.0.1:1', { code: 'ECONNREFUSED' }), 'StartExecution')?.message).toMatch(
      /^cannot reach AWS for StartExecution \(ECONNREFUSED\)/,
    );
    expect(awsCliError(named('AccessDeniedException', 'not authorized to perform states:StartExecution'), 'StartExecution')?.message).toMatch(
      /^access denied for StartExecution/,
    );
  });

  it('leaves everything else to the caller', () => {
    expect(awsCliError(named('ThrottlingException'), 'x')).toBeUndefined();
    expect(awsCliError('a string', 'x')).toBeUndefined();
  });
});

describe('formatManifest', () => {
  it('prints the run line, the counts and one row per job (the error for a failed one)', () => {
    const lines = formatManifest(
      {
        runId: 'r1',
        trigger: 'manual',
        startedAt: '2024-05-17T03:00:00.000Z',
        finishedAt: '2024-05-17T03:00:09.000Z',
        durationSeconds: 9,
        counts: { total: 2, succeeded: 1, unchanged: 0, failed: 1 },
        results: [
          {
            target: 'lex:A:DRAFT',
            status: 'SUCCEEDED',
            key: 'lex/123456789012/us-east-1/A/DRAFT/bot.zip',
            bytes: 2048,
            sha256: 'ab'.repeat(32),
            versionId: 'v1',
          },
          {
            target: 'lex:B:DRAFT',
            status: 'FAILED',
            error: 'ExportFailedError',
            cause: '{"errorType":"ExportFailedError","errorMessage":"locale not built"}',
          },
        ],
      },
      'bkt',
      'runs/2024/05/17/r1.json',
    );
    expect(lines).toEqual([
      'run r1 (manual)  started 2024-05-17 03:00:00Z  took 9 s',
      '1 stored, 0 unchanged, 1 failed of 2; manifest s3://bkt/runs/2024/05/17/r1.json',
      '',
      'STATUS     TARGET          SIZE  VERSION  SHA256        KEY / ERROR',
      'SUCCEEDED  lex:A:DRAFT  2.0 KiB  v1       abababababab  lex/123456789012/us-east-1/A/DRAFT/bot.zip',
      'FAILED     lex:B:DRAFT        -  -        -             ExportFailedError: locale not built',
    ]);
  });
});

describe('on a terminal: 120 columns with a Kore.ai target and a 32-character S3 version id', () => {
  const KORE = 'koreai:st-5e1f0c2a-7b3d-4c8e-9a6f-1d2b3c4e5f60:published';
  const results = [
    {
      target: KORE,
      status: 'SUCCEEDED' as const,
      key: 'koreai/bots.eu-central.example-company.com/st-5e1f0c2a-7b3d-4c8e-9a6f-1d2b3c4e5f60/published/bot.zip',
      bytes: 1023.9 * 1024,
      sha256: 'ab'.repeat(32),
      versionId: 'UIORUnfndfhnw89493jJFJ.Xy_0aBcDe',
    },
    { target: 'lex:B:DRAFT', status: 'FAILED' as const, error: 'ProviderUnavailableError', cause: 'x'.repeat(300) },
  ];
  const manifest = {
    runId: 'manual-20261122T193642Z-e6ef38',
    trigger: 'manual' as const,
    startedAt: '2024-05-17T03:00:00.000Z',
    finishedAt: '2024-05-17T03:00:09.000Z',
    durationSeconds: 9,
    counts: { total: 2, succeeded: 1, unchanged: 0, failed: 1 },
    results,
  };
  const bucket = 'botvault-archivebucket1a2b3c4d-abcdefghijkl';
  const key = 'runs/2026/11/22/manual-20261122T193642Z-e6ef38.json';

  it('status: no SIZE or KEY, a short hash; every line fits once fitted, only the free-text error is cut', () => {
    const lines = formatManifest(manifest, bucket, key, true);
    expect(lines.slice(0, 5)).toEqual([
      'run manual-20261122T193642Z-e6ef38 (manual)  started 2024-05-17 03:00:00Z  took 9 s',
      '1 stored, 0 unchanged, 1 failed of 2',
      `manifest s3://${bucket}/${key}`,
      '',
      'STATUS     TARGET                                                    SHA256        VERSION / ERROR',
    ]);
    expect(lines[5]).toBe(`SUCCEEDED  ${KORE}  abababababab  UIORUnfndfhnw89493jJFJ.Xy_0aBcDe`);
    expect(lines[5]!.length).toBeLessThanOrEqual(120);
    expect(lines[6]!.length).toBeGreaterThan(120);
    expect(fitLine(lines[6]!)).toHaveLength(120);
    expect(fitLine(lines[6]!)).toMatch(/^FAILED +lex:B:DRAFT +- +ProviderUnavailableError: x+…$/);
  });

  it('job lines: no key (the target names it), a short hash; full ones off a terminal', () => {
    const [ok] = formatJobLines(results, true);
    expect(ok).toBe(`SUCCEEDED ${KORE}  1023.9 KiB  sha256 abababababab`);
    expect(formatJobLines(results)[0]).toContain(`${results[0]!.key}  1023.9 KiB  sha256 ${'ab'.repeat(32)}`);
    expect(formatRunSummary('run r1 SUCCEEDED', manifest.counts, `s3://${bucket}/${key}`, true)).toEqual([
      'run r1 SUCCEEDED: 1 stored, 0 unchanged, 1 failed of 2',
      `manifest s3://${bucket}/${key}`,
    ]);
  });
});

describe('newestManifest', () => {
  const at = (iso: string) => new Date(iso);
  it('picks the newest day by key, then the last written run of that day (run ids do not sort by time)', () => {
    expect(
      newestManifest([
        { key: 'runs/2024/12/31/zzz-late-name.json', lastModified: at('2025-01-01T00:00:00Z') },
        { key: 'runs/2025/01/02/manual-b.json', lastModified: at('2025-01-02T10:00:00Z') },
        { key: 'runs/2025/01/02/a-scheduled.json', lastModified: at('2025-01-02T11:00:00Z') },
        { key: 'runs/2025/01/02/notes.txt', lastModified: at('2025-01-03T00:00:00Z') },
        { key: 'runs/2025/01/02/nested/x.json', lastModified: at('2025-01-03T00:00:00Z') },
      ]),
    ).toBe('runs/2025/01/02/a-scheduled.json');
  });
  it('is undefined without manifests', () => {
    expect(newestManifest([{ key: 'runs/readme.json' }])).toBeUndefined();
  });
});
