/**
 * `botvault restore` of a Kore.ai archive: POST /api/public/uploadfile
 * (multipart) → fileId → POST /api/public/bot/{botId}/import (existing bot)
 * or /api/public/bot/import (new bot) → poll GET
 * /api/public/bot/import/status/{bir}.
 */
import { z } from 'zod';
import { BotVaultError } from '../../core/errors';
import { type ProviderRestore, type RestoreEnv, type RestoreOutcome, RestoreRefusedError, sleep } from '../restore';
import { type KoreaiApp, koreaiCall, koreaiErrorText } from './client';
import { koreaiBotName } from './export-format';
import { koreaiJob, parseKoreaiKey } from './keys';
import { exportCredentials, KOREAI_BOT_ID, type KoreaiTarget } from './target';

const startSchema = z.object({ bir: z.string().min(1).optional(), _id: z.string().min(1).optional(), status: z.string().optional() });
const statusSchema = z.object({
  status: z.string().optional(),
  streamId: z.string().optional(),
  message: z.string().optional(),
  statusLogs: z
    .array(z.object({ status: z.string().optional(), message: z.string().optional(), taskName: z.string().optional() }).loose())
    .optional(),
});

/**
 * The config target an archive key belongs to: it names the host, the credentials secret and whether JTI is
 * enforced. A target of the key's own bot first; else a discovery target of the key's host and export type
 * (it may have found the bot).
 */
function targetFor(env: RestoreEnv, key: string): KoreaiTarget {
  const kore = env.targets.filter((t): t is KoreaiTarget => t.provider === 'koreai');
  const parts = key.split('/');
  const hit =
    kore.find((t) => !t.discover && koreaiJob(t).key === key) ??
    kore.find((t) => t.discover && parseKoreaiKey(key) !== undefined && new URL(t.host).host === parts[1] && t.exportType === parts[3]);
  if (!hit) {
    throw new RestoreRefusedError(
      `${key}: no Kore.ai target in the config backs it up, so its host and credentials secret are unknown; pass --config with the config that has it`,
    );
  }
  return hit;
}

