/**
 * The Kore.ai provider against the Kore.ai simulator (real JWT checks) and the
 * Secrets Manager simulator, through the real SecretsManagerClient.
 */
import { UnsafeUrlError } from '../../lib/core/errors';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config/config';
import { JWT_LIFETIME_SECONDS } from '../../lib/providers/koreai/client';
import { KoreaiProvider } from '../../lib/providers/koreai/provider';
import type { Job } from '../../lib/core/contracts';
import { InvalidInputError, ProviderAuthError, ProviderRequestError, ProviderUnavailableError, RateLimitedError } from '../../lib/core/errors';
import { cachedSecretReader } from '../../lib/core/secrets';
import { RATE_LIMIT_MESSAGE, startKoreSimulator, type KoreSimulator } from '../simulators/koreai-simulator';
import { startSecretsSimulator, type SecretsSimulator } from '../simulators/secrets-simulator';
import type { KoreaiTarget } from '../../lib/providers/koreai/target';
import { koreaiJob } from '../../lib/providers/koreai/keys';
import type { PlanContext } from '../../lib/providers/types';

/** A value that must never appear in an error message. */
const SENTINEL_SECRET = 'SENTINEL-kore-client-secret-7f3a9c';
const BOT = 'st-1a2b3c4d-0000-1111-2222-333344445555';
const JTI_BOT = 'st-9f8e7d6c-5555-4444-3333-222211110000';
const APP = { clientId: 'cs-botvault-app', clientSecret: SENTINEL_SECRET };
const JTI_APP = { clientId: 'cs-jti-app', clientSecret: 'another-secret-for-jti', enforceJti: true };

let kore: KoreSimulator;
let secretsSim: SecretsSimulator;
let provider: KoreaiProvider;

function target(extra: Partial<KoreaiTarget> = {}): KoreaiTarget {
  const config = parseConfig({
    downloadAllowlist: [kore.url],
    targets: [{ provider: 'koreai', host: kore.url, botId: BOT, credentialsSecret: 'botvault/koreai', ...extra }],
  });
  return config.targets[0] as KoreaiTarget;
}
const job = (extra: Partial<KoreaiTarget> = {}): Job => koreaiJob(target(extra));

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

async function untilReady(j: Job, exportId: string) {
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
    const res = await provider.check(j, { exportId });
    if (res.status !== 'IN_PROGRESS') return res;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('export never left IN_PROGRESS');
}

