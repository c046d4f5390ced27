/** Stack outputs, exactly (the CLI and README depend on their keys: see also test/cli/stack-outputs.test.ts). */
import { describe, expect, it } from 'vitest';
import { logicalId, render, synth } from './helpers';

describe('stack outputs', () => {
  const { json } = synth({ targets: [{ provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' }] });
  const bucket = logicalId(json, 'AWS::S3::Bucket', 'ArchiveBucket');
  const machine = logicalId(json, 'AWS::StepFunctions::StateMachine', 'Workflow');

  it('are exactly ArchiveBucketName, StateMachineArn, AuthenticationKeyArn, FunctionRoleArns and StartManualRunCommand, with these values', () => {
    expect(Object.fromEntries(Object.entries(json.Outputs ?? {}).map(([k, v]) => [k, render(v.Value)]))).toEqual({
      ArchiveBucketName: `Ref(${bucket})`,
      StateMachineArn: `Ref(${machine})`,
      AuthenticationKeyArn: `${logicalId(json, 'AWS::KMS::Key', 'AuthenticationKey')}.Arn`,
      // The five functions that call Lex, in the order a member stack's TrustedRoleArns takes them.
      FunctionRoleArns: ['Plan', 'StartExport', 'CheckExport', 'StoreArchive', 'Cleanup']
        .map((fn) => `${logicalId(json, 'AWS::IAM::Role', `${fn}Role`)}.Arn`)
        .join(','),
      // The region as CloudFormation resolves it, even when synth was given one (helpers.ts synthesizes with a region).
      StartManualRunCommand: `aws stepfunctions start-execution --region Ref(AWS::Region) --state-machine-arn Ref(${machine}) --input '{"trigger":"manual"}'`,
    });
  });

  it('each has a description', () => {
    for (const [key, out] of Object.entries(json.Outputs ?? {})) expect(out.Description, key).toMatch(/\w{3,}/);
  });
});
