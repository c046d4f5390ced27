/** CheckExport Lambda: see check-export.ts. */
import { checkExportInputSchema } from '../../lib/core/contracts';
import { defineHandler, providersFromEnv } from '../shared/handler';
import { checkExport } from './check-export';

export const handler = defineHandler('CheckExport', checkExportInputSchema, providersFromEnv, checkExport);
