/**
 * The end-to-end benchmark's outside world in its own process: the Lex
 * simulator and s3rver. In AWS neither Lex nor S3 shares a CPU with the
 * Lambdas; here they would otherwise share the local runner's one event loop
 * with every handler and the state machine interpreter.
 *
 * Argument: JSON `{ bots: SimBot[], exportLatencyMs: number, bucket: string }`.
 * Prints `{"lexUrl": ..., "s3Endpoint": ...}` once both listen; SIGTERM closes them.
 */
import { startLexSimulator, type SimBot } from '../simulators/lex-simulator';
import { createBucket, startS3Server } from '../simulators/s3-server';

const opts = JSON.parse(process.argv[2] ?? '{}') as { bots: SimBot[]; exportLatencyMs: number; bucket: string };
const lex = await startLexSimulator({ bots: opts.bots, defaultFaults: { exportLatencyMs: opts.exportLatencyMs } });
const s3 = await startS3Server();
await createBucket(s3.endpoint, opts.bucket);
process.stdout.write(`${JSON.stringify({ lexUrl: lex.url, s3Endpoint: s3.endpoint })}\n`);
process.on('SIGTERM', () => {
  void Promise.all([lex.close(), s3.close()]).finally(() => process.exit(0));
});
