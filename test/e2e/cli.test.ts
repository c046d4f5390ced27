/**
 * `botvault` end to end: the real command line, as a child process, through
 * the real @aws-sdk clients, against the Step Functions simulator (running
 * the synthesized definition with the real handlers), the CloudFormation
 * simulator, the Lex V2 simulator and s3rver:
 * run → follow → summary → status → list → get, and every way it refuses.
 *
 * The tests share one deployment and run in order: later ones look at what
 * earlier runs stored.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliHarness, type CliHarness } from './cli-harness';
import { THREE_BOTS as BOTS } from '../helpers/lex-bots';

const STACK = 'BotVaultCliE2E';
const TARGETS = [
  { provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' },
  { provider: 'lex', botId: 'ALPHABOT01', botVersion: '1', localeId: 'de_DE' },
  { provider: 'lex', botId: 'BRAVOBOT02', botVersion: 'DRAFT' },
  { provider: 'lex', botId: 'CHARLIE003', botVersion: '2' },
];
const ALPHA_DRAFT_KEY = 'lex/123456789012/us-east-1/ALPHABOT01/DRAFT/bot.zip';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
/** Fast polling: the simulated exports take 100 ms. */
const POLL = ['--poll-ms', '50'];

let h: CliHarness;
beforeAll(async () => {
  h = await startCliHarness({ bots: BOTS, targets: TARGETS, stackName: STACK });
});
afterAll(async () => h?.close());

async function object(key: string): Promise<{ body: Buffer; metadata: Record<string, string> }> {
  const res = await h.s3.send(new GetObjectCommand({ Bucket: h.bucket, Key: key }));
  return { body: Buffer.from(await res.Body!.transformToByteArray()), metadata: res.Metadata ?? {} };
}

/** The one line an error prints. */
function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

let firstRun = '';

