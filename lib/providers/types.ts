/**
 * The one interface every provider implements (DESIGN §4). The state machine
 * never changes for a new provider: add a file next to this one and a line in
 * registry.ts.
 */
import type { Account, Home } from '../core/accounts';
import type { ExportRef, ExportStatus, Job } from '../core/contracts';
import type { Target, RestoreDetails } from './definitions';

export interface PlanContext {
  /** The stack's own account and region (for S3 keys such as `lex/<account>/<region>/...`). */
  readonly home: Required<Home>;
  /** The config's member accounts, which targets name by id or name. */
  readonly accounts: readonly Account[];
}

export interface CheckResult {
  status: ExportStatus;
  /** The provider's failure reasons (FAILED only); must not contain secrets or URLs. */
  reasons?: string[];
}

export interface DownloadTarget {
  /** Where to fetch the archive. Never logged, never returned to the state machine. */
  url: string;
  /**
   * Hosts this provider is expected to serve downloads from, as exact host
   * names or `*.suffix` patterns. The download guard refuses any other host
   * (unless its origin is on the operator's allowlist).
   */
  allowedHosts: readonly string[];
}

/** Read access to the archive just downloaded (the staged object), for restoreInfo(). */
export interface ArchiveReader {
  /** One entry's uncompressed bytes; undefined when there is no such entry or it is larger than `maxBytes`. */
  readEntry(name: string, maxBytes: number): Promise<Buffer | undefined>;
}

export interface Provider {
  readonly name: string;
  /** Turns one config target into jobs: one job for a plain target, many for a discovery target. */
  plan(target: Target, context: PlanContext): Promise<Job[]>;
  /** Starts an export; returns identifiers only. */
  start(job: Job): Promise<ExportRef>;
  /** Reports the export's status. */
  check(job: Job, ref: ExportRef): Promise<CheckResult>;
  /** A fresh download URL, fetched right before the download (Lex URLs live 5 minutes). */
  downloadUrl(job: Job, ref: ExportRef): Promise<DownloadTarget>;
  /** Best-effort removal of the export at the provider once the archive is stored. */
  cleanup(job: Job, ref: ExportRef): Promise<void>;
  /**
   * What the export leaves out and a restore needs (the restore sidecar,
   * `<archive key>.restore.json`), captured right after the download; undefined
   * when the job has nothing to record. Throwing only costs the sidecar, never
   * the backup.
   */
  restoreInfo?(job: Job, archive: ArchiveReader): Promise<RestoreDetails | undefined>;
  /**
   * The password the export was encrypted with (Lex's filePassword) and the
   * secret it came from, so StoreArchive can check and hash the plaintext;
   * undefined when the job's exports are not encrypted.
   */
  archivePassword?(job: Job): Promise<ArchivePassword | undefined>;
}

/** A password read for one moment: never logged, never returned, never stored. */
export interface ArchivePassword {
  readonly password: string;
  /** The secret's name or ARN (an identifier, safe to store). */
  readonly secret: string;
}
