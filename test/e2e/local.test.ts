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
