/**
 * Who signed a request: the credential registry the STS simulator and the
 * Lex estate share, so credentials AssumeRole issues are accepted by Lex in
 * the role's account and nowhere else.
 *
 * It holds two kinds of principal:
 * - home credentials, registered up front (`home` option, `addHome`): by
 *   default `HOME`, the `S3RVER` key pair every handler test already signs
 *   with (test/lambdas/handler-environment.ts) as a role session of account
 *   123456789012, the role BotVault's Lambdas run as;
 * - credentials `issue` hands out (the STS simulator's AssumeRole): an `ASIA`
 *   access key, a secret and a session token, valid until their expiry.
 *
 * `identify` checks a request as AWS does (IAM User Guide, "AWS Signature
 * Version 4 for API requests" and "Create a signed AWS API request"): the
 * `Authorization: AWS4-HMAC-SHA256 Credential=<AKID>/<date>/<region>/<service>/aws4_request,
 * SignedHeaders=…, Signature=…` header names a known key; a key that has a
 * session token needs it in `x-amz-security-token`, and one that has none must
 * not get one; the key has not expired; and the signature is verified for
 * real: the canonical request is rebuilt from what arrived (method, path
 * URI-encoded once more as for every service but S3, sorted query, the signed
 * headers, the SHA-256 of the body actually received) and signed with the
 * registry's secret, so a wrong secret, a body changed in flight or a request
 * signed for another service fails. Written from the IAM User Guide's steps
 * (not with @smithy/signature-v4, which is no dependency of this package, and a
 * verifier that reused the SDK's signer would not catch the SDK's own mistakes);
 * the real SDK clients' requests passing through it are the check that both
 * agree. Not checked: clock skew (AWS refuses requests more than 5 minutes off).
 *
 * Failures are `SimAuthError`s with a protocol-neutral reason; each simulator
 * answers them with its own service's error code (Lex: UnrecognizedClientException…,
 * STS: InvalidClientTokenId…).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** Why a request's credentials were refused. */
export type AuthFailure = 'missing' | 'malformed' | 'unknownKey' | 'badToken' | 'expired' | 'badSignature';

export class SimAuthError extends Error {
  override readonly name = 'SimAuthError';
  constructor(
    readonly reason: AuthFailure,
    message: string,
  ) {
    super(message);
  }
}