beforeAll(async () => {
  kore = await startKoreSimulator({
    apps: [APP, JTI_APP],
    bots: [
      { botId: BOT, botName: 'Concierge', dialogs: ['Welcome', 'BookTable'] },
      { botId: JTI_BOT, botName: 'Strict' },
    ],
  });
  secretsSim = await startSecretsSimulator({
    secrets: {
      'botvault/koreai': JSON.stringify(APP),
      'botvault/koreai-jti': JSON.stringify(JTI_APP),
      'botvault/wrong': JSON.stringify({ clientId: APP.clientId, clientSecret: 'not-the-secret' }),
      'botvault/not-json': `clientSecret=${SENTINEL_SECRET}`,
    },
  });
  const client = new SecretsManagerClient({ endpoint: secretsSim.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  provider = new KoreaiProvider({ secrets: cachedSecretReader(client), allowedOrigins: [kore.url] });
});
afterAll(async () => {
  await kore.close();
  await secretsSim.close();
});
afterEach(() => {
  kore.setFaults(BOT, {});
});

describe('Kore.ai errors that echo the JWT, or part of it', () => {
  it('a signature-only echo, and half of one, never reach the error (and so not the events, manifest or logs)', async () => {
    const seen: string[] = [];
    // A Kore.ai stand-in that answers 400, quoting pieces of the token it was sent.
    const server = http.createServer((req, res) => {
      const jwt = String(req.headers.auth ?? '');
      const signature = jwt.split('.')[2] ?? '';
      seen.push(signature);
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          errors: [{ msg: `bad signature ${signature}; expected one starting ${signature.slice(0, 20)}; payload ${jwt.split('.')[1]}` }],
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const echoing = new KoreaiProvider({ secrets: async () => JSON.stringify(APP), allowedOrigins: [origin] });
      const j = job();
      const err = await failure(echoing.start({ ...j, spec: { ...(j.spec as Record<string, unknown>), host: origin } }));
      expect(seen).toHaveLength(1);
      expect(err.message).toContain('bad signature <jwt>; expected one starting <jwt>; payload <jwt>');
      expect(err.message).not.toContain(seen[0]!.slice(0, 12));
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('Kore.ai API calls pass the download guard (lib/core/guarded-fetch.ts)', () => {
  // A job as a config would give it, with a host the config check would refuse today: built directly, as an old config's Plan output might be.
  const jobAt = (host: string): Job => {
    const j = job();
    return { ...j, spec: { ...(j.spec as Record<string, unknown>), host } };
  };

  it('a host that resolves to loopback is refused at connect time: nothing reaches it, the JWT included', async () => {
    const port = new URL(kore.url).port;
    const before = kore.calls.length;
    const err = await failure(provider.start(jobAt(`https://localhost:${port}`)));
    expect(err).toBeInstanceOf(UnsafeUrlError);
    expect(err.message).toMatch(/localhost resolves to (127\.0\.0\.1|::1), a loopback address/);
    expect(kore.calls.length).toBe(before);
  });

  it('an IP literal that is not public, also in an embedded-IPv4 form, is refused before any connection', async () => {
    for (const host of ['https://169.254.169.254', 'https://[64:ff9b::a9fe:a9fe]', 'https://[::ffff:127.0.0.1]']) {
      const err = await failure(provider.start(jobAt(host)));
      expect(err, host).toBeInstanceOf(UnsafeUrlError);
      expect(err.message, host).toMatch(/is a .*(link-local|loopback).* address/);
    }
  });
});

describe('Kore.ai provider', () => {
  it('plans one job with the stable key, the API body and identifiers only', async () => {
    // The context's shape belongs to Plan (lib/providers/types.ts); a static Kore.ai target reads nothing of it.
    const context = { home: { account: '111122223333', region: 'us-east-1' }, accounts: [], region: 'us-east-1' } as unknown as PlanContext;
    const [planned] = await provider.plan(
      target({ exportType: 'latest', includeDependentTasks: true, exportOptions: { tasks: ['botTask'] } }),
      context,
    );
    const host = new URL(kore.url).host;
    expect(planned).toEqual({
      id: `koreai:${BOT}:latest`,
      provider: 'koreai',
      key: `koreai/${host}/${BOT}/latest/bot.zip`,
      spec: {
        host: kore.url,
        botId: BOT,
        exportType: 'latest',
        credentialsSecret: 'botvault/koreai',
        enforceJti: false,
        downloadHosts: [],
        body: { exportType: 'latest', exportOptions: { tasks: ['botTask'] }, IncludeDependentTasks: true },
      },
    });
  });

  it('exports: POST with the configured body, pending → success matched on _id, a download URL on the configured host', async () => {
    // Long enough that the first check is still pending on a loaded CI machine (60 ms was not).
    kore.setFaults(BOT, { exportLatencyMs: 1500 });
    const j = job({ subTasks: { dialogs: ['BookTable'] } });
    const ref = await provider.start(j);
    expect(ref.exportId).toMatch(/^ber-/);
    expect(kore.exports.get(ref.exportId)?.body).toEqual({ exportType: 'published', subTasks: { dialogs: ['BookTable'] } });
    expect((await provider.check(j, ref)).status).toBe('IN_PROGRESS');
    expect(await untilReady(j, ref.exportId)).toEqual({ status: 'READY' });
    const download = await provider.downloadUrl(j, ref);
    expect(new URL(download.url).origin).toBe(kore.url);
    expect(download.allowedHosts).toEqual(['127.0.0.1']);
    const res = await fetch(download.url);
    expect(Buffer.from(await res.arrayBuffer()).equals(kore.archiveFor(ref.exportId))).toBe(true);
  });

  it('signs a short-lived HS256 JWT with appId = client id, sub and iat; no jti unless asked', async () => {
    const before = kore.seenJwts.length;
    await provider.start(job());
    const jwt = kore.seenJwts.slice(before)[0]!;
    expect(decodeProtectedHeader(jwt)).toMatchObject({ alg: 'HS256', typ: 'JWT' });
    const claims = decodeJwt(jwt);
    expect(claims).toMatchObject({ appId: APP.clientId, sub: 'botvault' });
    expect(claims.exp! - claims.iat!).toBe(JWT_LIFETIME_SECONDS);
    expect(Math.abs(claims.iat! - Date.now() / 1000)).toBeLessThan(30);
    expect(claims.jti).toBeUndefined();
  });

  it('with enforceJti every call carries a fresh jti, which the app that enforces JTI accepts', async () => {
    const j = koreaiJob(
      parseConfig({
        downloadAllowlist: [kore.url],
        targets: [{ provider: 'koreai', host: kore.url, botId: JTI_BOT, credentialsSecret: 'botvault/koreai-jti', enforceJti: true }],
      }).targets[0] as KoreaiTarget,
    );
    const before = kore.seenJwts.length;
    const ref = await provider.start(j);
    await untilReady(j, ref.exportId);
    await provider.downloadUrl(j, ref);
    const jtis = kore.seenJwts.slice(before).map((t) => decodeJwt(t).jti);
    expect(jtis.length).toBeGreaterThanOrEqual(3);
    expect(jtis.every((id) => typeof id === 'string')).toBe(true);
    expect(new Set(jtis).size).toBe(jtis.length);
  });

  it('a wrong client secret is a ProviderAuthError naming the secret, never its value or the JWT', async () => {
    const before = kore.seenJwts.length;
    const err = await failure(provider.start(job({ credentialsSecret: 'botvault/wrong' })));
    expect(err).toBeInstanceOf(ProviderAuthError);
    expect(err.message).toContain('HTTP 401');
    expect(err.message).toContain('botvault/wrong');
    expect(kore.calls.at(-1)).toMatchObject({ op: 'Export', status: 401, authError: 'bad-signature' });
    const jwt = kore.seenJwts.slice(before)[0]!;
    expect(err.message).not.toContain(jwt);
    expect(err.message).not.toContain('not-the-secret');
  });

  it('a secret that is not {"clientId","clientSecret"} JSON says so without echoing it', async () => {
    const err = await failure(provider.start(job({ credentialsSecret: 'botvault/not-json' })));
    expect(err).toBeInstanceOf(ProviderRequestError);
    expect(err.message).toContain('{"clientId": "...", "clientSecret": "..."}');
    expect(err.message).not.toContain(SENTINEL_SECRET);
  });

  it("429, 429, then 200: two RateLimitedErrors (Kore's message kept), then the export starts", async () => {
    kore.setFaults(BOT, { rateLimitBurst: 2 });
    const j = job();
    for (let i = 0; i < 2; i++) {
      const err = await failure(provider.start(j));
      expect(err).toBeInstanceOf(RateLimitedError);
      expect(err.message).toContain(RATE_LIMIT_MESSAGE);
    }
    const ref = await provider.start(j);
    expect(ref.exportId).toMatch(/^ber-/);
    expect(
      kore.calls
        .filter((c) => c.op === 'Export')
        .slice(-3)
        .map((c) => c.status),
    ).toEqual([429, 429, 200]);
  });

  it('5xx is ProviderUnavailableError (retried by the state machine); an unknown bot is a ProviderRequestError', async () => {
    kore.setFaults(BOT, { serverErrors: 1 });
    expect(await failure(provider.start(job()))).toBeInstanceOf(ProviderUnavailableError);
    const err = await failure(provider.start(job({ botId: 'st-00000000-0000-0000-0000-000000000000' })));
    expect(err).toBeInstanceOf(ProviderRequestError);
    expect(err.message).toContain('HTTP 404');
  });

  it("status failed → FAILED with Kore's reason", async () => {
    kore.setFaults(BOT, { failExport: 'Bot export failed: dialog BookTable has an invalid node' });
    const j = job();
    const ref = await provider.start(j);
    expect(await untilReady(j, ref.exportId)).toEqual({ status: 'FAILED', reasons: ['Bot export failed: dialog BookTable has an invalid node'] });
  });

  it("a status that reports someone else's export is not trusted: FAILED, and its download URL is never handed out", async () => {
    const j = job();
    const ref = await provider.start(j);
    kore.setFaults(BOT, { foreignStatus: true });
    const res = await provider.check(j, ref);
    expect(res.status).toBe('FAILED');
    expect(res.reasons![0]).toContain(`not ours (${ref.exportId})`);
    const err = await failure(provider.downloadUrl(j, ref));
    expect(err).toBeInstanceOf(ProviderRequestError);
    expect(err.message).not.toMatch(/https?:\/\//);
  });

  it('configured download hosts join the API host on the download allowlist', async () => {
    kore.setFaults(BOT, { downloadHost: 'files.kore.example.com' });
    const j = job({ downloadHosts: ['files.kore.example.com', '*.cdn.example.com'] });
    const ref = await provider.start(j);
    await untilReady(j, ref.exportId);
    const download = await provider.downloadUrl(j, ref);
    expect(new URL(download.url).hostname).toBe('files.kore.example.com');
    expect(download.allowedHosts).toEqual(['127.0.0.1', 'files.kore.example.com', '*.cdn.example.com']);
  });

  it('refuses a plain http host that is not allowlisted, before any call (the JWT would travel in clear)', async () => {
    const strict = new KoreaiProvider({ secrets: async () => JSON.stringify(APP), allowedOrigins: [] });
    const before = kore.calls.length;
    const err = await failure(strict.start(job()));
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err.message).toContain('not https');
    expect(kore.calls.length).toBe(before);
  });

  it('never follows a redirect: the auth header does not reach the redirect target', async () => {
    const seen: string[] = [];
    const target = http.createServer((req, res) => {
      seen.push(String(req.headers.auth ?? 'no-auth'));
      res.end('{}');
    });
    target.listen(0, '127.0.0.1');
    await once(target, 'listening');
    const redirector = http.createServer((_req, res) => {
      res.writeHead(307, { location: `http://127.0.0.1:${(target.address() as AddressInfo).port}/steal` });
      res.end();
    });
    redirector.listen(0, '127.0.0.1');
    await once(redirector, 'listening');
    const origin = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`;
    try {
      const p = new KoreaiProvider({ secrets: async () => JSON.stringify(APP), allowedOrigins: [origin] });
      const j = koreaiJob(
        parseConfig({ downloadAllowlist: [origin], targets: [{ provider: 'koreai', host: origin, botId: BOT, credentialsSecret: 's' }] })
          .targets[0] as KoreaiTarget,
      );
      const err = await failure(p.start(j));
      expect(err).toBeInstanceOf(ProviderRequestError);
      expect(err.message).toContain('HTTP 307');
      expect(seen).toEqual([]);
    } finally {
      target.close();
      redirector.close();
    }
  });

  it('cleanup does nothing and calls nothing (Kore.ai has no export to delete)', async () => {
    const before = kore.calls.length;
    await provider.cleanup(job(), { exportId: 'ber-1' });
    expect(kore.calls.length).toBe(before);
  });
});
