/**
 * README "Try it without AWS", run literally: the sandbox is started as the
 * README says (`botvault sandbox`, a child process), the `export` lines it
 * prints are what the README's shell gets, and every block marked
 * `<!-- sandbox: run -->` (or `<!-- sandbox: run, exit N -->`) runs, in
 * order, in bash under that environment, with the AWS CLI v2 as `aws`
 * (Debian's /usr/bin/aws: bash scripts/aws-cli.sh installs it). Shell
 * variables a block sets (SM, BUCKET, old, ...) carry over to the next, as
 * in one pasted session. Each block must exit as the README says and print
 * what it is there to show; then Ctrl-C (SIGINT) must stop the sandbox with
 * exit 0, its ports must no longer answer and its directory must be gone.
 *
 * On Swift (BOTVAULT_SWIFT_S3_ENDPOINT, as npm test sets it): the README's
 * history, diff and version listing need a versioned bucket.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
/** npm test sets it (scripts/aws-cli.sh finds or installs one); Debian's is /usr/bin/aws. */
const AWS_CLI_V2 = process.env.BOTVAULT_AWS_CLI ?? '/usr/bin/aws';
/** Fewer marked blocks than this means the README lost some: the test would prove little. */
const MIN_BLOCKS = 10;

interface Block {
  /** 1-based line of the fence in README.md. */
  readonly line: number;
  readonly code: string;
  readonly exit: number;
}

interface BlockRun extends Block {
  readonly code_: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The README's runnable sandbox blocks: a ```sh fence right after `<!-- sandbox: run[, exit N] -->`. */
function sandboxBlocks(readme: string): Block[] {
  const lines = readme.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const mark = /^<!-- sandbox: run(?:, exit (\d+))? -->$/.exec(lines[i]!);
    if (!mark) continue;
    if (lines[i + 1] !== '```sh') throw new Error(`README.md:${i + 1}: a sandbox mark must be followed by a \`\`\`sh fence`);
    const end = lines.indexOf('```', i + 2);
    if (end < 0) throw new Error(`README.md:${i + 2}: unclosed fence`);
    blocks.push({ line: i + 2, code: lines.slice(i + 2, end).join('\n'), exit: Number(mark[1] ?? 0) });
  }
  return blocks;
}

/** What each kind of block must print (matched against its command text); every entry must match some block. */
const EXPECTATIONS: { readonly block: RegExp; readonly output: RegExp[] }[] = [
  { block: /describe-stacks/, output: [/^ArchiveBucketName\tbotvault-sandbox-/m, /^StateMachineArn\tarn:aws:states:/m, /^AuthenticationKeyArn\t/m] },
  { block: /start-execution/, output: [/"status": "SUCCEEDED"/, /manifestKey/, /"startDate": "\d{4}-\d\d-\d\dT/] },
  {
    block: /aws s3 cp/,
    output: [
      /"target": "lex:ORDRFLWRS1:DRAFT"/,
      /^\S+\tTrue\t\d+\t/m,
      /^\S+\tFalse\t\d+\t/m,
      /^manual-\d{8}T\d{6}Z\tSUCCEEDED/m,
      /^scheduled-\d{8}T030000Z\tSUCCEEDED/m,
    ],
  },
  {
    block: /botvault run --config "\$BOTVAULT_SANDBOX_CONFIG" --wait/,
    output: [
      /SUCCEEDED: 1 stored, 7 unchanged, 0 failed of 8/,
      /HotelConcierge|st-5e1f0c2a/,
      /8 resources, 10 versions in s3:\/\/botvault-sandbox-/,
      /OrderFlowers\.zip .*verified/,
    ],
  },
  { block: /--stack BotVualt/, output: [/^botvault: stack "BotVualt" not found in us-east-1/m] },
  {
    block: /botvault history/,
    output: [/2 versions, newest first/, /intent TrackDelivery added/, /mirrored 4 versions of 2 bots/, /dialog SpaBooking added/],
  },
  { block: /old=\$\(/, output: [/intent TrackDelivery added/] },
  { block: /--dry-run$/, output: [/the import would fail/, /nothing was changed/] },
  {
    block: /--merge Overwrite$/m,
    output: [/can be restored into existing bot OrderFlowers/, /COMPLETED/, /new bot OrderFlowersCopy/, /existing bot HotelConcierge/],
  },
  { block: /--only lex:ORDRFLWRS1:DRAFT --wait/, output: [/1 stored, 0 unchanged, 0 failed of 1/, /0 added, 0 removed, 0 changed/] },
];

/**
 * Starts `botvault sandbox` (what `npx botvault sandbox` runs, without npm's wrapper, which reports 130
 * for any command Ctrl-C ends) and resolves with its stdout once it says it is ready.
 */
function startSandbox(env: NodeJS.ProcessEnv): { child: ChildProcess; ready: Promise<string>; exited: Promise<number | null>; output: () => string } {
  // Its own process group, as a shell's foreground job: Ctrl-C signals the whole group.
  const child = spawn(process.execPath, [join(ROOT, 'bin/botvault.mjs'), 'sandbox'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const ready = new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`the sandbox was not ready within 120 s:\n${out}\n${err}`)), 120_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/^ready in [\d.]+ s$/m.test(out)) {
        clearTimeout(timer);
        done(out);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`the sandbox exited (${code}) before it was ready:\n${out}\n${err}`));
    });
  });
  return { child, ready, exited, output: () => `${out}\n${err}` };
}

