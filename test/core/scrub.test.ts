/** scrubText (lib/core/scrub.ts): what a provider's error text may echo never reaches a cause, a manifest or a log. */
import { describe, expect, it } from 'vitest';
import { rememberSecret, scrubText } from '../../lib/core/scrub';

describe('scrubText', () => {
  it("drops a presigned URL's query, and JWT-shaped tokens", () => {
    expect(scrubText('GET https://s3.amazonaws.com/b/k.zip?X-Amz-Signature=abc123 failed.')).toBe('GET https://s3.amazonaws.com/b/k.zip failed.');
    expect(scrubText('token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl rejected')).toBe('token <jwt> rejected');
  });

  it('hides AWS access key ids and secret-shaped runs an STS or Lex error might quote', () => {
    const sessionToken = 'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexample+token/part==';
    const text = `SignatureDoesNotMatch: credential ASIAQWERTYUIOPASDFGH, x-amz-security-token:${sessionToken}; secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`;
    const scrubbed = scrubText(text);
    expect(scrubbed).not.toContain('ASIAQWERTYUIOPASDFGH');
    expect(scrubbed).not.toContain('IQoJb3JpZ2luX2VjEJr');
    expect(scrubbed).not.toContain('wJalrXUtnFEMI');
    expect(scrubbed).toBe('SignatureDoesNotMatch: credential <aws-key>, x-amz-security-token:<secret>; secret <secret>');
    // Role ARNs, account ids and bot ids stay readable.
    expect(scrubText('User: arn:aws:sts::123456789012:assumed-role/BotVault/x is not authorized on ABCDEFGHIJ')).toBe(
      'User: arn:aws:sts::123456789012:assumed-role/BotVault/x is not authorized on ABCDEFGHIJ',
    );
  });

  it('hides any 8-character piece of a remembered credential', () => {
    rememberSecret('header.payloadPART.signatureXYZ123');
    expect(scrubText('echo signatureXYZ123 back')).toBe('echo <jwt> back');
  });
});
