/**
 * The deep drill's scratch bot names (lib/providers/drill.ts), in a module of
 * their own: the providers' discovery (lex/provider.ts, koreai/provider.ts)
 * skips bots with these names, and the drill registry imports the providers,
 * so the rule cannot live in drill.ts without a cycle.
 *
 * Every scratch bot's name is `botvault-drill-<12 hex>`. Lex V2 bot names are
 * 1-100 characters matching `^([0-9a-zA-Z][_-]?)+$` (the lexv2-models service
 * model, CreateBot/StartImport `botName`): letters and digits, each followed
 * by at most one `_` or `-`, which this name keeps.
 */
export const SCRATCH_BOT_PREFIX = 'botvault-drill-';
const SCRATCH_BOT_NAME = /^botvault-drill-[0-9a-f]{12}$/;

/** True only for a name the drill makes: what the drill may ever delete, and what discovery never backs up. */
export const isScratchBotName = (name: string | undefined): boolean => name !== undefined && SCRATCH_BOT_NAME.test(name);
