import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './project-root';

/**
 * The context cdk.json gives every `cdk synth`: the feature flags (aws-cdk-lib's
 * recommended set), which change the template. Whatever synthesizes the stack
 * outside the CDK CLI (the local runner, the tests) applies the same context,
 * so what runs locally is what `cdk synth` emits.
 */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return cdkJson.context ?? {};
}
