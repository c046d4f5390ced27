/**
 * The bots `npm run demo` and the sandbox back up: five Lex V2 bots (one
 * exported with a password), two Kore.ai bots, the Secrets Manager secrets
 * they need, and the config targets that name them — in the real export
 * formats, on the simulators in test/simulators.
 *
 * The secret values are made fresh for each start and never printed: they
 * live only in this process and in the Secrets Manager simulator, as in
 * production they live only in Secrets Manager.
 */
import { randomBytes } from 'node:crypto';
import type { KoreBot, KoreSimulator } from '../test/simulators/koreai-simulator';
import type { LexSimulator, SimBot } from '../test/simulators/lex-simulator';

export const LEX_BOTS: SimBot[] = [
  { botId: 'ORDRFLWRS1', botName: 'OrderFlowers', versions: ['1', '2'], locales: ['en_US'], intents: ['OrderFlowers', 'CancelOrder'] },
  { botId: 'BOOKTRIP01', botName: 'BookTrip', versions: ['1'], locales: ['en_US', 'de_DE'], intents: ['BookHotel', 'BookCar'] },
  { botId: 'SUPPORTDSK', botName: 'SupportDesk', versions: [], locales: ['en_US', 'es_US'], intents: ['ResetPassword', 'TalkToAgent'] },
  { botId: 'WEATHERBOT', botName: 'WeatherBot', versions: ['1', '2', '3'], locales: ['en_GB'], intents: ['GetForecast'] },
  // Exported with a password (passwordSecret): stored encrypted, checked and hashed from its plaintext.
  { botId: 'PAYROLLBOT', botName: 'Payroll', versions: [], locales: ['en_US'], intents: ['PayslipQuestion'] },
];

export const KORE_BOTS: KoreBot[] = [
  { botId: 'st-5e1f0c2a-7b3d-4c8e-9a6f-1d2b3c4e5f60', botName: 'HotelConcierge', dialogs: ['Welcome', 'BookRoom', 'LateCheckout'] },
  { botId: 'st-0b9a8c7d-6e5f-4a3b-2c1d-0e9f8a7b6c5d', botName: 'ITHelpdesk', dialogs: ['Welcome', 'ResetPassword'] },
];

/** The Lex bot whose DRAFT `editEstate` changes, and its archive's key. */
export const EDITED_LEX_KEY = 'lex/123456789012/us-east-1/ORDRFLWRS1/DRAFT/bot.zip';

/**
 * What someone changes between two runs: OrderFlowers gets an intent
 * (TrackDelivery), HotelConcierge a dialog (SpaBooking); the other bots stay
 * as they were, so the next run stores those two and finds the rest UNCHANGED.
 */
export function editEstate(lex: LexSimulator, kore: KoreSimulator): void {
  lex.modifyBot('ORDRFLWRS1', { intents: ['OrderFlowers', 'CancelOrder', 'TrackDelivery'] });
  kore.modifyBot(KORE_BOTS[0]!.botId, { dialogs: ['Welcome', 'BookRoom', 'LateCheckout', 'SpaBooking'] });
}

const KORE_SECRET = 'botvault/koreai-demo';
const PASSWORD_SECRET = 'botvault/lex-password-demo';

/** A Kore.ai app's credentials and a Lex export password, made fresh: never printed, never logged. */
interface EstateSecrets {
  readonly koreApp: { readonly clientId: string; readonly clientSecret: string };
  /** Secrets Manager secret name → SecretString. */
  readonly secrets: Record<string, string>;
}

export function estateSecrets(): EstateSecrets {
  const koreApp = { clientId: 'cs-demo-botvault', clientSecret: randomBytes(24).toString('base64url') };
  return {
    koreApp,
    secrets: {
      [KORE_SECRET]: JSON.stringify(koreApp),
      [PASSWORD_SECRET]: JSON.stringify({ password: randomBytes(18).toString('base64url') }),
    },
  };
}

/** The config's targets for the estate: the Lex simulator's region is the config's, Kore.ai's host its URL. */
export function estateTargets(koreUrl: string): Record<string, unknown>[] {
  return [
    { provider: 'lex', botId: 'ORDRFLWRS1', botVersion: 'DRAFT' },
    { provider: 'lex', botId: 'ORDRFLWRS1', botVersion: '2' },
    { provider: 'lex', botId: 'BOOKTRIP01', botVersion: '1', localeId: 'de_DE' },
    { provider: 'lex', botId: 'SUPPORTDSK', botVersion: 'DRAFT' },
    { provider: 'lex', discover: true, include: ['Weather*'], versions: 'latest' },
    { provider: 'lex', botId: 'PAYROLLBOT', botVersion: 'DRAFT', passwordSecret: PASSWORD_SECRET },
    { provider: 'koreai', host: koreUrl, botId: KORE_BOTS[0]!.botId, credentialsSecret: KORE_SECRET, exportType: 'latest' },
    { provider: 'koreai', host: koreUrl, botId: KORE_BOTS[1]!.botId, credentialsSecret: KORE_SECRET },
  ];
}
