import { describe, expect, it } from 'vitest';
import { lexDownloadHosts, mapLexError } from '../../lib/providers/lex/provider';
import { hostMatches } from '../../lib/core/download-guard';
import { ProviderAuthError, ProviderRequestError, ProviderUnavailableError, RateLimitedError, RETRYABLE_ERRORS } from '../../lib/core/errors';

/** Shaped like the SDK's service exceptions: a name, a message and $metadata with the HTTP status. */
function sdkError(name: string, status?: number, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} from Lex`), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}), ...extra });
}

describe('Lex error mapping', () => {
  it.each([
    ['ThrottlingException', 429, RateLimitedError],
    ['ConflictException', 409, ProviderUnavailableError],
    ['InternalServerException', 500, ProviderUnavailableError],
    ['ServiceQuotaExceededException', 402, ProviderUnavailableError],
    ['PreconditionFailedException', 412, ProviderUnavailableError],
    ['ValidationException', 400, ProviderRequestError],
    ['ResourceNotFoundException', 404, ProviderRequestError],
    ['AccessDeniedException', 403, ProviderAuthError],
    ['UnrecognizedClientException', 403, ProviderAuthError],
    // STS (AssumeRole of a member role): its own spellings, 400 for throttling (STS API reference, Common Errors).
    ['Throttling', 400, RateLimitedError],
    ['RequestLimitExceeded', 400, RateLimitedError],
    ['ExpiredToken', 400, ProviderAuthError],
    ['AccessDenied', 403, ProviderAuthError],
    ['SomethingNew', 503, ProviderUnavailableError],
    ['SomethingElse', 418, ProviderRequestError],
  ] as const)('%s (HTTP %i) → %s', (name, status, expected) => {
    const mapped = mapLexError(sdkError(name, status), 'DescribeExport E1 for lex:A:DRAFT');
    expect(mapped).toBeInstanceOf(expected);
    expect(mapped.message).toBe(`Lex DescribeExport E1 for lex:A:DRAFT failed: ${name}: ${name} from Lex`);
    expect((mapped as Error & { cause?: unknown }).cause).toBeInstanceOf(Error);
  });

  it('network failures are retryable; bugs are passed through unchanged', () => {
    expect(mapLexError(sdkError('Error', undefined, { code: 'ECONNREFUSED' }), 'ListBots')).toBeInstanceOf(ProviderUnavailableError);
    expect(mapLexError(sdkError('TimeoutError'), 'ListBots')).toBeInstanceOf(ProviderUnavailableError);
    const bug = new TypeError('x is undefined');
    expect(mapLexError(bug, 'ListBots')).toBe(bug);
  });

  it('only throttling and unavailability are names the state machine retries', () => {
    expect(RETRYABLE_ERRORS).toContain(mapLexError(sdkError('ThrottlingException', 429), 'x').name);
    expect(RETRYABLE_ERRORS).toContain(mapLexError(sdkError('ConflictException', 409), 'x').name);
    expect(RETRYABLE_ERRORS).not.toContain(mapLexError(sdkError('ValidationException', 400), 'x').name);
    expect(RETRYABLE_ERRORS).not.toContain(mapLexError(sdkError('AccessDeniedException', 403), 'x').name);
  });
});

describe('Lex download hosts', () => {
  const hosts = lexDownloadHosts('eu-central-1');
  it.each([
    ['bucket.s3.eu-central-1.amazonaws.com', true],
    ['s3.eu-central-1.amazonaws.com', true],
    ['bucket.s3.amazonaws.com', true],
    ['bucket.s3-eu-central-1.amazonaws.com', true],
    ['bucket.s3.dualstack.eu-central-1.amazonaws.com', true],
    ['bucket.s3.us-east-1.amazonaws.com', false],
    ['ec2-3-120-1-1.eu-central-1.compute.amazonaws.com', false],
    ['abc.execute-api.eu-central-1.amazonaws.com', false],
    ['s3.eu-central-1.amazonaws.com.attacker.net', false],
  ])('%s → %s', (host, allowed) => {
    expect(hostMatches(host, hosts)).toBe(allowed);
  });

  it('uses the China partition suffix in cn- regions', () => {
    expect(hostMatches('bucket.s3.cn-north-1.amazonaws.com.cn', lexDownloadHosts('cn-north-1'))).toBe(true);
  });
});
