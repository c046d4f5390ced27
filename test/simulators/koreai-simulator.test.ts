/**
 * The Kore.ai simulator speaks the public Bot Export API as REFERENCE.md
 * describes it: JWTs signed with jose are verified for real, the export flow
 * ends in a real zip, the status API reports the bot's latest export, the rate
 * limits answer Kore's 429, and every fault does what its name says on the wire.
 */
import { request, type IncomingHttpHeaders } from 'node:http';
import { SignJWT } from 'jose';
import { readZipEntries } from '../../lib/core/archive/zip';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  RATE_LIMIT_MESSAGE,
  startKoreSimulator,
  type KoreApp,
  type KoreBot,
  type KoreSimulator,
  type KoreSimulatorOptions,
} from './koreai-simulator';
import { closeAfterEach } from '../helpers/close-after-each';
import { rawGet } from '../helpers/raw-get';

const ALPHA = 'st-0a1b2c3d-1111-4222-8333-444455556666';
const BRAVO = 'st-9f8e7d6c-aaaa-4bbb-8ccc-ddddeeeeffff';
const BOTS: KoreBot[] = [
  { botId: ALPHA, botName: 'Alpha', dialogs: ['Welcome', 'BookFlight'], publishedDialogs: ['Welcome'] },
  { botId: BRAVO, botName: 'Bravo' },
];
const APP: KoreApp = { clientId: 'cs-11111111-2222-3333-4444-555555555555', clientSecret: 'app-secret-0123456789abcdef0123456789' };
const JTI_APP: KoreApp = { clientId: 'cs-jti', clientSecret: 'jti-secret-0123456789abcdef0123456789', enforceJti: true };
const BRAVO_ONLY: KoreApp = { clientId: 'cs-bravo-only', clientSecret: 'bravo-secret-0123456789abcdef01234', bots: [BRAVO] };

const track = closeAfterEach();
// Registered after track's: runs before the simulators close.
afterEach(() => vi.restoreAllMocks());

async function start(opts: Partial<KoreSimulatorOptions> = {}): Promise<KoreSimulator> {
  return track(await startKoreSimulator({ apps: [APP, JTI_APP, BRAVO_ONLY], bots: BOTS, ...opts }));
}

interface JwtOptions {
  app?: KoreApp;
  secret?: string;
  appId?: string;
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number;
  jti?: string;
  omit?: ('sub' | 'iat' | 'exp')[];
  nowMs?: number;
}

/** Signs a JWT the way Kore.ai documents it: HS256 with the client secret, claims sub and appId. */
async function jwt(o: JwtOptions = {}): Promise<string> {
  const app = o.app ?? APP;
  const now = Math.floor((o.nowMs ?? Date.now()) / 1000);
  const omit = new Set(o.omit ?? []);
  let t = new SignJWT({ appId: o.appId ?? app.clientId }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' });
  if (!omit.has('sub')) t = t.setSubject('botvault-backup');
  if (!omit.has('iat')) t = t.setIssuedAt(now);
  if (!omit.has('exp')) t = t.setExpirationTime(now + (o.expiresIn ?? 300));
  if (o.jti !== undefined) t = t.setJti(o.jti);
  return t.sign(new TextEncoder().encode(o.secret ?? app.clientSecret));
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  json: Record<string, unknown>;
}

function api(method: 'GET' | 'POST', url: string, token: string | undefined, body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token !== undefined) headers.auth = token;
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode!, headers: res.headers, json: JSON.parse(text) as Record<string, unknown> });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const startExport = async (s: KoreSimulator, botId: string, body: unknown = { exportType: 'latest' }, token?: string) =>
  api('POST', `${s.url}/api/public/bot/${botId}/export`, token ?? (await jwt()), body);
const exportStatus = async (s: KoreSimulator, botId: string, token?: string) =>
  api('GET', `${s.url}/api/public/bot/${botId}/export/status`, token ?? (await jwt()));

/** Opens a zip and returns its entries' text by name. */
async function unzip(buf: Buffer): Promise<Map<string, string>> {
  const entries = await readZipEntries(buf);
  return new Map([...entries].map(([name, data]) => [name, data.toString('utf8')]));
}

/** Starts an export and returns its id and a success status (latency 0). */
async function exportReady(s: KoreSimulator, botId: string, body: unknown = { exportType: 'latest' }): Promise<{ id: string; status: Reply }> {
  const started = await startExport(s, botId, body);
  expect(started.status).toBe(200);
  const status = await exportStatus(s, botId);
  expect(status.json).toMatchObject({ _id: started.json._id, status: 'success' });
  return { id: started.json._id as string, status };
}

const errorBody = (msg: string, code: number) => ({ errors: [{ msg, code }] });

