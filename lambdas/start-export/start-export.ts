/** StartExport: asks the job's provider to start an export and sets up the polling schedule. */
import type { z } from 'zod/mini';
import type { ExportState, startExportInputSchema } from '../../lib/core/contracts';
import { firstPoll } from '../shared/polling';
import type { Provider } from '../../lib/providers/types';

export type StartExportInput = z.output<typeof startExportInputSchema>;

export interface StartExportDeps {
  readonly providerFor: (name: string) => Provider;
}

export async function startExport(input: StartExportInput, deps: StartExportDeps): Promise<ExportState> {
  const ref = await deps.providerFor(input.job.provider).start(input.job);
  return firstPoll(ref, input.polling);
}
