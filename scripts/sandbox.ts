/**
 * `npm run sandbox`: every simulator on 127.0.0.1 with a few bots, until
 * Ctrl-C (test/simulators/sandbox.ts; `botvault sandbox` is the same).
 * BOTVAULT_SANDBOX_PORT moves the ports (0: free ones).
 */
import { runSandbox } from '../test/simulators/sandbox';

runSandbox().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`sandbox: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  },
);
