/**
 * Finding the bucket and state machine through the stack's outputs, with the
 * real CloudFormation client against the awsQuery simulator.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CliError } from '../../lib/cli/output';
import { locate, stackOutputs } from '../../lib/cli/resolve';
import { startCfnSimulator, type CfnSimulator } from '../simulators/cfn-simulator';

const SM = 'arn:aws:states:us-east-1:000000000000:stateMachine:BotVault';
const MAC_KEY = 'arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555';
let cfn: CfnSimulator;
const saved = { ...process.env };

beforeAll(async () => {
  cfn = await startCfnSimulator({
    stacks: {
      BotVault: {
        outputs: {
          ArchiveBucketName: 'botvault-archive-1',
          StateMachineArn: SM,
          StartManualRunCommand: 'aws stepfunctions start-execution --input "<&>"',
        },
      },
      OldBotVault: { outputs: { ArchiveBucketName: 'old-bucket' } },
      Custom: { outputs: { ArchiveBucketName: 'custom-bucket', StateMachineArn: `${SM}2`, AuthenticationKeyArn: MAC_KEY } },
    },
  });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_CLOUDFORMATION: cfn.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDTEST',
    AWS_SECRET_ACCESS_KEY: 'secret',
  });
});
afterAll(async () => {
  process.env = saved;
  await cfn.close();
});
beforeEach(() => {
  cfn.calls.length = 0;
  delete process.env.BOTVAULT_MAC_KEY_ID;
});

describe('stackOutputs', () => {
  it('reads every output of a stack (XML-escaped values intact)', async () => {
    expect(await stackOutputs('BotVault')).toEqual({
      ArchiveBucketName: 'botvault-archive-1',
      StateMachineArn: SM,
      StartManualRunCommand: 'aws stepfunctions start-execution --input "<&>"',
    });
  });

  it('an unknown stack is one line saying what to do', async () => {
    const err = await stackOutputs('Nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as Error).message).toBe(
      'stack "Nope" not found in us-east-1: deploy it with `npx cdk deploy`, pass --stack NAME (or --config with its stackName), or name the resources with --bucket / --state-machine',
    );
  });
});

describe('locate', () => {
  it('the MAC key: --mac-key, else BOTVAULT_MAC_KEY_ID, else the stack output AuthenticationKeyArn; required and absent is a CliError naming --mac-key', async () => {
    expect(await locate({ bucket: 'b', macKey: 'k1' }, { bucket: true, macKey: 'required' })).toEqual({ bucket: 'b', macKeyArn: 'k1' });
    process.env.BOTVAULT_MAC_KEY_ID = 'k2';
    expect(await locate({ bucket: 'b' }, { bucket: true, macKey: 'required' })).toEqual({ bucket: 'b', macKeyArn: 'k2' });
    expect(cfn.calls).toEqual([]);
    delete process.env.BOTVAULT_MAC_KEY_ID;
    expect(await locate({ stack: 'Custom', bucket: 'b' }, { bucket: true, macKey: 'required' })).toMatchObject({ bucket: 'b', macKeyArn: MAC_KEY });
    const err = await locate({ stack: 'OldBotVault' }, { bucket: true, macKey: 'required' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as Error).message).toBe(
      'stack "OldBotVault" has no output AuthenticationKeyArn: redeploy it with `npx cdk deploy` (BotVault stacks export it), or pass --mac-key ARN',
    );
    // Optional (--accept-unverified): no stack lookup just for the key, and none found is no error.
    expect(await locate({ bucket: 'b' }, { bucket: true, macKey: 'optional' })).toEqual({ bucket: 'b' });
    expect(await locate({ stack: 'OldBotVault' }, { bucket: true, macKey: 'optional' })).toMatchObject({ bucket: 'old-bucket' });
  });

  it('asks CloudFormation only for what the command line did not give', async () => {
    expect(await locate({ bucket: 'b', stateMachine: 'arn' }, { bucket: true, stateMachine: true })).toEqual({ bucket: 'b', stateMachineArn: 'arn' });
    expect(cfn.calls).toEqual([]);
    expect(await locate({ stack: 'BotVault', bucket: 'mine' }, { bucket: true, stateMachine: true })).toEqual({
      stackName: 'BotVault',
      bucket: 'mine',
      stateMachineArn: SM,
    });
    expect(cfn.calls).toEqual(['BotVault']);
  });

  it("defaults to the config's stackName", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'botvault-cli-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ stackName: 'Custom', targets: [{ provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' }] }));
    expect(await locate({ config: file }, { bucket: true })).toMatchObject({ stackName: 'Custom', bucket: 'custom-bucket' });
  });

  it('a bad config file is a CliError naming the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'botvault-cli-'));
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ stackName: '1bad', targets: [] }));
    await expect(locate({ config: file }, { bucket: true })).rejects.toThrow(/stackName: must start with a letter/);
  });

  it('a stack without the needed output says which flag replaces it', async () => {
    await expect(locate({ stack: 'OldBotVault' }, { bucket: true, stateMachine: true })).rejects.toThrow(
      'stack "OldBotVault" has no output StateMachineArn: redeploy it with `npx cdk deploy` (BotVault stacks export it), or pass --state-machine ARN',
    );
    // Not needed, not an error.
    expect(await locate({ stack: 'OldBotVault' }, { bucket: true })).toMatchObject({ bucket: 'old-bucket' });
  });
});
