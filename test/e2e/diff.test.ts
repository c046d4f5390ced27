/**
 * `botvault diff` end to end: two real backups of a Lex bot (the synthesized
 * workflow via runLocal, against the Lex V2 simulator and versioned S3 on
 * OpenStack Swift) with an intent swapped in between; the real command line
 * (a child process) compares the two versions file by file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLocal } from '../../lib/local/runner';
import { startCliHarness, type CliHarness } from './cli-harness';

const TARGET = 'lex:ALPHABOT01:DRAFT';

let h: CliHarness;
/** Version ids of the bot's archive, oldest first. */
const versions: string[] = [];

async function backUp(runId: string): Promise<string> {
  const run = await runLocal({ config: h.config, bucket: h.bucket, fast: true, runId });
  expect(run.status).toBe('SUCCEEDED');
  const result = run.manifest!.results.find((r) => r.target === TARGET)!;
  expect(result.status).toBe('SUCCEEDED');
  return result.versionId!;
}

function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

beforeAll(async () => {
  h = await startCliHarness({
    s3: 'swift',
    stackName: 'BotVaultDiffE2E',
    bots: [{ botId: 'ALPHABOT01', botName: 'Alpha', locales: ['en_US'], intents: ['Greet', 'Order'] }],
    targets: [{ provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' }],
  });
  versions.push(await backUp('restore-e2e-1'));
  h.lex.modifyBot('ALPHABOT01', { intents: ['Greet', 'Cancel'] });
  versions.push(await backUp('restore-e2e-2'));
});
afterAll(async () => h?.close());

describe('botvault diff', () => {
  it('default (previous → current): what changed in the bot, then the added, removed and changed files; --files adds a unified diff of the changed JSON', async () => {
    const plain = await h.cli(['diff', TARGET, '--config', h.configFile]);
    expect(plain.code).toBe(0);
    expect(plain.stdout.split('\n')[1]).toBe('  en_US: intent Cancel added; intent Order removed; slot type AlphaChoice +1 value, -1 value');
    expect(plain.stdout).toContain('(--files shows the unified diff of each changed file)\n');
    expect(plain.stdout).not.toContain('@@');
    const res = await h.cli(['diff', TARGET, '--files', '--config', h.configFile]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const out = res.stdout;
    expect(out.split('\n')[0]).toMatch(
      new RegExp(
        `^${TARGET}: ${versions[0]!.replace('.', '\\.')} \\(.*run restore-e2e-1\\) → ${versions[1]!.replace('.', '\\.')} \\(.*run restore-e2e-2\\)$`,
      ),
    );
    expect(out).toContain('added    Alpha/BotLocales/en_US/Intents/Cancel/Intent.json\n');
    expect(out).toContain('removed  Alpha/BotLocales/en_US/Intents/Order/Intent.json\n');
    expect(out).toContain('changed  Alpha/BotLocales/en_US/SlotTypes/AlphaChoice/SlotType.json\n');
    // Manifest.json (its key order may differ: only values count), Bot.json, BotLocale.json, Greet with its slot and
    // conversation flow, and FallbackIntent did not change.
    expect(out).toContain('1 added, 1 removed, 1 changed, 7 unchanged\n');
    expect(out).toContain(`--- a/Alpha/BotLocales/en_US/SlotTypes/AlphaChoice/SlotType.json\tversion ${versions[0]}\n`);
    expect(out).toContain(`+++ b/Alpha/BotLocales/en_US/SlotTypes/AlphaChoice/SlotType.json\tversion ${versions[1]}\n`);
    expect(out).toMatch(/\n@@ -\d+,\d+ \+\d+,\d+ @@\n/);
    expect(out).toMatch(/\n-\s+"value": "order"\n/);
    expect(out).toMatch(/\n\+\s+"value": "cancel"\n/);
  });

  it('--json with explicit --from/--to: the same comparison, reversed', async () => {
    const res = await h.cli(['diff', 'ALPHABOT01', '--from', versions[1]!, '--to', versions[0]!, '--json', '--config', h.configFile]);
    expect(res.code).toBe(0);
    const d = JSON.parse(res.stdout) as {
      from: { versionId: string };
      to: { versionId: string; runId: string };
      added: string[];
      removed: string[];
      changed: { path: string; patch: string }[];
      unchanged: number;
    };
    expect(d.from.versionId).toBe(versions[1]);
    expect(d.to).toMatchObject({ versionId: versions[0], runId: 'restore-e2e-1' });
    expect(d.added).toEqual(['Alpha/BotLocales/en_US/Intents/Order/Intent.json']);
    expect(d.removed).toEqual(['Alpha/BotLocales/en_US/Intents/Cancel/Intent.json']);
    expect(d.changed.map((c) => c.path)).toEqual(['Alpha/BotLocales/en_US/SlotTypes/AlphaChoice/SlotType.json']);
    expect(d.changed[0]!.patch).toMatch(/\n\+\s+"value": "order"\n/);
    expect(d.unchanged).toBe(7);
    expect((JSON.parse(res.stdout) as { changes: unknown }).changes).toEqual([
      { scope: 'en_US', subject: 'intent Cancel', detail: 'removed' },
      { scope: 'en_US', subject: 'intent Order', detail: 'added' },
      { scope: 'en_US', subject: 'slot type AlphaChoice', detail: '+1 value, -1 value', added: ['order'], removed: ['cancel'] },
    ]);
  });

  it('an unknown version: exit 2, one line listing the versions', async () => {
    const res = await h.cli(['diff', TARGET, '--from', 'nope', '--config', h.configFile]);
    expect(res.code).toBe(2);
    expect(oneLine(res.stderr)).toMatch(/^botvault: lex:ALPHABOT01:DRAFT has no version "nope" \(--from\); versions \(newest first\): \S+, \S+$/);
  });
});
