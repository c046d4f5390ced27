/**
 * Scrubbing text that came from a provider before it reaches an error, a
 * cause, the run manifest or a log: provider error messages may echo what
 * was sent to them.
 *
 * - A URL keeps its scheme, host and path (redactUrl); its query, where
 *   presigned URLs carry their signature, is dropped.
 * - Anything shaped like a JWT becomes `<jwt>`; an AWS access key id `<aws-key>`,
 *   a run of 40 or more base64 characters (a secret key, a session token) `<secret>`.
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
/** AWS access key ids: long-term (AKIA) and temporary (ASIA) ones, 20 characters (IAM User Guide, "Unique identifiers"). */
const AWS_KEY_ID = /\b(AKIA|ASIA)[A-Z0-9]{16}\b/g;
/** A session token or secret key echoed back: a run of 40 or more base64 characters. */
const LONG_BASE64 = /[A-Za-z0-9+/]{40,}={0,2}/g;
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
    .replace(AWS_KEY_ID, '<aws-key>')
    .replace(BASE64URL_RUN, (run) => (remembered.some((s) => s.includes(run)) ? '<jwt>' : run))
    .replace(LONG_BASE64, '<secret>');
}
