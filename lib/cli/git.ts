/**
 * The real `git` binary, for `botvault mirror`: one child process per call
 * (execFile semantics, no shell, so nothing in a key, message or path is ever
 * parsed by a shell), run in the mirror's directory.
 *
 * Every call gets the same settings, because the mirror's commits must be
 * the same whatever the operator's git configuration says:
 *  - the variables that point git at another repository (GIT_DIR,
 *    GIT_WORK_TREE, …, set for instance inside a git hook) are removed, so a
 *    call only ever acts on the directory it was given;
 *  - pathspecs are literal (GIT_LITERAL_PATHSPECS): a key holding `*` or `[`
 *    names itself, not a pattern;
 *  - hooks are off (core.hooksPath pointing below /dev/null, where no hook can
 *    exist): a pre-commit or prepare-commit-msg hook could change the files or
 *    the message, or wait for input;
 *  - no signing (commit.gpgsign=false: a pinentry prompt would stall a mirror
 *    of hundreds of versions) and no line-ending conversion
 *    (core.autocrlf=false: the files are committed as the archive holds them).
 */
import { spawn } from 'node:child_process';
import { CliError } from './output';

/** Variables with which git would act on a repository other than `cwd` (git(1) "ENVIRONMENT VARIABLES"). */
const REDIRECTING_VARIABLES = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_COMMON_DIR',
  'GIT_NAMESPACE',
];

const SETTINGS = ['-c', 'core.hooksPath=/dev/null/no-hooks', '-c', 'commit.gpgsign=false', '-c', 'core.autocrlf=false', '-c', 'core.quotepath=false'];

export class GitError extends Error {
  override readonly name = 'GitError';
  constructor(
    message: string,
    /** git's exit code (null when it was killed by a signal). */
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(message);
  }
}

export interface GitCall {
  /** Written to git's standard input (a commit message with `commit -F -`). */
  readonly input?: string;
  /** Added to the environment (author and committer identity and dates). */
  readonly env?: Readonly<Record<string, string>>;
  /** Exit codes that are answers rather than failures (`rev-parse --verify -q` says 1 for "no such revision"). */
  readonly okCodes?: readonly number[];
}

export interface GitResult {
  readonly code: number;
  readonly stdout: string;
}

const NO_GIT = 'mirror needs git on PATH (install it, e.g. `apt-get install git`, and run again)';

function environment(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of REDIRECTING_VARIABLES) delete env[name];
  return { ...env, GIT_LITERAL_PATHSPECS: '1', GIT_TERMINAL_PROMPT: '0', ...extra };
}

/** Runs `git <args>` in `cwd`; a non-zero exit (other than `okCodes`) is a GitError carrying git's stderr. */
export function runGit(cwd: string, args: readonly string[], call: GitCall = {}): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...SETTINGS, ...args], { cwd, env: environment(call.env), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      // spawn reports a missing binary (and a missing cwd) as ENOENT; the caller makes sure cwd exists.
      reject(e.code === 'ENOENT' ? new CliError(NO_GIT) : e);
    });
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0 || (code !== null && call.okCodes?.includes(code))) resolve({ code, stdout });
      else reject(new GitError(`git ${args.join(' ')} failed (exit ${code}): ${stderr.trim() || '(no message)'}`, code, stderr));
    });
    // git may exit before reading its input (a usage error): EPIPE then is not the failure to report.
    child.stdin.on('error', () => {});
    child.stdin.end(call.input ?? '');
  });
}

/** `git version 2.39.5`; a CliError when there is no git to run. */
export async function gitVersion(): Promise<string> {
  return (await runGit(process.cwd(), ['--version'])).stdout.trim();
}