/** Credentials registered up front: the identity they act as. */
export interface HomeCredential {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** When set, requests must carry it in x-amz-security-token (temporary credentials, as a Lambda's are). */
  readonly sessionToken?: string;
  readonly accountId: string;
  /** The caller ARN GetCallerIdentity reports: `arn:aws:iam::<acct>:user/<name>`, `…:root`, or `arn:aws:sts::<acct>:assumed-role/<role>/<session>`. */
  readonly arn: string;
  /** GetCallerIdentity's UserId. @default derived from the ARN (AIDA… for a user, AROA…:<session> for a role session, the account for root) */
  readonly userId?: string;
}

/** A principal the registry knows: home credentials or credentials AssumeRole issued. */
export interface SimPrincipal {
  readonly kind: 'home' | 'assumed';
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly accountId: string;
  /** The caller ARN (GetCallerIdentity's Arn). */
  readonly arn: string;
  readonly userId: string;
  /** The IAM role, when the principal is a role session (`arn:aws:iam::<acct>:role/<name>`; a home session's without its path). */
  readonly roleArn?: string;
  readonly roleSessionName?: string;
  /** Epoch ms after which the credentials are refused (ExpiredToken); undefined: never. */
  expiresAt?: number;
}

/** What `identify` needs of a request: as it arrived, with its whole body. */
export interface SignedRequest {
  readonly method: string;
  /** Path and query as received (`req.url`). */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** Who sent a request and where it was addressed (its SigV4 credential scope). */
export interface RequestIdentity {
  readonly principal: SimPrincipal;
  readonly region: string;
  readonly service: string;
}

/**
 * The home principal by default: the `S3RVER` key pair (S3RVER_CREDENTIALS in
 * s3-server.ts, repeated here so this module does not load s3rver) as a
 * session of the Lambdas' role in account 123456789012.
 */
export const HOME = {
  accessKeyId: 'S3RVER',
  secretAccessKey: 'S3RVER',
  accountId: '123456789012',
  roleArn: 'arn:aws:iam::123456789012:role/botvault-lambda',
  arn: 'arn:aws:sts::123456789012:assumed-role/botvault-lambda/botvault',
} as const;

// Access key ids and unique ids are upper-case base32 after a 4-letter prefix (IAM User Guide,
// "IAM identifiers", "Unique identifiers": AIDA users, AROA roles, ASIA temporary keys); 20 and 21 characters.
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const base32 = (bytes: Buffer, n: number) => [...bytes.subarray(0, n)].map((b) => BASE32[b % 32]).join('');
/** A stable unique id for an IAM entity (the same role always has the same AROA… id). */
const uniqueId = (prefix: 'AIDA' | 'AROA', arn: string) => prefix + base32(createHash('sha256').update(arn).digest(), 17);

/** The role behind an assumed-role session ARN (`arn:<p>:sts::<acct>:assumed-role/<role>/<session>`), without its path. */
export function roleOfSession(arn: string): { roleArn: string; roleName: string; session: string } | undefined {
  const m = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/(.+)$/.exec(arn);
  return m ? { roleArn: `arn:${m[1]}:iam::${m[2]}:role/${m[3]}`, roleName: m[3]!, session: m[4]! } : undefined;
}

function defaultUserId(c: HomeCredential): string {
  const session = roleOfSession(c.arn);
  if (session) return `${uniqueId('AROA', session.roleArn)}:${session.session}`;
  if (/:root$/.test(c.arn)) return c.accountId;
  return uniqueId('AIDA', c.arn);
}

// ---- SigV4, from the IAM User Guide ("Create a signed AWS API request") ----

/** RFC 3986 encoding: every byte but the unreserved A-Z a-z 0-9 - _ . ~ ("URI-encode each byte"). */
const uriEncode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The canonical URI: the path normalized, then URI-encoded again (every service but S3 encodes it twice). */
function canonicalUri(path: string): string {
  const segments: string[] = [];
  for (const s of path.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') segments.pop();
    else segments.push(s);
  }
  const normalized = `/${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return uriEncode(normalized).replace(/%2F/g, '/');
}

/** The canonical query string: each name and value URI-encoded, sorted by name then value. */
function canonicalQuery(query: string): string {
  if (!query) return '';
  const pairs = query
    .split('&')
    .filter(Boolean)
    .map((p) => {
      const eq = p.indexOf('=');
      const [k, v] = eq < 0 ? [p, ''] : [p.slice(0, eq), p.slice(eq + 1)];
      return `${uriEncode(decodeURIComponent(k))}=${uriEncode(decodeURIComponent(v))}`;
    });
  return pairs.sort().join('&');
}

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

function parseAuthorization(header: string | undefined): ParsedAuthorization {
  if (!header) throw new SimAuthError('missing', 'Missing Authentication Token');
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(
      header.trim(),
    );
  if (!m) throw new SimAuthError('malformed', `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters: ${header}`);
  return { accessKeyId: m[1]!, date: m[2]!, region: m[3]!, service: m[4]!, signedHeaders: m[5]!.split(';'), signature: m[6]! };
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

// ---------------------------------------------------------------------------

export interface SimCredentialsOptions {
  /** The credentials known from the start. @default [HOME] */
  readonly home?: readonly HomeCredential[];
}

export class SimCredentials {
  private readonly principals = new Map<string, SimPrincipal>();
  private readonly issuedList: SimPrincipal[] = [];

  constructor(opts: SimCredentialsOptions = {}) {
    for (const h of opts.home ?? [HOME]) this.addHome(h);
  }

  /** Registers long-lived (or caller-supplied temporary) credentials of a home principal. */
  addHome(c: HomeCredential): SimPrincipal {
    const session = roleOfSession(c.arn);
    const p: SimPrincipal = {
      kind: 'home',
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      ...(c.sessionToken !== undefined ? { sessionToken: c.sessionToken } : {}),
      accountId: c.accountId,
      arn: c.arn,
      userId: c.userId ?? defaultUserId(c),
      ...(session ? { roleArn: session.roleArn, roleSessionName: session.session } : {}),
    };
    this.principals.set(c.accessKeyId, p);
    return p;
  }

  /**
   * New temporary credentials for a session of `roleArn` (what AssumeRole
   * returns): an ASIA access key id of 20 characters, a 40-character secret
   * and a session token, refused once `expiresAt` has passed.
   */
  issue(s: { roleArn: string; roleSessionName: string; expiresAt: number }): SimPrincipal {
    const role = /^arn:([^:]+):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(s.roleArn);
    if (!role) throw new Error(`issue: not an IAM role ARN: ${s.roleArn}`);
    let accessKeyId: string;
    do accessKeyId = `ASIA${base32(randomBytes(16), 16)}`;
    while (this.principals.has(accessKeyId));
    const p: SimPrincipal = {
      kind: 'assumed',
      accessKeyId,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(192).toString('base64'),
      accountId: role[2]!,
      arn: `arn:${role[1]}:sts::${role[2]}:assumed-role/${role[3]}/${s.roleSessionName}`,
      userId: `${uniqueId('AROA', s.roleArn)}:${s.roleSessionName}`,
      roleArn: s.roleArn,
      roleSessionName: s.roleSessionName,
      expiresAt: s.expiresAt,
    };
    this.principals.set(accessKeyId, p);
    this.issuedList.push(p);
    return p;
  }

  /** Every credential `issue` handed out, oldest first. */
  get issued(): readonly SimPrincipal[] {
    return this.issuedList;
  }

  /** Fault: every issued credential expires now (home credentials are untouched), so a test can see a client get new ones. */
  expireAll(): void {
    const now = Date.now();
    for (const p of this.issuedList) p.expiresAt = Math.min(p.expiresAt ?? now, now - 1);
  }

  /**
   * The principal that signed `req`, and the region and service it signed
   * for; throws SimAuthError. Checked in the order AWS reports failures:
   * the key, its session token, its expiry, then the signature.
   */
  identify(req: SignedRequest): RequestIdentity {
    const auth = parseAuthorization(headerValue(req.headers, 'authorization'));
    const p = this.principals.get(auth.accessKeyId);
    if (!p) throw new SimAuthError('unknownKey', `Unknown access key id ${auth.accessKeyId}`);
    const token = headerValue(req.headers, 'x-amz-security-token');
    if (token !== p.sessionToken) throw new SimAuthError('badToken', `Wrong or missing session token for ${auth.accessKeyId}`);
    if (p.expiresAt !== undefined && Date.now() >= p.expiresAt) throw new SimAuthError('expired', `Credentials ${auth.accessKeyId} expired`);

    const amzDate = headerValue(req.headers, 'x-amz-date');
    if (!amzDate || !/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== auth.date)
      throw new SimAuthError('malformed', `x-amz-date ${amzDate ?? '(none)'} does not match the credential scope's date ${auth.date}`);
    if (!auth.signedHeaders.includes('host')) throw new SimAuthError('malformed', "'Host' must be a signed header");
    const q = req.url.indexOf('?');
    const path = q < 0 ? req.url : req.url.slice(0, q);
    const query = q < 0 ? '' : req.url.slice(q + 1);
    const canonicalHeaders = auth.signedHeaders
      .map(
        (h) =>
          `${h}:${(headerValue(req.headers, h) ?? '')
            .replace(/[\r\n]/g, ' ')
            .replace(/[ \t]+/g, ' ')
            .trim()}\n`,
      )
      .join('');
    const canonicalRequest = [
      req.method,
      canonicalUri(path),
      canonicalQuery(query),
      canonicalHeaders,
      auth.signedHeaders.join(';'),
      sha256Hex(req.body),
    ].join('\n');
    const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
    const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
    const key = hmac(hmac(hmac(hmac(`AWS4${p.secretAccessKey}`, auth.date), auth.region), auth.service), 'aws4_request');
    const expected = createHmac('sha256', key).update(stringToSign).digest();
    if (!timingSafeEqual(expected, Buffer.from(auth.signature, 'hex')))
      throw new SimAuthError('badSignature', `Signature mismatch for ${auth.accessKeyId}; canonical request:\n${canonicalRequest}`);
    return { principal: p, region: auth.region, service: auth.service };
  }
}
