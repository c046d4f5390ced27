/**
 * Cleanup: removes the export at the provider once the archive is safe in S3.
 * Best effort by design: the workflow catches a failure here and still counts
 * the job as succeeded (a leftover Lex export expires after 7 days).
 */
import type { z } from 'zod/mini';
import type { cleanupInputSchema } from '../../lib/core/contracts';
import { logger } from '../../lib/core/logger';
import type { Provider } from '../../lib/providers/types';

export type CleanupInput = z.output<typeof cleanupInputSchema>;

export interface CleanupDeps {
  readonly providerFor: (name: string) => Provider;
}

export async function cleanup(input: CleanupInput, deps: CleanupDeps): Promise<{ cleaned: true }> {
  await deps.providerFor(input.job.provider).cleanup(input.job, input.export.ref);
  logger.info('Export cleaned up', { job: input.job.id, exportId: input.export.ref.exportId });
  return { cleaned: true };
}
