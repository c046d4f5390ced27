/**
 * The simulators' import APIs on their own, through the real Lex V2 SDK client
 * and plain HTTP (as `botvault restore` uses them): what they accept, what they
 * refuse and how, and that an import changes what later exports contain. Also
 * the restore upload guard (`putUpload`) against the simulator's upload URL.
 */
import {
  CreateExportCommand,
  CreateUploadUrlCommand,
  DescribeExportCommand,
  DescribeImportCommand,
  LexModelsV2Client,
  StartImportCommand,
} from '@aws-sdk/client-lex-models-v2';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readZipEntries } from '../../lib/core/archive/zip';
import { putUpload } from '../../lib/core/upload';
import { lexExportEntries, lexExportZip, sampleLexBot } from '../generators/lex-export';
import { writeZip } from '../generators/zip-writer';
import { startKoreSimulator, type KoreSimulator } from './koreai-simulator';
import { startLexSimulator, type LexSimulator } from './lex-simulator';

const BOT_SPEC = {
  botName: 'Alpha',
  roleArn: 'arn:aws:iam::123456789012:role/r',
  dataPrivacy: { childDirected: false },
  idleSessionTTLInSeconds: 300,
};

describe('Lex V2 simulator: CreateUploadUrl, upload, StartImport, DescribeImport', () => {
  let sim: LexSimulator;
  let lex: LexModelsV2Client;
  beforeAll(async () => {
    sim = await startLexSimulator({ bots: [{ botId: 'ALPHABOT01', botName: 'Alpha', locales: ['en_US', 'de_DE'], intents: ['Greet', 'Order'] }] });
    lex = new LexModelsV2Client({ endpoint: sim.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' } });
  });
  afterAll(async () => {
    lex?.destroy();
    await sim?.close();
  });

  async function exportOf(spec: { botId: string; botVersion: string; localeId?: string }): Promise<Buffer> {
    const resourceSpecification = spec.localeId
      ? { botLocaleExportSpecification: { ...spec, localeId: spec.localeId } }
      : { botExportSpecification: spec };
    const { exportId } = await lex.send(new CreateExportCommand({ resourceSpecification, fileFormat: 'LexJson' }));
    const d = await lex.send(new DescribeExportCommand({ exportId }));
    return Buffer.from(await (await fetch(d.downloadUrl!)).arrayBuffer());
  }
  const texts = async (zip: Buffer) => Object.fromEntries([...(await readZipEntries(zip))].map(([k, v]) => [k, v.toString('utf8')]));

  it('an upload URL takes one PUT with its signature; a wrong signature is 403 and stores nothing', async () => {
    const { importId, uploadUrl } = await lex.send(new CreateUploadUrlCommand({}));
    expect(uploadUrl).toMatch(new RegExp(`^${sim.url}/uploads/${importId}\\?.*X-Amz-Signature=[0-9a-f]{64}`));
    const forged = new URL(uploadUrl!);
    forged.searchParams.set('X-Amz-Signature', '0'.repeat(64));
    expect((await fetch(forged, { method: 'PUT', body: 'x' })).status).toBe(403);
    expect(sim.imports.get(importId!)).toMatchObject({ uploaded: false, started: false });
    // Started without a file: refused.
    await expect(
      lex.send(new StartImportCommand({ importId, mergeStrategy: 'Overwrite', resourceSpecification: { botImportSpecification: BOT_SPEC } })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });

  it('refuses Append for a bot import and an unknown import id', async () => {
    const { importId, uploadUrl } = await lex.send(new CreateUploadUrlCommand({}));
    await fetch(uploadUrl!, { method: 'PUT', body: await exportOf({ botId: 'ALPHABOT01', botVersion: 'DRAFT' }) });
    await expect(
      lex.send(new StartImportCommand({ importId, mergeStrategy: 'Append', resourceSpecification: { botImportSpecification: BOT_SPEC } })),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('only supported for custom vocabulary'),
    });
    await expect(lex.send(new DescribeImportCommand({ importId: 'NOSUCHIMP1' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('a locale archive with Overwrite replaces that locale only; later DRAFT exports hold the imported files', async () => {
    const germanBefore = await texts(await exportOf({ botId: 'ALPHABOT01', botVersion: 'DRAFT', localeId: 'de_DE' }));
    const english = await exportOf({ botId: 'ALPHABOT01', botVersion: 'DRAFT', localeId: 'en_US' });
    sim.modifyBot('ALPHABOT01', { intents: ['Greet', 'Refund'] });

    const localeSpec = { botLocaleImportSpecification: { botId: 'ALPHABOT01', botVersion: 'DRAFT', localeId: 'en_US' } };
    // FailOnConflict first: the locale exists, so the import fails and nothing changes.
    const refused = await lex.send(new CreateUploadUrlCommand({}));
    await fetch(refused.uploadUrl!, { method: 'PUT', body: english });
    await lex.send(new StartImportCommand({ importId: refused.importId, mergeStrategy: 'FailOnConflict', resourceSpecification: localeSpec }));
    expect(await lex.send(new DescribeImportCommand({ importId: refused.importId }))).toMatchObject({
      importStatus: 'Failed',
      failureReasons: ['Locale en_US of bot ALPHABOT01 already exists and the merge strategy is FailOnConflict: nothing was changed.'],
    });
    expect(Object.keys(await texts(await exportOf({ botId: 'ALPHABOT01', botVersion: 'DRAFT', localeId: 'en_US' })))).toContain(
      'Alpha/BotLocales/en_US/Intents/Refund/Intent.json',
    );

    const { importId, uploadUrl } = await lex.send(new CreateUploadUrlCommand({}));
    expect((await fetch(uploadUrl!, { method: 'PUT', body: english })).status).toBe(200);
    const started = await lex.send(new StartImportCommand({ importId, mergeStrategy: 'Overwrite', resourceSpecification: localeSpec }));
    expect(started.importStatus).toBe('InProgress');
    const done = await lex.send(new DescribeImportCommand({ importId }));
    expect(done).toMatchObject({ importStatus: 'Completed', importedResourceId: 'ALPHABOT01', mergeStrategy: 'Overwrite' });

    const englishAfter = await texts(await exportOf({ botId: 'ALPHABOT01', botVersion: 'DRAFT', localeId: 'en_US' }));
    expect(englishAfter).toEqual(await texts(english));
    expect(Object.keys(englishAfter)).toContain('Alpha/BotLocales/en_US/Intents/Order/Intent.json');
    // de_DE keeps the modified intents (Refund), not the imported ones.
    const germanAfter = await texts(await exportOf({ botId: 'ALPHABOT01', botVersion: 'DRAFT', localeId: 'de_DE' }));
    expect(Object.keys(germanAfter)).toContain('Alpha/BotLocales/de_DE/Intents/Refund/Intent.json');
    expect(germanAfter).not.toEqual(germanBefore);
  });

  /** Uploads `zip` and starts a bot import with Overwrite; the import's description once settled. */
  async function importZip(zip: Buffer, filePassword?: string) {
    const { importId, uploadUrl } = await lex.send(new CreateUploadUrlCommand({}));
    await fetch(uploadUrl!, { method: 'PUT', body: zip });
    await lex.send(
      new StartImportCommand({
        importId,
        mergeStrategy: 'Overwrite',
        resourceSpecification: { botImportSpecification: BOT_SPEC },
        ...(filePassword ? { filePassword } : {}),
      }),
    );
    return lex.send(new DescribeImportCommand({ importId }));
  }

  it('imports what a real export holds; refuses one without Manifest.json, of the wrong type, or an unpacked bot folder', async () => {
    const real = await lexExportZip(sampleLexBot('ALPHABOT01', 'Alpha', ['Greet', 'Order'], ['en_US', 'de_DE']), { seed: 7 });
    expect(await importZip(real)).toMatchObject({ importStatus: 'Completed' });
    // The import documentation's spelling (manifest.json / metadata / Bot) is accepted too.
    const documented = lexExportEntries(sampleLexBot('ALPHABOT01', 'Alpha', ['Greet']), { seed: 1 }).map((e) =>
      e.name === 'Manifest.json'
        ? { name: 'manifest.json', data: '{"metadata":{"schemaVersion":"1.0","fileFormat":"LexJson","resourceType":"Bot"}}' }
        : e,
    );
    expect(await importZip(await writeZip(documented, { mtime: new Date() }))).toMatchObject({ importStatus: 'Completed' });

    const entries = lexExportEntries(sampleLexBot('ALPHABOT01', 'Alpha', ['Greet']), { seed: 1 });
    const noManifest = await writeZip(
      entries.filter((e) => e.name !== 'Manifest.json'),
      { mtime: new Date() },
    );
    expect(await importZip(noManifest)).toMatchObject({ importStatus: 'Failed', failureReasons: [expect.stringMatching(/missing Manifest\.json/)] });
    const locale = lexExportEntries(sampleLexBot('ALPHABOT01', 'Alpha', ['Greet']), { kind: 'BOT_LOCALE', localeId: 'en_US' });
    expect(await importZip(await writeZip(locale, { mtime: new Date() }))).toMatchObject({
      importStatus: 'Failed',
      failureReasons: [expect.stringMatching(/resource type BOT_LOCALE, but the import is for a BOT/)],
    });
    const unpacked = entries.filter((e) => e.name !== 'Manifest.json').map((e) => ({ ...e, name: e.name.slice('Alpha/'.length) }));
    expect(await importZip(await writeZip(unpacked, { mtime: new Date() }))).toMatchObject({ importStatus: 'Failed' });
  });

  it('a password-protected export imports only with its filePassword (either cipher), and the password is never echoed', async () => {
    const password = 'sentinel-import-pw-55e0';
    for (const encryption of ['aes256', 'zipcrypto'] as const) {
      const zip = await lexExportZip(sampleLexBot('ALPHABOT01', 'Alpha', ['Greet']), { password, encryption });
      const missing = await importZip(zip);
      expect(missing).toMatchObject({ importStatus: 'Failed', failureReasons: [expect.stringMatching(/password protected/)] });
      expect(await importZip(zip, 'wrong-password')).toMatchObject({
        importStatus: 'Failed',
        failureReasons: [expect.stringMatching(/password .* not valid/)],
      });
      const ok = await importZip(zip, password);
      expect(ok).toMatchObject({ importStatus: 'Completed' });
      expect(JSON.stringify([ok, missing, [...sim.imports.values()]])).not.toContain(password);
    }
  });

  it('putUpload refuses a redirect from the upload URL, even from an allowlisted origin', async () => {
    const redirecting = await startLexSimulator({ bots: [], defaultFaults: { upload: 'redirect' } });
    const client = new LexModelsV2Client({
      endpoint: redirecting.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
    });
    try {
      const { uploadUrl } = await client.send(new CreateUploadUrlCommand({}));
      const err = await putUpload(uploadUrl!, Buffer.from('PK'), { allowedHosts: [], allowedOrigins: [redirecting.url] }).catch(
        (e: unknown) => e as Error,
      );
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(
        /^upload to http:\/\/127\.0\.0\.1:\d+\/uploads\/\w+ was answered with a redirect \(HTTP 307\); BotVault never follows one$/,
      );
      // And without the allowlist, http is refused before connecting.
      await expect(putUpload(uploadUrl!, Buffer.from('PK'), { allowedHosts: ['*.s3.amazonaws.com'], allowedOrigins: [] })).rejects.toThrow(
        /^refusing to upload the archive: .*only https is allowed/,
      );
      expect(redirecting.calls.filter((c) => c.op === 'Upload')).toHaveLength(1);
    } finally {
      client.destroy();
      await redirecting.close();
    }
  });
});

describe('Kore.ai simulator: uploadfile, import, import status', () => {
  const APP = { clientId: 'cs-import-test', clientSecret: 'import-test-secret' };
  const BOT = 'st-1a2b3c4d-0000-1111-2222-333344445555';
  let kore: KoreSimulator;
  beforeAll(async () => {
    kore = await startKoreSimulator({ apps: [APP], bots: [{ botId: BOT, botName: 'Concierge', dialogs: ['Welcome'] }] });
  });
  afterAll(async () => kore?.close());

  const jwt = () =>
    new SignJWT({ appId: APP.clientId })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('test')
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(new TextEncoder().encode(APP.clientSecret));
  const upload = async (fields: Record<string, string | Blob>, auth = true) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.set(k, v);
    return fetch(`${kore.url}/api/public/uploadfile`, { method: 'POST', body: form, headers: auth ? { auth: await jwt() } : {} });
  };

  it('uploadfile needs a JWT, fileContext bulkImport and a file; answers a fileId', async () => {
    expect((await upload({ fileContext: 'bulkImport', fileExtension: 'zip', file: new Blob(['x']) }, false)).status).toBe(401);
    const wrong = await upload({ fileContext: 'other', fileExtension: 'zip', file: new Blob(['x']) });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toEqual({ errors: [{ msg: 'fileContext must be bulkImport', code: 400 }] });
    const ok = await upload({ fileContext: 'bulkImport', fileExtension: 'zip', file: new Blob(['not a zip']) });
    expect(ok.status).toBe(200);
    const { fileId } = (await ok.json()) as { fileId: string };
    expect(kore.uploads.get(fileId)?.toString()).toBe('not a zip');
  });

  it('an import of something that is not a bot export ends failed with a reason; an unknown bir is 404', async () => {
    const { fileId } = (await (await upload({ fileContext: 'bulkImport', fileExtension: 'zip', file: new Blob(['not a zip']) })).json()) as {
      fileId: string;
    };
    const started = await fetch(`${kore.url}/api/public/bot/${BOT}/import`, {
      method: 'POST',
      headers: { auth: await jwt(), 'content-type': 'application/json' },
      body: JSON.stringify({ uploadMode: 'ZIP', zipInfo: fileId }),
    });
    expect(started.status).toBe(200);
    const { status, bir } = (await started.json()) as { status: string; bir: string };
    expect(status).toBe('pending');
    const polled = await fetch(`${kore.url}/api/public/bot/import/status/${bir}`, { headers: { auth: await jwt() } });
    expect(await polled.json()).toMatchObject({
      _id: bir,
      status: 'failed',
      message: 'Bot import failed: the uploaded file is not a valid bot export zip',
    });
    expect((await fetch(`${kore.url}/api/public/bot/import/status/bir-nope`, { headers: { auth: await jwt() } })).status).toBe(404);
  });
});
