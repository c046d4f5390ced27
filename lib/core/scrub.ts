/**
 * Scrubbing text that came from a provider before it reaches an error, a
 * cause, the run manifest or a log: provider error messages may echo what
 * was sent to them.
 *
 * - A URL keeps its scheme, host and path (redactUrl); its query, where
 *   presigned URLs carry their signature, is dropped.
 * - Anything shaped like a JWT becomes `<jwt>`.
 * - Every credential this process handed to a provider (each Kore.ai JWT it
 *   signed: rememberSecret) is scrubbed in pieces too: any run of 8 or more
 *   base64url characters found inside one of them becomes `<jwt>`, so an
 *   echo of just a signature, or of part of one, is caught where the
 *   whole-token pattern is not.
 */
import { redactUrl } from './download-guard';

const JWT_LIKE = /eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/g;
/** A URL, without the punctuation a sentence puts after it. */
const URL_LIKE = /https?:\/\/[^\s"'<>]*[^\s"'<>.,;:!?)\]]/g;
const BASE64URL_RUN = /[\w-]{8,}/g;
/** The credentials remembered, newest last; bounded, since each lives a minute at most (a JWT's lifetime). */
const remembered: string[] = [];
const REMEMBERED_MAX = 256;

/** Marks `secret` as never to be shown, whole or in part. */
export function rememberSecret(secret: string): void {
  remembered.push(secret);
  if (remembered.length > REMEMBERED_MAX) remembered.splice(0, remembered.length - REMEMBERED_MAX);
}

/** `text` with URLs' queries, JWT-shaped tokens and any piece of a remembered secret removed. */
export function scrubText(text: string): string {
  return text
    .replace(URL_LIKE, (url) => {
      try {
        return redactUrl(url);
      } catch {
        return '<url>';
      }
    })
    .replace(JWT_LIKE, '<jwt>')
    .replace(BASE64URL_RUN, (run) => (remembered.some((s) => s.includes(run)) ? '<jwt>' : run));
}
