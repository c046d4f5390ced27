/**
 * The Lex deep drill's deadlines and its own imports (lib/providers/lex/drill.ts),
 * through the real @aws-sdk/client-lex-models-v2 against the Lex simulator
 * behind a fault proxy that answers chosen operations as real Lex does when
 * it throttles or is busy (429 ThrottlingException, 409 ConflictException):
 * nothing is asked of Lex once the deadline has passed, a delete never waits
 * past the deadline it is given, a DeleteBot never accepted is said so, and a
 * throttled DescribeImport does not lose the run's own scratch bot.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { CreateExportCommand, DescribeExportCommand, LexModelsV2Client, paginateListBots } from '@aws-sdk/client-lex-models-v2';
import { afterEach, describe, expect, it } from 'vitest';
import { readZipEntries } from '../../lib/core/archive/zip';
import { keyInfo } from '../../lib/providers/definitions';
import { type DrillContext, drillFor, type ProviderDrill, SCRATCH_BOT_PREFIX, scratchBotName, waitFor } from '../../lib/providers/drill';
import { LEX_BOTS } from '../../scripts/local-estate';
import { createLexTenant, type LexFaults } from '../simulators/lex-simulator';

const ACCOUNT = '123456789012';
const HOME = { account: ACCOUNT, region: 'us-east-1' };
const KEY = `lex/${ACCOUNT}/us-east-1/WEATHERBOT/3/bot.zip`;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Which requests the proxy answers itself, and how: a Lex error (status, x-amzn-errortype). */
type Fault = (req: IncomingMessage) => { status: number; type: string } | undefined;

interface Rig {
  url: string;
  client: LexModelsV2Client;
  drill: ProviderDrill;
  tenant: ReturnType<typeof createLexTenant>;
  fault: { fn?: Fault };
  ops: string[];
}
let rig: Rig | undefined;
let server: Server | undefined;
const savedEnv: Record<string, string | undefined> = {};

async function start(faults: LexFaults = {}): Promise<Rig> {
  const fault: Rig['fault'] = {};
  const ops: string[] = [];
  let tenant!: ReturnType<typeof createLexTenant>;
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const hit = fault.fn?.(req);
    if (hit) {
      req.resume();
      res.writeHead(hit.status, { 'content-type': 'application/json', 'x-amzn-errortype': hit.type });
      res.end(JSON.stringify({ message: `${hit.type} (fault)` }));
      return;
    }
    tenant.handle(req, res);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  // The restore's own Lex client (restoreLex) is made from the standard variables, as the Lambda's is.
  const env = { AWS_ENDPOINT_URL_LEX_MODELS_V2: url, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 't', AWS_SECRET_ACCESS_KEY: 't' };
  for (const k of Object.keys(env)) savedEnv[k] ??= process.env[k];
  Object.assign(process.env, env);
  tenant = createLexTenant({ bots: LEX_BOTS, defaultFaults: faults }, url, (c) => ops.push(c.op));
  // No SDK retries: every throttled answer reaches the drill (as it does once the SDK's own attempts are spent).
  const client = new LexModelsV2Client({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: 't', secretAccessKey: 't' },
    maxAttempts: 1,
  });
  const drill = drillFor('lex', {
    secrets: async () => '',
    allowedOrigins: [url],
    lex: { client, roleArn: `arn:aws:iam::${ACCOUNT}:role/Drill`, home: HOME },
  })!;
  rig = { url, client, drill, tenant, fault, ops };
  return rig;
}

afterEach(async () => {
  rig?.client.destroy();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  rig = undefined;
  server = undefined;
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
    delete savedEnv[k];
  }
});

function ctxOf(deadline: number, extra: Partial<DrillContext> = {}): DrillContext {
  return {
    runId: 'run-1',
    deadline,
    pollMs: 20,
    now: Date.now,
    sleep,
    call: (_op, fn) => fn(),
    count: () => undefined,
    waited: () => undefined,
    log: () => undefined,
    ...extra,
  };
}

/** WEATHERBOT version 3 as the simulator exports it: the backup the drill imports. */
async function backup(r: Rig) {
  const ex = await r.client.send(
    new CreateExportCommand({ fileFormat: 'LexJson', resourceSpecification: { botExportSpecification: { botId: 'WEATHERBOT', botVersion: '3' } } }),
  );
  for (;;) {
    const d = await r.client.send(new DescribeExportCommand({ exportId: ex.exportId }));
    if (d.exportStatus === 'Completed') {
      const data = Buffer.from(await (await fetch(d.downloadUrl!)).arrayBuffer());
      return { resource: keyInfo(KEY, HOME), data, entries: await readZipEntries(data) };
    }
    await sleep(10);
  }
}

async function scratchBots(r: Rig): Promise<{ id: string; name: string; status?: string }[]> {
  const out: { id: string; name: string; status?: string }[] = [];
  for await (const p of paginateListBots({ client: r.client }, {}))
    for (const b of p.botSummaries ?? [])
      if (b.botName?.startsWith(SCRATCH_BOT_PREFIX)) out.push({ id: b.botId!, name: b.botName, ...(b.botStatus ? { status: b.botStatus } : {}) });
  return out;
}

