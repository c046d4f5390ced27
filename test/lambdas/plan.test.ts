/**
 * Plan's core with the real Lex provider on static targets (no API call is
 * needed to plan them; discovery is covered against the simulator).
 */
import { LexModelsV2Client } from '@aws-sdk/client-lex-models-v2';
import { afterAll, describe, expect, it } from 'vitest';
import { plan } from '../../lambdas/plan/plan';
import { providerFor } from '../../lib/providers/registry';
import { InvalidInputError } from '../../lib/core/errors';
import { rejection } from '../helpers/rejection';

// Nothing listens here: a static target must plan without calling Lex.
const lex = new LexModelsV2Client({
  endpoint: 'http://127.0.0.1:9',
  region: 'eu-west-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  maxAttempts: 1,
});
const deps = {
  providerFor: (name: string) => providerFor(name, { lex, secrets: async () => 'unused' }),
  home: { account: '123456789012', region: 'eu-west-1' },
};
afterAll(() => lex.destroy());

/** What every home job's spec says about where it lives. */
const AT_HOME = { account: '123456789012', region: 'eu-west-1' };
const base = { runId: 'run-1', startedAt: '2024-05-17T03:00:00Z' };
const TARGETS = [
  { provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' },
  { provider: 'lex', botId: 'ALPHABOT01', botVersion: '3', localeId: 'en_US' },
  { provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT', localeId: 'de_DE', customVocabulary: true, passwordSecret: 'botvault/lex-password' },
  { provider: 'lex', testSetId: 'TESTSET001' },
];

const invalid = (p: Promise<unknown>) => rejection(p, InvalidInputError);

describe('plan', () => {
  it('turns each kind of static target into one job with its stable key, id and normalized spec', async () => {
    const out = await plan({ ...base, targets: TARGETS, input: { trigger: 'schedule' } }, deps);
    expect(out.runId).toBe('run-1');
    expect(out.trigger).toBe('schedule');
    expect(out.jobs).toEqual([
      {
        id: 'lex:ALPHABOT01:DRAFT',
        provider: 'lex',
        key: 'lex/123456789012/eu-west-1/ALPHABOT01/DRAFT/bot.zip',
        legacyKey: 'lex/eu-west-1/ALPHABOT01/DRAFT/bot.zip',
        spec: { kind: 'bot', botId: 'ALPHABOT01', botVersion: 'DRAFT', fileFormat: 'LexJson', ...AT_HOME },
      },
      {
        id: 'lex:ALPHABOT01:3:en_US',
        provider: 'lex',
        key: 'lex/123456789012/eu-west-1/ALPHABOT01/3/locales/en_US.zip',
        legacyKey: 'lex/eu-west-1/ALPHABOT01/3/locales/en_US.zip',
        spec: { kind: 'botLocale', botId: 'ALPHABOT01', botVersion: '3', localeId: 'en_US', fileFormat: 'LexJson', ...AT_HOME },
      },
      {
        id: 'lex:ALPHABOT01:DRAFT:de_DE:custom-vocabulary',
        provider: 'lex',
        key: 'lex/123456789012/eu-west-1/ALPHABOT01/DRAFT/locales/de_DE/custom-vocabulary.zip',
        legacyKey: 'lex/eu-west-1/ALPHABOT01/DRAFT/locales/de_DE/custom-vocabulary.zip',
        spec: {
          kind: 'customVocabulary',
          botId: 'ALPHABOT01',
          botVersion: 'DRAFT',
          localeId: 'de_DE',
          fileFormat: 'TSV',
          passwordSecret: 'botvault/lex-password',
          ...AT_HOME,
        },
      },
      {
        id: 'lex:test-set:TESTSET001',
        provider: 'lex',
        key: 'lex/123456789012/eu-west-1/test-sets/TESTSET001/test-set.zip',
        legacyKey: 'lex/eu-west-1/test-sets/TESTSET001/test-set.zip',
        spec: { kind: 'testSet', testSetId: 'TESTSET001', fileFormat: 'CSV', ...AT_HOME },
      },
    ]);
  });

  it('defaults a missing execution input to a manual run of everything', async () => {
    const out = await plan({ ...base, targets: TARGETS, input: undefined }, deps);
    expect(out.trigger).toBe('manual');
    expect(out.jobs).toHaveLength(4);
  });

  it('de-duplicates jobs that two targets produce', async () => {
    const out = await plan({ ...base, targets: [TARGETS[0], TARGETS[3], TARGETS[0]], input: {} }, deps);
    expect(out.jobs.map((j) => j.id)).toEqual(['lex:ALPHABOT01:DRAFT', 'lex:test-set:TESTSET001']);
  });

  it('`only` selects by job id, bot id or test set id', async () => {
    const byId = await plan({ ...base, targets: TARGETS, input: { only: ['lex:ALPHABOT01:3:en_US'] } }, deps);
    expect(byId.jobs.map((j) => j.id)).toEqual(['lex:ALPHABOT01:3:en_US']);
    const byBot = await plan({ ...base, targets: TARGETS, input: { only: ['ALPHABOT01'] } }, deps);
    expect(byBot.jobs).toHaveLength(3);
    const byTestSet = await plan({ ...base, targets: TARGETS, input: { only: ['TESTSET001'] } }, deps);
    expect(byTestSet.jobs.map((j) => j.id)).toEqual(['lex:test-set:TESTSET001']);
  });

  it('an `only` entry that matches nothing fails with the entry and the known ids', async () => {
    const err = await invalid(plan({ ...base, targets: TARGETS, input: { only: ['ALPHABOT01', 'NOSUCHBOT9'] } }, deps));
    expect(err.message).toContain('input.only: "NOSUCHBOT9" matches no configured target');
    expect(err.message).toContain('lex:ALPHABOT01:DRAFT');
    expect(err.message).toContain('lex:test-set:TESTSET001');
    expect(err.message).not.toContain('"ALPHABOT01"');
  });

  it('a malformed execution input fails naming the field', async () => {
    expect((await invalid(plan({ ...base, targets: TARGETS, input: { only: 'ALPHABOT01' } }, deps))).message).toMatch(/input\.only: /);
    expect((await invalid(plan({ ...base, targets: TARGETS, input: { trigger: 'cron' } }, deps))).message).toMatch(/input\.trigger: /);
    expect((await invalid(plan({ ...base, targets: TARGETS, input: { onyl: ['x'] } }, deps))).message).toMatch(/onyl/);
  });

  it('a malformed target fails naming the target and field', async () => {
    const err = await invalid(
      plan({ ...base, targets: [TARGETS[0], { provider: 'lex', botId: 'lowercase', botVersion: 'DRAFT' }], input: {} }, deps),
    );
    expect(err.message).toMatch(/targets\[1\]\.botId: must be a Lex bot id/);
    const unknown = await invalid(plan({ ...base, targets: [{ provider: 'dialogflow' }], input: {} }, deps));
    expect(unknown.message).toMatch(/targets\[0\]\.provider: must be one of "lex"/);
  });
});
