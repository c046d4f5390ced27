/**
 * `botvault local` end to end: the real command line as a child process,
 * running the synthesized workflow in-process against the Lex V2 simulator,
 * the KMS simulator and s3rver (the CLI harness's). It takes `--only` in the
 * forms `run --only` takes, shows the same live progress as `run --wait`, and
 * under `--fast` its jobs' deadlines count elapsed time.
 *
 * The tests share one bucket and run in order.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { THREE_BOTS as BOTS } from '../helpers/lex-bots';
import { type CliHarness, type CliResult, startCliHarness } from './cli-harness';

const TARGETS = [
  { provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' },
  { provider: 'lex', botId: 'BRAVOBOT02', botVersion: 'DRAFT' },
  { provider: 'lex', botId: 'CHARLIE003', botVersion: '2' },
];

let h: CliHarness;
beforeAll(async () => {
  h = await startCliHarness({ bots: BOTS, targets: TARGETS, stackName: 'BotVaultLocalE2E' });
});
afterAll(async () => h?.close());

/** `botvault local` with the harness's config, bucket and MAC key; the handlers run in the child and call the simulators. */
function local(args: string[], o: { tty?: boolean; config?: string } = {}): Promise<CliResult> {
  return h.cli(['local', '--config', o.config ?? h.configFile, '--bucket', h.bucket, '--mac-key', h.macKeyArn, '--fast', ...args], {
    env: { AWS_ENDPOINT_URL_LEX_MODELS_V2: h.lex.url },
    ...(o.tty ? { tty: true } : {}),
  });
}

