/** Summarize Lambda: see summarize.ts. */
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../lib/core/names';
import { kmsClient, s3Client, snsClient } from '../shared/clients';
import { kmsMacKey } from '../../lib/core/mac';
import { summarizeInputSchema } from '../../lib/core/contracts';
import { bucketName, changeTopicArn, macKeyId } from '../../lib/core/env';
import { defineHandler } from '../shared/handler';
import { summarize } from './summarize';

// Namespace fixed: the stack's alarms read BotVault/JobsFailed.
// A Metrics instance per invocation: its buffer is per instance, and a fresh one reads
// POWERTOOLS_METRICS_DISABLED as the environment is now (the local runner sets it).
export const handler = defineHandler(
  'Summarize',
  summarizeInputSchema,
  () => {
    const topicArn = changeTopicArn();
    return {
      s3: s3Client(),
      bucket: bucketName(),
      metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME }),
      mac: kmsMacKey(kmsClient(), macKeyId()),
      ...(topicArn ? { changes: { sns: snsClient(), topicArn } } : {}),
    };
  },
  summarize,
);
