/** Restore drill Lambda (EventBridge Scheduler): see drill.ts. */
import { Metrics } from '@aws-lambda-powertools/metrics';
// zod/mini: bundled into the Lambda (lib/core/schemas.ts says why).
import * as z from 'zod/mini';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../lib/core/names';
import { kmsClient, s3Client, secretsClient } from '../shared/clients';
import { kmsMacKey } from '../../lib/core/mac';
import { cachedSecretReader } from '../../lib/core/secrets';
import { archiveLimits, bucketName, macKeyId } from '../../lib/core/env';
import { defineHandler } from '../shared/handler';
import { logger } from '../../lib/core/logger';
import { runDrill } from './drill';

/** Scheduler sends `{"trigger":"restore-drill"}`; a hand invocation may send nothing. */
const drillInputSchema = z.prefault(z.looseObject({ trigger: z.optional(z.string()) }), {});

// Namespace fixed: the drill construct's alarm reads BotVault/DrillFailures.
export const handler = defineHandler(
  'RestoreDrill',
  drillInputSchema,
  () => ({
    s3: s3Client(),
    bucket: bucketName(),
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME }),
    log: (message: string, fields: Record<string, unknown>) => logger.info(message, fields),
    secrets: cachedSecretReader(secretsClient()),
    limits: archiveLimits(),
    mac: kmsMacKey(kmsClient(), macKeyId()),
  }),
  runDrill,
);
