/**
 * Runs `fn` with the handlers' logs at DEBUG and everything written to stdout
 * and stderr appended to `lines` instead (for the credential sentinels); the
 * streams and the SILENT log level are back when it ends, however it ends.
 */
import { syncLogLevel } from '../../lib/core/logger';

export async function withCapturedLogs<T>(lines: string[], fn: () => Promise<T>): Promise<T> {
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
  syncLogLevel();
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((s) => s.write.bind(s));
  streams.forEach((s) => {
    s.write = ((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    }) as typeof s.write;
  });
  try {
    return await fn();
  } finally {
    streams.forEach((s, i) => (s.write = originals[i]!));
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    // The shared logger too: code that logs without a handler's re-read (a module called directly,
    // in a worker other files share) would otherwise go on logging at DEBUG.
    syncLogLevel();
  }
}
