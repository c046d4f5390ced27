/**
 * TTY lines fit 120 columns: `run --wait`, `status`, `local`, `list` and
 * `history` under a pseudo-terminal (the harness's `tty: true`, util-linux
 * `script`), with the longest realistic target: a Kore.ai bot id (`st-` and a
 * UUID) with the `published` export, next to a Lex bot. On a terminal they
 * print short hashes and fewer columns; piped, the same commands keep every
 * column and the full sha256, which scripts may parse.
 *
 * The tests share one versioned bucket (Swift) and run in order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { THREE_BOTS } from '../helpers/lex-bots';
import { startKoreSimulator, type KoreSimulator } from '../simulators/koreai-simulator';
import { type CliHarness, type CliResult, startCliHarness } from './cli-harness';

const APP = { clientId: 'cs-botvault-tty', clientSecret: 'tty-width-secret' };
const KORE_BOT = 'st-5e1f0c2a-7b3d-4c8e-9a6f-1d2b3c4e5f60';
const KORE_TARGET = `koreai:${KORE_BOT}:published`;
const POLL = ['--poll-ms', '100'];

let h: CliHarness;
let kore: KoreSimulator;
beforeAll(async () => {
  kore = await startKoreSimulator({ apps: [APP], bots: [{ botId: KORE_BOT, botName: 'HotelConcierge', dialogs: ['Welcome', 'SpaBooking'] }] });
  h = await startCliHarness({
    s3: 'swift',
    stackName: 'BotVaultTtyWidthE2E',
    bots: THREE_BOTS,
    downloadAllowlist: [kore.url],
    secrets: { 'botvault/koreai': JSON.stringify(APP) },
    targets: [
      { provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' },
      { provider: 'koreai', host: kore.url, botId: KORE_BOT, credentialsSecret: 'botvault/koreai', exportType: 'published' },
    ],
  });
});
afterAll(async () => {
  await h?.close();
  await kore?.close();
});

// biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences are what is stripped
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

/** The lines as a terminal shows them: escape sequences stripped, `script`'s CRLF as LF, each redraw's lines too. */
const screenLines = (res: CliResult) =>
  res.stdout
    .replace(/\r\n/g, '\n')
    .replace(ANSI, '\n')
    .split('\n')
    .filter((l) => l.length);
const width = (line: string) => [...line].length;
const widest = (lines: readonly string[]) => Math.max(...lines.map(width));

function cli(args: string[], tty: boolean): Promise<CliResult> {
  // `local` runs the handlers in its own process: they need the Lex simulator's endpoint too.
  return h.cli([...args, '--config', h.configFile], { tty, env: { AWS_ENDPOINT_URL_LEX_MODELS_V2: h.lex.url } });
}

/** Runs a command on a terminal and piped: the terminal's lines fit 120 columns and say `expected`; piped it is the full form. */
async function onTerminalAndPiped(args: string[], expected: { tty: RegExp[]; piped: RegExp[] }): Promise<{ tty: string[]; piped: string[] }> {
  const tty = await cli(args, true);
  expect(tty.code, tty.stdout).toBe(0);
  const lines = screenLines(tty);
  for (const re of expected.tty)
    expect(
      lines.some((l) => re.test(l)),
      `${re} on the terminal:\n${lines.join('\n')}`,
    ).toBe(true);
  const over = lines.filter((l) => width(l) > 120);
  expect(over, `lines wider than 120 columns of \`botvault ${args.join(' ')}\` on a terminal`).toEqual([]);
  // No full sha256 on a terminal: 12 hex digits.
  expect(lines.join('\n')).not.toMatch(/[0-9a-f]{64}/);

  const piped = await cli(args, false);
  expect(piped.code).toBe(0);
  expect(piped.stdout).not.toMatch(ANSI);
  const pipedLines = piped.stdout.trimEnd().split('\n');
  for (const re of expected.piped)
    expect(
      pipedLines.some((l) => re.test(l)),
      `${re} piped:\n${piped.stdout}`,
    ).toBe(true);
  return { tty: lines, piped: pipedLines };
}

const SHORT = '[0-9a-f]{12}';
const FULL = '[0-9a-f]{64}';
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const KORE_RE = new RegExp(esc(KORE_TARGET));
const widths: Record<string, { tty: number; piped: number }> = {};