describe('botvault run', () => {
  it('--wait starts a manual run (stack found through the config), follows it, prints the summary, exits 0', async () => {
    const res = await h.cli(['run', '--config', h.configFile, '--wait', ...POLL]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);

    const [execution] = [...h.sfn.executions.values()];
    expect(execution).toBeDefined();
    firstRun = execution!.name;
    expect(firstRun).toMatch(/^manual-\d{8}T\d{6}Z-[0-9a-f]{6}$/);
    expect(JSON.parse(execution!.input)).toEqual({ trigger: 'manual' });
    expect(execution!.status).toBe('SUCCEEDED');
    // The stack's outputs named the state machine and bucket: the CLI asked CloudFormation for this stack.
    expect(h.cfn.calls).toContain(STACK);

    const out = res.stdout;
    expect(out).toContain(`started run ${firstRun} (${execution!.executionArn})`);
    // Not a terminal: one plain line per phase change, from the execution history.
    expect(out).toContain('run: 4 jobs planned');
    expect(out).toMatch(/lex:ALPHABOT01:DRAFT: exporting/);
    expect(out).toMatch(/lex:CHARLIE003:2: storing archive/);
    expect(out).toMatch(/run: SUCCEEDED/);
    expect(h.sfn.calls.filter((c) => c === 'GetExecutionHistory').length).toBeGreaterThan(1);
    // The summary comes from the manifest the run stored.
    const stored = await object(ALPHA_DRAFT_KEY);
    expect(out).toMatch(new RegExp(`SUCCEEDED +lex:ALPHABOT01:DRAFT +${ALPHA_DRAFT_KEY.replace(/\//g, '\\/')} .*sha256 ${stored.metadata.sha256}`));
    expect(out).toMatch(/SUCCEEDED +lex:ALPHABOT01:1:de_DE +lex\/123456789012\/us-east-1\/ALPHABOT01\/1\/locales\/de_DE\.zip/);
    expect(out).toMatch(
      new RegExp(
        `run ${firstRun} SUCCEEDED: 4 stored, 0 unchanged, 0 failed of 4; manifest s3://${h.bucket}/runs/\\d{4}/\\d{2}/\\d{2}/${firstRun}\\.json\\n$`,
      ),
    );
  });

  it('--only with a target not in the config: exit 2, one line listing the known ids, nothing started', async () => {
    const before = h.sfn.executions.size;
    const res = await h.cli(['run', '--config', h.configFile, '--only', 'lex:ALPHABOT01:DRAFT', 'lex:NOSUCHBOT1:DRAFT', '--wait']);
    expect(res.code).toBe(2);
    expect(oneLine(res.stderr)).toBe(
      'botvault: --only "lex:NOSUCHBOT1:DRAFT": not in the config\'s targets; known: lex:ALPHABOT01:DRAFT, lex:ALPHABOT01:1:de_DE, lex:BRAVOBOT02:DRAFT, lex:CHARLIE003:2 (job id or bot id; a bot name selects only bots a discovery target finds)',
    );
    expect(res.stdout).toBe('');
    expect(h.sfn.executions.size).toBe(before);
  });

  it('with a failing bot: the others are stored, the summary names the failure, exit 1', async () => {
    h.lex.setFaults('BRAVOBOT02', { failExport: ['Bot locale en_US is not built'] });
    try {
      const res = await h.cli(['run', '--stack', STACK, '--name', 'e2e-failing-run', '--wait', ...POLL]);
      expect(res.code).toBe(1);
      expect(res.stdout).toMatch(/FAILED +lex:BRAVOBOT02:DRAFT +ExportFailedError: .*Bot locale en_US is not built/);
      // A second backup of an unchanged bot may be stored or reported UNCHANGED; either way it did not fail.
      expect(res.stdout).toMatch(/(SUCCEEDED|UNCHANGED) +lex:CHARLIE003:2 /);
      expect(res.stdout).toMatch(/lex:BRAVOBOT02:DRAFT: FAILED \(ExportFailedError\)/);
      expect(res.stdout).toMatch(/run e2e-failing-run FAILED: \d stored, \d unchanged, 1 failed of 4; manifest s3:\/\//);
      expect(h.sfn.executions.get(`${h.sfn.stateMachineArn.replace(':stateMachine:', ':execution:')}:e2e-failing-run`)?.error).toBe(
        'BackupJobsFailed',
      );
    } finally {
      h.lex.setFaults('BRAVOBOT02', {});
    }
  });

  it('--only and --json without --wait: starts the filtered run and prints its execution for scripts', async () => {
    const res = await h.cli(['run', '--config', h.configFile, '--state-machine', h.sfn.stateMachineArn, '--only', 'CHARLIE003', '--json']);
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout) as { executionArn: string; name: string; input: unknown };
    expect(out.input).toEqual({ trigger: 'manual', only: ['CHARLIE003'] });
    const execution = h.sfn.executions.get(out.executionArn);
    expect(execution?.name).toBe(out.name);
    await execution!.finished;
    expect(execution!.status).toBe('SUCCEEDED');
  });

  it('on a terminal, --wait redraws a per-job table in place, then prints the summary', async () => {
    const res = await h.cli(['run', '--config', h.configFile, '--only', 'lex:CHARLIE003:2', '--wait', ...POLL], { tty: true });
    expect(res.code).toBe(0);
    const out = res.stdout.replace(/\r\n/g, '\n');
    expect(out).toMatch(/TARGET +STATE +POLLS\n/);
    // Cursor up over the previous drawing and clear to the end: a redraw, not a scrolling log.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the ANSI escapes of the progress display are what is checked.
    expect(out).toMatch(/\x1b\[\d+F\x1b\[0J/);
    expect(out).toMatch(/lex:CHARLIE003:2 +(SUCCEEDED|UNCHANGED) +\d+\n/);
    expect(out).toMatch(/SUCCEEDED: 1 of 1 jobs done\n/);
    // No plain progress lines on a terminal.
    expect(out).not.toContain('lex:CHARLIE003:2: exporting');
    // On a terminal the manifest has a line of its own (120 columns).
    expect(out).toMatch(/run manual-\S+ SUCCEEDED: \d stored, \d unchanged, 0 failed of 1\nmanifest s3:\/\/\S+\n$/);
  });

  it('a name that is already taken: exit 2, says so', async () => {
    const res = await h.cli(['run', '--state-machine', h.sfn.stateMachineArn, '--name', 'e2e-failing-run']);
    expect(res.code).toBe(2);
    expect(oneLine(res.stderr)).toMatch(/^botvault: a run named "e2e-failing-run" already exists \(names are unique for 90 days\)/);
  });

  it('a state machine that does not exist: exit 2, says what to check', async () => {
    const res = await h.cli(['run', '--state-machine', `${h.sfn.stateMachineArn}-gone`]);
    expect(res.code).toBe(2);
    expect(oneLine(res.stderr)).toMatch(
      /^botvault: state machine arn:aws:states:us-east-1:000000000000:stateMachine:BotVaultCliE2E-gone does not exist: check --state-machine/,
    );
  });
});

describe('botvault status of a run still going', () => {
  it('says it is running (start, elapsed, its jobs so far; --json too); --wait follows it to the end as run --wait does; then the manifest', async () => {
    // CreateExport answers only when released (before --wait): the run stays in StartExport meanwhile,
    // however long the CLI calls before take on a busy machine.
    const hold = Promise.withResolvers<void>();
    h.lex.setFaults('CHARLIE003', { holdCreate: hold.promise });
    const arn = `${h.sfn.stateMachineArn.replace(':stateMachine:', ':execution:')}:e2e-slow-run`;
    try {
      const started = await h.cli(['run', '--config', h.configFile, '--only', 'lex:CHARLIE003:2', '--name', 'e2e-slow-run']);
      expect(started.code).toBe(0);
      expect(started.stdout).toContain('follow it: botvault status e2e-slow-run --wait');

      const res = await h.cli(['status', 'e2e-slow-run', '--config', h.configFile]);
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      const lines = res.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(
        /^run e2e-slow-run is running {2}started \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z {2}\d+ s ago; no manifest until it ends$/,
      );
      expect(lines[1]).toBe(`execution ${arn}`);
      expect(res.stdout).toMatch(/\nlex:CHARLIE003:2 +StartExport +0\n/);
      expect(res.stdout).toContain('\nBackUpEachTarget: 0 of 1 jobs done\n');
      expect(lines.at(-1)).toBe('follow it: botvault status e2e-slow-run --wait');
      expect(h.sfn.executions.get(arn)!.status).toBe('RUNNING');

      const json = await h.cli(['status', 'e2e-slow-run', '--config', h.configFile, '--json']);
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toMatchObject({
        runId: 'e2e-slow-run',
        executionArn: arn,
        status: 'RUNNING',
        stage: 'BackUpEachTarget',
        jobs: [{ target: 'lex:CHARLIE003:2', state: 'StartExport', polls: 0 }],
      });

      setTimeout(hold.resolve, 2000); // after --wait has printed that the run is running
      const waited = await h.cli(['status', 'e2e-slow-run', '--config', h.configFile, '--wait', ...POLL]);
      expect(waited.stderr).toBe('');
      expect(waited.code).toBe(0);
      expect(waited.stdout).toMatch(
        /^run e2e-slow-run is running {2}started \S+ \S+ {2}\d+ s ago; following it \(arn:aws:states:\S+:e2e-slow-run\)\n/,
      );
      // follow()'s plain lines (not a terminal), then run --wait's summary.
      expect(waited.stdout).toMatch(/\n\d{2}:\d{2}:\d{2}Z lex:CHARLIE003:2: storing archive\n/);
      expect(waited.stdout).toMatch(/\n\d{2}:\d{2}:\d{2}Z run: SUCCEEDED\n/);
      expect(waited.stdout).toMatch(/\n(SUCCEEDED|UNCHANGED) +lex:CHARLIE003:2 /);
      expect(waited.stdout).toMatch(/\nrun e2e-slow-run SUCCEEDED: \d stored, \d unchanged, 0 failed of 1; manifest s3:\/\/\S+\n$/);
      expect(h.sfn.executions.get(arn)!.status).toBe('SUCCEEDED');

      // Ended: its manifest is the answer now.
      const after = await h.cli(['status', 'e2e-slow-run', '--config', h.configFile]);
      expect(after.code).toBe(0);
      expect(after.stdout).toMatch(/^run e2e-slow-run \(manual\) {2}started /);
    } finally {
      hold.resolve();
      h.lex.setFaults('CHARLIE003', {});
    }
  });
});

// Read-only against the bucket and state machine beforeAll prepared: the tests run at once.
describe.concurrent('botvault status', () => {
  it('shows the latest run as a table (exit 0: that run succeeded)', async () => {
    const res = await h.cli(['status', '--config', h.configFile]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const lines = res.stdout.trimEnd().split('\n');
    // The --only run (one job, e2e-slow-run) was the last one.
    expect(lines[0]).toMatch(/^run e2e-slow-run \(manual\) {2}started \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z {2}took \d+ s$/);
    expect(lines[1]).toMatch(/^(1 stored, 0 unchanged|0 stored, 1 unchanged), 0 failed of 1; manifest s3:\/\//);
    expect(lines[3]).toMatch(/^STATUS +TARGET +SIZE +VERSION +SHA256 +KEY \/ ERROR$/);
    expect(lines[4]).toMatch(
      /^(SUCCEEDED|UNCHANGED) +lex:CHARLIE003:2 +\d+(\.\d)? (B|KiB) +- +[0-9a-f]{12} +lex\/123456789012\/us-east-1\/CHARLIE003\/2\/bot\.zip$/,
    );
    expect(lines).toHaveLength(5);
  });

  it('a given run with --json prints its manifest exactly as stored (exit 1: that run had a failure)', async () => {
    const res = await h.cli(['status', 'e2e-failing-run', '--bucket', h.bucket, '--json']);
    expect(res.code).toBe(1);
    const manifest = JSON.parse(res.stdout) as { runId: string; counts: unknown; results: { target: string; status: string }[] };
    expect(manifest.runId).toBe('e2e-failing-run');
    expect(manifest.counts).toMatchObject({ total: 4, failed: 1 });
    expect(manifest.results.find((r) => r.status === 'FAILED')?.target).toBe('lex:BRAVOBOT02:DRAFT');
    const key = /manifest s3:\/\/[^/]+\/(\S+)/.exec((await h.cli(['status', 'e2e-failing-run', '--bucket', h.bucket])).stdout)![1]!;
    expect(manifest).toEqual(JSON.parse((await object(key)).body.toString('utf8')));
  });

  it('an unknown run: exit 2, one line', async () => {
    const res = await h.cli(['status', 'no-such-run', '--bucket', h.bucket]);
    expect(res.code).toBe(2);
    // Neither a manifest nor an execution by that name (the state machine was asked too).
    expect(oneLine(res.stderr)).toMatch(
      /^botvault: no run "no-such-run" in s3:\/\/botvault-cli-\w+\/runs\/ nor among the executions of state machine BotVaultCliE2E: give a run id/,
    );
  });
});

// Read-only against the bucket and state machine beforeAll prepared: the tests run at once.
describe.concurrent('botvault list', () => {
  it('lists every backed-up resource with date, size, sha256 (from its metadata) and version', async () => {
    const res = await h.cli(['list', '--config', h.configFile]);
    expect(res.code).toBe(0);
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TARGET +DATE +SIZE +SHA256 +VERSION +RUN$/);
    const alpha = await object(ALPHA_DRAFT_KEY);
    const row = lines.find((l) => l.startsWith('lex:ALPHABOT01:DRAFT '));
    expect(row).toMatch(
      new RegExp(
        `^lex:ALPHABOT01:DRAFT +\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}Z +[\\d.]+ (B|KiB) +${alpha.metadata.sha256} +- \\(current\\) +\\S+$`,
      ),
    );
    expect(lines.map((l) => l.split(' ')[0])).toEqual([
      'TARGET',
      'lex:ALPHABOT01:1:de_DE',
      'lex:ALPHABOT01:DRAFT',
      'lex:BRAVOBOT02:DRAFT',
      'lex:CHARLIE003:2',
      '4',
    ]);
    expect(lines.at(-1)).toBe(`4 resources, 4 versions in s3://${h.bucket}`);
  });

  it('--json, narrowed to one bot id: one entry per resource, sha256 and run id from the metadata', async () => {
    const res = await h.cli(['list', 'ALPHABOT01', '--bucket', h.bucket, '--json']);
    expect(res.code).toBe(0);
    const rows = JSON.parse(res.stdout) as { target: string; key: string; sha256: string; bytes: number; runId: string }[];
    expect(rows.map((r) => r.target)).toEqual(['lex:ALPHABOT01:1:de_DE', 'lex:ALPHABOT01:DRAFT']);
    for (const row of rows) {
      const stored = await object(row.key);
      expect(row.sha256).toBe(sha256(stored.body));
      expect(row.bytes).toBe(stored.body.length);
      expect(row.runId).toBe(stored.metadata['run-id']);
    }
  });

  it('an unknown target: exit 2, lists what the bucket holds', async () => {
    const res = await h.cli(['list', 'lex:NOSUCHBOT1:DRAFT', '--bucket', h.bucket]);
    expect(res.code).toBe(2);
    expect(oneLine(res.stderr)).toMatch(
      /^botvault: "lex:NOSUCHBOT1:DRAFT" matches no backed-up resource in s3:\/\/\S+; give a job id, bot id or S3 key — known: lex:ALPHABOT01:1:de_DE, /,
    );
  });
});

describe('botvault get', () => {
  it('downloads the current archive under its default name; the bytes are the stored archive, sha256 checked', async () => {
    const res = await h.cli(['get', 'lex:ALPHABOT01:DRAFT', '--config', h.configFile]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const file = join(h.dir, 'ALPHABOT01-DRAFT-current.zip');
    const stored = await object(ALPHA_DRAFT_KEY);
    expect(readFileSync(file).equals(stored.body)).toBe(true);
    expect(res.stdout).toBe(
      `${file}  ${(stored.body.length / 1024).toFixed(1)} KiB (${stored.body.length} bytes)  sha256 ${sha256(stored.body)} (verified, MAC authentic)\n`,
    );
  });

  it('an existing file is not overwritten without --force: exit 2, one line, the file as it was; --force replaces it', async () => {
    const file = join(h.dir, 'ALPHABOT01-DRAFT-current.zip');
    writeFileSync(file, 'an earlier download');
    const refused = await h.cli(['get', 'lex:ALPHABOT01:DRAFT', '--config', h.configFile]);
    expect(refused).toMatchObject({ code: 2, stdout: '' });
    expect(refused.stderr).toBe(`botvault: ${file} exists: pass --force to overwrite it, or -o to name another file; nothing was downloaded\n`);
    expect(readFileSync(file, 'utf8')).toBe('an earlier download');
    const forced = await h.cli(['get', 'lex:ALPHABOT01:DRAFT', '--force', '--config', h.configFile]);
    expect(forced.code).toBe(0);
    expect(readFileSync(file).equals((await object(ALPHA_DRAFT_KEY)).body)).toBe(true);
  });

  it('by S3 key, to a chosen file, with --json', async () => {
    const key = 'lex/123456789012/us-east-1/CHARLIE003/2/bot.zip';
    const res = await h.cli(['get', key, '-o', 'charlie.zip', '--bucket', h.bucket, '--json']);
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout) as Record<string, unknown>;
    const stored = await object(key);
    expect(out).toEqual({
      path: join(h.dir, 'charlie.zip'),
      key,
      target: 'lex:CHARLIE003:2',
      versionId: null,
      bytes: stored.body.length,
      sha256: sha256(stored.body),
      verified: true,
      authenticated: true,
    });
    expect(readFileSync(join(h.dir, 'charlie.zip')).equals(stored.body)).toBe(true);
  });

  it('a bot id with several archives is ambiguous: exit 2, names the candidates', async () => {
    const res = await h.cli(['get', 'ALPHABOT01', '--bucket', h.bucket]);
    expect(res.code).toBe(2);
    expect(oneLine(res.stderr)).toBe('botvault: "ALPHABOT01" matches 2 resources; name one of: lex:ALPHABOT01:1:de_DE, lex:ALPHABOT01:DRAFT');
  });

  it('a file that cannot be written: exit 2, one line, nothing left behind', async () => {
    const res = await h.cli(['get', 'lex:CHARLIE003:2', '-o', 'no-such-dir/charlie.zip', '--bucket', h.bucket]);
    expect(res.code).toBe(2);
    expect(oneLine(res.stderr)).toBe(
      `botvault: could not save lex/123456789012/us-east-1/CHARLIE003/2/bot.zip to ${join(h.dir, 'no-such-dir/charlie.zip')}: ENOENT; nothing written`,
    );
    expect(existsSync(join(h.dir, 'no-such-dir'))).toBe(false);
  });

  it('an object whose bytes no longer match its sha256: exit 2, nothing written', async () => {
    const key = 'lex/123456789012/us-east-1/BRAVOBOT02/DRAFT/bot.zip';
    const original = await h.s3.send(new HeadObjectCommand({ Bucket: h.bucket, Key: key }));
    // Someone overwrote the archive outside BotVault and kept its metadata.
    await h.s3.send(
      new PutObjectCommand({ Bucket: h.bucket, Key: key, Body: Buffer.from('PK\u0003\u0004 not the archive'), Metadata: original.Metadata }),
    );
    const before = readdirSync(h.dir);
    const res = await h.cli(['get', 'lex:BRAVOBOT02:DRAFT', '--bucket', h.bucket]);
    expect(res.code).toBe(2);
    expect(oneLine(res.stderr)).toMatch(
      new RegExp(
        `^botvault: sha256 mismatch for ${key.replace(/\//g, '\\/')}: the bytes hash to [0-9a-f]{64} but BotVault stored ${original.Metadata!.sha256}; .*Nothing written`,
      ),
    );
    expect(readdirSync(h.dir)).toEqual(before);
    expect(existsSync(join(h.dir, 'BRAVOBOT02-DRAFT-current.zip'))).toBe(false);
  });
});

// Read-only against the bucket and state machine beforeAll prepared: the tests run at once.
describe.concurrent('errors an operator can fix', () => {
  it('no credentials: one line saying how to get them, exit 2', async () => {
    const res = await h.cli(['status', '--bucket', h.bucket], { env: { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined } });
    expect(res.code).toBe(2);
    expect(res.stderr).toBe('botvault: no AWS credentials: set AWS_PROFILE or run `aws sso login`\n');
  });

  it('credentials the service does not know: the same advice', async () => {
    const res = await h.cli(['run', '--state-machine', h.sfn.stateMachineArn], {
      env: { AWS_ACCESS_KEY_ID: 'AKIAUNKNOWN', AWS_SECRET_ACCESS_KEY: 'x' },
    });
    expect(res.code).toBe(2);
    expect(oneLine(res.stderr)).toBe(
      'botvault: no AWS credentials: set AWS_PROFILE or run `aws sso login` (AWS said UnrecognizedClientException for StartExecution)',
    );
  });

  it('an unknown stack: one line, exit 2, nothing started', async () => {
    const before = h.sfn.executions.size;
    for (const args of [
      ['status', '--stack', 'NoSuchStack'],
      ['run', '--stack', 'NoSuchStack', '--wait'],
    ]) {
      const res = await h.cli(args);
      expect(res.code).toBe(2);
      expect(oneLine(res.stderr)).toBe(
        'botvault: stack "NoSuchStack" not found in us-east-1: deploy it with `npx cdk deploy`, pass --stack NAME (or --config with its stackName), or name the resources with --bucket / --state-machine',
      );
    }
    expect(h.sfn.executions.size).toBe(before);
  });

  it('a bucket that does not exist: one line, exit 2', async () => {
    const res = await h.cli(['list', '--bucket', 'no-such-bucket-e2e']);
    expect(res.code).toBe(2);
    expect(oneLine(res.stderr)).toBe("botvault: bucket no-such-bucket-e2e does not exist: check --bucket or the stack's ArchiveBucketName output");
  });

  it('every command explains each of its options in --help', async () => {
    const expected: Record<string, string[]> = {
      run: ['--only', '--wait', '--name', '--config', '--stack', '--bucket', '--state-machine', '--region', '--json'],
      status: ['--config', '--stack', '--bucket', '--region', '--json'],
      list: ['--config', '--stack', '--bucket', '--region', '--json'],
      get: ['--version', '--output', '--config', '--stack', '--bucket', '--region', '--json'],
    };
    for (const [command, options] of Object.entries(expected)) {
      const res = await h.cli([command, '--help']);
      expect(res.code).toBe(0);
      for (const option of options) {
        // The option and a description on its line (commander wraps long ones onto following lines).
        expect(res.stdout).toMatch(new RegExp(`^ +(-\\w, )?${option}( <[^>]+>| \\[[^\\]]+\\])? {2,}\\w`, 'm'));
      }
      // --poll-ms is for tests; it stays out of the operator's help.
      expect(res.stdout).not.toContain('--poll-ms');
    }
  });
});
