/**
 * The end-to-end benchmark's outside world in its own process: the Lex
 * simulator, s3rver and KMS (the stack's HMAC key). In AWS neither Lex nor S3 shares a CPU with the
 * Lambdas; here they would otherwise share the local runner's one event loop
 * with every handler and the state machine interpreter.
 *
 * Argument: JSON `{ bots: SimBot[], exportLatencyMs: number, bucket: string }`.
 * Prints `{"lexUrl": ..., "s3Endpoint": ..., "kmsUrl": ..., "macKeyArn": ...}` once all listen; SIGTERM closes them.
 */
import { startKmsSimulator } from '../simulators/kms-simulator';
import { startLexSimulator, type SimBot } from '../simulators/lex-simulator';
import { createBucket, startS3Server } from '../simulators/s3-server';

const opts = JSON.parse(process.argv[2] ?? '{}') as { bots: SimBot[]; exportLatencyMs: number; bucket: string };
const lex = await startLexSimulator({ bots: opts.bots, defaultFaults: { exportLatencyMs: opts.exportLatencyMs } });
const s3 = await startS3Server();
const kms = await startKmsSimulator();
await createBucket(s3.endpoint, opts.bucket);
process.stdout.write(`${JSON.stringify({ lexUrl: lex.url, s3Endpoint: s3.endpoint, kmsUrl: kms.url, macKeyArn: kms.createKey() })}\n`);
process.on('SIGTERM', () => {
  void Promise.all([lex.close(), s3.close(), kms.close()]).finally(() => process.exit(0));
});
