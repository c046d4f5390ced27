/** CheckExport Lambda: see check-export.ts. */
import { checkExportInputSchema } from '../../lib/core/contracts';
import { defineHandler, providersFromEnv } from '../shared/handler';
import { checkExport } from './check-export';

/** BOTVAULT_DEADLINE_CLOCK=elapsed: set by the local runner under `botvault local --fast` only, never by the stack. */
const deps = () => ({
  ...providersFromEnv(),
  ...(process.env.BOTVAULT_DEADLINE_CLOCK === 'elapsed' ? { clock: () => ({ kind: 'elapsed' as const, now: Date.now() }) } : {}),
});

export const handler = defineHandler('CheckExport', checkExportInputSchema, deps, checkExport);