describe('on a terminal every line fits 120 columns, with a Kore.ai target; piped, the full form', () => {
  it('run --wait: the live table, the job lines without key and with a short hash, the manifest on its own line', async () => {
    const { tty, piped } = await onTerminalAndPiped(['run', '--wait', ...POLL], {
      tty: [
        /^TARGET +STATE +POLLS$/,
        new RegExp(`^(SUCCEEDED|UNCHANGED) ${esc(KORE_TARGET)} +\\d+\\.\\d KiB  sha256 ${SHORT}$`),
        /^run manual-\S+ SUCCEEDED: \d stored, \d unchanged, 0 failed of 2$/,
        /^manifest s3:\/\/\S+\/runs\/\S+\.json$/,
        /^ {2}execution arn:aws:states:/,
      ],
      piped: [
        new RegExp(`^(SUCCEEDED|UNCHANGED) ${esc(KORE_TARGET)} +koreai/\\S+/${KORE_BOT}/published/bot\\.zip +\\d+\\.\\d KiB  sha256 ${FULL}$`),
        /^run manual-\S+ SUCCEEDED: \d stored, \d unchanged, 0 failed of 2; manifest s3:\/\//,
      ],
    });
    widths.run = { tty: widest(tty), piped: widest(piped) };
  });

  it('status: no SIZE or KEY column, a short hash, the manifest on its own line', async () => {
    const { tty, piped } = await onTerminalAndPiped(['status'], {
      tty: [
        /^STATUS +TARGET +SHA256 +VERSION \/ ERROR$/,
        new RegExp(`^(SUCCEEDED|UNCHANGED) +${esc(KORE_TARGET)} +${SHORT} +\\S+$`),
        /^manifest s3:\/\//,
      ],
      piped: [
        /^STATUS +TARGET +SIZE +VERSION +SHA256 +KEY \/ ERROR$/,
        new RegExp(`^(SUCCEEDED|UNCHANGED) +${esc(KORE_TARGET)} .* koreai/\\S+/bot\\.zip$`),
      ],
    });
    widths.status = { tty: widest(tty), piped: widest(piped) };
  });

  it('local: the live table, then the same compact job lines and summary', async () => {
    const args = ['local', '--bucket', h.bucket, '--mac-key', h.macKeyArn, '--fast'];
    const { tty, piped } = await onTerminalAndPiped(args, {
      tty: [
        /^TARGET +STATE +POLLS$/,
        new RegExp(`^(SUCCEEDED|UNCHANGED) ${esc(KORE_TARGET)} +\\d+\\.\\d KiB  sha256 ${SHORT}$`),
        /^manifest s3:\/\//,
      ],
      piped: [/^\d\d:\d\d:\d\dZ run: 2 jobs planned$/, new RegExp(`^(SUCCEEDED|UNCHANGED) ${esc(KORE_TARGET)} +koreai/\\S+ .* sha256 ${FULL}$`)],
    });
    widths.local = { tty: widest(tty), piped: widest(piped) };
  });

  it('list: each target above its versions, a short hash, no RUN column; piped the flat table with RUN', async () => {
    const { tty, piped } = await onTerminalAndPiped(['list'], {
      tty: [
        /^TARGET \/ DATE +SIZE +SHA256 +VERSION$/,
        new RegExp(`^${esc(KORE_TARGET)}$`),
        new RegExp(`^ {2}\\d{4}-\\d\\d-\\d\\d \\S+Z +\\S+ KiB  ${SHORT}  \\S+ \\(current\\)$`),
      ],
      piped: [/^TARGET +DATE +SIZE +SHA256 +VERSION +RUN$/, new RegExp(`^${esc(KORE_TARGET)} .* ${FULL} .* manual-\\S+$`)],
    });
    expect(tty.filter((l) => KORE_RE.test(l))).toEqual([KORE_TARGET]);
    widths.list = { tty: widest(tty), piped: widest(piped) };
  });

  it('history: no key, a short hash, the run on a line of its own', async () => {
    const { tty, piped } = await onTerminalAndPiped(['history', KORE_TARGET], {
      tty: [
        new RegExp(`^${esc(KORE_TARGET)}: \\d versions?, newest first$`),
        new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\S+Z  \\S+ KiB  sha256 ${SHORT}  version \\S+ \\(current\\)$`),
        /^ {2}run (manual|local)-\S+$/,
      ],
      piped: [
        new RegExp(`^${esc(KORE_TARGET)} \\(s3://\\S+/koreai/\\S+/bot\\.zip\\): \\d versions?`),
        new RegExp(`  run \\S+  .*  sha256 ${FULL}  version `),
      ],
    });
    widths.history = { tty: widest(tty), piped: widest(piped) };
    // Measured 2026-12-02 (terminal / piped): run 110/232, status 99/190, local 99/232, list 73/213, history 86/193.
    expect(Object.values(widths).every((w) => w.tty <= 120 && w.piped > 120)).toBe(true);
  });
});