/** Runs one block in bash after the pasted lines, carrying `vars` over from the blocks before through `stateFile`. */
function runBlock(block: Block, env: NodeJS.ProcessEnv, pasteFile: string, stateFile: string, vars: string[]): Promise<BlockRun> {
  const script = [
    `source ${pasteFile}`,
    `source ${stateFile}`,
    'set -eo pipefail',
    // Saved whatever the block's outcome, for the next block (a pasted session keeps them too).
    `trap 'declare -p ${vars.join(' ')} > ${stateFile}.next 2>/dev/null || true' EXIT`,
    block.code,
  ].join('\n');
  return new Promise((done) => {
    const child = spawn('bash', ['-c', script], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (existsSync(`${stateFile}.next`)) writeFileSync(stateFile, readFileSync(`${stateFile}.next`));
      done({ ...block, code_: code, stdout, stderr });
    });
  });
}

/** Whether something accepts TCP connections at the URL's host and port. */
function answers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((done) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });
}

describe('README "Try it without AWS", against the sandbox', () => {
  const work = mkdtempSync(join(tmpdir(), 'botvault-sandbox-readme-'));
  let sandbox: ReturnType<typeof startSandbox> | undefined;

  afterAll(async () => {
    if (sandbox && sandbox.child.exitCode === null) {
      process.kill(-sandbox.child.pid!, 'SIGKILL');
      await sandbox.exited;
    }
    rmSync(work, { recursive: true, force: true });
  });

  beforeAll(() => {
    // Fail with the fix, not with a confusing block failure.
    const version = existsSync(AWS_CLI_V2) ? execFileSync(AWS_CLI_V2, ['--version'], { encoding: 'utf8' }) : '';
    if (!version.startsWith('aws-cli/2'))
      throw new Error(`${AWS_CLI_V2} is not AWS CLI v2 (${version.trim() || 'missing'}): run bash scripts/aws-cli.sh, or set BOTVAULT_AWS_CLI`);
    if (!process.env.BOTVAULT_SWIFT_S3_ENDPOINT) {
      throw new Error(
        'BOTVAULT_SWIFT_S3_ENDPOINT is not set: bash scripts/swift-s3.sh start && eval "$(bash scripts/swift-s3.sh env)" (npm test does both)',
      );
    }
  });

  it('runs every marked block as written, then stops on Ctrl-C with exit 0 and frees its ports', async () => {
    const blocks = sandboxBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    expect(blocks.length).toBeGreaterThanOrEqual(MIN_BLOCKS);

    // `aws` is the AWS CLI v2 (a v1 shim may come first on this PATH); no profile or config of whoever runs the test.
    const bin = join(work, 'bin');
    execFileSync('mkdir', ['-p', bin, join(work, 'home')]);
    symlinkSync(AWS_CLI_V2, join(bin, 'aws'));
    const shellEnv: NodeJS.ProcessEnv = {
      PATH: `${bin}:${process.env.PATH}`,
      HOME: join(work, 'home'),
      AWS_CONFIG_FILE: join(work, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-aws-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      // The pager would wait for a key press; a real shell has a TTY, this one has not.
      AWS_PAGER: '',
      TERM: 'dumb',
      ...(process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED
        ? { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED }
        : {}),
    };

    const t0 = Date.now();
    // Free ports (BOTVAULT_SANDBOX_PORT=0, README): a sandbox someone left running on 4601-4609 does not break the test.
    sandbox = startSandbox({
      ...shellEnv,
      BOTVAULT_SANDBOX_PORT: '0',
      BOTVAULT_SWIFT_S3_ENDPOINT: process.env.BOTVAULT_SWIFT_S3_ENDPOINT,
      BOTVAULT_SWIFT_S3_ACCESS_KEY: process.env.BOTVAULT_SWIFT_S3_ACCESS_KEY,
      BOTVAULT_SWIFT_S3_SECRET_KEY: process.env.BOTVAULT_SWIFT_S3_SECRET_KEY,
    });
    const printed = await sandbox.ready;
    const startSeconds = (Date.now() - t0) / 1000;
    expect(printed).toMatch(/OpenStack Swift .*versioned/);

    // The lines to paste, exactly as printed.
    const paste = printed.split('\n').filter((l) => /^(export [A-Z_0-9]+=|unset AWS_PROFILE)/.test(l));
    const exported = Object.fromEntries(
      paste.flatMap((l) => {
        const m = /^export ([A-Z_0-9]+)=(.*)$/.exec(l);
        return m ? [[m[1]!, m[2]!.replace(/^'(.*)'$/, '$1')]] : [];
      }),
    ) as Record<string, string>;
    for (const service of ['LEX_MODELS_V2', 'SECRETS_MANAGER', 'S3', 'KMS', 'STS', 'SNS', 'SFN', 'CLOUDFORMATION']) {
      expect(exported[`AWS_ENDPOINT_URL_${service}`], service).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    }
    expect(exported).toMatchObject({ AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: process.env.BOTVAULT_SWIFT_S3_ACCESS_KEY });
    expect(existsSync(exported.BOTVAULT_SANDBOX_CONFIG!)).toBe(true);

    // The secrets the sandbox holds, read as a handler would: none of them may appear in anything it or a command prints.
    const sm = new SecretsManagerClient({
      endpoint: exported.AWS_ENDPOINT_URL_SECRETS_MANAGER,
      region: 'us-east-1',
      credentials: { accessKeyId: exported.AWS_ACCESS_KEY_ID!, secretAccessKey: exported.AWS_SECRET_ACCESS_KEY! },
    });
    const secretValues: string[] = [];
    for (const id of ['botvault/koreai-demo', 'botvault/lex-password-demo']) {
      const value = JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: id }))).SecretString!) as Record<string, string>;
      secretValues.push(...[value.clientSecret, value.password].filter((v): v is string => Boolean(v)));
    }
    sm.destroy();
    expect(secretValues).toHaveLength(2);

    const pasteFile = join(work, 'paste.sh');
    writeFileSync(pasteFile, `${paste.join('\n')}\n`);
    const stateFile = join(work, 'state.sh');
    writeFileSync(stateFile, '');
    const vars = [...new Set(blocks.flatMap((b) => [...b.code.matchAll(/^\s*([A-Za-z_]\w*)=/gm)].map((m) => m[1]!)))];
    const runs: BlockRun[] = [];
    const tBlocks = Date.now();
    for (const block of blocks) {
      const run = await runBlock(block, shellEnv, pasteFile, stateFile, vars);
      runs.push(run);
      const where = `README.md:${block.line}\n${block.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`;
      expect(run.code_, where).toBe(block.exit);
    }
    const blockSeconds = (Date.now() - tBlocks) / 1000;

    for (const e of EXPECTATIONS) {
      const matching = runs.filter((r) => e.block.test(r.code));
      expect(matching.length, `no README block matches ${e.block}`).toBeGreaterThan(0);
      const text = matching.map((r) => `${r.stdout}\n${r.stderr}`).join('\n');
      for (const o of e.output) expect.soft(text, `README blocks matching ${e.block}`).toMatch(o);
    }

    const urls = Object.entries(exported)
      .filter(([k, v]) => k.startsWith('AWS_ENDPOINT_URL_') && v !== process.env.BOTVAULT_SWIFT_S3_ENDPOINT)
      .map(([, v]) => v);
    for (const url of urls) expect(await answers(url), url).toBe(true);

    // Ctrl-C: SIGINT to the foreground process group.
    process.kill(-sandbox.child.pid!, 'SIGINT');
    expect(await sandbox.exited).toBe(0);
    expect(sandbox.output()).toMatch(/BotVault sandbox: stopped/);
    for (const url of urls) expect(await answers(url), `${url} after Ctrl-C`).toBe(false);
    expect(existsSync(exported.BOTVAULT_SANDBOX_DIR!)).toBe(false);

    const everything = [sandbox.output(), ...runs.map((r) => `${r.stdout}\n${r.stderr}`)].join('\n');
    for (const secret of secretValues) expect(everything.includes(secret), 'a secret value was printed').toBe(false);

    console.info(`sandbox ready in ${startSeconds.toFixed(1)} s; ${blocks.length} README blocks in ${blockSeconds.toFixed(1)} s`);
  }, 600_000);
});
