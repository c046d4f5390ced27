/**
 * The one way BotVault uploads to a presigned URL (a restore's archive
 * upload): guarded like a download (download-guard.ts).
 */
import http from 'node:http';
import https from 'node:https';
import { assessUrl, guardedLookup, redactUrl } from './download-guard';
import { ProviderRequestError, ProviderUnavailableError, UnsafeUrlError } from './errors';

interface UploadGuard {
  readonly allowedHosts: readonly string[];
  readonly allowedOrigins: readonly string[];
}

/**
 * The checks putUpload makes of the URL before it connects (scheme, host,
 * allowlist), without connecting: a restore's dry run makes them too.
 */
export function checkUploadUrl(url: string, guard: UploadGuard): { url: URL; allowlisted: boolean } {
  try {
    return assessUrl(url, guard);
  } catch (err) {
    throw new UnsafeUrlError(`refusing to upload the archive: ${(err as Error).message.replace(/^Refusing to download /, '')}`);
  }
}

/**
 * PUT to a presigned upload URL, guarded like a download (download-guard):
 * https to the provider's hosts (or an allowlisted origin), public addresses
 * only, never a redirect. The URL is a credential: errors show it redacted.
 */
export async function putUpload(url: string, data: Buffer, guard: UploadGuard): Promise<void> {
  const { url: target, allowlisted } = checkUploadUrl(url, guard);
  const shown = redactUrl(target);
  const transport = target.protocol === 'https:' ? https : http;
  await new Promise<void>((resolve, reject) => {
    const req = transport.request(target, {
      method: 'PUT',
      headers: { 'content-length': data.length, 'content-type': 'application/zip', 'user-agent': 'botvault' },
      agent: false,
      ...(allowlisted ? {} : { lookup: guardedLookup(shown) }),
      timeout: 60_000,
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 60 s')));
    req.on('error', (e: NodeJS.ErrnoException) => reject(new ProviderUnavailableError(`upload to ${shown} failed: ${e.code ?? e.message}`)));
    req.on('response', (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) return res.on('end', () => resolve());
      if (status >= 300 && status < 400)
        return reject(new UnsafeUrlError(`upload to ${shown} was answered with a redirect (HTTP ${status}); BotVault never follows one`));
      reject(
        new ProviderRequestError(`upload to ${shown} failed: HTTP ${status}${status === 403 ? ' (the upload URL expired or was refused)' : ''}`),
      );
    });
    req.end(data);
  });
}