describe('export flow', () => {
  it('starts an export, reports pending then success, and serves a real Kore-shaped zip', async () => {
    const s = await start({ faults: { [ALPHA]: { exportLatencyMs: 1000 } } });
    const started = await startExport(s, ALPHA, {
      exportType: 'latest',
      exportOptions: { settings: ['botSettings', 'botVariables'], tasks: ['botTask'], nlpData: ['utterances'] },
    });
    expect(started.status).toBe(200);
    expect(started.json).toMatchObject({ status: 'pending', streamId: ALPHA, exportType: 'latest', requestType: 'Botexport' });
    expect(started.json._id).toMatch(/^ber-[0-9a-f-]{36}$/);
    expect(started.json.createdBy).toMatch(/^u-[0-9a-f]{24}$/);
    expect(Number.isNaN(Date.parse(String(started.json.createdOn)))).toBe(false);
    const id = started.json._id as string;

    const pending = await exportStatus(s, ALPHA);
    expect(pending.status).toBe(200);
    expect(pending.json).toMatchObject({ _id: id, botId: ALPHA, status: 'pending' });
    expect(pending.json).not.toHaveProperty('downloadURL');
    expect(s.exports.get(id)?.status).toBe('pending');

    await new Promise((r) => setTimeout(r, 1100));
    const done = await exportStatus(s, ALPHA);
    expect(done.json).toMatchObject({ _id: id, botId: ALPHA, status: 'success', fileSize: s.archiveFor(id).length });
    expect(done.json.fileId).toEqual(expect.any(String));
    expect(done.json.lMod).toEqual(expect.any(String));
    expect(s.exports.get(id)).toMatchObject({ id, botId: ALPHA, exportType: 'latest', status: 'success' });
    expect(s.exports.get(id)?.body).toMatchObject({ exportOptions: { tasks: ['botTask'] } });
    const downloadURL = done.json.downloadURL as string;
    expect(downloadURL).toMatch(new RegExp(`^${s.url}/downloads/${id}\\?sig=[0-9a-f]{64}&exp=\\d+$`));

    const dl = await rawGet(downloadURL);
    expect(dl.error).toBeUndefined();
    expect(dl.status).toBe(200);
    expect(dl.headers['content-type']).toBe('application/zip');
    expect(dl.body.equals(s.archiveFor(id))).toBe(true);
    const entries = await unzip(dl.body);
    // The real layout: three flat entries, the definition without a top-level name, 4-space JSON.
    expect([...entries.keys()]).toEqual(['botDefinition.json', 'config.json', 'icon.png']);
    expect(entries.get('botDefinition.json')!.startsWith('{\n    "_id": ')).toBe(true);
    const def = JSON.parse(entries.get('botDefinition.json')!) as {
      name?: string;
      defaultLanguage: string;
      localeData: Record<string, { name: string }>;
      dialogs: { lname: string; localeData: { en: { name: string } }; nodes: { componentId: string }[] }[];
      dialogComponents: { _id: string; name: string }[];
      sentences: { taskId: string; sentence: string; type: string; language: string }[];
      exportOptions: { settings: string[] };
    };
    expect(def.name).toBeUndefined();
    expect(def.localeData[def.defaultLanguage]!.name).toBe('Alpha');
    expect(def.dialogs.map((d) => d.localeData.en.name)).toEqual(['Welcome', 'BookFlight']);
    expect(def.dialogs.map((d) => d.lname)).toEqual(['welcome', 'bookflight']);
    const components = new Set(def.dialogComponents.map((c) => c._id));
    expect(def.dialogs.every((d) => d.nodes.length > 0 && d.nodes.every((n) => components.has(n.componentId)))).toBe(true);
    const bookFlight = def.dialogComponents.find((c) => c.name === 'BookFlight')!._id;
    expect(def.sentences).toContainEqual(expect.objectContaining({ taskId: bookFlight, type: 'DialogIntent', language: 'en' }));
    expect(JSON.parse(entries.get('config.json')!)).toEqual({ name: 'Alpha', envVariables: [{ key: 'supportEmail', value: 'help@example.com' }] });
    expect(def.exportOptions.settings).toEqual(expect.arrayContaining(['botSettings', 'botVariables']));
    expect(def.exportOptions.settings).not.toContain('ivrSettings');

    expect(s.calls.map((c) => [c.op, c.status])).toEqual([
      ['Export', 200],
      ['ExportStatus', 200],
      ['ExportStatus', 200],
      ['Download', 200],
    ]);
    expect(s.calls[3]).toMatchObject({ exportId: id, botId: ALPHA });
    expect(s.calls[3]).not.toHaveProperty('withAuth');
  });

  it('hands out a fresh signed URL on every status call; each works until it expires, and a tampered one never does', async () => {
    let clock = Date.now();
    const s = await start({ now: () => clock, urlTtlMs: 60_000 });
    const { id, status } = await exportReady(s, ALPHA);
    const again = await exportStatus(s, ALPHA, await jwt({ nowMs: clock }));
    const [u1, u2] = [status.json.downloadURL as string, again.json.downloadURL as string];
    expect(u1).not.toBe(u2);
    expect((await rawGet(u1)).body.equals(s.archiveFor(id))).toBe(true);
    expect((await rawGet(u2)).status).toBe(200);

    const tampered = u2.replace(/sig=([0-9a-f])/, (_m, c: string) => `sig=${c === '0' ? '1' : '0'}`);
    const bad = await rawGet(tampered);
    expect(bad.status).toBe(403);
    const longer = await rawGet(u2.replace(/exp=(\d+)/, (_m, e: string) => `exp=${Number(e) + 3_600_000}`));
    expect(longer.status).toBe(403);

    clock += 60_001;
    const expired = await rawGet(u2);
    expect(expired.status).toBe(403);
    expect(JSON.parse(expired.body.toString('utf8'))).toEqual(errorBody('The download link has expired', 403));
  });

  it('reports the latest export of the bot, not the one the caller started', async () => {
    const s = await start({ faults: { [ALPHA]: { exportLatencyMs: 60_000 } } });
    const first = await startExport(s, ALPHA);
    const second = await startExport(s, ALPHA);
    const status = await exportStatus(s, ALPHA);
    expect(status.json._id).toBe(second.json._id);
    expect(status.json._id).not.toBe(first.json._id);
    expect(s.exports.size).toBe(2);
  });

  it('answers 404 for status of a bot never exported, and for an unknown bot', async () => {
    const s = await start();
    const none = await exportStatus(s, BRAVO);
    expect(none.status).toBe(404);
    expect(none.json).toEqual(errorBody('No bot export found for this bot', 404));
    const unknown = await startExport(s, 'st-00000000-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(404);
  });

  it("exports published dialogs for 'published', and is deterministic per bot state", async () => {
    const s = await start();
    const a = await exportReady(s, ALPHA);
    const b = await exportReady(s, ALPHA);
    expect(a.id).not.toBe(b.id);
    // Same bot state, same bytes: change detection may hash the archive.
    expect(s.archiveFor(a.id).equals(s.archiveFor(b.id))).toBe(true);

    const pub = await exportReady(s, ALPHA, { exportType: 'published' });
    const pubDef = JSON.parse((await unzip(s.archiveFor(pub.id))).get('botDefinition.json')!) as { dialogs: { lname: string }[] };
    expect(pubDef.dialogs.map((d) => d.lname)).toEqual(['welcome']);

    s.modifyBot(ALPHA, { dialogs: ['Welcome', 'BookFlight', 'CancelFlight'] });
    const c = await exportReady(s, ALPHA);
    expect(s.archiveFor(c.id).equals(s.archiveFor(a.id))).toBe(false);
    const def = JSON.parse((await unzip(s.archiveFor(c.id))).get('botDefinition.json')!) as { dialogs: { lname: string }[] };
    expect(def.dialogs.map((d) => d.lname)).toEqual(['welcome', 'bookflight', 'cancelflight']);
    // Editing the bot does not change what is published.
    const pub2 = await exportReady(s, ALPHA, { exportType: 'published' });
    expect(s.archiveFor(pub2.id).equals(s.archiveFor(pub.id))).toBe(true);
    // The earlier export keeps serving its snapshot.
    expect((await rawGet(a.status.json.downloadURL as string)).body.equals(s.archiveFor(a.id))).toBe(true);
  });

  it('a multilingual bot: localeData, dialog names and utterances per language; the default language names the bot', async () => {
    const MULTI = 'st-12345678-aaaa-4bbb-8ccc-000000000001';
    const s = await start({ bots: [...BOTS, { botId: MULTI, botName: 'Mehrsprachig', languages: ['de', 'en'], dialogs: ['Begruessung'] }] });
    const { id } = await exportReady(s, MULTI);
    const def = JSON.parse((await unzip(s.archiveFor(id))).get('botDefinition.json')!) as {
      name?: string;
      defaultLanguage: string;
      supportedLanguages: string[];
      localeData: Record<string, { name: string }>;
      dialogs: { localeData: Record<string, { name: string }> }[];
      sentences: { language: string }[];
    };
    expect(def.name).toBeUndefined();
    expect(def).toMatchObject({ defaultLanguage: 'de', supportedLanguages: ['de', 'en'] });
    expect(def.localeData.de!.name).toBe('Mehrsprachig');
    expect(Object.keys(def.localeData)).toEqual(['de', 'en']);
    expect(Object.keys(def.dialogs[0]!.localeData)).toEqual(['de', 'en']);
    expect(new Set(def.sentences.map((x) => x.language))).toEqual(new Set(['de', 'en']));
  });

  it('honours exportOptions and subTasks in what the archive holds', async () => {
    const s = await start();
    const settingsOnly = await exportReady(s, ALPHA, { exportType: 'latest', exportOptions: { settings: ['ivrSettings'] } });
    const entries = await unzip(s.archiveFor(settingsOnly.id));
    const settingsDef = JSON.parse(entries.get('botDefinition.json')!) as {
      dialogs: unknown[];
      sentences: unknown[];
      exportOptions: { settings: string[] };
    };
    expect(settingsDef.sentences).toEqual([]);
    expect(settingsDef.dialogs).toEqual([]);
    expect(settingsDef.exportOptions.settings).toEqual(['ivrSettings']);

    const sub = await exportReady(s, ALPHA, {
      exportType: 'latest',
      subTasks: { dialogs: ['BookFlight'] },
      allTasks: true,
      IncludeDependentTasks: true,
      customDashboards: false,
    });
    const subDef = JSON.parse((await unzip(s.archiveFor(sub.id))).get('botDefinition.json')!) as { dialogs: { lname: string }[] };
    expect(subDef.dialogs.map((d) => d.lname)).toEqual(['bookflight']);
  });

  it('answers 400 for a bad exportType or an undocumented exportOptions value', async () => {
    const s = await start();
    const bodies: unknown[] = [
      {},
      { exportType: 'draft' },
      { exportType: 'latest', exportOptions: { settings: ['botSettings', 'everything'] } },
      { exportType: 'latest', exportOptions: { tasks: ['dialogs'] } },
      { exportType: 'latest', exportOptions: { nlpData: ['utterances', 'faqs'] } },
      { exportType: 'latest', exportOptions: { icons: ['botIcon'] } },
      { exportType: 'latest', exportOptions: { settings: 'botSettings' } },
      { exportType: 'latest', subTasks: { widgets: [] } },
      { exportType: 'latest', allTasks: 'yes' },
      '{"exportType": ',
    ];
    for (const body of bodies) {
      const r = await startExport(s, ALPHA, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.json.errors).toEqual([{ msg: expect.any(String), code: 400 }]);
    }
    expect(s.exports.size).toBe(0);
    const ok = await startExport(s, ALPHA, {
      exportType: 'published',
      exportOptions: {
        settings: ['botSettings', 'botVariables', 'ivrSettings', 'genAIandLLMSettings'],
        tasks: ['botTask', 'knowledgeGraph', 'smallTalk'],
        nlpData: ['utterances', 'patterns', 'traits', 'rules', 'concepts', 'synonyms', 'standardResponses', 'nlpSettings'],
      },
    });
    expect(ok.status).toBe(200);
  });
});

describe('auth', () => {
  const expectAuthError = (r: Reply, status: 401 | 403) => {
    expect(r.status).toBe(status);
    expect(r.json).toEqual({ errors: [{ msg: expect.any(String), code: status }] });
  };

  it('accepts a valid HS256 token and records every auth header it saw', async () => {
    const s = await start();
    const token = await jwt();
    expect((await startExport(s, ALPHA, undefined, token)).status).toBe(200);
    expect(s.seenJwts).toEqual([token]);
  });

  it('answers 401 without a token, with a malformed one, a wrong secret, an unknown appId, or alg none', async () => {
    const s = await start();
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const claims = Buffer.from(JSON.stringify({ appId: APP.clientId, sub: 'x', iat: 1, exp: 4102444800 })).toString('base64url');
    // The helpers sign a valid token when given none, so the missing header goes through api() directly.
    expectAuthError(await api('POST', `${s.url}/api/public/bot/${ALPHA}/export`, undefined, { exportType: 'latest' }), 401);
    expect(s.calls.at(-1)).toMatchObject({ op: 'Export', status: 401, authError: 'missing-token' });
    const cases: [string, string][] = [
      ['not-a-jwt', 'malformed'],
      [await jwt({ secret: 'wrong-secret-0123456789abcdef0123456789' }), 'bad-signature'],
      // A token signed with another app's secret, but naming this app: the signature must be checked against the named app.
      [await jwt({ appId: APP.clientId, secret: BRAVO_ONLY.clientSecret }), 'bad-signature'],
      [await jwt({ appId: 'cs-nobody' }), 'unknown-app'],
      [`${header}.${claims}.`, 'bad-signature'],
    ];
    for (const [token, authError] of cases) {
      const r = await startExport(s, ALPHA, undefined, token);
      expectAuthError(r, 401);
      expect(s.calls.at(-1)).toMatchObject({ op: 'Export', status: 401, authError });
    }
    expect(s.exports.size).toBe(0);
  });

  it('answers 401 for an expired token, and for one missing sub, iat or exp', async () => {
    const s = await start();
    const expired = await exportStatus(s, ALPHA, await jwt({ expiresIn: -5 }));
    expectAuthError(expired, 401);
    expect(s.calls.at(-1)?.authError).toBe('expired');
    for (const claim of ['sub', 'iat', 'exp'] as const) {
      const r = await startExport(s, ALPHA, undefined, await jwt({ omit: [claim] }));
      expectAuthError(r, 401);
      expect(s.calls.at(-1)?.authError, claim).toBe('bad-claims');
    }
  });

  it('checks expiry against its own clock', async () => {
    let clock = Date.now();
    const s = await start({ now: () => clock });
    const token = await jwt({ expiresIn: 60 });
    expect((await startExport(s, ALPHA, undefined, token)).status).toBe(200);
    clock += 61_000;
    expectAuthError(await exportStatus(s, ALPHA, token), 401);
    expect(s.calls.at(-1)?.authError).toBe('expired');
  });

  it('requires a jti and refuses a replayed one when the app enforces JTI', async () => {
    const s = await start();
    const noJti = await startExport(s, ALPHA, undefined, await jwt({ app: JTI_APP }));
    expectAuthError(noJti, 401);
    expect(s.calls.at(-1)?.authError).toBe('jti-missing');

    const token = await jwt({ app: JTI_APP, jti: 'run-1-call-1' });
    expect((await startExport(s, ALPHA, undefined, token)).status).toBe(200);
    const replay = await exportStatus(s, ALPHA, token);
    expectAuthError(replay, 401);
    expect(s.calls.at(-1)?.authError).toBe('jti-replayed');
    // The same jti in a freshly signed token is still a replay.
    expectAuthError(await exportStatus(s, ALPHA, await jwt({ app: JTI_APP, jti: 'run-1-call-1' })), 401);
    expect((await exportStatus(s, ALPHA, await jwt({ app: JTI_APP, jti: 'run-1-call-2' }))).status).toBe(200);

    // Without enforcement, a token may be reused.
    const reusable = await jwt();
    expect((await exportStatus(s, ALPHA, reusable)).status).toBe(200);
    expect((await exportStatus(s, ALPHA, reusable)).status).toBe(200);
  });

  it('answers 403 when the app is not allowed to export the bot', async () => {
    const s = await start();
    const token = await jwt({ app: BRAVO_ONLY });
    const r = await startExport(s, ALPHA, undefined, token);
    expectAuthError(r, 403);
    expect(s.calls.at(-1)).toMatchObject({ op: 'Export', botId: ALPHA, status: 403, authError: 'app-not-allowed' });
    expectAuthError(await exportStatus(s, ALPHA, token), 403);
    expect((await startExport(s, BRAVO, undefined, token)).status).toBe(200);
    expect(s.exports.size).toBe(1);
  });

  it('never writes a JWT or client secret to the console, nor echoes the token in a reply', async () => {
    const spies = (['log', 'info', 'warn', 'error', 'debug', 'trace'] as const).map((m) => vi.spyOn(console, m).mockImplementation(() => undefined));
    const s = await start({ faults: { [ALPHA]: { serverErrors: 1, download: 'reset' } } });
    const good = await jwt();
    const bad = await jwt({ secret: 'wrong-secret-0123456789abcdef0123456789' });
    const replies = [
      await startExport(s, ALPHA, undefined, good),
      await startExport(s, ALPHA, undefined, good),
      await startExport(s, ALPHA, '{broken', good),
      await startExport(s, ALPHA, undefined, bad),
      await exportStatus(s, ALPHA, await jwt({ expiresIn: -5 })),
    ];
    const status = await exportStatus(s, ALPHA, good);
    await rawGet(status.json.downloadURL as string, { auth: good });
    expect(replies.map((r) => r.status)).toEqual([503, 200, 400, 401, 401]);
    for (const r of replies) {
      expect(JSON.stringify(r.json)).not.toContain(good);
      expect(JSON.stringify(r.json)).not.toContain(bad);
    }
    const logged = JSON.stringify(spies.flatMap((spy) => spy.mock.calls));
    for (const secret of [good, bad, APP.clientSecret]) expect(logged).not.toContain(secret);
    // The test can see a leak: the download carried the JWT, and that is recorded.
    expect(s.calls.at(-1)).toMatchObject({ op: 'Download', withAuth: true });
    expect(s.seenJwts.filter((t) => t === good)).toHaveLength(5);
  });
});

describe('rate limits', () => {
  it('rateLimitBurst: the next N export-or-status calls answer 429 with the documented body', async () => {
    const s = await start({ faults: { [ALPHA]: { rateLimitBurst: 2 } } });
    const r1 = await startExport(s, ALPHA);
    const r2 = await exportStatus(s, ALPHA);
    expect([r1.status, r2.status]).toEqual([429, 429]);
    expect(r1.json).toEqual({ errors: [{ msg: 'Rate limit for this API has been reached', code: 429 }] });
    expect(RATE_LIMIT_MESSAGE).toBe('Rate limit for this API has been reached');
    expect((await startExport(s, ALPHA)).status).toBe(200);
    // Other bots are unaffected, and setFaults restarts the countdown.
    expect((await startExport(s, BRAVO)).status).toBe(200);
    s.setFaults(ALPHA, { rateLimitBurst: 1 });
    expect((await exportStatus(s, ALPHA)).status).toBe(429);
    expect((await exportStatus(s, ALPHA)).status).toBe(200);
    expect(s.exports.size).toBe(2);
  });

  it('the 61st export-or-status call for a bot within a minute answers 429 (default limit)', async () => {
    const s = await start();
    const token = await jwt();
    expect((await startExport(s, ALPHA, undefined, token)).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 59; i++) statuses.push((await exportStatus(s, ALPHA, token)).status);
    expect(statuses.every((st) => st === 200)).toBe(true);
    const r61 = await exportStatus(s, ALPHA, token);
    expect(r61.status).toBe(429);
    expect(r61.json).toEqual(errorBody(RATE_LIMIT_MESSAGE, 429));
    expect((await startExport(s, ALPHA, undefined, token)).status).toBe(429);
    // The limit is per bot.
    expect((await startExport(s, BRAVO, undefined, token)).status).toBe(200);
  });

  it('counts a rolling 60 s window per bot (rateLimitPerMinute)', async () => {
    let clock = Date.now();
    const s = await start({ rateLimitPerMinute: 3, now: () => clock });
    const token = await jwt({ expiresIn: 3600 });
    expect((await startExport(s, ALPHA, undefined, token)).status).toBe(200);
    clock += 30_000;
    expect((await exportStatus(s, ALPHA, token)).status).toBe(200);
    expect((await exportStatus(s, ALPHA, token)).status).toBe(200);
    expect((await exportStatus(s, ALPHA, token)).status).toBe(429);
    expect((await exportStatus(s, BRAVO, token)).status).toBe(404); // past the limit check: no export yet, but not rate limited
    // 60 s after the first call, one slot is free again; rejected calls did not use one up.
    clock += 30_000;
    expect((await exportStatus(s, ALPHA, token)).status).toBe(200);
    expect((await exportStatus(s, ALPHA, token)).status).toBe(429);
    expect(s.calls.filter((c) => c.status === 429)).toHaveLength(2);
  });
});

describe('faults', () => {
  it('serverErrors: the next N calls answer 503 then 500, then the API recovers', async () => {
    const s = await start({ faults: { [ALPHA]: { serverErrors: 3 } } });
    const replies = [await startExport(s, ALPHA), await startExport(s, ALPHA), await exportStatus(s, ALPHA), await startExport(s, ALPHA)];
    expect(replies.map((r) => r.status)).toEqual([503, 500, 503, 200]);
    expect(replies[0]!.json).toEqual(errorBody('Service Unavailable', 503));
    expect(s.exports.size).toBe(1);
  });

  it('failExport with a reason: status failed, the reason in `message`, no downloadURL', async () => {
    const s = await start({ faults: { [ALPHA]: { failExport: 'Export failed: bot has invalid dialog references' } } });
    const started = await startExport(s, ALPHA);
    expect(started.json.status).toBe('pending');
    const status = await exportStatus(s, ALPHA);
    expect(status.status).toBe(200);
    expect(status.json).toMatchObject({ _id: started.json._id, status: 'failed', message: 'Export failed: bot has invalid dialog references' });
    expect(status.json).not.toHaveProperty('downloadURL');
    expect(status.json).not.toHaveProperty('fileId');
    expect(s.exports.get(started.json._id as string)?.status).toBe('failed');
  });

  it('failExport true: a generic reason; a latency delays the failure', async () => {
    let clock = Date.now();
    const s = await start({ now: () => clock, faults: { [ALPHA]: { failExport: true, exportLatencyMs: 10_000 } } });
    await startExport(s, ALPHA, undefined, await jwt({ nowMs: clock }));
    expect((await exportStatus(s, ALPHA, await jwt({ nowMs: clock }))).json.status).toBe('pending');
    clock += 10_000;
    const status = await exportStatus(s, ALPHA, await jwt({ nowMs: clock }));
    expect(status.json).toMatchObject({ status: 'failed', message: expect.stringMatching(/failed/i) });
  });

  it('neverFinish: pending however long the caller waits', async () => {
    let clock = Date.now();
    const s = await start({ now: () => clock, faults: { [ALPHA]: { neverFinish: true } } });
    const token = await jwt({ nowMs: clock, expiresIn: 365 * 86_400 });
    await startExport(s, ALPHA, undefined, token);
    clock += 7 * 86_400_000;
    expect((await exportStatus(s, ALPHA, token)).json).toMatchObject({ status: 'pending' });
  });

  it("foreignStatus: status reports someone else's export, with its own _id and creator", async () => {
    const s = await start({ faults: { [ALPHA]: { foreignStatus: true } } });
    const started = await startExport(s, ALPHA);
    const status = await exportStatus(s, ALPHA);
    expect(status.json.status).toBe('success');
    expect(status.json._id).toMatch(/^ber-/);
    expect(status.json._id).not.toBe(started.json._id);
    expect(status.json.createdBy).not.toBe(started.json.createdBy);
    expect([...s.exports.keys()]).toEqual([started.json._id]);
    // It is the same foreign export on every call, and its URL works.
    expect((await exportStatus(s, ALPHA)).json._id).toBe(status.json._id);
    expect((await rawGet(status.json.downloadURL as string)).status).toBe(200);
    s.setFaults(ALPHA, {});
    expect((await exportStatus(s, ALPHA)).json._id).toBe(started.json._id);
  });

  it('download ok serves exactly archiveFor; downloadHost changes only the URL host', async () => {
    const s = await start({ faults: { [ALPHA]: { downloadHost: 'kore-files.corp.internal:8443' } } });
    const { id, status } = await exportReady(s, ALPHA);
    const url = new URL(status.json.downloadURL as string);
    expect(url.host).toBe('kore-files.corp.internal:8443');
    expect(url.pathname).toBe(`/downloads/${id}`);
    // The same path and query on the simulator still works: only the advertised host differs.
    const dl = await rawGet(`${s.url}${url.pathname}${url.search}`);
    expect(dl.status).toBe(200);
    expect(dl.body.equals(s.archiveFor(id))).toBe(true);
  });

  it('download truncate: the full Content-Length is promised, half arrives, the body is cut', async () => {
    const s = await start({ faults: { [ALPHA]: { download: 'truncate' } } });
    const { id, status } = await exportReady(s, ALPHA);
    const dl = await rawGet(status.json.downloadURL as string);
    expect(dl.status).toBe(200);
    expect(Number(dl.headers['content-length'])).toBe(s.archiveFor(id).length);
    expect(dl.error).toBeDefined();
    expect(dl.body.length).toBeLessThan(s.archiveFor(id).length);
  });

  it('download reset: a chunked body cut by a destroyed socket', async () => {
    const s = await start({ faults: { [ALPHA]: { download: 'reset' } } });
    const { id, status } = await exportReady(s, ALPHA);
    const dl = await rawGet(status.json.downloadURL as string);
    expect(dl.status).toBe(200);
    expect(dl.headers['transfer-encoding']).toBe('chunked');
    expect(dl.error).toBeDefined();
    expect(dl.body.length).toBeLessThan(s.archiveFor(id).length);
  });

  it('download notzip: a 200 whose body is not a zip', async () => {
    const s = await start({ faults: { [ALPHA]: { download: 'notzip' } } });
    const { status } = await exportReady(s, ALPHA);
    const dl = await rawGet(status.json.downloadURL as string);
    expect(dl.status).toBe(200);
    expect(dl.error).toBeUndefined();
    expect(dl.body.length).toBeGreaterThan(0);
    await expect(unzip(dl.body)).rejects.toThrow();
  });

  it('download forbidden: 403 every time, even with a fresh URL', async () => {
    const s = await start({ faults: { [ALPHA]: { download: 'forbidden' } } });
    const { status } = await exportReady(s, ALPHA);
    expect((await rawGet(status.json.downloadURL as string)).status).toBe(403);
    const fresh = await exportStatus(s, ALPHA);
    const dl = await rawGet(fresh.json.downloadURL as string);
    expect(dl.status).toBe(403);
    expect(JSON.parse(dl.body.toString('utf8'))).toEqual(errorBody('Access denied', 403));
  });

  it('download redirectInternal: 302 to the instance metadata address', async () => {
    const s = await start({ faults: { [ALPHA]: { download: 'redirectInternal' } } });
    const { status } = await exportReady(s, ALPHA);
    const dl = await rawGet(status.json.downloadURL as string);
    expect(dl.status).toBe(302);
    expect(dl.headers.location).toBe('http://169.254.169.254/latest/meta-data/');
    expect(s.calls.at(-1)).toMatchObject({ op: 'Download', status: 302 });
  });

  it('faults are per bot', async () => {
    const s = await start({ faults: { [ALPHA]: { download: 'forbidden', failExport: 'nope' } } });
    const { id, status } = await exportReady(s, BRAVO);
    expect((await rawGet(status.json.downloadURL as string)).body.equals(s.archiveFor(id))).toBe(true);
  });
});

describe('Admin API: Get Bots', () => {
  const ADMIN: KoreApp = { clientId: 'cs-admin-console', clientSecret: 'admin-secret-0123456789abcdef01234', admin: true };
  /** 120 bots, named Bot-000 … Bot-119, in that order. */
  const MANY: KoreBot[] = Array.from({ length: 120 }, (_, i) => ({
    botId: `st-${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`,
    botName: `Bot-${String(i).padStart(3, '0')}`,
  }));
  const startMany = (opts: Partial<KoreSimulatorOptions> = {}) => start({ apps: [APP, BRAVO_ONLY, ADMIN], bots: MANY, ...opts });
  const list = async (s: KoreSimulator, query: string, token?: string) =>
    api('GET', `${s.url}/api/public/bots${query}`, token ?? (await jwt({ app: ADMIN })));
  const names = (r: Reply) => (r.json.bots as { name: string }[]).map((b) => b.name);

  it('pages by page number, at most 50 a page: 120 bots are 50, 50 and 20, availableMore false on the last', async () => {
    const s = await startMany();
    const pages = [await list(s, '?offset=0&limit=50'), await list(s, '?offset=1&limit=50'), await list(s, '?offset=2&limit=50')];
    expect(pages.map((p) => p.status)).toEqual([200, 200, 200]);
    expect(pages.map((p) => (p.json.bots as unknown[]).length)).toEqual([50, 50, 20]);
    expect(pages.map((p) => p.json.availableMore)).toEqual([true, true, false]);
    expect(pages.map((p) => p.json.total)).toEqual([120, 120, 120]);
    expect(pages.flatMap(names)).toEqual(MANY.map((b) => b.botName));
    expect((await list(s, '?offset=3&limit=50')).json).toMatchObject({ total: 120, availableMore: false, bots: [] });
    // Without a query: the first page of 50.
    expect(names(await list(s, ''))).toEqual(MANY.slice(0, 50).map((b) => b.botName));
    expect(s.calls.filter((c) => c.op === 'ListBots').slice(0, 2)).toEqual([
      { op: 'ListBots', offset: '0', limit: '50', status: 200 },
      { op: 'ListBots', offset: '1', limit: '50', status: 200 },
    ]);
  });

  it('listOffset item: offset counts bots', async () => {
    const s = await startMany({ listOffset: 'item' });
    expect(names(await list(s, '?offset=1&limit=3'))).toEqual(['Bot-001', 'Bot-002', 'Bot-003']);
    expect((await list(s, '?offset=100&limit=50')).json).toMatchObject({ availableMore: false });
  });

  it('a limit above 50 serves 50 (clamp, the default) or answers 400 (reject); a bad offset or limit is a 400', async () => {
    const clamp = await startMany();
    const r = await list(clamp, '?offset=0&limit=500');
    expect((r.json.bots as unknown[]).length).toBe(50);
    expect(r.json.availableMore).toBe(true);
    const reject = await startMany({ listLimitAbove50: 'reject' });
    expect((await list(reject, '?offset=0&limit=51')).json).toEqual(errorBody('limit must be between 1 and 50', 400));
    expect((await list(reject, '?offset=0&limit=50')).status).toBe(200);
    for (const query of ['?offset=-1', '?offset=x', '?limit=0', '?limit=2.5']) expect((await list(clamp, query)).status, query).toBe(400);
  });

  it("each bot as documented, its apps listed with their client secrets (never the admin app's)", async () => {
    const s = await start({ apps: [APP, BRAVO_ONLY, ADMIN] });
    const [alpha, bravo] = (await list(s, '?offset=0&limit=50')).json.bots as Record<string, unknown>[];
    expect(alpha).toMatchObject({
      _id: ALPHA,
      name: 'Alpha',
      type: 'default',
      status: 'published',
      resourceid: 'btstreams',
      defaultLanguage: 'en',
      accountId: expect.stringMatching(/^[0-9a-f]{24}$/),
      createdOn: expect.any(String),
      jwtApps: [
        {
          clientId: APP.clientId,
          clientSecret: APP.clientSecret,
          jtiClaimEnforced: false,
          jweEncryptionEnforced: false,
          createdOn: expect.any(String),
        },
      ],
    });
    expect((bravo!.jwtApps as { clientSecret: string }[]).map((a) => a.clientSecret)).toEqual([APP.clientSecret, BRAVO_ONLY.clientSecret]);
    expect(JSON.stringify([alpha, bravo])).not.toContain(ADMIN.clientSecret);
  });

  it('only an Admin Console app may list: 403 for a bot app, 401 without a valid JWT; an admin app exports any bot', async () => {
    const s = await start({ apps: [APP, BRAVO_ONLY, ADMIN] });
    const denied = await list(s, '?offset=0&limit=50', await jwt({ app: APP }));
    expect(denied).toMatchObject({ status: 403, json: { errors: [{ code: 403 }] } });
    expect(JSON.stringify(denied.json)).not.toContain('clientSecret');
    expect(s.calls.at(-1)).toMatchObject({ op: 'ListBots', status: 403, authError: 'not-admin-app' });
    expect((await api('GET', `${s.url}/api/public/bots?offset=0&limit=50`, undefined)).status).toBe(401);
    expect((await list(s, '', await jwt({ app: ADMIN, secret: 'wrong-secret-0123456789abcdef0123456789' }))).status).toBe(401);
    expect(s.calls.at(-1)).toMatchObject({ op: 'ListBots', status: 401, authError: 'bad-signature' });
    expect((await startExport(s, ALPHA, undefined, await jwt({ app: ADMIN }))).status).toBe(200);
  });

  it('admin APIs share one rolling window per account (60 a minute), apart from the per-bot export windows', async () => {
    let clock = Date.now();
    const s = await start({ apps: [APP, ADMIN], now: () => clock, adminRateLimitPerMinute: 3 });
    for (let i = 0; i < 3; i++) expect((await list(s, '')).status).toBe(200);
    const limited = await list(s, '');
    expect(limited).toMatchObject({ status: 429, json: errorBody(RATE_LIMIT_MESSAGE, 429) });
    expect((await startExport(s, ALPHA)).status).toBe(200);
    clock += 60_001;
    expect((await list(s, '')).status).toBe(200);
  });

  it('listFaults: 429 or 503 on chosen calls, an offset ignored, no availableMore', async () => {
    const s = await startMany();
    s.setListFaults({ rateLimitOnCalls: [2], serverErrorOnCalls: [3] });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await list(s, '?offset=1&limit=50')).status);
    expect(statuses).toEqual([200, 429, 503, 200]);
    s.setListFaults({ ignoreOffset: true, withoutAvailableMore: true });
    const r = await list(s, '?offset=2&limit=50');
    expect(names(r)[0]).toBe('Bot-000');
    expect(r.json).not.toHaveProperty('availableMore');
    expect(r.json.total).toBe(120);
  });
});
