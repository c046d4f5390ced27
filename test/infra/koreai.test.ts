/**
 * Kore.ai targets in the stack and the config: exactly the configured
 * credential secrets, read only by the Lambdas that call the Bot Export API,
 * and a bad target stopping synth with a message that names the field.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../lib/config/config';
import { ACCOUNT, REGION, functionStatements, synth } from './helpers';

const BOT = 'st-1a2b3c4d-0000-1111-2222-333344445555';
const OTHER_BOT = 'st-9f8e7d6c-5555-4444-3333-222211110000';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:210987654321:secret:kore/onprem-XyZ123';
const secret = (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-??????`;
const kore = (extra: Record<string, unknown> = {}) => ({
  provider: 'koreai',
  host: 'https://bots.kore.ai',
  botId: BOT,
  credentialsSecret: 'botvault/koreai',
  ...extra,
});

describe('IAM for Kore.ai targets', () => {
  const { json } = synth({
    targets: [kore(), kore({ botId: OTHER_BOT, exportType: 'latest' }), kore({ host: 'https://kore.example.com', credentialsSecret: SECRET_ARN })],
  });
  const readSecrets = { Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: [SECRET_ARN, secret('botvault/koreai')].sort() };
  // (minimizePolicies sorts literal resources; with partition literals both ARNs are literals)

  it.each(['StartExportFunction', 'CheckExportFunction', 'StoreArchiveFunction'])(
    '%s reads exactly the configured credential secrets (each once)',
    (fn) => {
      const statements = functionStatements(json, fn) as { Action: unknown }[];
      expect(statements.filter((s) => JSON.stringify(s.Action).includes('secretsmanager'))).toEqual([readSecrets]);
    },
  );

  it('Plan, Cleanup and Summarize never read a secret, and no Lambda gets a Lex permission for a Kore.ai-only config', () => {
    for (const fn of ['PlanFunction', 'CleanupFunction', 'SummarizeFunction'])
      expect(JSON.stringify(functionStatements(json, fn))).not.toContain('secretsmanager');
    for (const fn of ['PlanFunction', 'StartExportFunction', 'CheckExportFunction', 'StoreArchiveFunction', 'CleanupFunction']) {
      expect(JSON.stringify(functionStatements(json, fn))).not.toContain('lex:');
    }
  });

  it('the targets travel into the definition as identifiers: the secret name, never a value', () => {
    const machine = Object.values(json.Resources).find((r) => r.Type === 'AWS::StepFunctions::StateMachine')!;
    const definition = JSON.stringify(machine.Properties!.DefinitionString);
    expect(definition).toContain('botvault/koreai');
    expect(definition).not.toMatch(/clientSecret/);
  });
});

describe('Kore.ai target validation', () => {
  const error = (targets: unknown[], extra: Record<string, unknown> = {}) => {
    try {
      parseConfig({ targets, ...extra });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as Error).message;
    }
    throw new Error('expected a ConfigError');
  };

  it.each([
    ['missing host', [{ provider: 'koreai', botId: BOT, credentialsSecret: 's' }], 'targets[0].host: is required'],
    ['host with a path', [kore({ host: 'https://bots.kore.ai/api' })], 'targets[0].host: must be an https URL with no path'],
    ['bot id that is not a stream id', [kore({ botId: 'MyBot' })], "targets[0].botId: must be the bot's stream id"],
    ['missing credentials secret', [{ provider: 'koreai', host: 'https://bots.kore.ai', botId: BOT }], 'targets[0].credentialsSecret: is required'],
    ['unknown export type', [kore({ exportType: 'draft' })], 'targets[0].exportType: must be "published" or "latest"'],
    [
      'undocumented export option',
      [kore({ exportOptions: { nlpData: ['utterances', 'emojis'] } })],
      'targets[0].exportOptions.nlpData[1]: must be one of "utterances"',
    ],
    ['unknown field', [kore({ botName: 'x' })], 'targets[0].botName: unknown field "botName"'],
    ['bad download host', [kore({ downloadHosts: ['https://files.example.com'] })], 'targets[0].downloadHosts[0]: must be a host name'],
    [
      'plain http host not allowlisted',
      [kore({ host: 'http://127.0.0.1:4010' })],
      'targets[0].host: must be https (the JWT travels with every call)',
    ],
    [
      'one bot twice',
      [kore(), kore({ exportType: 'latest' })],
      'targets[1].botId: bot st-1a2b3c4d-0000-1111-2222-333344445555 is already backed up by targets[0]',
    ],
  ])('%s', (_, targets, message) => {
    expect(error(targets)).toContain(message);
  });

  it('plain http is accepted for an allowlisted simulator origin; defaults are filled in', () => {
    const config = parseConfig({ downloadAllowlist: ['http://127.0.0.1:4010'], targets: [kore({ host: 'http://127.0.0.1:4010' })] });
    expect(config.targets[0]).toEqual({ ...kore({ host: 'http://127.0.0.1:4010' }), exportType: 'published', enforceJti: false, downloadHosts: [] });
  });
});
