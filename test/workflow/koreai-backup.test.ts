/**
 * Kore.ai beside Lex through the synthesized definition: the same states, the
 * same StoreArchive path, real JWT checks at the Kore.ai simulator and the
 * client secret read through the real SecretsManagerClient.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { States } from '../../lib/constructs/backup-workflow';
import type { EventLog } from '../../lib/local/runner';
import { startKoreSimulator, type KoreSimulator } from '../simulators/koreai-simulator';
import { startSecretsSimulator, type SecretsSimulator } from '../simulators/secrets-simulator';
import { startHarness, type Harness } from './harness';
import { withCapturedLogs } from '../helpers/capture-logs';

const SENTINEL_SECRET = 'SENTINEL-kore-client-secret-5d2e8b';
const CONCIERGE = 'st-1a2b3c4d-0000-1111-2222-333344445555';
const HELPDESK = 'st-9f8e7d6c-5555-4444-3333-222211110000';
const APP = { clientId: 'cs-botvault-app', clientSecret: SENTINEL_SECRET };
const LEX_BOTS = [
  { botId: 'ALPHABOT01', botName: 'Alpha', versions: ['1'], locales: ['en_US'], intents: ['Greet', 'Order'] },
  { botId: 'BRAVOBOT02', botName: 'Bravo', versions: [], locales: ['en_US'], intents: ['Help'] },
];
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface World {
  h: Harness;
  kore: KoreSimulator;
  secrets: SecretsSimulator;
  targets(extra?: Record<string, unknown>): Record<string, unknown>[];
}
let world: World | undefined;

async function startWorld(): Promise<World> {
  const h = await startHarness({ bots: LEX_BOTS, defaultFaults: { exportLatencyMs: 100 } });
  const kore = await startKoreSimulator({
    apps: [APP],
    bots: [
      { botId: CONCIERGE, botName: 'Concierge', dialogs: ['Welcome', 'BookTable'] },
      { botId: HELPDESK, botName: 'Helpdesk', dialogs: ['Welcome', 'ResetPassword'] },
    ],
  });
  const secrets = await startSecretsSimulator({
    secrets: { 'botvault/koreai': JSON.stringify(APP), 'botvault/koreai-wrong': JSON.stringify({ ...APP, clientSecret: 'wrong-secret' }) },
  });
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secrets.url;
  for (const bot of [CONCIERGE, HELPDESK]) kore.setFaults(bot, { exportLatencyMs: 100 });
  return {
    h,
    kore,
    secrets,
    targets: (kore1 = {}) => [
      { provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' },
      { provider: 'lex', botId: 'BRAVOBOT02', botVersion: 'DRAFT' },
      { provider: 'koreai', host: kore.url, botId: CONCIERGE, credentialsSecret: 'botvault/koreai', ...kore1 },
      { provider: 'koreai', host: kore.url, botId: HELPDESK, credentialsSecret: 'botvault/koreai', exportType: 'latest' },
    ],
  };
}

const config = (w: World, extra: Record<string, unknown> = {}) =>
  w.h.config({ downloadAllowlist: [w.h.lex.url, w.kore.url], targets: w.targets(extra) });
// Job results are read loosely here; each test asserts the fields it relies on.
const result = (run: { manifest?: { results: { target: string }[] } }, target: string): Record<string, unknown> | undefined =>
  run.manifest!.results.find((r) => r.target === target);

afterEach(async () => {
  if (!world) return;
  await world.h.close();
  await world.kore.close();
  await world.secrets.close();
  delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
  world = undefined;
});

describe('Kore.ai and Lex in one run (synthesized definition, real handlers)', () => {
  it('backs up both providers through the same states; Kore.ai archives land under koreai/<host>/<botId>/<exportType>/bot.zip', async () => {
    const w = (world = await startWorld());
    // Exports that outlast several fast-mode polls even on a loaded machine, so the polling assertion below holds.
    for (const bot of [CONCIERGE, HELPDESK]) w.kore.setFaults(bot, { exportLatencyMs: 800 });
    const run = await w.h.run(config(w));

    expect(run.status).toBe('SUCCEEDED');
    expect(run.manifest!.counts).toEqual({ total: 4, succeeded: 4, unchanged: 0, failed: 0 });
    const host = new URL(w.kore.url).host;
    for (const [bot, exportType] of [
      [CONCIERGE, 'published'],
      [HELPDESK, 'latest'],
    ] as const) {
      const r = result(run, `koreai:${bot}:${exportType}`) as unknown as { key: string; exportId: string; sha256: string; bytes: number };
      expect(r).toMatchObject({ status: 'SUCCEEDED', key: `koreai/${host}/${bot}/${exportType}/bot.zip` });
      const served = w.kore.archiveFor(r.exportId);
      const stored = await w.h.object(r.key);
      expect(stored?.body.equals(served)).toBe(true);
      expect(r).toMatchObject({ sha256: sha256(served), bytes: served.length });
      expect(stored?.metadata).toMatchObject({
        sha256: sha256(served),
        'export-id': r.exportId,
        'run-id': run.runId,
        source: `koreai:${bot}:${exportType}`,
      });
      expect(w.kore.exports.get(r.exportId)?.exportType).toBe(exportType);
    }
    // No new state for the new provider: the Kore.ai jobs ran through the Lex jobs' states.
    const entered = new Set(
      run.events.filter((e) => e.type === 'StateEntered').map((e) => (e as Extract<EventLog, { type: 'StateEntered' }>).state.name),
    );
    expect([...entered].every((name) => (Object.values(States) as string[]).includes(name))).toBe(true);
    // Polling happened, and the download never carried the JWT.
    expect(w.kore.calls.filter((c) => c.op === 'ExportStatus').length).toBeGreaterThan(2);
    expect(w.kore.calls.filter((c) => c.op === 'Download').every((c) => !c.withAuth && c.status === 200)).toBe(true);
  });

  it('429 bursts at start and at poll are retried by the state machine with backoff: the job succeeds', async () => {
    const w = (world = await startWorld());
    w.kore.setFaults(CONCIERGE, { exportLatencyMs: 100, rateLimitBurst: 2 });
    let pollBurst = false;
    const run = await w.h.run(config(w), {
      onEvent: (e) => {
        // Once the export has started, throttle the status checks too.
        if (
          !pollBurst &&
          e.type === 'StateEntered' &&
          e.state.name === States.wait &&
          w.kore.calls.some((c) => c.op === 'Export' && c.botId === CONCIERGE && c.status === 200)
        ) {
          pollBurst = true;
          w.kore.setFaults(CONCIERGE, { exportLatencyMs: 100, rateLimitBurst: 2 });
        }
      },
    });

    expect(run.status).toBe('SUCCEEDED');
    expect(result(run, `koreai:${CONCIERGE}:published`)).toMatchObject({ status: 'SUCCEEDED' });
    const calls = w.kore.calls.filter((c) => c.botId === CONCIERGE && c.op !== 'Download');
    expect(calls.filter((c) => c.op === 'Export').map((c) => c.status)).toEqual([429, 429, 200]);
    expect(calls.filter((c) => c.op === 'ExportStatus' && c.status === 429)).toHaveLength(2);
    const retried = run.events.filter((e) => e.type === 'StateRetried');
    expect(retried.length).toBeGreaterThanOrEqual(4);
  });

  it('a wrong client secret fails that job with ProviderAuthError, never retried; every other bot is stored', async () => {
    const w = (world = await startWorld());
    const run = await w.h.run(config(w, { credentialsSecret: 'botvault/koreai-wrong' }));

    expect(run.status).toBe('FAILED');
    expect(run.cause).toContain(`koreai:${CONCIERGE}:published`);
    expect(result(run, `koreai:${CONCIERGE}:published`)).toMatchObject({ status: 'FAILED', error: 'ProviderAuthError' });
    expect(w.kore.calls.filter((c) => c.botId === CONCIERGE)).toEqual([expect.objectContaining({ op: 'Export', status: 401 })]);
    expect(run.manifest!.counts).toMatchObject({ succeeded: 3, failed: 1 });
  });

  it('an export that Kore.ai reports failed: FAILED with its reason, nothing downloaded or stored for it', async () => {
    const w = (world = await startWorld());
    w.kore.setFaults(HELPDESK, { failExport: 'Bot export failed: dialog ResetPassword is invalid' });
    const run = await w.h.run(config(w));

    expect(run.status).toBe('FAILED');
    const failed = result(run, `koreai:${HELPDESK}:latest`) as unknown as { error: string; cause: string };
    expect(failed).toMatchObject({ status: 'FAILED', error: 'ExportFailedError' });
    expect(failed.cause).toContain('dialog ResetPassword is invalid');
    expect(w.kore.calls.filter((c) => c.op === 'Download' && c.botId === HELPDESK)).toEqual([]);
    expect((await w.h.keys('koreai/')).filter((k) => k.endsWith('.zip'))).toEqual([
      `koreai/${new URL(w.kore.url).host}/${CONCIERGE}/published/bot.zip`,
    ]);
  });

  it('sentinel: the client secret, the JWTs and the signed download URLs appear nowhere in events, results, manifest or logs', async () => {
    const w = (world = await startWorld());
    w.kore.setFaults(HELPDESK, { failExport: true });
    const lines: string[] = [];
    const run = await withCapturedLogs(lines, () => w.h.run(config(w, { credentialsSecret: 'botvault/koreai' })));

    const manifest = await w.h.object(run.manifestKey!);
    const logs = lines.join('');
    const haystacks = {
      events: JSON.stringify(run.events),
      results: JSON.stringify(run.manifest),
      manifest: manifest!.body.toString('utf8'),
      logs,
      cause: run.cause ?? '',
    };
    // The capture worked: the run logged at DEBUG, and the logs name the Kore.ai jobs.
    expect(logs).toContain(`koreai:${CONCIERGE}:published`);
    expect(w.kore.seenJwts.length).toBeGreaterThan(3);
    const signedUrls = w.kore.calls.filter((c) => c.op === 'Download').map((c) => c.exportId!);
    expect(signedUrls.length).toBeGreaterThan(0);
    for (const [where, text] of Object.entries(haystacks)) {
      expect(text, where).not.toContain(SENTINEL_SECRET);
      for (const jwt of w.kore.seenJwts) {
        expect(text, where).not.toContain(jwt);
        expect(text, where).not.toContain(jwt.split('.')[2]!);
      }
      expect(text, where).not.toMatch(/[?&]sig=/);
    }
    expect(run.status).toBe('FAILED');
  });
});

describe('Kore.ai discovery in a run (synthesized definition, real handlers)', () => {
  /** Every client secret of this account starts so: the listing serves them all, and none may land anywhere. */
  const SENTINEL = 'SENTINEL-SECRET-';
  const ADMIN = { clientId: 'cs-admin-console', clientSecret: `${SENTINEL}admin-4b1c9e`, admin: true };
  const BOT_APP = { clientId: 'cs-bot-app', clientSecret: `${SENTINEL}bot-app-7d2f0a` };
  const BOTS = [
    { botId: 'st-0a000000-0000-4000-8000-000000000001', botName: 'Order Desk', dialogs: ['Welcome', 'PlaceOrder'] },
    { botId: 'st-0a000000-0000-4000-8000-000000000002', botName: 'Order Test', dialogs: ['Welcome'] },
    { botId: 'st-0a000000-0000-4000-8000-000000000003', botName: 'Orders', dialogs: ['Welcome', 'TrackOrder'] },
    { botId: 'st-0a000000-0000-4000-8000-000000000004', botName: 'Support', dialogs: ['Welcome', 'Escalate'] },
  ];
  // Each bot has an app of its own, which the listing shows with its secret.
  const OWN_APPS = BOTS.map((b, i) => ({ clientId: `cs-own-${i}`, clientSecret: `${SENTINEL}own-${i}-c0ffee`, bots: [b.botId] }));

  async function startDiscoveryWorld(): Promise<World> {
    const h = await startHarness({ bots: LEX_BOTS, defaultFaults: { exportLatencyMs: 100 } });
    const kore = await startKoreSimulator({ apps: [ADMIN, BOT_APP, ...OWN_APPS], bots: BOTS });
    for (const b of BOTS) kore.setFaults(b.botId, { exportLatencyMs: 100 });
    const secrets = await startSecretsSimulator({
      secrets: { 'botvault/koreai-admin': JSON.stringify(ADMIN), 'botvault/koreai-bot': JSON.stringify(BOT_APP) },
    });
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secrets.url;
    return {
      h,
      kore,
      secrets,
      targets: (extra = {}) => [
        { provider: 'koreai', host: kore.url, discover: true, adminCredentialsSecret: 'botvault/koreai-admin', exclude: ['*test*'], ...extra },
        // Found by the discovery too: Plan keeps one job for it (the same job id; the discovery's, which comes first).
        { provider: 'koreai', host: kore.url, botId: BOTS[3]!.botId, credentialsSecret: 'botvault/koreai-bot' },
      ],
    };
  }

  it('lists the bots in Plan, backs up each selected bot once under its stable key with its name, through the same states', async () => {
    const w = (world = await startDiscoveryWorld());
    const run = await w.h.run(w.h.config({ downloadAllowlist: [w.kore.url], targets: w.targets() }));

    expect(run.status).toBe('SUCCEEDED');
    const host = new URL(w.kore.url).host;
    const selected = [BOTS[0]!, BOTS[2]!, BOTS[3]!];
    expect(run.manifest!.counts).toEqual({ total: 3, succeeded: 3, unchanged: 0, failed: 0 });
    for (const bot of selected) {
      const r = result(run, `koreai:${bot.botId}:published`) as unknown as { key: string; exportId: string; name: string };
      expect(r).toMatchObject({ status: 'SUCCEEDED', key: `koreai/${host}/${bot.botId}/published/bot.zip`, name: bot.botName });
      expect((await w.h.object(r.key))?.body.equals(w.kore.archiveFor(r.exportId))).toBe(true);
    }
    // The listing was made by the admin app, one page; each bot exported once (Support: by the discovery's job, deduplicated).
    expect(w.kore.calls.filter((c) => c.op === 'ListBots')).toEqual([{ op: 'ListBots', offset: '0', limit: '50', status: 200 }]);
    for (const bot of selected)
      expect(
        w.kore.calls.filter((c) => c.op === 'Export' && c.botId === bot.botId),
        bot.botName,
      ).toHaveLength(1);
    expect(w.kore.calls.some((c) => c.botId === BOTS[1]!.botId)).toBe(false);
  });

  it('sentinel: no client secret of the listing in the execution history, results, manifest, logs, or any object or its metadata', async () => {
    const w = (world = await startDiscoveryWorld());
    // One export fails, so an error and its cause are in play too.
    w.kore.setFaults(BOTS[2]!.botId, { failExport: true });
    const lines: string[] = [];
    const run = await withCapturedLogs(lines, () => w.h.run(w.h.config({ downloadAllowlist: [w.kore.url], targets: w.targets() })));

    // The sentinel was in play: the listing Plan read carries every app's secret.
    const { SignJWT } = await import('jose');
    const token = await new SignJWT({ appId: ADMIN.clientId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject('test')
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(new TextEncoder().encode(ADMIN.clientSecret));
    const listing = await (await fetch(`${w.kore.url}/api/public/bots?offset=0&limit=50`, { headers: { auth: token } })).text();
    for (const app of [BOT_APP, ...OWN_APPS]) expect(listing).toContain(app.clientSecret);

    expect(run.status).toBe('FAILED');
    expect(result(run, `koreai:${BOTS[2]!.botId}:published`)).toMatchObject({ status: 'FAILED', error: 'ExportFailedError' });
    const logs = lines.join('');
    expect(logs).toContain('Kore.ai discovery finished');
    const objects: Record<string, string> = {};
    for (const key of await w.h.keys()) {
      const o = (await w.h.object(key))!;
      objects[key] = `${JSON.stringify(o.metadata)}\n${o.body.toString('latin1')}`;
    }
    expect(Object.keys(objects).some((k) => k.startsWith('runs/'))).toBe(true);
    expect(Object.keys(objects).filter((k) => k.endsWith('bot.zip'))).toHaveLength(2);
    const haystacks = {
      events: JSON.stringify(run.events),
      results: JSON.stringify(run.manifest),
      cause: run.cause ?? '',
      logs,
      ...objects,
    };
    for (const [where, text] of Object.entries(haystacks)) {
      expect(text, where).not.toContain(SENTINEL);
      expect(text, where).not.toContain('clientSecret');
      for (const jwt of w.kore.seenJwts) expect(text, where).not.toContain(jwt.split('.')[2]!);
    }
  });
});
