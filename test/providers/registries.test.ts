/**
 * Every provider's pieces agree (README "Adding a provider"). The compiler
 * already refuses a provider missing from a registry; this proves the pieces
 * it finds fit together, for every name in PROVIDER_NAMES, by running each
 * provider against its own simulator (test/simulators/providers.ts) with the
 * real clients: the target parses with the definition's schema, Plan's job
 * has the key and id the definition's rules give, the export is started,
 * polled to READY and downloaded from an allowed host, it opens as a zip, the
 * sidecar section parses with the definition's schema, the grants name the
 * Lambdas that make those calls, and restore knows the provider.
 */
import { LexModelsV2Client } from '@aws-sdk/client-lex-models-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferByteSource } from '../../lib/core/archive/byte-source';
import { ZipArchive } from '../../lib/core/archive/zip';
import { PROVIDER_NAMES, type ProviderName } from '../../lib/core/contracts';
import { DEFINITIONS, keyInfo, restoreDetailsSchema, targetJobId, targetSchema } from '../../lib/providers/definitions';
import type { GrantContext, GrantedFunction } from '../../lib/providers/grant-context';
import { archiveSecrets, grantProviders } from '../../lib/providers/grants';
import { providerFor } from '../../lib/providers/registry';
import { restoreFor } from '../../lib/providers/restore';
import { SIMULATORS, type RunningSimulator } from '../simulators/providers';

const REGION = 'us-east-1';
const HOME = { account: '123456789012', region: REGION };

/** A GrantContext that records what it is asked to allow. */
function recordingGrants() {
  const allowed: { fn: GrantedFunction; actions: readonly string[]; resources: readonly string[] }[] = [];
  const ctx: GrantContext = {
    allow: (fn, actions, resources) => {
      if (resources.length) allowed.push({ fn, actions, resources });
    },
    accounts: [],
    arn: (r) => `arn:aws:${r.service}:${r.region ?? REGION}:123456789012:${r.resource}${r.sep}${r.name}`,
    secretArn: (ref) => `arn:aws:secretsmanager:${REGION}:123456789012:secret:${ref}-??????`,
    acknowledgeWildcard: () => undefined,
  };
  return { ctx, allowed };
}

describe.each(PROVIDER_NAMES.map((name) => [name] as [ProviderName]))('provider %s', (name) => {
  let sim: RunningSimulator;
  const allowlist = process.env.BOTVAULT_DOWNLOAD_ALLOWLIST;
  beforeAll(async () => {
    sim = await SIMULATORS[name]();
    // As the stack configures the Lambdas for a local config that allowlists the simulator.
    process.env.BOTVAULT_DOWNLOAD_ALLOWLIST = sim.origin;
  });
  afterAll(async () => {
    if (allowlist === undefined) delete process.env.BOTVAULT_DOWNLOAD_ALLOWLIST;
    else process.env.BOTVAULT_DOWNLOAD_ALLOWLIST = allowlist;
    await sim?.close();
  });

  it('writes archives under its own prefix, and its keys name the job Plan made', async () => {
    const definition = DEFINITIONS[name];
    expect(definition.archivePrefix).toBe(`${name}/`);
    const target = targetSchema.parse(sim.target);
    expect(target.provider).toBe(name);
    const provider = providerFor(name, { lex: lexClient(sim), secrets: async (id) => sim.secrets[id]! });
    expect(provider.name).toBe(name);
    const [job, ...more] = await provider.plan(target, { home: HOME, accounts: [] });
    expect(more).toEqual([]);
    expect(job!.provider).toBe(name);
    expect(job!.key.startsWith(definition.archivePrefix)).toBe(true);
    expect(keyInfo(job!.key, HOME)).toMatchObject({ key: job!.key, provider: name, id: job!.id });
    expect(targetJobId(target, HOME)).toBe(job!.id);
  });

  it('exports, downloads a zip from an allowed host, and records a sidecar section its definition parses', async () => {
    const target = targetSchema.parse(sim.target);
    const provider = providerFor(name, { lex: lexClient(sim), secrets: async (id) => sim.secrets[id]! });
    const [job] = await provider.plan(target, { home: HOME, accounts: [] });
    const ref = await provider.start(job!);
    let status = await provider.check(job!, ref);
    for (let i = 0; status.status === 'IN_PROGRESS' && i < 100; i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = await provider.check(job!, ref);
    }
    expect(status.status).toBe('READY');
    const download = await provider.downloadUrl(job!, ref);
    const url = new URL(download.url);
    // The simulator's origin is what a local config allowlists; the provider's own host rule still names real hosts.
    expect(url.origin).toBe(sim.origin);
    expect(download.allowedHosts.length).toBeGreaterThan(0);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    const zip = await ZipArchive.open(bufferByteSource(new Uint8Array(await res.arrayBuffer())));
    expect(zip.entries.length).toBeGreaterThan(0);
    const details = await provider.restoreInfo?.(job!, { readEntry: (entry, maxBytes) => zip.read(entry, maxBytes) });
    const parsed = restoreDetailsSchema.parse(details);
    expect(Object.keys(parsed)).toEqual([name]);
    expect(DEFINITIONS[name].restoreInfoSchema.safeParse(parsed[name]).success).toBe(true);
    await provider.cleanup(job!, ref);
  });

  it('grants the Lambdas that start, check and store its exports, and has a restore', () => {
    const { ctx, allowed } = recordingGrants();
    const target = targetSchema.parse(sim.target);
    grantProviders([target], ctx);
    const granted = new Set(allowed.map((a) => a.fn));
    for (const fn of ['startExport', 'checkExport', 'storeArchive'] as const) expect(granted).toContain(fn);
    // Each secret the target reads is granted to the Lambdas that read it, and to nothing else.
    for (const secret of Object.keys(sim.secrets)) {
      const readers = allowed.filter((a) => a.resources.some((r) => r.includes(`secret:${secret}-`))).map((a) => a.fn);
      expect(readers.length).toBeGreaterThan(0);
    }
    expect(archiveSecrets([target]).every((s) => Object.keys(sim.secrets).includes(s))).toBe(true);
    expect(restoreFor(name)).toBeTypeOf('function');
  });
});

describe('registries', () => {
  it('know exactly the names in PROVIDER_NAMES', () => {
    expect(Object.keys(DEFINITIONS).sort()).toEqual([...PROVIDER_NAMES].sort());
    expect(Object.keys(SIMULATORS).sort()).toEqual([...PROVIDER_NAMES].sort());
    expect(restoreFor('nope')).toBeUndefined();
    expect(() => providerFor('nope', { lex: new LexModelsV2Client({ region: REGION }), secrets: async () => '' })).toThrow(/Unknown provider "nope"/);
  });
});

function lexClient(sim: RunningSimulator): LexModelsV2Client {
  return new LexModelsV2Client({
    region: REGION,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    ...(sim.env.AWS_ENDPOINT_URL_LEX_MODELS_V2 ? { endpoint: sim.env.AWS_ENDPOINT_URL_LEX_MODELS_V2 } : {}),
  });
}
