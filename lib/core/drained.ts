import type { Writable } from 'node:stream';

/**
 * Resolves once `stream` takes writes again ('drain'), or has closed: a
 * stream that failed closes, and the caller checks for the failure it
 * recorded. Unlike `events.once`, it leaves no listener behind on either
 * outcome, so a loop may await it once per chunk.
 */
export function drained(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const go = () => {
      stream.off('drain', go);
      stream.off('close', go);
      resolve();
    };
    stream.on('drain', go);
    stream.on('close', go);
  });
}
