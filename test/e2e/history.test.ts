/**
 * `botvault history` end to end: three real backups of a Lex bot (the
 * synthesized workflow via runLocal, the Lex V2 simulator, versioned S3 on
 * OpenStack Swift), each new version with the change record StoreArchive
 * wrote; the real command line (a child process) prints the timeline. A
 * planted record and forged version metadata show what is not believed.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLocal } from '../../lib/local/runner';
import { changeRecordKey } from '../../lib/core/names';
import { startCliHarness, type CliHarness } from './cli-harness';

const TARGET = 'lex:ALPHABOT01:DRAFT';
const KEY = 'lex/123456789012/us-east-1/ALPHABOT01/DRAFT/bot.zip';

let h: CliHarness;
/** The runs' results for the bot, oldest first. */
const stored: { versionId: string; sha256: string; bytes: number }[] = [];

async function backUp(runId: string): Promise<void> {
  const run = await runLocal({ config: h.config, bucket: h.bucket, fast: true, runId });
  expect(run.status).toBe('SUCCEEDED');
  const r = run.manifest!.results.find((x) => x.target === TARGET)!;
  expect(r.status).toBe('SUCCEEDED');
  stored.push({ versionId: r.versionId!, sha256: r.sha256!, bytes: r.bytes! });
}

interface HistoryJson {
  target: string;
  key: string;
  versions: {
    versionId: string;
    current: boolean;
    runId: string;
    sha256: string;
    bytes: number;
    authenticated: boolean;
    changes: {
      status: string;
      previous: { versionId: string } | null;
      changes: { scope?: string; subject: string; detail: string; added?: string[] }[];
    } | null;
  }[];
}

