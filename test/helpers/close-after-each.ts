/** Closing what a test started, after the test, however it ended. */
import { afterEach } from 'vitest';

type Closable = { close(): Promise<void> } | { destroy(): void };

/**
 * Returns `track`: what it is given (a simulator, an SDK client) is closed
 * (or destroyed) after the test, the last tracked first: clients before the
 * servers they talk to. Call once, at the top of a test file.
 */
export function closeAfterEach(): <T extends Closable>(thing: T) => T {
  const tracked: Closable[] = [];
  afterEach(async () => {
    for (const t of tracked.splice(0).reverse()) {
      if ('close' in t) await t.close();
      else t.destroy();
    }
  });
  return (thing) => {
    tracked.push(thing);
    return thing;
  };
}
