/**
 * The CLI's side of authenticated backups (lib/core/mac.ts): every archive
 * version, sidecar and manifest a command uses is checked with KMS VerifyMac
 * against the stack's HMAC key — the stack output AuthenticationKeyArn, or
 * `--mac-key` / BOTVAULT_MAC_KEY_ID — never a key the object names.
 *
 * A MAC that is missing or wrong refuses the object, unless the operator
 * passed `--accept-unverified`; then it is used and the output says
 * UNVERIFIED. The operator's credentials need kms:VerifyMac on the key.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { checkMac, kmsMacKey, type MacKey, type MacSubject, type MacVerdict } from '../core/mac';
import type { AwsOptions } from './aws';
import { CliError, IntegrityError } from './output';

export interface AuthenticationOptions extends AwsOptions {
  /** Use objects whose MAC is missing or wrong (the output says UNVERIFIED). */
  readonly acceptUnverified?: boolean;
}

export interface Authenticator {
  /** The key MACs are checked with; undefined when none is known (then nothing is authentic). */
  readonly key: MacKey | undefined;
  readonly acceptUnverified: boolean;
  /**
   * True when the object is authentic; false when it is not and
   * `--accept-unverified` was given (a warning says so). Otherwise a CliError
   * naming `what` and why, and nothing of the object is used.
   */
  check(subject: MacSubject, what: string): Promise<boolean>;
  /** The MAC verdict itself, for readers that decide per object (sidecars, change records); KMS failures are a CliError naming `what`. */
  verdict(subject: MacSubject, what: string): Promise<MacVerdict>;
  close(): void;
}

export function authenticator(keyArn: string | undefined, opts: AuthenticationOptions, warn: (line: string) => void): Authenticator {
  const kms = keyArn ? new KMSClient(opts.region ? { region: opts.region } : {}) : undefined;
  const key: MacKey | undefined = kms && keyArn ? kmsMacKey(kms, keyArn) : undefined;
  const verdictOf = async (subject: MacSubject, what: string): Promise<MacVerdict> => {
    try {
      return await checkMac(key, subject);
    } catch (err) {
      // KMS could not be asked: stop, rather than treat the object as if it were forged.
      throw new CliError(
        `cannot check the MAC of ${what}: ${(err as Error).message} (the CLI needs kms:VerifyMac on the stack's AuthenticationKeyArn)`,
      );
    }
  };
  return {
    key,
    acceptUnverified: opts.acceptUnverified ?? false,
    verdict: verdictOf,
    async check(subject, what) {
      const verdict = await verdictOf(subject, what);
      if (verdict.status === 'authentic') return true;
      if (!opts.acceptUnverified) {
        throw new IntegrityError(
          `${what} is not authenticated: ${verdict.reason}. Nothing of it was used; --accept-unverified uses it anyway (the output then says UNVERIFIED)`,
        );
      }
      warn(`${what} is not authenticated (${verdict.reason}): using it UNVERIFIED (--accept-unverified)`);
      return false;
    },
    close() {
      kms?.destroy();
    },
  };
}