beforeAll(async () => {
  h = await startCliHarness({
    s3: 'swift',
    stackName: 'BotVaultHistoryE2E',
    bots: [{ botId: 'ALPHABOT01', botName: 'Alpha', locales: ['en_US'], intents: ['Greet', 'Order'] }],
    targets: [{ provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' }],
  });
  await backUp('history-e2e-1');
  h.lex.modifyBot('ALPHABOT01', { intents: ['Greet', 'Order', 'Cancel'] });
  await backUp('history-e2e-2');
  h.lex.modifyBot('ALPHABOT01', { intents: ['Greet', 'Cancel'] });
  await backUp('history-e2e-3');
});
afterAll(async () => h?.close());

describe('botvault history', () => {
  it('prints the timeline newest first: time, run, size, sha256, version, and what changed with each', async () => {
    const res = await h.cli(['history', TARGET, '--config', h.configFile]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const lines = res.stdout.split('\n');
    expect(lines[0]).toBe(`${TARGET} (s3://${h.bucket}/${KEY}): 3 versions, newest first`);
    const headers = lines.filter((l) => /^\d{4}-\d\d-\d\d /.test(l));
    expect(headers).toHaveLength(3);
    const [v3, v2, v1] = [...stored].reverse();
    expect(headers[0]).toMatch(
      new RegExp(`^\\S+ \\S+Z  run history-e2e-3  [\\d.]+ KiB  sha256 ${v3!.sha256}  version ${v3!.versionId.replace('.', '\\.')} \\(current\\)$`),
    );
    expect(headers[1]).toContain(`run history-e2e-2`);
    expect(headers[2]).toContain(`sha256 ${v1!.sha256}  version ${v1!.versionId}`);
    expect(res.stdout).toContain(`version ${v2!.versionId}\n  en_US: intent Cancel added; slot type AlphaChoice +1 value\n`);
    expect(res.stdout).toContain(`version ${v3!.versionId} (current)\n  en_US: intent Order removed; slot type AlphaChoice -1 value\n`);
    expect(res.stdout.trimEnd().endsWith(`version ${v1!.versionId}\n  first backup`)).toBe(true);
  });

  it('--json carries every version with its full change record; --limit keeps the newest', async () => {
    const res = await h.cli(['history', 'ALPHABOT01', '--json', '--config', h.configFile]);
    expect(res.code).toBe(0);
    const j = JSON.parse(res.stdout) as HistoryJson;
    expect(j.key).toBe(KEY);
    expect(j.versions.map((v) => v.versionId)).toEqual([...stored].reverse().map((s) => s.versionId));
    expect(j.versions.map((v) => [v.runId, v.bytes, v.sha256, v.authenticated])).toEqual(
      [...stored].reverse().map((s, i) => [`history-e2e-${3 - i}`, s.bytes, s.sha256, true]),
    );
    expect(j.versions[1]!.changes).toEqual({
      status: 'summarized',
      previous: { versionId: stored[0]!.versionId, sha256: stored[0]!.sha256 },
      changes: [
        { scope: 'en_US', subject: 'intent Cancel', detail: 'added' },
        { scope: 'en_US', subject: 'slot type AlphaChoice', detail: '+1 value', added: ['cancel'] },
      ],
    });
    expect(j.versions[2]!.changes).toEqual({ status: 'first', previous: null, changes: [] });
    const one = JSON.parse((await h.cli(['history', TARGET, '--json', '--limit', '1', '--config', h.configFile])).stdout) as HistoryJson;
    expect(one.versions.map((v) => v.versionId)).toEqual([stored[2]!.versionId]);
    const bad = await h.cli(['history', TARGET, '--limit', '0', '--config', h.configFile]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('must be a whole number of versions, at least 1');
  });

  it('a change record planted without the stack key is not believed: named in a warning, the version shows no record', async () => {
    const forged = {
      format: 'botvault-changes/v1',
      provider: 'lex',
      target: TARGET,
      key: KEY,
      runId: 'history-e2e-3',
      recordedAt: new Date().toISOString(),
      archive: { versionId: stored[2]!.versionId, sha256: stored[2]!.sha256 },
      previous: null,
      status: 'summarized',
      changes: [{ subject: 'intent Everything', detail: 'removed' }],
    };
    const body = JSON.stringify(forged);
    const { createHash } = await import('node:crypto');
    await h.s3.send(
      new PutObjectCommand({
        Bucket: h.bucket,
        Key: changeRecordKey(KEY),
        Body: body,
        Metadata: { sha256: createHash('sha256').update(body).digest('hex') },
      }),
    );
    const res = await h.cli(['history', TARGET, '--config', h.configFile]);
    expect(res.code).toBe(0);
    expect(res.stdout).not.toContain('intent Everything');
    // The genuine, older record version of that archive version is still there and used.
    expect(res.stdout).toContain(`version ${stored[2]!.versionId} (current)\n  en_US: intent Order removed`);
    expect(res.stderr).toMatch(/^botvault: warning: not using \S+\.changes\.json version \S+: it is not authenticated \(it carries no mac metadata/);
  });

  it('a version whose metadata does not verify is shown REFUSED (nothing of it believed), the others as before, exit 2; --accept-unverified shows it marked UNVERIFIED', async () => {
    const junk = Buffer.from('not a bot');
    const { createHash } = await import('node:crypto');
    await h.s3.send(
      new PutObjectCommand({
        Bucket: h.bucket,
        Key: KEY,
        Body: junk,
        Metadata: { sha256: createHash('sha256').update(junk).digest('hex'), 'run-id': 'history-e2e-planted', mac: 'v1:AAAA' },
      }),
    );
    const refused = await h.cli(['history', TARGET, '--config', h.configFile]);
    expect(refused.code).toBe(2);
    expect(refused.stdout).not.toContain('history-e2e-planted');
    expect(refused.stdout).toMatch(/\(current\)\n {2}REFUSED: \S+ version \S+ is not authenticated: its MAC does not verify/);
    // The genuine versions are still shown with their changes.
    expect(refused.stdout).toContain(`version ${stored[1]!.versionId}\n  en_US: intent Cancel added`);
    expect(refused.stderr).toMatch(/^botvault: warning: \S+ version \S+ is not authenticated: its MAC does not verify/m);
    const shown = await h.cli(['history', TARGET, '--accept-unverified', '--config', h.configFile]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/\(current\) UNVERIFIED\n {2}\(no change record/);
  });
});
