/**
 * USD per bot per night on AWS, from what the end-to-end benchmark measured:
 * its state transitions (Step Functions Standard bills each one), the mean
 * time of each Lambda state times the function's memory (Lambda bills
 * GB-seconds, arm64), one invocation per Lambda state, and the S3 requests
 * per job the StoreArchive benchmark counted (plus the restore sidecar's PUT).
 *
 * Prices: us-east-1, public price pages as stored on 2026-12-01 (Step
 * Functions pricing; Lambda pricing, arm64; S3 pricing, S3 Standard
 * requests; KMS pricing, $0.03 per 10,000 requests, HMAC keys included).
 * Free tiers are left out (a conservative figure), as are the S3 encryption
 * key's requests (an S3 Bucket Key makes them per bucket, not per object),
 * the keys' $1 a month each, log ingestion and storage. KMS GenerateMac
 * calls (the archive's MAC, the sidecar's, the manifest's share) are counted.
 */
const PRICES_2026_12_01 = {
  stateTransition: 0.025 / 1000,
  lambdaArmGbSecond: 0.0000133334,
  lambdaRequest: 0.2 / 1_000_000,
  s3Put: 0.005 / 1000,
  s3HeadOrGet: 0.0004 / 1000,
  kmsRequest: 0.03 / 10_000,
} as const;

/** Memory per Lambda state, MB (lib/botvault-stack.ts: StoreArchive 1024, the others BackupFunction's default 256). */
const MEMORY_MB: Record<string, number> = { Plan: 256, StartExport: 256, CheckExport: 256, StoreArchive: 1024, Cleanup: 256, Summarize: 256 };

interface CostInput {
  readonly bots: number;
  readonly transitionsPerBotAllIn: number;
  readonly meanStateMs: Record<string, number>;
  /** S3 requests of one changed-bot StoreArchive job with its restore sidecar, by operation (test/bench/requests.ts). */
  readonly storeRequests: Record<string, number>;
  /** KMS GenerateMac calls of that job (requests.ts); the manifest's one is added as a share. */
  readonly storeMacs: number;
}

interface CostLine {
  readonly stepFunctions: number;
  readonly lambda: number;
  readonly s3: number;
  readonly kms: number;
  readonly total: number;
}

export function costPerBotNight(c: CostInput): CostLine {
  const p = PRICES_2026_12_01;
  const stepFunctions = c.transitionsPerBotAllIn * p.stateTransition;
  let lambda = 0;
  for (const [state, mb] of Object.entries(MEMORY_MB)) {
    const ms = c.meanStateMs[state] ?? 0;
    // Plan and Summarize run once per run: each bot's share.
    const share = state === 'Plan' || state === 'Summarize' ? 1 / c.bots : 1;
    lambda += share * ((ms / 1000) * (mb / 1024) * p.lambdaArmGbSecond + p.lambdaRequest);
  }
  // Operations as requests.ts names them: the sidecar's are counted apart ("PutObject (sidecar)").
  const count = (op: string) => Object.entries(c.storeRequests).reduce((n, [name, k]) => (name.split(' ')[0] === op ? n + k : n), 0);
  const puts = count('PutObject') + count('CopyObject');
  const reads = count('HeadObject') + count('GetObject');
  const s3 = puts * p.s3Put + reads * p.s3HeadOrGet + (1 / c.bots) * p.s3Put; // the run manifest, shared
  const kms = (c.storeMacs + 1 / c.bots) * p.kmsRequest;
  return { stepFunctions, lambda, s3, kms, total: stepFunctions + lambda + s3 + kms };
}
