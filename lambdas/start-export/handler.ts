/** StartExport Lambda: see start-export.ts. */
import { startExportInputSchema } from '../../lib/core/contracts';
import { defineHandler, providersFromEnv } from '../shared/handler';
import { startExport } from './start-export';

export const handler = defineHandler('StartExport', startExportInputSchema, providersFromEnv, startExport);
