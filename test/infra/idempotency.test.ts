/**
 * Idempotent schedule ticks, as deployed: the schedule hands the tick to the
 * execution, Plan may claim it under ticks/ (and nothing else there), and the
 * definition ends a duplicate tick's execution successfully.
 *
 * Why not a tick-derived execution name: Scheduler's only tick attribute,
 * <aws.scheduler.scheduled-time>, is substituted verbatim ("2024-05-17T03:00:00Z"),
 * and Step Functions names may not contain ":"; <aws.scheduler.execution-id>
 * changes with every attempt. So the claim is a conditional write in Plan.
 */
import { describe, expect, it } from 'vitest';
import { DUPLICATE_TICK_ERROR, States } from '../../lib/constructs/backup-workflow';
import { definitionFromTemplate } from '../../lib/local/definition';
import { functionStatements, logicalId, render, synth } from './helpers';

const TARGETS = [{ provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' }];

interface TaskState {
  Type: string;
  Retry?: { ErrorEquals: string[]; MaxAttempts?: number }[];
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
}

describe('idempotent schedule ticks', () => {
  const { json } = synth({ targets: TARGETS });
  const definition = definitionFromTemplate(json as never, 'eu-west-1') as {
    StartAt: string;
    States: Record<string, TaskState & Record<string, unknown>>;
  };
  const plan = definition.States[States.plan]!;

  it('the schedule passes the scheduled time as tickTime (the name of the execution stays generated)', () => {
    const schedule = Object.values(json.Resources).find((r) => r.Type === 'AWS::Scheduler::Schedule')!;
    const target = render(schedule.Properties!.Target) as { Input: string; Arn: string };
    expect(JSON.parse(target.Input)).toEqual({ trigger: 'schedule', tickTime: '<aws.scheduler.scheduled-time>' });
    // The templated StartExecution target: no Name parameter exists to set.
    expect(target.Arn).toBe(`Ref(${logicalId(json, 'AWS::StepFunctions::StateMachine', 'Workflow')})`);
  });

  it('Plan: DuplicateTickError is never retried (its retrier comes before any catch-all) and is caught into DuplicateTickSkipped', () => {
    const retriers = plan.Retry ?? [];
    const own = retriers.findIndex((r) => r.ErrorEquals.includes(DUPLICATE_TICK_ERROR));
    const catchAll = retriers.findIndex((r) => r.ErrorEquals.includes('States.ALL'));
    expect(own).toBeGreaterThanOrEqual(0);
    expect(retriers[own]!.MaxAttempts).toBe(0);
    if (catchAll >= 0) expect(own).toBeLessThan(catchAll);
    expect(plan.Catch).toEqual([{ ErrorEquals: [DUPLICATE_TICK_ERROR], Next: States.duplicateTick, ResultPath: '$.duplicateTick' }]);
  });

  it('DuplicateTickSkipped succeeds with just the error and its cause (which names the execution that owns the tick)', () => {
    expect(definition.States[States.duplicateTick]).toEqual({
      Type: 'Succeed',
      Comment: 'This schedule tick was already started by another execution; nothing to do.',
      OutputPath: '$.duplicateTick',
    });
  });

  it('Plan may put and read tick markers, nothing else in the bucket', () => {
    const bucket = logicalId(json, 'AWS::S3::Bucket', 'ArchiveBucket');
    const s3 = functionStatements(json, 'PlanFunction').filter((st) => JSON.stringify(st).includes('"s3:'));
    expect(s3).toEqual([{ Action: ['s3:GetObject', 's3:PutObject'], Effect: 'Allow', Resource: `${bucket}.Arn/ticks/*` }]);
  });

  it('markers expire after 100 days (execution names stay taken for 90)', () => {
    const rules = (
      json.Resources[logicalId(json, 'AWS::S3::Bucket', 'ArchiveBucket')]!.Properties!.LifecycleConfiguration as { Rules: { Id: string }[] }
    ).Rules;
    expect(rules.find((r) => r.Id === 'ExpireTickMarkers')).toEqual({
      Id: 'ExpireTickMarkers',
      Status: 'Enabled',
      Prefix: 'ticks/',
      ExpirationInDays: 100,
      NoncurrentVersionExpiration: { NoncurrentDays: 1 },
    });
  });
});
