/** Cleanup Lambda: see cleanup.ts. */
import { cleanupInputSchema } from '../../lib/core/contracts';
import { defineHandler, providerDepsFromEnv } from '../shared/handler';
import { providerFor } from '../../lib/providers/registry';
import { cleanup } from './cleanup';

export const handler = defineHandler(
  'Cleanup',
  cleanupInputSchema,
  () => {
    const providerDeps = providerDepsFromEnv();
    return { providerFor: (name: string) => providerFor(name, providerDeps) };
  },
  cleanup,
);
