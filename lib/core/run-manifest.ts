/**
 * The run manifest: `runs/<yyyy>/<mm>/<dd>/<runId>.json` in the archive
 * bucket, written by Summarize (lambdas/summarize), read by `botvault
 * status` / `run` and the local runner. README "S3 layout and metadata".
 */
import type { JobResult } from './contracts';
import { MANIFEST_PREFIX } from './names';

export interface RunManifest {
  runId: string;
  trigger: string;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  counts: { total: number; succeeded: number; unchanged: number; failed: number };
  results: JobResult[];
}

/** `runs/2024/05/17/<runId>.json`, dated by the run's start in UTC. */
export function manifestKey(runId: string, startedAt: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${MANIFEST_PREFIX}${startedAt.getUTCFullYear()}/${pad(startedAt.getUTCMonth() + 1)}/${pad(startedAt.getUTCDate())}/${runId.replace(/\//g, '_')}.json`;
}