describe('botvault local --only: the forms run --only takes, checked the same way', () => {
  it('a job id and a bot id select their jobs', async () => {
    const res = await local(['--only', 'lex:ALPHABOT01:DRAFT', 'CHARLIE003']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/\nrun local-\S+: \d stored, \d unchanged, 0 failed of 2; manifest s3:\/\//);
  });

  it('a job id or a bot name that no static target has: refused before anything runs, exit 2, the very line run --only prints', async () => {
    for (const entry of ['lex:ALPHABOT01:9', 'Bravo']) {
      const res = await local(['--only', entry]);
      expect(res.code).toBe(2);
      expect(res.stdout).toBe('');
      expect(res.stderr).toBe(
        `botvault: --only "${entry}": not in the config's targets; known: lex:ALPHABOT01:DRAFT, lex:BRAVOBOT02:DRAFT, lex:CHARLIE003:2 (job id or bot id; a bot name selects only bots a discovery target finds)\n`,
      );
      const run = await h.cli(['run', '--config', h.configFile, '--only', entry]);
      expect(run).toMatchObject({ code: 2, stdout: '', stderr: res.stderr });
    }
  });

  it('with a discovery target, a bot name (any case) selects the bot discovery finds, with the warning run --only prints', async () => {
    const config = join(h.dir, 'discover.config.json');
    writeFileSync(
      config,
      JSON.stringify({ stackName: 'BotVaultLocalE2E', downloadAllowlist: [h.lex.url], targets: [{ provider: 'lex', discover: true }] }),
    );
    const res = await local(['--only', 'bravo', '--json'], { config });
    expect(res.code).toBe(0);
    expect(res.stderr).toBe(
      'botvault: warning: "bravo" is not a configured target; accepted because a discovery target may find it by id or name (the run fails in Plan, before any export, if not)\n',
    );
    const manifest = JSON.parse(res.stdout) as { results: { target: string; status: string }[] };
    expect(manifest.results.map((r) => r.target)).toEqual(['lex:BRAVOBOT02:DRAFT']);
  });
});

/** Escape sequences a terminal interprets (cursor moves, erase): what the live table is redrawn with. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC is what is matched
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/;
/** Cursor up over the previous drawing (CSI n F), then erase to the end of the screen (CSI 0 J). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: ESC is what is matched
const REDRAWN = /\x1b\[\d+F\x1b\[0J/;

describe('botvault local: the live progress of run --wait, before the summary', () => {
  it('piped: one timestamped line per change (the lines run --wait prints), then the job lines and the summary; no escape sequences', async () => {
    const res = await local([]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).not.toMatch(ANSI);
    const lines = res.stdout.trimEnd().split('\n');
    const progress = lines.filter((l) => /^\d\d:\d\d:\d\dZ /.test(l)).map((l) => l.slice('00:00:00Z '.length));
    // Every line before the job lines is a progress line, and they say what run --wait says, in the order it happens.
    const firstJobLine = lines.findIndex((l) => /^(SUCCEEDED|UNCHANGED|FAILED) +lex:/.test(l));
    expect(firstJobLine).toBe(progress.length);
    expect(progress.slice(0, 3)).toEqual(['run: Plan', 'run: 3 jobs planned', 'run: BackUpEachTarget']);
    expect(progress.slice(-2)).toEqual(['run: Summarize', 'run: SUCCEEDED']);
    for (const target of TARGETS.map((t) => `lex:${t.botId}:${t.botVersion}`)) {
      const mine = progress.filter((l) => l.startsWith(`${target}: `)).map((l) => l.slice(target.length + 2));
      expect(mine[0]).toBe('starting export');
      expect(mine).toContain('exporting');
      expect(mine.at(-1)).toMatch(/^(SUCCEEDED|UNCHANGED)$/);
    }
    expect(lines.slice(firstJobLine, -1)).toHaveLength(3);
    expect(lines.at(-1)).toMatch(/^run local-\S+: \d stored, \d unchanged, 0 failed of 3; manifest s3:\/\//);
  });

  it('on a terminal: the per-job table, redrawn in place while the run goes on, its last drawing before the summary', async () => {
    // One export that takes 1.5 s: the run spans several redraws.
    h.lex.setFaults('BRAVOBOT02', { exportLatencyMs: 1500 });
    try {
      const res = await local([], { tty: true });
      expect(res.code).toBe(0);
      const out = res.stdout.replace(/\r\n/g, '\n');
      // Redrawn in place, not appended.
      expect(out).toMatch(REDRAWN);
      const screen = out.slice(out.lastIndexOf('\x1b[0J') + '\x1b[0J'.length).split('\n');
      expect(screen[0]).toMatch(/^TARGET +STATE +POLLS$/);
      expect(screen.slice(1, 4).map((l) => l.split(/ +/)[0])).toEqual(['lex:ALPHABOT01:DRAFT', 'lex:BRAVOBOT02:DRAFT', 'lex:CHARLIE003:2']);
      expect(screen.slice(1, 4).every((l) => / {2}(SUCCEEDED|UNCHANGED) +\d+$/.test(l))).toBe(true);
      expect(screen[4]).toBe('SUCCEEDED: 3 of 3 jobs done');
      // Then a blank line, the job lines and the summary, as after run --wait's table; no plain progress lines.
      expect(screen[5]).toBe('');
      expect(screen.slice(6, 9).every((l) => /^(SUCCEEDED|UNCHANGED) +lex:/.test(l))).toBe(true);
      // On a terminal the summary's manifest has a line of its own (120 columns).
      expect(screen[9]).toMatch(/^run local-\S+: \d stored, \d unchanged, 0 failed of 3$/);
      expect(screen[10]).toMatch(/^manifest s3:\/\/\S+\.json$/);
      expect(out).not.toMatch(/^\d\d:\d\d:\d\dZ /m);
    } finally {
      h.lex.setFaults('BRAVOBOT02', {});
    }
  });

  it('--json: stdout is the manifest alone, on a terminal too (no progress anywhere, as run --wait --json)', async () => {
    const res = await local(['--only', 'CHARLIE003', '--json'], { tty: true });
    expect(res.code).toBe(0);
    expect(res.stdout).not.toMatch(ANSI);
    const manifest = JSON.parse(res.stdout) as { results: { target: string }[] };
    expect(manifest.results.map((r) => r.target)).toEqual(['lex:CHARLIE003:2']);
  });
});

describe('botvault local --fast: deadlines count elapsed time', () => {
  it('an export that takes 2.5 s is waited for, though its checks add up to far more than the budget in nominal seconds', async () => {
    const config = join(h.dir, 'tight-budget.config.json');
    // Nominal waits of 10 s with a 30 s budget: counted by scheduled seconds, three checks (some 0.1 s under --fast) and a timeout.
    writeFileSync(
      config,
      JSON.stringify({
        stackName: 'BotVaultLocalE2E',
        downloadAllowlist: [h.lex.url],
        polling: { firstWaitSeconds: 10, backoffFactor: 1, maxWaitSeconds: 10, budgetSeconds: 30 },
        targets: [{ provider: 'lex', botId: 'CHARLIE003', botVersion: '2' }],
      }),
    );
    h.lex.setFaults('CHARLIE003', { exportLatencyMs: 2500 });
    try {
      const before = h.lex.calls.length;
      const started = Date.now();
      const res = await local(['--json'], { config });
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      const manifest = JSON.parse(res.stdout) as { results: { target: string; status: string }[] };
      expect(manifest.results).toMatchObject([{ target: 'lex:CHARLIE003:2', status: expect.stringMatching(/^(SUCCEEDED|UNCHANGED)$/) }]);
      expect(Date.now() - started).toBeGreaterThan(2500);
      // Many more checks than the three the scheduled clock allows.
      expect(h.lex.calls.slice(before).filter((c) => c.op === 'DescribeExport' && c.botId === 'CHARLIE003').length).toBeGreaterThan(5);
    } finally {
      h.lex.setFaults('CHARLIE003', {});
    }
  });
});
