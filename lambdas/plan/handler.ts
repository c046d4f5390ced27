/** Plan Lambda: see plan.ts. */
import { planInputSchema } from '../../lib/core/contracts';
import { s3Client, sfnClient } from '../shared/clients';
import { bucketName, homeAccount, region } from '../../lib/core/env';
import { defineHandler, providerDepsFromEnv } from '../shared/handler';
import { providerFor } from '../../lib/providers/registry';
import { plan } from './plan';
import { describeExecutionStatus } from './tick-marker';

export const handler = defineHandler(
  'Plan',
  planInputSchema,
  () => {
    const providerDeps = providerDepsFromEnv();
    return {
      providerFor: (name: string) => providerFor(name, providerDeps),
      home: { account: homeAccount(), region: region() },
      ticks: () => ({ s3: s3Client(), bucket: bucketName(), executionStatus: describeExecutionStatus(sfnClient()) }),
    };
  },
  plan,
);
