/**
 * Kore.ai discovery against the Kore.ai simulator's Admin API (real JWT
 * checks, real paging): Get Bots paged 50 at a time with the Admin Console
 * app's JWT, whatever `offset` counts; name patterns; 429 and 5xx retried;
 * and the listing's client secrets kept out of jobs, logs and errors; a
 * restore of a discovered bot finds its discovery target.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config/config';
import type { Job } from '../../lib/core/contracts';
import { ProviderAuthError, ProviderRequestError, ProviderUnavailableError, RateLimitedError } from '../../lib/core/errors';
import { parseKoreaiKey } from '../../lib/providers/koreai/keys';
import { KoreaiProvider, type KoreaiProviderDeps } from '../../lib/providers/koreai/provider';
import { restoreKoreai } from '../../lib/providers/koreai/restore';
import { RestoreRefusedError } from '../../lib/providers/restore';
import type { KoreaiTarget } from '../../lib/providers/koreai/target';
import type { PlanContext } from '../../lib/providers/types';
import { withCapturedLogs } from '../helpers/capture-logs';
import { type KoreApp, type KoreBot, type KoreSimulator, type KoreSimulatorOptions, startKoreSimulator } from '../simulators/koreai-simulator';

/** Every client secret in this file starts so: none may appear in a job, a log line or an error. */
const SENTINEL = 'SENTINEL-SECRET-';
const ADMIN: KoreApp = { clientId: 'cs-admin-console', clientSecret: `${SENTINEL}admin-0f1e2d3c4b5a`, admin: true };
const JTI_ADMIN: KoreApp = { clientId: 'cs-admin-jti', clientSecret: `${SENTINEL}admin-jti-77aa`, admin: true, enforceJti: true };
const BOT_APP: KoreApp = { clientId: 'cs-bot-app', clientSecret: `${SENTINEL}bot-app-9c8b7a` };
const botId = (i: number) => `st-${String(i).padStart(8, '0')}-0000-4000-8000-00000000${String(i).padStart(4, '0')}`;
/** 120 bots, Bot-000 … Bot-119; each has an app of its own, whose secret the listing shows. */
const MANY: KoreBot[] = Array.from({ length: 120 }, (_, i) => ({ botId: botId(i), botName: `Bot-${String(i).padStart(3, '0')}` }));
const OWN_APPS: KoreApp[] = MANY.map((b, i) => ({ clientId: `cs-own-${i}`, clientSecret: `${SENTINEL}own-${i}-5e6f`, bots: [b.botId] }));
const SECRETS: Record<string, string> = {
  'botvault/koreai-admin': JSON.stringify(ADMIN),
  'botvault/koreai-admin-jti': JSON.stringify(JTI_ADMIN),
  'botvault/koreai-bot-app': JSON.stringify(BOT_APP),
};
// The context's shape belongs to Plan (lib/providers/types.ts); Kore.ai discovery reads nothing of it.
const CONTEXT = { home: { account: '111122223333', region: 'us-east-1' }, accounts: [], region: 'us-east-1' } as unknown as PlanContext;

let kore: KoreSimulator;
const started: KoreSimulator[] = [];
const delays: number[] = [];

const provider = (extra: Partial<KoreaiProviderDeps> = {}, origin = kore.url) =>
  new KoreaiProvider({
    secrets: async (id) => {
      const value = SECRETS[id];
      if (value === undefined) throw new Error(`no secret ${id}`);
      return value;
    },
    allowedOrigins: [origin],
    listRetryDelaysMs: [5, 20],
    sleep: async (ms) => {
      delays.push(ms);
    },
    ...extra,
  });

function target(extra: Record<string, unknown> = {}, host = kore.url): KoreaiTarget {
  return parseConfig({
    downloadAllowlist: [host],
    targets: [{ provider: 'koreai', host, discover: true, adminCredentialsSecret: 'botvault/koreai-admin', ...extra }],
  }).targets[0] as KoreaiTarget;
}

