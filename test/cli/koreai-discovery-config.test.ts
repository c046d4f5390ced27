/**
 * Kore.ai discovery targets in the config: `"discover": true` with the Admin
 * Console app's secret, name patterns, and the export credentials defaulting
 * to the admin app's; every mistake stops with one message naming the field,
 * and one run still exports a bot once (one exportType per discovered host).
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../lib/config/config';
import { koreaiDefinition } from '../../lib/providers/koreai/definition';
import { koreaiJob } from '../../lib/providers/koreai/keys';
import { exportCredentials, type KoreaiTarget } from '../../lib/providers/koreai/target';

const HOST = 'https://bots.kore.ai';
const BOT = 'st-1a2b3c4d-0000-1111-2222-333344445555';
const discovery = (extra: Record<string, unknown> = {}) => ({
  provider: 'koreai',
  host: HOST,
  discover: true,
  adminCredentialsSecret: 'botvault/koreai-admin',
  ...extra,
});
const single = (extra: Record<string, unknown> = {}) => ({
  provider: 'koreai',
  host: HOST,
  botId: BOT,
  credentialsSecret: 'botvault/koreai',
  ...extra,
});

function error(targets: unknown[]): string {
  try {
    parseConfig({ targets });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('a Kore.ai discovery target', () => {
  it('parses with patterns and defaults; its exports use the admin app unless credentialsSecret is given', () => {
    const [t] = parseConfig({ targets: [discovery({ include: ['Order*'], exclude: ['*test*'] })] }).targets as KoreaiTarget[];
    expect(t).toEqual({
      ...discovery({ include: ['Order*'], exclude: ['*test*'] }),
      exportType: 'published',
      enforceJti: false,
      downloadHosts: [],
    });
    expect(exportCredentials(t!)).toBe('botvault/koreai-admin');
    const [own] = parseConfig({ targets: [discovery({ credentialsSecret: 'botvault/koreai-export' })] }).targets as KoreaiTarget[];
    expect(exportCredentials(own!)).toBe('botvault/koreai-export');
  });

  it('has no job id of its own, and its bots get the job ids and keys of static targets', () => {
    const [t] = parseConfig({ targets: [discovery({ exportType: 'latest' })] }).targets as KoreaiTarget[];
    expect(koreaiDefinition.jobIdOf(t!, { account: '111122223333', region: 'us-east-1' } as never, [])).toBeUndefined();
    expect(() => koreaiJob(t!)).toThrow(/no job of its own/);
    expect(koreaiJob(t!, { botId: BOT, name: 'Order Desk' })).toEqual({
      id: `koreai:${BOT}:latest`,
      provider: 'koreai',
      key: `koreai/bots.kore.ai/${BOT}/latest/bot.zip`,
      name: 'Order Desk',
      spec: {
        host: HOST,
        botId: BOT,
        exportType: 'latest',
        credentialsSecret: 'botvault/koreai-admin',
        enforceJti: false,
        downloadHosts: [],
        body: { exportType: 'latest' },
      },
    });
    // The same bot through a static target: the same job id, so Plan keeps one job.
    const [s] = parseConfig({ targets: [single({ exportType: 'latest' })] }).targets as KoreaiTarget[];
    expect(koreaiJob(s!).id).toBe(koreaiJob(t!, { botId: BOT }).id);
  });

  it.each([
    ['botId with discover', [discovery({ botId: BOT })], 'targets[0].botId: is not allowed with "discover": true'],
    ['no admin app', [discovery({ adminCredentialsSecret: undefined })], 'targets[0].adminCredentialsSecret: is required with "discover": true'],
    ['admin app scope named', [discovery({ adminCredentialsSecret: undefined })], 'Profile Management > Role Management'],
    [
      'bad admin secret name',
      [discovery({ adminCredentialsSecret: 'has spaces in it' })],
      'targets[0].adminCredentialsSecret: must be a Secrets Manager secret name or ARN',
    ],
    ['discover false', [discovery({ discover: false })], 'targets[0].discover: must be true'],
    ['empty pattern', [discovery({ include: ['Order*', ''] })], 'targets[0].include[1]: must be a non-empty name pattern'],
    ['pattern not a string', [discovery({ exclude: [3] })], 'targets[0].exclude[0]:'],
    [
      'admin app without discover',
      [single({ adminCredentialsSecret: 'botvault/koreai-admin' })],
      'targets[0].adminCredentialsSecret: only applies with "discover": true',
    ],
    ['include without discover', [single({ include: ['Order*'] })], 'targets[0].include: only applies with "discover": true'],
    ['exclude without discover', [single({ exclude: ['*test*'] })], 'targets[0].exclude: only applies with "discover": true'],
    ['no bot and no discover', [{ provider: 'koreai', host: HOST, credentialsSecret: 'botvault/koreai' }], 'targets[0].botId: is required'],
    ['unknown field', [discovery({ pattern: 'x' })], 'targets[0].pattern: unknown field "pattern"'],
    [
      'a static target of another export type on the discovered host',
      [discovery(), single({ exportType: 'latest' })],
      `targets[1].exportType: is "latest", but the discovery target targets[0] backs up every bot of ${HOST} as "published" and may find bot ${BOT}`,
    ],
    [
      'two discovery targets of one host, two export types',
      [discovery(), single({ botId: 'st-9f8e7d6c-5555-4444-3333-222211110000' }), discovery({ exportType: 'latest', include: ['Order*'] })],
      'targets[2].exportType: is "latest", but the discovery target targets[0] backs up every bot of https://bots.kore.ai as "published" and may find the same bots',
    ],
  ])('%s', (_, targets, message) => {
    expect(error(targets)).toContain(message);
  });

  it('a conflict is reported once per pair, and only the conflict', () => {
    const message = error([discovery(), discovery({ exportType: 'latest' })]);
    expect(message.match(/targets\[\d\]\.exportType:/g)).toEqual(['targets[1].exportType:']);
    expect(message).not.toContain('targets[0].');
  });

  it('static targets of the same export type, or on another host, sit beside a discovery target', () => {
    const config = parseConfig({
      targets: [
        single(),
        discovery(),
        discovery({ include: ['Support*'] }),
        single({ host: 'https://kore.example.com', exportType: 'latest' }),
        discovery({ host: 'https://kore.example.com', exportType: 'latest' }),
      ],
    });
    expect(config.targets).toHaveLength(5);
  });
});