export const restoreKoreai: ProviderRestore = async (source, opts, env) => {
  const { resource, entries, info } = source;
  if (!entries.has('botDefinition.json') || !entries.has('config.json')) {
    throw new RestoreRefusedError(`${resource.key} is not a Kore.ai bot export (no botDefinition.json and config.json); not restoring it`);
  }
  const target = targetFor(env, resource.key);
  const app: KoreaiApp = { host: new URL(target.host).origin, credentialsSecret: exportCredentials(target), enforceJti: target.enforceJti };
  const deps = { secrets: env.secrets, allowedOrigins: env.allowedOrigins, timeoutMs: 60_000 };
  const call = (method: 'GET' | 'POST', path: string, body?: unknown) =>
    koreaiCall(app, deps, { method, path, body, what: `Kore.ai ${method} ${path}`, scope: 'the Bot Import scope' });

  // The bot of the archive's own key, never one named by the sidecar: another bot needs --to-bot.
  const wanted = opts.toBot ?? resource.botId!;
  const existing = KOREAI_BOT_ID.test(wanted);
  const notes: string[] = [];
  if (opts.merge && opts.merge !== 'Overwrite')
    throw new RestoreRefusedError(
      `--merge ${opts.merge}: a Kore.ai import replaces the bot's in-development definition; the only strategy is Overwrite`,
    );
  if (existing) {
    // The export status call is read-only: it proves the credentials and that the app may see the bot.
    try {
      await call('GET', `/api/public/bot/${encodeURIComponent(wanted)}/export/status`);
    } catch (err) {
      const notFound = err instanceof BotVaultError && err.httpStatus === 404;
      // "No bot export found" is a 404 about exports, not the bot: the bot is there, it was never exported.
      if (!notFound || !/No bot export found/.test(err.message)) {
        throw notFound
          ? new RestoreRefusedError(`Kore.ai bot ${wanted} was not found at ${app.host}; give --to-bot a new bot name to import as a new bot`)
          : err;
      }
    }
    if (opts.merge !== 'Overwrite') {
      throw new RestoreRefusedError(
        `importing into existing Kore.ai bot ${wanted} replaces its in-development definition: pass --merge Overwrite to do that, or --to-bot NAME to import as a new bot`,
      );
    }
    notes.push("the import replaces the bot's in-development definition; publish it in the Bot Builder to make it live");
  } else {
    // A new bot has no bot to look at, but the credentials are proved the same read-only way, with the
    // archive's own bot: a 404 (that bot is gone, or was never exported) proves them as well as an answer.
    try {
      await call('GET', `/api/public/bot/${encodeURIComponent(resource.botId!)}/export/status`);
    } catch (err) {
      if (!(err instanceof BotVaultError && err.httpStatus === 404)) throw err;
    }
  }
  let archiveName: string | undefined;
  try {
    archiveName = koreaiBotName(JSON.parse(entries.get('botDefinition.json')!.toString('utf8')));
  } catch {
    // the import validates the definition; the name is only for the report
  }
  const botName = existing ? (info?.koreai?.botName ?? archiveName ?? null) : wanted;
  const destination = { botId: existing ? wanted : null, botName, existing };
  const sources: Record<string, string> = { credentials: `secret ${app.credentialsSecret}` };
  const base = { destination, mergeStrategy: existing ? 'Overwrite' : null, sources, notes };
  return { ...base, conflicts: [], start, close: () => {} };

  async function start(): Promise<RestoreOutcome> {
    // ---- from here on the provider is changed ----
    const form = new FormData();
    form.set('file', new Blob([new Uint8Array(source.data)], { type: 'application/zip' }), 'bot.zip');
    form.set('fileContext', 'bulkImport');
    form.set('fileExtension', 'zip');
    const uploaded = z.object({ fileId: z.string().min(1) }).safeParse(await call('POST', '/api/public/uploadfile', form));
    if (!uploaded.success) throw new RestoreRefusedError('Kore.ai uploadfile answered without a fileId');
    const body = { uploadMode: 'ZIP', zipInfo: uploaded.data.fileId, ...(existing ? {} : { name: wanted }) };
    const started = startSchema.safeParse(
      await call('POST', existing ? `/api/public/bot/${encodeURIComponent(wanted)}/import` : '/api/public/bot/import', body),
    );
    const bir = started.success ? (started.data.bir ?? started.data._id) : undefined;
    if (!bir) throw new RestoreRefusedError('Kore.ai bot import answered without an import request id (bir)');

    const deadline = Date.now() + opts.timeout * 1000;
    for (;;) {
      const parsed = statusSchema.safeParse(await call('GET', `/api/public/bot/import/status/${encodeURIComponent(bir)}`));
      if (!parsed.success) throw new RestoreRefusedError(`Kore.ai import status for ${bir} was not the expected JSON object`);
      const s = parsed.data.status?.toLowerCase();
      if (s === 'success') {
        return {
          ...base,
          destination: { ...destination, botId: parsed.data.streamId ?? destination.botId },
          importId: bir,
          status: 'COMPLETED',
          failureReasons: [],
        };
      }
      if (s === 'failed' || s === 'error' || s === 'failure') {
        const reasons = [parsed.data.message, ...(parsed.data.statusLogs ?? []).filter((l) => l.status === 'failed').map((l) => l.message)].filter(
          (m): m is string => Boolean(m),
        );
        return {
          ...base,
          importId: bir,
          status: 'FAILED',
          failureReasons: [...new Set(reasons.map((r) => koreaiErrorText(JSON.stringify({ message: r }))))],
        };
      }
      if (Date.now() > deadline) return { ...base, importId: bir, status: 'TIMED_OUT', failureReasons: [] };
      await sleep(opts.pollMs);
    }
  }
};
