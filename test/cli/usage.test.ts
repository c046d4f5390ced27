/**
 * The command line's usage errors and --version, through the real entry
 * point (a child process): one line, a hint, exit code 2 — never 1, which
 * means "some jobs failed" (`run`) or "the import failed" (`restore`).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = resolve(import.meta.dirname, '../../bin/botvault.mjs');

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, AWS_REGION: 'us-east-1' } }, (err, stdout, stderr) =>
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('botvault usage', () => {
  it('--version prints the package version, exit 0', async () => {
    const { version } = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string };
    expect(await cli(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it("a command's own --version (get, restore) is that command's option, not the program's", async () => {
    const res = await cli(['get', 'lex:A:DRAFT', '--version']);
    expect(res).toEqual({ code: 2, stdout: '', stderr: "botvault: option '--version <id>' argument missing (see `botvault get --help`)\n" });
  });

  it.each([
    [['list', '--nope'], "botvault: unknown option '--nope' (see `botvault list --help`)"],
    [['get'], "botvault: missing required argument 'target' (see `botvault get --help`)"],
    [
      ['history', 'lex:A:DRAFT', '--limit', '0'],
      "botvault: option '--limit <n>' argument '0' is invalid. must be a whole number of versions, at least 1 (see `botvault history --help`)",
    ],
    [['mirror', 'lex:A:DRAFT'], "botvault: required option '--git <dir>' not specified (see `botvault mirror --help`)"],
    [['bogus'], "botvault: unknown command 'bogus' (see `botvault --help`)"],
  ])('%j: one line with a hint, exit 2', async (args, line) => {
    expect(await cli(args)).toEqual({ code: 2, stdout: '', stderr: `${line}\n` });
  });

  it('no command: the help on stderr, exit 2', async () => {
    const res = await cli([]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^Usage: botvault \[options\] \[command\]/);
  });
});
