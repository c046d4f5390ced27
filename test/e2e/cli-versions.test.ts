/**
 * `botvault list` and `get --version` against a real versioned S3 server
 * (OpenStack Swift's S3 API, started by scripts/swift-s3.sh as `npm test`
 * does): two runs with an edit in between give a resource two versions, and
 * the CLI lists both and fetches either, byte for byte.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliHarness, type CliHarness } from './cli-harness';

const KEY = 'lex/123456789012/us-east-1/HISTORYBOT/DRAFT/bot.zip';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Row {
  target: string;
  key: string;
  versionId: string | null;
  current: boolean;
  bytes: number;
  sha256: string;
  runId: string;
}

let h: CliHarness;
beforeAll(async () => {
  h = await startCliHarness({
    s3: 'swift',
    stackName: 'BotVaultCliVersions',
    bots: [{ botId: 'HISTORYBOT', botName: 'History', locales: ['en_US'], intents: ['One'] }],
    targets: [{ provider: 'lex', botId: 'HISTORYBOT', botVersion: 'DRAFT' }],
  });
});
afterAll(async () => h?.close());

describe('archive history on versioned S3', () => {
  it('two runs: list shows two versions newest first; get --version fetches the older one intact', async () => {
    const first = await h.cli(['run', '--config', h.configFile, '--name', 'versions-run-1', '--wait', '--poll-ms', '50']);
    expect(first.code).toBe(0);
    h.lex.modifyBot('HISTORYBOT', { intents: ['One', 'Two'] });
    const second = await h.cli(['run', '--config', h.configFile, '--name', 'versions-run-2', '--wait', '--poll-ms', '50']);
    expect(second.code).toBe(0);

    const listed = await h.cli(['list', 'lex:HISTORYBOT:DRAFT', '--config', h.configFile, '--json']);
    expect(listed.code).toBe(0);
    const rows = JSON.parse(listed.stdout) as Row[];
    expect(rows.map((r) => [r.key, r.current, r.runId])).toEqual([
      [KEY, true, 'versions-run-2'],
      [KEY, false, 'versions-run-1'],
    ]);
    expect(rows[0]!.versionId).toBeTruthy();
    expect(rows[1]!.versionId).toBeTruthy();
    expect(rows[0]!.versionId).not.toBe(rows[1]!.versionId);

    // Each listed sha256 is the hash of that version's bytes.
    for (const row of rows) {
      const res = await h.s3.send(new GetObjectCommand({ Bucket: h.bucket, Key: KEY, VersionId: row.versionId! }));
      expect(sha256(Buffer.from(await res.Body!.transformToByteArray()))).toBe(row.sha256);
    }

    const old = rows[1]!;
    const got = await h.cli(['get', 'HISTORYBOT', '--version', old.versionId!, '--config', h.configFile]);
    expect(got.stderr).toBe('');
    expect(got.code).toBe(0);
    const file = join(h.dir, `HISTORYBOT-DRAFT-${old.versionId!.replace(/[^A-Za-z0-9._-]/g, '_')}.zip`);
    expect(got.stdout).toBe(`${file}  ${(old.bytes / 1024).toFixed(1)} KiB (${old.bytes} bytes)  sha256 ${old.sha256} (verified, MAC authentic)\n`);
    expect(sha256(readFileSync(file))).toBe(old.sha256);

    // The text listing shows both versions with the current one marked.
    const text = await h.cli(['list', '--config', h.configFile]);
    expect(text.stdout).toContain(`${rows[0]!.versionId} (current)`);
    expect(text.stdout).toMatch(new RegExp(`${old.sha256} +${old.versionId!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} +versions-run-1`));
    expect(text.stdout.trimEnd().split('\n').at(-1)).toBe(`1 resource, 2 versions in s3://${h.bucket}`);
  });

  it('a version that does not exist: exit 2, lists the versions there are', async () => {
    const res = await h.cli(['get', 'lex:HISTORYBOT:DRAFT', '--version', 'nope', '--config', h.configFile]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^botvault: lex:HISTORYBOT:DRAFT has no version "nope"; versions \(newest first\): \S+, \S+\n$/);
  });
});
