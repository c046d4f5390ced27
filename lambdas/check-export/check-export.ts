/**
 * CheckExport: one status check, then the next polling state. The Choice state
 * after it decides (READY → store, FAILED → job failed, IN_PROGRESS within the
 * budget → wait again, otherwise → timed out), so this Lambda never sleeps.
 */
import type { z } from 'zod/mini';
import type { ExportState, checkExportInputSchema } from '../../lib/core/contracts';
import { logger } from '../../lib/core/logger';
import { type DeadlineClock, nextPoll } from '../shared/polling';
import type { Provider } from '../../lib/providers/types';

export type CheckExportInput = z.output<typeof checkExportInputSchema>;

export interface CheckExportDeps {
  readonly providerFor: (name: string) => Provider;
  /** How the poll budget is counted. @default scheduled wait seconds */
  readonly clock?: () => DeadlineClock;
}

export async function checkExport(input: CheckExportInput, deps: CheckExportDeps): Promise<ExportState> {
  const result = await deps.providerFor(input.job.provider).check(input.job, input.export.ref);
  const next = nextPoll(input.export, result, input.polling, deps.clock?.());
  logger.info('Export checked', {
    job: input.job.id,
    exportId: input.export.ref.exportId,
    status: next.status,
    polls: next.polls,
    waitedSeconds: next.waitedSeconds,
    withinBudget: next.withinBudget,
  });
  return next;
}