describe('deep drill deadlines (Lex)', () => {
  it('waitFor asks nothing once the deadline has passed', async () => {
    let attempts = 0;
    expect(
      await waitFor(ctxOf(Date.now() - 1), async () => {
        attempts++;
        return true;
      }),
    ).toBe(false);
    expect(attempts).toBe(0);
  });

  it("past the steps' deadline no StartImport goes out (and with less than the minimum time left neither)", async () => {
    const r = await start();
    const source = await backup(r);
    for (const deadline of [Date.now() - 1_000, Date.now() + 5_000]) {
      const out = await r.drill.importArchive(source, scratchBotName('run-1', KEY, String(deadline)), ctxOf(deadline));
      expect(out.ok).toBe(false);
      expect(out.bot).toBeUndefined();
    }
    expect(r.ops).not.toContain('StartImport');
    expect(await scratchBots(r)).toEqual([]);
  });

  it('a DeleteBot refused as busy until the deadline: gives up at the deadline it is given, and says DeleteBot was not accepted', async () => {
    const r = await start();
    const source = await backup(r);
    const name = scratchBotName('run-1', KEY, 'v');
    const imported = await r.drill.importArchive(source, name, ctxOf(Date.now() + 60_000));
    expect(imported.reasons).toBeUndefined();
    expect(imported.ok).toBe(true);
    r.fault.fn = (req) =>
      req.method === 'DELETE' && /^\/bots\/[^/]+\/?(\?|$)/.test(req.url ?? '') ? { status: 409, type: 'ConflictException' } : undefined;
    // A fake clock: each poll moves it on; the bot stays Available (a refusal as "importing"), so only the deadline ends the wait.
    let clock = 1_000_000;
    const deadline = clock + 30_000;
    const err = await r.drill
      .deleteBot(imported.bot!, ctxOf(deadline, { now: () => clock, pollMs: 10_000, sleep: async (ms) => void (clock += ms) }))
      .catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/DeleteBot of bot \w+ was not accepted before the drill's end \(last answer ConflictException/);
    expect((err as Error).message).not.toMatch(/still being deleted/);
    expect(clock).toBeLessThanOrEqual(deadline);
    expect(r.ops.filter((o) => o === 'DeleteBot')).toEqual([]); // every DeleteBot was answered by the fault, none reached Lex
  });

  it("an import still running at the steps' deadline (DescribeImport throttled throughout): the delete phase polls it until its bot exists, then deletes it", async () => {
    const r = await start({ importLatencyMs: 5_000 });
    const source = await backup(r);
    const name = scratchBotName('run-1', KEY, 'slow');
    r.fault.fn = (req) =>
      req.method === 'GET' && /^\/imports\/[^/]+\/?$/.test(req.url ?? '') ? { status: 429, type: 'ThrottlingException' } : undefined;
    // Enough time for StartImport (the minimum is 30 s); each of the drill's waits moves the clock on a minute.
    let skew = 0;
    const out = await r.drill.importArchive(
      source,
      name,
      ctxOf(Date.now() + 31_000, { now: () => Date.now() + skew, sleep: async () => void (skew += 60_000) }),
    );
    expect(out).toMatchObject({ ok: false, reasons: [expect.stringMatching(/still running at the drill's deadline/)] });
    expect(out.bot).toBeUndefined();
    expect(out.pendingImport).toMatch(/\w/);
    expect(r.ops.filter((o) => o === 'StartImport')).toHaveLength(1);
    // The delete phase: Lex answers again; the import ends, its bot is found and deleted.
    r.fault.fn = undefined;
    const settled = await r.drill.settleImport!(out.pendingImport!, name, ctxOf(Date.now() + 30_000));
    expect(settled?.name).toBe(name);
    expect(await r.drill.deleteBot(settled!, ctxOf(Date.now() + 30_000))).toBe('deleted');
    expect((await scratchBots(r)).filter((b) => b.status !== 'Deleting')).toEqual([]);
  });
});

describe("deep drill's own import (Lex)", () => {
  it("a DescribeImport throttled after StartImport was accepted: the import is polled, never started again, and its bot is the run's own", async () => {
    const r = await start({ importLatencyMs: 50 });
    const source = await backup(r);
    const name = scratchBotName('run-1', KEY, 'throttled');
    let throttled = 0;
    r.fault.fn = (req) =>
      req.method === 'GET' && /^\/imports\/[^/]+\/?$/.test(req.url ?? '') && throttled++ < 3
        ? { status: 429, type: 'ThrottlingException' }
        : undefined;
    const out = await r.drill.importArchive(source, name, ctxOf(Date.now() + 60_000));
    expect(out.reasons).toBeUndefined();
    expect(out).toMatchObject({ ok: true, bot: { name } });
    expect(r.ops.filter((o) => o === 'StartImport')).toHaveLength(1);
    expect(await r.drill.deleteBot(out.bot!, ctxOf(Date.now() + 30_000))).toBe('deleted');
  });
});
