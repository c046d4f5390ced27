/**
 * IAM for Kore.ai discovery: Plan reads the Admin Console app's secret only
 * when a target discovers bots, and the export Lambdas read the secret the
 * exports are made with (the admin app's unless credentialsSecret is given).
 */
import { describe, expect, it } from 'vitest';
import { ACCOUNT, REGION, functionStatements, synth } from './helpers';

const BOT = 'st-1a2b3c4d-0000-1111-2222-333344445555';
const secret = (name: string) => `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-??????`;
const discovery = (extra: Record<string, unknown> = {}) => ({
  provider: 'koreai',
  host: 'https://bots.kore.ai',
  discover: true,
  adminCredentialsSecret: 'botvault/koreai-admin',
  ...extra,
});
const secretStatements = (json: ReturnType<typeof synth>['json'], fn: string) =>
  (functionStatements(json, fn) as { Action: unknown }[]).filter((s) => JSON.stringify(s.Action).includes('secretsmanager'));
const reads = (...names: string[]) => [
  { Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: names.length === 1 ? secret(names[0]!) : names.map(secret).sort() },
];

describe('IAM for a Kore.ai discovery target', () => {
  it('Plan reads the admin secret; the export Lambdas read it too when the exports use the admin app', () => {
    const { json } = synth({ targets: [discovery()] });
    expect(secretStatements(json, 'PlanFunction')).toEqual(reads('botvault/koreai-admin'));
    for (const fn of ['StartExportFunction', 'CheckExportFunction', 'StoreArchiveFunction'])
      expect(secretStatements(json, fn), fn).toEqual(reads('botvault/koreai-admin'));
  });

  it('with its own credentialsSecret, only Plan reads the admin secret, and the export Lambdas only the export secret', () => {
    const { json } = synth({
      targets: [
        discovery({ credentialsSecret: 'botvault/koreai-export' }),
        { provider: 'koreai', host: 'https://kore.example.com', botId: BOT, credentialsSecret: 'botvault/koreai' },
      ],
    });
    expect(secretStatements(json, 'PlanFunction')).toEqual(reads('botvault/koreai-admin'));
    for (const fn of ['StartExportFunction', 'CheckExportFunction', 'StoreArchiveFunction'])
      expect(secretStatements(json, fn), fn).toEqual(reads('botvault/koreai', 'botvault/koreai-export'));
    for (const fn of ['CleanupFunction', 'SummarizeFunction']) expect(secretStatements(json, fn), fn).toEqual([]);
  });

  it('without a discovery target Plan reads no secret', () => {
    const { json } = synth({ targets: [{ provider: 'koreai', host: 'https://bots.kore.ai', botId: BOT, credentialsSecret: 'botvault/koreai' }] });
    expect(secretStatements(json, 'PlanFunction')).toEqual([]);
  });
});
