/** CheckExport Lambda: see check-export.ts. */
import { checkExportInputSchema } from '../../lib/core/contracts';
import { defineHandler, providerDepsFromEnv } from '../shared/handler';
import { providerFor } from '../../lib/providers/registry';
import { checkExport } from './check-export';

export const handler = defineHandler(
  'CheckExport',
  checkExportInputSchema,
  () => {
    const providerDeps = providerDepsFromEnv();
    return { providerFor: (name: string) => providerFor(name, providerDeps) };
  },
  checkExport,
);
