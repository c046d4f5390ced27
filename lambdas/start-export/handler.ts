/** StartExport Lambda: see start-export.ts. */
import { startExportInputSchema } from '../../lib/core/contracts';
import { defineHandler, providerDepsFromEnv } from '../shared/handler';
import { providerFor } from '../../lib/providers/registry';
import { startExport } from './start-export';

export const handler = defineHandler(
  'StartExport',
  startExportInputSchema,
  () => {
    const providerDeps = providerDepsFromEnv();
    return { providerFor: (name: string) => providerFor(name, providerDeps) };
  },
  startExport,
);
