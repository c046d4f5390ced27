/**
 * The role EventBridge Scheduler assumes to reach a schedule's target: one of
 * its own per schedule (instead of the shared one a target would create),
 * trusted only by this account's default schedule group, as the role
 * Scheduler's console creates would be.
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

export function schedulerRole(scope: Construct, id: string, description: string): iam.Role {
  const stack = Stack.of(scope);
  return new iam.Role(scope, id, {
    assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
      conditions: {
        StringEquals: {
          'aws:SourceAccount': stack.account,
          'aws:SourceArn': stack.formatArn({
            service: 'scheduler',
            resource: 'schedule-group',
            resourceName: 'default',
            arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
          }),
        },
      },
    }),
    description,
  });
}
