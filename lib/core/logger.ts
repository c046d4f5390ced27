/**
 * The one Powertools Logger every Lambda shares (service `botvault`).
 *
 * Per-invocation context (job id, run id) is passed as extra fields on each
 * call, never with appendKeys: the local runner hosts all handlers in one
 * process and runs jobs concurrently, so shared persistent keys would bleed
 * from one job's log lines into another's.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { SERVICE_NAME } from './names';

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME });

let appliedLevel = process.env.POWERTOOLS_LOG_LEVEL;

/**
 * Re-reads POWERTOOLS_LOG_LEVEL. In Lambda it never changes; locally the
 * runner may set it after this module was first imported (e.g. to SILENT).
 */
export function syncLogLevel(): void {
  const wanted = process.env.POWERTOOLS_LOG_LEVEL;
  if (wanted && wanted !== appliedLevel) {
    try {
      logger.setLogLevel(wanted.toUpperCase() as Parameters<Logger['setLogLevel']>[0]);
      appliedLevel = wanted;
    } catch {
      // An unknown level name: keep the current level rather than fail the invocation over logging.
    }
  }
}
