/** Deep drill Lambda (EventBridge Scheduler, or a hand invocation): see deep-drill.ts. */
import { Metrics } from '@aws-lambda-powertools/metrics';
// zod/mini: bundled into the Lambda (lib/core/schemas.ts says why).
import * as z from 'zod/mini';
import { archiveLimits, bucketName, downloadAllowlist, drillMacKeyId, homeAccount, macKeyId, region } from '../../lib/core/env';
import { EnvironmentError } from '../../lib/core/errors';
import { logger } from '../../lib/core/logger';
import { kmsMacKey } from '../../lib/core/mac';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../lib/core/names';
import { cachedSecretReader } from '../../lib/core/secrets';
import { targetSchema } from '../../lib/providers/definitions';
import { kmsClient, lexClient, s3Client, secretsClient, snsClient } from '../shared/clients';
import { defineHandler, type InvocationContext } from '../shared/handler';
import { runDeepDrill } from './deep-drill';
import { serviceQuotasReader } from './quotas';

/** Scheduler sends `{"trigger":"deep-drill"}`; a hand invocation may choose its own archives. */
const inputSchema = z.prefault(
  z.strictObject({
    trigger: z.optional(z.string()),
    sample: z.optional(z.int().check(z.minimum(1), z.maximum(20))),
    targets: z.optional(z.array(z.string().check(z.minLength(1))).check(z.minLength(1))),
    runId: z.optional(z.string().check(z.regex(/^[\w.-]{1,80}$/))),
  }),
  {},
);

/**
 * BOTVAULT_DEEP_DRILL: the config's deepDrill section as the stack sets it
 * (identifiers only: the secret's name, never a value), and the Kore.ai
 * targets whose hosts and export options the drill needs.
 */
const settingsSchema = z.strictObject({
  sample: z.optional(z.int()),
  targets: z.optional(z.array(z.string())),
  concurrency: z.int(),
  pollSeconds: z.number(),
  lexBotRoleArn: z.optional(z.string()),
  koreaiCredentialsSecret: z.optional(z.string()),
  koreaiTargets: z._default(z.array(targetSchema), []),
});

function settingsFromEnv(env: Record<string, string | undefined> = process.env): z.infer<typeof settingsSchema> {
  const raw = env.BOTVAULT_DEEP_DRILL;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw ?? '');
  } catch {
    throw new EnvironmentError(
      "Environment variable BOTVAULT_DEEP_DRILL is not set or not JSON: the stack sets it from the config's deepDrill section.",
    );
  }
  const settings = settingsSchema.safeParse(parsed);
  if (!settings.success)
    throw new EnvironmentError(`BOTVAULT_DEEP_DRILL is not the config's deepDrill section: ${settings.error.issues[0]?.message}`);
  return settings.data;
}

/** The steps stop this long before the function's end: deleting every scratch bot and writing the report need it. */
const RESERVE_MS = 3 * 60_000;
/** And everything ends this long before it (the log line and the metrics' flush). */
const LAST_MS = 15_000;

export const handler = defineHandler(
  'DeepDrill',
  inputSchema,
  (context?: InvocationContext) => {
    const settings = settingsFromEnv();
    const remaining = context?.getRemainingTimeInMillis() ?? 15 * 60_000;
    const start = Date.now();
    const home = { account: homeAccount(), region: region() };
    const secrets = cachedSecretReader(secretsClient());
    const topicArn = process.env.BOTVAULT_DEEP_DRILL_TOPIC_ARN?.trim();
    const lex = lexClient();
    return {
      s3: s3Client(),
      bucket: bucketName(),
      metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME }),
      settings: {
        ...(settings.sample !== undefined ? { sample: settings.sample } : {}),
        ...(settings.targets ? { targets: settings.targets } : {}),
        concurrency: settings.concurrency,
        pollMs: settings.pollSeconds * 1000,
      },
      home,
      drills: {
        secrets,
        allowedOrigins: downloadAllowlist(),
        ...(settings.lexBotRoleArn
          ? { lex: { client: lex, roleArn: settings.lexBotRoleArn, home, quotas: serviceQuotasReader(home.region, lex) } }
          : {}),
        ...(settings.koreaiCredentialsSecret
          ? { koreai: { credentialsSecret: settings.koreaiCredentialsSecret, targets: settings.koreaiTargets } }
          : {}),
      },
      secrets,
      mac: kmsMacKey(kmsClient(), macKeyId()),
      drillMac: kmsMacKey(kmsClient(), drillMacKeyId()),
      limits: archiveLimits(),
      ...(topicArn ? { notify: { sns: snsClient(), topicArn } } : {}),
      deadline: start + Math.max(0, remaining - RESERVE_MS),
      hardDeadline: start + Math.max(0, remaining - LAST_MS),
      log: (message: string, fields: Record<string, unknown>) => logger.info(message, fields),
    };
  },
  runDeepDrill,
);
