/**
 * `npm run member-template`: synthesizes the BotVaultMemberAccount template
 * (lib/member-account-stack.ts) that every member account deploys, with a
 * StackSet or by hand (README "Member accounts"). Needs no config and no AWS
 * credentials: the template is the same for every installation and account;
 * what differs comes in as its parameters.
 *
 *   npm run member-template                 writes cdk.out/BotVaultMemberAccount.template.json
 *   npm run member-template -- FILE         writes FILE
 *   npm run member-template -- --stdout     prints the template
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { App } from 'aws-cdk-lib';
import { cdkJsonContext } from '../lib/cdk-context';
import { BotVaultMemberAccountStack, MEMBER_STACK_NAME } from '../lib/member-account-stack';
import { PROJECT_ROOT } from '../lib/project-root';

const USAGE = 'usage: npm run member-template [-- FILE | --stdout]';

let args: ReturnType<typeof parse>;
try {
  args = parse();
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
  process.exit(2);
}

// The feature flags of cdk.json, as `cdk synth` applies them (lib/cdk-context.ts); synthesized away from cdk.out,
// whose manifest belongs to the BotVault app.
const outdir = mkdtempSync(join(tmpdir(), 'botvault-member-'));
let body: string;
try {
  const app = new App({ outdir, context: cdkJsonContext() });
  const stack = new BotVaultMemberAccountStack(app, MEMBER_STACK_NAME);
  body = `${JSON.stringify(app.synth().getStackByName(stack.stackName).template, null, 2)}\n`;
} finally {
  rmSync(outdir, { recursive: true, force: true });
}

if (args.stdout) {
  process.stdout.write(body);
} else {
  // npm runs scripts in the package root; a relative FILE means the directory npm was started in (INIT_CWD).
  const from = process.env.INIT_CWD ?? process.cwd();
  const file = args.file ? resolve(from, args.file) : join(PROJECT_ROOT, 'cdk.out', `${MEMBER_STACK_NAME}.template.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, body);
  const shown = relative(from, file);
  process.stderr.write(`Wrote ${shown.startsWith('..') || isAbsolute(shown) ? file : shown}\n`);
}

function parse(): { stdout: boolean; file?: string } {
  const { values, positionals } = parseArgs({ options: { stdout: { type: 'boolean', default: false } }, allowPositionals: true });
  if (positionals.length > 1) throw new Error(`one output file at most (got ${positionals.length})`);
  if (values.stdout && positionals.length) throw new Error('--stdout and an output file exclude each other');
  return { stdout: values.stdout, ...(positionals[0] ? { file: positionals[0] } : {}) };
}
