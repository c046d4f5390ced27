/**
 * Fuzzing the archive parsers (issue 14): thousands of mutated real-format
 * exports — Lex V2 (plain and AES-encrypted with a password) and Kore.ai,
 * from the generators that reproduce the real containers — through the zip
 * reader every path uses (lib/core/archive/zip.ts): open, content hash,
 * every entry inflated. Each case either reads, or is refused with one of
 * the reader's named errors; nothing crashes (TypeError, RangeError, an
 * unhandled rejection) and nothing hangs. The seed is printed on failure.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bufferByteSource } from '../../lib/core/archive/byte-source';
import { withZip, ZipArchiveError, ZipPasswordError, ZipUnsupportedError } from '../../lib/core/archive/zip';
import { koreExportZip } from '../generators/koreai-export';
import { lexExportZip, sampleLexBot } from '../generators/lex-export';
import { mutate, mutations, runs, within } from './mutate';

const NAMED = [ZipArchiveError, ZipPasswordError, ZipUnsupportedError];
const PASSWORD = 'fuzz-Pa55word';

/** Opens, hashes and reads everything; 'read' or the refusal's error class name. */
async function readAll(data: Buffer, password?: string): Promise<string> {
  try {
    await withZip(bufferByteSource(data), password ? { password } : {}, async (zip) => {
      await zip.contentSha256();
      await zip.readAll();
    });
    return 'read';
  } catch (err) {
    if (NAMED.some((E) => err instanceof E)) return (err as Error).constructor.name;
    throw err;
  }
}

describe('fuzzing the zip reader with mutated real-format exports', () => {
  const seeds = (async () => ({
    lex: await lexExportZip(sampleLexBot('FUZZBOT001', 'Fuzz', ['OrderFlowers', 'CancelOrder'], ['en_US', 'de_DE']), {
      mtime: new Date('2026-12-01T03:00:00Z'),
    }),
    lexAes: await lexExportZip(sampleLexBot('FUZZBOT002', 'Secret', ['Greet']), { mtime: new Date('2026-12-01T03:00:00Z'), password: PASSWORD }),
    kore: await koreExportZip({
      botId: 'st-00000000-0000-0000-0000-000000000001',
      botName: 'FuzzKore',
      dialogs: [{ name: 'Welcome' }, { name: 'BookRoom' }],
    }),
  }))();
  const outcomes: Record<string, number> = {};

  // AES archives cost a PBKDF2 key derivation per open: fewer of them.
  const CASES = { lex: runs(1500), lexAes: runs(400), kore: runs(1500) };

  it.each(['lex', 'lexAes', 'kore'] as const)('%s: every mutated archive reads or is refused by name, within 5 s', async (which) => {
    const data = (await seeds)[which];
    expect(await readAll(data, which === 'lexAes' ? PASSWORD : undefined)).toBe('read');
    await fc.assert(
      fc.asyncProperty(mutations, async (ms) => {
        const outcome = await within(5_000, readAll(mutate(data, ms), which === 'lexAes' ? PASSWORD : undefined), `${which} ${JSON.stringify(ms)}`);
        outcomes[`${which}:${outcome}`] = (outcomes[`${which}:${outcome}`] ?? 0) + 1;
      }),
      { numRuns: CASES[which] },
    );
    // Shown when the test fails (vitest's silent: 'passed-only').
    console.log(`fuzz ${which}: ${JSON.stringify(Object.fromEntries(Object.entries(outcomes).filter(([k]) => k.startsWith(`${which}:`))))}`);
    // The mutations reach the reader's checks, not only its first one.
    const refused = Object.entries(outcomes).filter(([k]) => k.startsWith(`${which}:Zip`));
    expect(refused.reduce((n, [, c]) => n + c, 0)).toBeGreaterThan(CASES[which] / 2);
  });
});