async function simulator(opts: Partial<KoreSimulatorOptions> = {}): Promise<KoreSimulator> {
  const s = await startKoreSimulator({ apps: [ADMIN, JTI_ADMIN, BOT_APP, ...OWN_APPS], bots: MANY, ...opts });
  started.push(s);
  return s;
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

const listCalls = (s: KoreSimulator) => s.calls.filter((c) => c.op === 'ListBots').map((c) => `${c.offset}/${c.limit}:${c.status}`);
const names = (jobs: Job[]) => jobs.map((j) => j.name);

beforeAll(async () => {
  kore = await simulator();
});
afterEach(() => {
  kore.setListFaults({});
  kore.calls.length = 0;
  delays.length = 0;
});
afterAll(async () => {
  for (const s of started) await s.close();
});

describe('Kore.ai discovery: Get Bots, paged', () => {
  it('120 bots are 3 pages of at most 50 (offset 0, 1, 2), one job each, named, with the admin app for the exports', async () => {
    const jobs = await provider().plan(target(), CONTEXT);
    expect(listCalls(kore)).toEqual(['0/50:200', '1/50:200', '2/50:200']);
    expect(names(jobs)).toEqual(MANY.map((b) => b.botName));
    const host = new URL(kore.url).host;
    expect(jobs[7]).toEqual({
      id: `koreai:${botId(7)}:published`,
      provider: 'koreai',
      key: `koreai/${host}/${botId(7)}/published/bot.zip`,
      name: 'Bot-007',
      spec: {
        host: kore.url,
        botId: botId(7),
        exportType: 'published',
        credentialsSecret: 'botvault/koreai-admin',
        enforceJti: false,
        downloadHosts: [],
        body: { exportType: 'published' },
      },
    });
    expect(new Set(jobs.map((j) => j.id)).size).toBe(120);
  });

  it('the exports use credentialsSecret when the target gives one; the export body is the target’s', async () => {
    const jobs = await provider().plan(
      target({ credentialsSecret: 'botvault/koreai-bot-app', exportType: 'latest', exportOptions: { tasks: ['botTask'] } }),
      CONTEXT,
    );
    expect(jobs[0]!.spec).toMatchObject({
      credentialsSecret: 'botvault/koreai-bot-app',
      exportType: 'latest',
      body: { exportType: 'latest', exportOptions: { tasks: ['botTask'] } },
    });
    // The listing itself is still made with the admin app.
    expect(listCalls(kore)).toHaveLength(3);
  });

  it('an offset that counts bots is recognised on the second page: every bot once, in 4 calls', async () => {
    const s = await simulator({ listOffset: 'item' });
    const jobs = await provider({}, s.url).plan(target({}, s.url), CONTEXT);
    expect(listCalls(s)).toEqual(['0/50:200', '1/50:200', '51/50:200', '101/50:200']);
    expect(names(jobs)).toEqual(MANY.map((b) => b.botName));
  });

  it('without availableMore, total tells when the listing ends', async () => {
    kore.setListFaults({ withoutAvailableMore: true });
    const jobs = await provider().plan(target(), CONTEXT);
    expect(jobs).toHaveLength(120);
    expect(listCalls(kore)).toEqual(['0/50:200', '1/50:200', '2/50:200']);
  });

  it('paging fields of another type are not believed: pages are read until one comes back short', async () => {
    const s = await simulator({ bots: MANY.slice(0, 60) });
    // A stand-in answer shape: the simulator's own reply, with total and availableMore as strings.
    const jobs = await provider(
      {
        fetch: async (url, init) => {
          const res = await fetch(url, init);
          const body = (await res.json()) as Record<string, unknown>;
          return Response.json({ ...body, total: String(body.total), availableMore: String(body.availableMore) }, { status: res.status });
        },
      },
      s.url,
    ).plan(target({}, s.url), CONTEXT);
    expect(jobs).toHaveLength(60);
    expect(listCalls(s)).toEqual(['0/50:200', '1/50:200']);
  });

  it('an account of fewer than 50 bots is one page', async () => {
    const s = await simulator({ bots: MANY.slice(0, 3) });
    expect(names(await provider({}, s.url).plan(target({}, s.url), CONTEXT))).toEqual(['Bot-000', 'Bot-001', 'Bot-002']);
    expect(listCalls(s)).toEqual(['0/50:200']);
  });

  it('a listing that never advances stops with a named error instead of paging forever', async () => {
    kore.setListFaults({ ignoreOffset: true });
    const err = await failure(provider().plan(target(), CONTEXT));
    expect(err).toBeInstanceOf(ProviderRequestError);
    expect(err.message).toContain('the page at offset 1 listed no bot that earlier pages had not');
    expect(listCalls(kore)).toEqual(['0/50:200', '1/50:200']);
  });

  it('JTI-enforcing admin app: every page has a JWT of its own', async () => {
    const jobs = await provider().plan(target({ adminCredentialsSecret: 'botvault/koreai-admin-jti', enforceJti: true }), CONTEXT);
    expect(jobs).toHaveLength(120);
    expect(listCalls(kore)).toEqual(['0/50:200', '1/50:200', '2/50:200']);
  });
});

describe('Kore.ai discovery: name patterns', () => {
  const NAMED: KoreBot[] = ['Order Desk', 'Order Test', 'order-returns', 'Support', 'Orders test bot', 'Reorder'].map((botName, i) => ({
    botId: botId(500 + i),
    botName,
  }));

  it("the deep drill's scratch bot (botvault-drill-<12 hex>) is never a discovered bot, whatever the patterns; a look-alike is", async () => {
    const s = await simulator({
      bots: [...NAMED.slice(0, 2), { botId: botId(600), botName: 'botvault-drill-0123456789ab' }, { botId: botId(601), botName: 'botvault-drill-x' }],
    });
    const lines: string[] = [];
    const jobs = await withCapturedLogs(lines, () => provider({}, s.url).plan(target({}, s.url), CONTEXT));
    expect(names(jobs)).toEqual(['Order Desk', 'Order Test', 'botvault-drill-x']);
    expect(lines.join('')).toMatch(new RegExp(`Discovery skips the deep drill scratch bot.*${botId(600)}`));
  });

  it('include and exclude globs, without regard to case; exclude wins', async () => {
    const s = await simulator({ bots: NAMED });
    const plan = (extra: Record<string, unknown>) => provider({}, s.url).plan(target(extra, s.url), CONTEXT).then(names);
    expect(await plan({ include: ['Order*'], exclude: ['*test*'] })).toEqual(['Order Desk', 'order-returns']);
    expect(await plan({ include: ['order*', 'support'] })).toEqual(['Order Desk', 'Order Test', 'order-returns', 'Support', 'Orders test bot']);
    expect(await plan({ exclude: ['*order*'] })).toEqual(['Support']);
    expect(await plan({ include: ['Order ????'] })).toEqual(['Order Desk', 'Order Test']);
    expect(await plan({ include: ['Nothing*'] })).toEqual([]);
    expect(await plan({})).toEqual(NAMED.map((b) => b.botName));
  });
});

describe('Kore.ai discovery: errors', () => {
  it('a 429 on page 2 is retried after a wait, and the listing goes on', async () => {
    kore.setListFaults({ rateLimitOnCalls: [2] });
    const jobs = await provider().plan(target(), CONTEXT);
    expect(jobs).toHaveLength(120);
    expect(listCalls(kore)).toEqual(['0/50:200', '1/50:429', '1/50:200', '2/50:200']);
    expect(delays).toEqual([5]);
  });

  it('a 503 then a 429 on one page: two waits, then the page', async () => {
    kore.setListFaults({ serverErrorOnCalls: [2], rateLimitOnCalls: [3] });
    expect(await provider().plan(target(), CONTEXT)).toHaveLength(120);
    expect(listCalls(kore)).toEqual(['0/50:200', '1/50:503', '1/50:429', '1/50:200', '2/50:200']);
    expect(delays).toEqual([5, 20]);
  });

  it('still rate limited after the retries: RateLimitedError (the state machine retries Plan), naming the page', async () => {
    kore.setListFaults({ rateLimitOnCalls: [2, 3, 4] });
    const err = await failure(provider().plan(target(), CONTEXT));
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(err.message).toContain('Kore.ai GET /api/public/bots (offset 1)');
    expect(err.message).toContain('Rate limit for this API has been reached');
    expect(listCalls(kore)).toEqual(['0/50:200', '1/50:429', '1/50:429', '1/50:429']);
  });

  it('a Bot Builder app cannot list: ProviderAuthError naming the Admin Console scope, not retried', async () => {
    const err = await failure(provider().plan(target({ adminCredentialsSecret: 'botvault/koreai-bot-app' }), CONTEXT));
    expect(err).toBeInstanceOf(ProviderAuthError);
    expect((err as ProviderAuthError).httpStatus).toBe(403);
    expect(err.message).toContain('botvault/koreai-bot-app');
    expect(err.message).toContain('Profile Management > Role Management');
    expect(listCalls(kore)).toEqual(['0/50:403']);
  });
});

describe('Kore.ai discovery: the listing’s client secrets go nowhere', () => {
  it('sentinel: not in the jobs, the Plan output or the logs, though the listing carried every one of them', async () => {
    const lines: string[] = [];
    const jobs = await withCapturedLogs(lines, () => provider().plan(target({ include: ['Bot-0*'], exclude: ['Bot-01*'] }), CONTEXT));
    const logs = lines.join('');
    // The capture worked, and the simulator did list the secrets.
    expect(logs).toContain('Kore.ai discovery finished');
    expect(jobs).toHaveLength(90);
    expect(listCalls(kore)).toHaveLength(3);
    for (const [where, text] of Object.entries({ jobs: JSON.stringify(jobs), logs })) {
      expect(text, where).not.toContain(SENTINEL);
      expect(text, where).not.toContain('clientSecret');
      expect(text, where).not.toContain('jwtApps');
    }
  });

  /** A stand-in for Kore.ai that answers every Get Bots with `status` and `body`. */
  async function standIn(status: number, body: string): Promise<{ origin: string; close(): Promise<void> }> {
    const server = http.createServer((req, res) => {
      req.resume();
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise((r) => server.close(() => r())),
    };
  }
  const secretListing = (extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      total: 1,
      availableMore: false,
      bots: [{ _id: botId(1), name: 'Leaky', jwtApps: [{ clientId: 'cs-x', clientSecret: `${SENTINEL}in-the-listing-4d4d` }] }],
      ...extra,
    });

  it.each([
    ['a listing with a 500', 500, secretListing(), ProviderUnavailableError],
    ['a listing with a 400', 400, secretListing(), ProviderRequestError],
    ['a listing with a 403', 403, secretListing(), ProviderAuthError],
    [
      'an error message that quotes a secret',
      400,
      JSON.stringify({ errors: [{ msg: `invalid clientSecret ${SENTINEL}quoted-1a1a` }] }),
      ProviderRequestError,
    ],
    ['a listing whose bots is no list', 200, secretListing({ bots: { clientSecret: `${SENTINEL}not-a-list-2b2b` } }), ProviderUnavailableError],
    ['a listing that is no JSON', 200, `bots: clientSecret=${SENTINEL}not-json-3c3c`, ProviderUnavailableError],
    ['a listing cut short', 200, secretListing().slice(0, -20), ProviderUnavailableError],
  ])('%s: a named error that quotes nothing of the reply', async (_, status, body, type) => {
    const s = await standIn(status, body);
    try {
      const lines: string[] = [];
      const err = await withCapturedLogs(lines, () => failure(provider({ listRetryDelaysMs: [] }, s.origin).plan(target({}, s.origin), CONTEXT)));
      expect(err).toBeInstanceOf(type);
      expect(err.message).toContain('Kore.ai GET /api/public/bots (offset 0)');
      for (const [where, text] of Object.entries({
        message: err.message,
        cause: String((err as { cause?: unknown }).cause ?? ''),
        logs: lines.join(''),
      })) {
        expect(text, where).not.toContain(SENTINEL);
      }
    } finally {
      await s.close();
    }
  });

  it('a kept Kore.ai error message is still quoted (the message-only rule drops only what mentions a secret)', async () => {
    const s = await standIn(400, JSON.stringify({ errors: [{ msg: 'offset must not exceed 10', code: 400 }] }));
    try {
      const err = await failure(provider({ listRetryDelaysMs: [] }, s.origin).plan(target({}, s.origin), CONTEXT));
      expect(err.message).toContain('answered HTTP 400: offset must not exceed 10');
    } finally {
      await s.close();
    }
  });

  it('entries without a stream id are skipped, never quoted', async () => {
    const s = await standIn(
      200,
      JSON.stringify({
        total: 3,
        availableMore: false,
        bots: [
          { _id: botId(1), name: 'Good' },
          { _id: `${SENTINEL}as-an-id-5e5e`, name: 'Bad id' },
          { name: 'No id', clientSecret: `${SENTINEL}6f6f` },
        ],
      }),
    );
    try {
      const lines: string[] = [];
      const jobs = await withCapturedLogs(lines, () => provider({}, s.origin).plan(target({}, s.origin), CONTEXT));
      expect(names(jobs)).toEqual(['Good']);
      expect(lines.join('')).toContain('"skipped":2');
      expect(lines.join('')).not.toContain(SENTINEL);
    } finally {
      await s.close();
    }
  });
});

describe('Kore.ai restore of a discovered bot', () => {
  const source = (key: string) => ({
    resource: parseKoreaiKey(key)!,
    data: Buffer.from('zip bytes'),
    entries: new Map([
      ['botDefinition.json', Buffer.from(JSON.stringify({ defaultLanguage: 'en', localeData: { en: { name: 'Bot-004' } } }))],
      ['config.json', Buffer.from('{"name":"Bot-004"}')],
    ]),
  });
  const env = (targets: KoreaiTarget[]) => ({
    targets,
    allowedOrigins: [kore.url],
    secrets: async (id: string) => SECRETS[id]!,
    aws: <T>(_what: string, call: () => Promise<T>) => call(),
    callerAccount: async () => '111122223333',
  });

  it("finds the discovery target of the key's host and export type, and proves the export app's credentials", async () => {
    const key = `koreai/${new URL(kore.url).host}/${botId(4)}/published/bot.zip`;
    const plan = await restoreKoreai(source(key), { toBot: 'Bot-004 restored', pollMs: 10, timeout: 5 }, env([target()]));
    expect(plan.sources).toEqual({ credentials: 'secret botvault/koreai-admin' });
    expect(plan.destination).toEqual({ botId: null, botName: 'Bot-004 restored', existing: false });
    expect(decodeJwt(kore.seenJwts.at(-1)!).appId).toBe(ADMIN.clientId);
    const own = await restoreKoreai(
      source(key),
      { toBot: 'Again', pollMs: 10, timeout: 5 },
      env([target({ credentialsSecret: 'botvault/koreai-bot-app' })]),
    );
    expect(own.sources).toEqual({ credentials: 'secret botvault/koreai-bot-app' });
  });

  it('a key of another export type or host is no discovered bot of the target', async () => {
    for (const key of [`koreai/${new URL(kore.url).host}/${botId(4)}/latest/bot.zip`, `koreai/kore.example.com/${botId(4)}/published/bot.zip`]) {
      const err = await failure(restoreKoreai(source(key), { toBot: 'X', pollMs: 10, timeout: 5 }, env([target()])));
      expect(err, key).toBeInstanceOf(RestoreRefusedError);
      expect(err.message, key).toContain('no Kore.ai target in the config backs it up');
    }
  });
});
