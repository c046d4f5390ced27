/** Cleanup Lambda: see cleanup.ts. */
import { cleanupInputSchema } from '../../lib/core/contracts';
import { defineHandler, providersFromEnv } from '../shared/handler';
import { cleanup } from './cleanup';

export const handler = defineHandler('Cleanup', cleanupInputSchema, providersFromEnv, cleanup);
