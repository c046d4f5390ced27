/** Output helpers shared by the CLI commands: one-line errors, job tables, exit codes. */
import type { JobResult } from '../core/contracts';

/** A problem the operator can fix; printed as one line, exit code 2. */
export class CliError extends Error {
  override readonly name: string = 'CliError';
}

/**
 * An object that is not what BotVault stored (its bytes, MAC or zip do not
 * check out): definite for that object, unlike a network or KMS failure,
 * which may pass. `mirror` leaves such a version out and goes on.
 */
export class IntegrityError extends CliError {
  override readonly name = 'IntegrityError';
}

export function exitWith(code: number): never {
  process.exit(code);
}

/** Lambda puts `{"errorType","errorMessage",...}` JSON in a task failure's Cause; show just the message. */
export function readableCause(cause: string | undefined): string | undefined {
  if (!cause) return cause;
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: already readable
  }
  return cause;
}

export function formatBytes(n: number | undefined): string {
  if (n === undefined) return '-';
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/**
 * The widest line printed on a terminal. There the output is for people: short
 * hashes, fewer columns, long free text cut with an ellipsis. Piped, redirected
 * or with --json it is for scripts: every column, full hashes and keys, no cut.
 */
export const TTY_COLUMNS = 120;

/** True when stdout is a terminal: print the compact forms, each line at most TTY_COLUMNS wide. */
export const onTerminal = (): boolean => Boolean(process.stdout.isTTY);

/** A sha256 as a terminal shows it: its first 12 hex digits (enough to tell versions apart, and to grep the full one). */
export const shortHash = (sha256: string | undefined): string => (sha256 ? sha256.slice(0, 12) : '-');

/** `line` cut to `width` columns (code points), its end replaced by an ellipsis. */
export function fitLine(line: string, width = TTY_COLUMNS): string {
  const chars = [...line];
  return chars.length <= width ? line : `${chars.slice(0, width - 1).join('')}…`;
}

/** Writes lines to stdout; on a terminal each is fitted to TTY_COLUMNS. */
export function printLines(lines: readonly string[]): void {
  const terminal = onTerminal();
  process.stdout.write(lines.map((l) => `${terminal ? fitLine(l) : l}\n`).join(''));
}

/**
 * One aligned line per job: status, target, key, size, sha256 (or the error).
 * `compact` (a terminal): no key (the target names it) and a short hash.
 */
export function formatJobLines(results: readonly JobResult[], compact = false): string[] {
  const width = Math.max(...results.map((r) => r.target.length), 6);
  const keyWidth = Math.max(...results.filter((r) => r.status !== 'FAILED').map((r) => (r.key ?? '-').length), 1);
  return results.map((r) => {
    const status = r.status.padEnd(9);
    const target = r.target.padEnd(width);
    if (r.status === 'FAILED') return `${status} ${target}  ${r.error ?? 'Error'}: ${readableCause(r.cause) ?? ''}`.trimEnd();
    if (compact) return `${status} ${target}  ${formatBytes(r.bytes).padStart(10)}  sha256 ${shortHash(r.sha256)}`;
    return `${status} ${target}  ${(r.key ?? '-').padEnd(keyWidth)}  ${formatBytes(r.bytes).padStart(9)}  sha256 ${r.sha256 ?? '-'}`;
  });
}

/**
 * A run's summary: `[<head>: ]N stored, N unchanged, N failed of N` and where
 * its manifest is; on a terminal (`compact`) the manifest on a line of its own.
 */
export function formatRunSummary(
  head: string | undefined,
  c: { succeeded: number; unchanged: number; failed: number; total: number },
  manifest: string,
  compact: boolean,
): string[] {
  const counts = `${head ? `${head}: ` : ''}${c.succeeded} stored, ${c.unchanged} unchanged, ${c.failed} failed of ${c.total}`;
  return compact ? [counts, `manifest ${manifest}`] : [`${counts}; manifest ${manifest}`];
}

/**
 * Left-aligned columns separated by two spaces, with a header row. Columns
 * listed in `right` are right-aligned (sizes, counts). Plain text, no box
 * characters: output is pasted into tickets and grepped.
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], right: readonly number[] = []): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (right.includes(i) ? cell.padStart(widths[i]!) : i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

/** `2024-05-17 03:00:12Z`: UTC, seconds, sortable; the same on every operator's machine. */
export function formatTime(value: Date | string | undefined): string {
  if (value === undefined) return '-';
  const d = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(d.getTime())) return String(value);
  return `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** Prints JSON the way every `--json` flag does: two-space indented, one trailing newline. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
