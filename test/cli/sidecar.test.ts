/**
 * sidecarProblem (lib/cli/archive.ts): a restore sidecar is used only when it
 * is for the archive's own target and bot, and its details hash to the
 * `restore-info-sha256` the archive version was stored with. Each way a
 * rewritten sidecar could steer a restore is refused, for both providers.
 */
import { describe, expect, it } from 'vitest';
import { sidecarProblem } from '../../lib/cli/archive';
import { TEST_HOME } from '../helpers/home';
import { keyInfo, type RestoreInfo, restoreInfoSha256 } from '../../lib/providers/definitions';

const LEX_KEY = 'lex/123456789012/us-east-1/ALPHABOT01/DRAFT/bot.zip';
const KORE_KEY = 'koreai/bots.kore.ai/st-11111111-2222-4333-8444-555555555555/published/bot.zip';

function sidecar(key: string, details: Pick<RestoreInfo, 'lex' | 'koreai'>): RestoreInfo {
  const resource = keyInfo(key, TEST_HOME);
  return {
    schemaVersion: 1,
    provider: resource.provider,
    target: resource.id!,
    capturedAt: '2026-12-01T03:00:00.000Z',
    runId: 'nightly-1',
    archive: { key, versionId: 'v1', sha256: 'a'.repeat(64) },
    ...details,
  } as RestoreInfo;
}
/** The archive version's metadata as StoreArchive writes it for these details. */
const storedFor = (info: RestoreInfo) => ({ 'restore-info-sha256': restoreInfoSha256({ id: info.target, provider: info.provider }, info) });

const lex = {
  botId: 'ALPHABOT01',
  botName: 'Alpha',
  roleArn: 'arn:aws:iam::123456789012:role/Lex',
  dataPrivacy: { childDirected: false },
  idleSessionTTLInSeconds: 300,
  aliases: [],
  tags: {},
};

describe('sidecarProblem', () => {
  it('accepts the sidecar StoreArchive wrote with the version (both providers)', () => {
    for (const [key, details] of [
      [LEX_KEY, { lex }],
      [KORE_KEY, { koreai: { botId: 'st-11111111-2222-4333-8444-555555555555', botName: 'Concierge' } }],
    ] as const) {
      const info = sidecar(key, details);
      expect(sidecarProblem(info, { metadata: storedFor(info) }, keyInfo(key, TEST_HOME))).toBeUndefined();
    }
  });

  it('refuses one whose details were changed after the version was stored (a role, a setting)', () => {
    const info = sidecar(LEX_KEY, { lex });
    const metadata = storedFor(info);
    const forged = sidecar(LEX_KEY, { lex: { ...lex, roleArn: 'arn:aws:iam::999999999999:role/Attacker' } });
    expect(sidecarProblem(forged, { metadata }, keyInfo(LEX_KEY, TEST_HOME))).toMatch(/restore-info-sha256 differs/);
  });

  it('refuses one that names another bot, even when the version vouches for its details', () => {
    const lexOther = sidecar(LEX_KEY, { lex: { ...lex, botId: 'BRAVOBOT02' } });
    expect(sidecarProblem(lexOther, { metadata: storedFor(lexOther) }, keyInfo(LEX_KEY, TEST_HOME))).toBe(
      "it names bot BRAVOBOT02, and the archive is bot ALPHABOT01's",
    );
    const koreOther = sidecar(KORE_KEY, { koreai: { botId: 'st-99999999-2222-4333-8444-555555555555' } });
    expect(sidecarProblem(koreOther, { metadata: storedFor(koreOther) }, keyInfo(KORE_KEY, TEST_HOME))).toMatch(/it names bot st-9999/);
  });

  it('refuses one for another target or provider, and one beside a version stored without restore-info-sha256', () => {
    const info = sidecar(LEX_KEY, { lex });
    const otherTarget = { ...info, target: 'lex:ALPHABOT01:1' };
    expect(sidecarProblem(otherTarget, { metadata: storedFor(otherTarget) }, keyInfo(LEX_KEY, TEST_HOME))).toMatch(
      /it is for lex:ALPHABOT01:1, not for lex:ALPHABOT01:DRAFT/,
    );
    expect(sidecarProblem(info, { metadata: {} }, keyInfo(LEX_KEY, TEST_HOME))).toMatch(/without restore-info-sha256 metadata/);
  });
});
