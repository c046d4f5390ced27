/** What BotVault reads from a Kore.ai export's files (README "Export formats"). */

/**
 * The bot's name in a Kore.ai export's botDefinition.json. Real exports have
 * no top-level `name`: it is `localeData.<defaultLanguage>.name` (README
 * "Export formats"); a multilingual bot has one per language, so the default
 * language's wins, then English, then any.
 */
export function koreaiBotName(definition: unknown): string | undefined {
  if (!definition || typeof definition !== 'object') return undefined;
  const d = definition as { defaultLanguage?: unknown; localeData?: unknown };
  if (!d.localeData || typeof d.localeData !== 'object') return undefined;
  const locales = d.localeData as Record<string, { name?: unknown } | undefined>;
  const order = [typeof d.defaultLanguage === 'string' ? d.defaultLanguage : '', 'en', ...Object.keys(locales)];
  for (const lang of order) {
    const name = lang ? locales[lang]?.name : undefined;
    if (typeof name === 'string' && name) return name;
  }
  return undefined;
}
