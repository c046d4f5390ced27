/**
 * ARN rewriting for a restore into another account or region (`botvault
 * restore --to-account/--to-region`, README "Restoring into another account
 * or region"): every ARN in a Lex archive's JSON files and in its restore
 * sidecar that names the source account or region is rewritten to name the
 * destination instead; an ARN of a third account is refused unless the
 * operator maps it (`--map-arn FROM=TO`).
 *
 * ARN format (IAM User Guide, "Identify AWS resources with Amazon Resource
 * Names (ARNs)", https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html):
 * `arn:partition:service:region:account-id:resource`, where "the ARNs for some
 * resources omit the Region, the account ID, or both" (IAM roles have no
 * region; S3 buckets neither a region nor an account; Bedrock foundation
 * models a region and no account). AWS-managed resources name the account
 * `aws` (`arn:aws:iam::aws:policy/…`). Where ARNs occur in what a restore
 * carries (the Lex V2 model, node_modules/@aws-sdk/client-lex-models-v2/dist-types/models/models_0.d.ts):
 *  - the sidecar (DescribeBot, DescribeBotAlias): the bot's `roleArn`, an
 *    alias's `botAliasLocaleSettings.<locale>.codeHookSpecification.lambdaCodeHook.lambdaARN`,
 *    `conversationLogSettings` (`cloudWatch.cloudWatchLogGroupArn`,
 *    `s3Bucket.s3BucketArn`, `s3Bucket.kmsKeyArn`), tag values;
 *  - the export: `kendraConfiguration.kendraIndex` ("The index must be in the
 *    same account and Region as the Amazon Lex bot"), QnAIntent's
 *    `bedrockKnowledgeStoreConfiguration.bedrockKnowledgeBaseArn` and
 *    `kendraConfiguration.kendraIndex`, `bedrockModelSpecification.modelArn`
 *    (descriptive bot builder, generative settings), and any free text (a
 *    description) that quotes an ARN.
 * Rather than a list of fields, every string is searched (values and keys):
 * a field added to the model later is covered too.
 *
 * Classification of each ARN, in this order:
 *  1. `--map-arn` names it (exactly, or a `FROM*=TO*` prefix; the longest
 *     prefix wins): as mapped.
 *  2. Another partition than the destination region's: refused (an account
 *     lives in one partition; a rewrite cannot move it).
 *  3. The source account: account → destination, and the region too where
 *     it is the source region (an IAM ARN has none; the Lex service-linked
 *     role `role/aws-service-role/lexv2.amazonaws.com/AWSServiceRoleForLexV2Bots_…`
 *     keeps its path, in the destination account).
 *  4. No account (or `aws`): the source region becomes the destination's;
 *     otherwise kept (a bucket is global, an AWS-managed policy everyone's).
 *  5. The destination account: kept, it is already there.
 *  6. Any other account: refused, unless mapped (1).
 *
 * Pure: no AWS calls. The zip is rebuilt with @zip.js/zip.js (the library
 * lib/core/archive/zip.ts reads with), in the container Lex's own exports use.
 */
import { TextReader, Uint8ArrayReader, Uint8ArrayWriter, ZipWriter } from '@zip.js/zip.js';
import { bufferByteSource } from '../../core/archive/byte-source';
import { withZip } from '../../core/archive/zip';
import type { LexRestoreInfo } from './restore-info';

/**
 * The partitions by their regions' names: the AWS SDK's partition table
 * (node_modules/@aws-sdk/core/dist-es/submodules/client/util-endpoints/lib/aws/partitions.js, `regionRegex`).
 */
const PARTITIONS: readonly (readonly [string, RegExp])[] = [
  ['aws', /^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$/],
  ['aws-cn', /^cn-\w+-\d+$/],
  ['aws-eusc', /^eusc-(de)-\w+-\d+$/],
  ['aws-iso', /^us-iso-\w+-\d+$/],
  ['aws-iso-b', /^us-isob-\w+-\d+$/],
  ['aws-iso-e', /^eu-isoe-\w+-\d+$/],
  ['aws-iso-f', /^us-isof-\w+-\d+$/],
  ['aws-us-gov', /^us-gov-\w+-\d+$/],
];

/** The partition a region is in (`aws` for a name no table entry matches, as the SDK defaults). */
export function partitionOf(region: string): string {
  return PARTITIONS.find(([, re]) => re.test(region))?.[0] ?? 'aws';
}

export interface Arn {
  readonly partition: string;
  readonly service: string;
  /** Empty where the resource has none (IAM, S3). */
  readonly region: string;
  /** 12 digits, `aws` (AWS-managed), or empty (S3 buckets, foundation models). */
  readonly account: string;
  readonly resource: string;
}

/**
 * An ARN inside any text. The resource part runs to whitespace, a quote, a
 * bracket or a backslash (none of which a resource name holds); trailing
 * sentence punctuation is not part of it (see `trimArn`).
 */
const ARN_IN_TEXT = /arn:(aws(?:-[a-z]+)*):([a-z0-9][a-z0-9-]*):([a-z0-9-]*):(\d{12}|aws|):([^\s"'`<>(){}[\]\\]+)/g;
const TRAILING = /[.,;:!?]+$/;

/** The ARN a match stands for, without the punctuation of the sentence around it. */
const trimArn = (match: string): string => match.replace(TRAILING, '');

/** `s` when it is exactly one ARN, parsed; undefined otherwise. */
export function parseArn(s: string): Arn | undefined {
  const m = new RegExp(`^${ARN_IN_TEXT.source}$`).exec(s);
  if (!m || TRAILING.test(s)) return undefined;
  return { partition: m[1]!, service: m[2]!, region: m[3]!, account: m[4]!, resource: m[5]! };
}

const formatArn = (a: Arn): string => `arn:${a.partition}:${a.service}:${a.region}:${a.account}:${a.resource}`;

/** Every ARN in a text, in order (repeats included). */
export function arnsInText(text: string): string[] {
  return [...text.matchAll(ARN_IN_TEXT)].map((m) => trimArn(m[0])).filter((a) => parseArn(a));
}

/** `text` with each ARN the table names replaced; everything else byte for byte as it was. */
export function replaceArns(text: string, table: ReadonlyMap<string, string>): string {
  if (!table.size) return text;
  return text.replace(ARN_IN_TEXT, (match) => {
    const arn = trimArn(match);
    const to = table.get(arn);
    return to === undefined ? match : to + match.slice(arn.length);
  });
}

// ---- --map-arn ----

/** One `--map-arn FROM=TO`: an exact ARN, or (`FROM*=TO*`) every ARN that starts with FROM. */
export interface ArnMapping {
  readonly from: string;
  readonly to: string;
  readonly prefix: boolean;
  /** The flag's value as given (for messages). */
  readonly flag: string;
}

/** Thrown for a `--map-arn` value that is not FROM=TO with two ARNs (or two prefixes). */
export class ArnMappingError extends Error {
  override readonly name = 'ArnMappingError';
}

/**
 * Parses `FROM=TO`. IAM names may hold `=`, so the split is at the `=` that
 * begins the second ARN (`=arn:`). A prefix mapping ends both sides with `*`.
 */
export function parseArnMapping(flag: string): ArnMapping {
  const at = flag.indexOf('=arn:');
  const usage = `--map-arn ${flag}: expected FROM=TO, two ARNs (arn:aws:lambda:us-east-1:111122223333:function:Hook=arn:aws:lambda:eu-west-1:444455556666:function:Hook), or two prefixes ending in * (arn:aws:iam::111122223333:role/*=arn:aws:iam::444455556666:role/*)`;
  if (!flag.startsWith('arn:') || at < 0) throw new ArnMappingError(usage);
  const from = flag.slice(0, at);
  const to = flag.slice(at + 1);
  const prefix = from.endsWith('*');
  if (prefix !== to.endsWith('*')) throw new ArnMappingError(`${usage}: a prefix mapping ends both sides with *`);
  if (prefix) {
    const [f, t] = [from.slice(0, -1), to.slice(0, -1)];
    if (!/^arn:aws[a-z-]*:/.test(f) || !/^arn:aws[a-z-]*:/.test(t) || f.includes('*') || t.includes('*')) throw new ArnMappingError(usage);
    return { from: f, to: t, prefix: true, flag };
  }
  if (!parseArn(from) || !parseArn(to)) throw new ArnMappingError(usage);
  return { from, to, prefix: false, flag };
}

/** The mapping for `arn`: an exact one, else the longest prefix. */
function mappingFor(arn: string, mappings: readonly ArnMapping[]): ArnMapping | undefined {
  const exact = mappings.find((m) => !m.prefix && m.from === arn);
  if (exact) return exact;
  return mappings.filter((m) => m.prefix && arn.startsWith(m.from)).sort((a, b) => b.from.length - a.from.length)[0];
}

// ---- classification ----

export interface RewriteContext {
  /** Where the archive came from: its key's account and region (an account the key does not name: the sidecar role's). */
  readonly source: { readonly account?: string; readonly region?: string };
  readonly destination: { readonly account: string; readonly region: string };
  readonly mappings: readonly ArnMapping[];
}

type RewriteRule = 'mapped' | 'account' | 'region' | 'account and region';

export type ArnDecision =
  | { readonly action: 'rewrite'; readonly to: string; readonly rule: RewriteRule; readonly mapping?: string }
  | { readonly action: 'keep'; readonly reason: string }
  | { readonly action: 'refuse'; readonly reason: string };

/** What happens to one ARN (the rules in the header, in their order). */
export function classifyArn(arn: string, ctx: RewriteContext): ArnDecision {
  const mapping = mappingFor(arn, ctx.mappings);
  if (mapping) {
    const to = mapping.prefix ? mapping.to + arn.slice(mapping.from.length) : mapping.to;
    if (!parseArn(to)) return { action: 'refuse', reason: `--map-arn ${mapping.flag} makes it ${to}, which is not an ARN` };
    return to === arn
      ? { action: 'keep', reason: `--map-arn ${mapping.flag} maps it to itself` }
      : { action: 'rewrite', to, rule: 'mapped', mapping: mapping.flag };
  }
  const a = parseArn(arn);
  if (!a) return { action: 'keep', reason: 'not an ARN' };
  const { source, destination } = ctx;
  const partition = partitionOf(destination.region);
  if (a.partition !== partition) {
    return { action: 'refuse', reason: `it is in partition ${a.partition} and ${destination.region} in ${partition}` };
  }
  const region = a.region !== '' && a.region === source.region ? destination.region : a.region;
  if (/^\d{12}$/.test(a.account) && a.account === source.account) {
    const to = formatArn({ ...a, account: destination.account, region });
    if (to === arn) return { action: 'keep', reason: 'it already names the destination' };
    const rule: RewriteRule = a.account === destination.account ? 'region' : region === a.region ? 'account' : 'account and region';
    return { action: 'rewrite', to, rule };
  }
  if (a.account === '' || a.account === 'aws') {
    if (region !== a.region) return { action: 'rewrite', to: formatArn({ ...a, region }), rule: 'region' };
    const whose = a.account === 'aws' ? 'an AWS-managed resource' : 'names no account';
    const where =
      a.region === ''
        ? 'and no region'
        : a.region === destination.region
          ? 'and is in the destination region'
          : `and region ${a.region}, not the source's`;
    return { action: 'keep', reason: `${whose} ${where}` };
  }
  if (a.account === destination.account) return { action: 'keep', reason: 'it names the destination account already' };
  return {
    action: 'refuse',
    reason: `account ${a.account} is neither the source's (${source.account ?? 'unknown'}) nor the destination's (${destination.account})`,
  };
}

// ---- where ARNs are ----

/** One occurrence of an ARN: the ARN and where it was found (`<entry> <json path>`, `sidecar <path>`). */
export interface ArnPlace {
  readonly arn: string;
  readonly where: string;
}

/**
 * Every ARN in a parsed JSON value, with its path (`a.b[0].c`; an element
 * with a `botAliasName`, a sidecar alias, is named by it: `aliases[Live]`).
 * Keys are searched as well as values.
 */
export function arnsInJson(value: unknown, label: (path: string) => string, path = ''): ArnPlace[] {
  if (typeof value === 'string') return arnsInText(value).map((arn) => ({ arn, where: label(path) }));
  if (Array.isArray(value)) {
    return value.flatMap((v, i) => {
      const name =
        v && typeof v === 'object' && typeof (v as { botAliasName?: unknown }).botAliasName === 'string'
          ? (v as { botAliasName: string }).botAliasName
          : i;
      return arnsInJson(v, label, `${path}[${name}]`);
    });
  }
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => {
      const at = path ? `${path}.${k}` : k;
      return [...arnsInText(k).map((arn) => ({ arn, where: label(`${at} (key)`) })), ...arnsInJson(v, label, at)];
    });
  }
  return [];
}

/** `value` with every ARN in its strings (keys too) replaced as the table says. */
function rewriteJson<T>(value: T, table: ReadonlyMap<string, string>): T {
  if (typeof value === 'string') return replaceArns(value, table) as T;
  if (Array.isArray(value)) return value.map((v) => rewriteJson(v, table)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [replaceArns(k, table), rewriteJson(v, table)])) as T;
  }
  return value;
}

// ---- the plan ----

export interface ArnRewriteRow {
  readonly from: string;
  readonly to: string;
  readonly rule: RewriteRule;
  /** The --map-arn value that made it (rule `mapped`). */
  readonly mapping?: string;
  readonly where: readonly string[];
}

export interface ArnKeptRow {
  readonly arn: string;
  readonly reason: string;
  readonly where: readonly string[];
}

export interface ArnRewritePlan {
  readonly rewritten: readonly ArnRewriteRow[];
  readonly kept: readonly ArnKeptRow[];
  /** ARNs no rule maps: the restore is refused while there is one. */
  readonly refused: readonly ArnKeptRow[];
  /** --map-arn values no ARN matched (the operator's typo, or a mapping for another archive). */
  readonly unusedMappings: readonly string[];
  /** from → to, for rewriteJson / replaceArns. */
  readonly table: ReadonlyMap<string, string>;
}

/** Each distinct ARN classified once, with every place it occurs, in the order first found. */
export function planArnRewrites(places: readonly ArnPlace[], ctx: RewriteContext): ArnRewritePlan {
  const byArn = new Map<string, string[]>();
  for (const p of places) {
    const where = byArn.get(p.arn) ?? [];
    if (!where.includes(p.where)) where.push(p.where);
    byArn.set(p.arn, where);
  }
  const rewritten: ArnRewriteRow[] = [];
  const kept: ArnKeptRow[] = [];
  const refused: ArnKeptRow[] = [];
  const used = new Set<string>();
  for (const [arn, where] of byArn) {
    const d = classifyArn(arn, ctx);
    const mapping = mappingFor(arn, ctx.mappings);
    if (mapping) used.add(mapping.flag);
    if (d.action === 'rewrite') rewritten.push({ from: arn, to: d.to, rule: d.rule, ...(d.mapping ? { mapping: d.mapping } : {}), where });
    else if (d.action === 'keep') kept.push({ arn, reason: d.reason, where });
    else refused.push({ arn, reason: d.reason, where });
  }
  return {
    rewritten,
    kept,
    refused,
    unusedMappings: ctx.mappings.map((m) => m.flag).filter((f) => !used.has(f)),
    table: new Map(rewritten.map((r) => [r.from, r.to])),
  };
}

/** The one-line refusal for a plan with unmappable ARNs: each ARN, where it is, why, and the flag that maps it. */
export function refusalMessage(plan: ArnRewritePlan): string {
  const n = plan.refused.length;
  const each = plan.refused.map((r) => `${r.arn} (${r.reason}; in ${r.where.join(', ')})`).join('; ');
  return `${n} ARN${n === 1 ? '' : 's'} cannot be mapped to the destination: ${each}; give --map-arn FROM=TO for ${n === 1 ? 'it' : 'each'} (or FROM*=TO* for a prefix)`;
}

// ---- a Lex archive and its sidecar ----

const utf8 = new TextDecoder('utf-8', { fatal: true });

function textOf(data: Buffer): string | undefined {
  try {
    return utf8.decode(data);
  } catch {
    return undefined;
  }
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/**
 * Every ARN of an archive's entries and of the sidecar's Lex section. A JSON
 * entry (every file of a Lex export) is searched field by field; any other
 * text entry as text; a binary entry (none in a Lex export) is not searched.
 */
export function lexArnPlaces(entries: ReadonlyMap<string, Buffer>, info?: LexRestoreInfo): ArnPlace[] {
  const places: ArnPlace[] = [];
  for (const [name, data] of entries) {
    const text = textOf(data);
    if (text === undefined || !text.includes('arn:')) continue;
    const json = parseJson(text);
    if (json.ok) places.push(...arnsInJson(json.value, (path) => (path ? `${name} ${path}` : name)));
    else places.push(...arnsInText(text).map((arn) => ({ arn, where: name })));
  }
  if (info) places.push(...arnsInJson(info, (path) => `sidecar ${path}`));
  return places;
}

/**
 * A JSON entry's text with its ARNs rewritten. The ARNs are replaced in the
 * text itself, so formatting, key order and number spelling stay as Lex
 * wrote them; if that does not parse to exactly the rewritten value (an ARN
 * written with JSON escapes, `\/`), the rewritten value is written out
 * minified, as Lex writes its exports.
 */
function rewriteEntryText(text: string, table: ReadonlyMap<string, string>): string {
  const replaced = replaceArns(text, table);
  const json = parseJson(text);
  if (!json.ok) return replaced;
  const expected = JSON.stringify(rewriteJson(json.value, table));
  const got = parseJson(replaced);
  return got.ok && JSON.stringify(got.value) === expected ? replaced : expected;
}

export interface RewrittenArchive {
  /** The zip to upload: the stored bytes when no entry changed. */
  readonly data: Buffer;
  readonly entries: ReadonlyMap<string, Buffer>;
  /** The entries whose ARNs were rewritten. */
  readonly changedEntries: readonly string[];
  readonly info?: LexRestoreInfo;
}

/**
 * Applies a plan to the archive and the sidecar. Entries keep their names and
 * order; a password-protected archive is written again with the same password
 * and, entry by entry, the same encryption (WinZip AES-256 for AES, PKWARE
 * ZipCrypto for ZipCrypto), so Lex opens it with the `filePassword` it would
 * have opened the stored one with. The container is what Lex V2 exports are
 * (README "Export formats": made by 2.0 on MS-DOS, UTF-8 names, signed data
 * descriptors, deflate, no extra fields). The new zip is read back and every
 * entry compared before it is returned.
 */
export async function rewriteLexArchive(
  source: { readonly data: Buffer; readonly entries: ReadonlyMap<string, Buffer>; readonly password?: string; readonly info?: LexRestoreInfo },
  table: ReadonlyMap<string, string>,
): Promise<RewrittenArchive> {
  const info = source.info ? rewriteJson(source.info, table) : undefined;
  const entries = new Map<string, Buffer>();
  const changedEntries: string[] = [];
  for (const [name, data] of source.entries) {
    const text = table.size ? textOf(data) : undefined;
    const next = text === undefined ? data : Buffer.from(rewriteEntryText(text, table), 'utf8');
    if (!next.equals(data)) changedEntries.push(name);
    entries.set(name, next.equals(data) ? data : next);
  }
  if (!changedEntries.length) return { data: source.data, entries: source.entries, changedEntries, ...(info ? { info } : {}) };

  const encryption = await withZip(bufferByteSource(source.data), {}, async (zip) => new Map(zip.entries.map((e) => [e.name, e.encryption])));
  const writer = new ZipWriter(new Uint8ArrayWriter(), {
    useWebWorkers: false,
    level: 6,
    lastModDate: new Date(),
    versionMadeBy: 20,
    msDosCompatible: true,
    extendedTimestamp: false,
    useUnicodeFileNames: true,
    dataDescriptor: true,
    dataDescriptorSignature: true,
    externalFileAttributes: 0,
  });
  for (const [name, data] of entries) {
    const method = encryption.get(name);
    if (method && source.password === undefined) throw new Error(`rewriteLexArchive: entry ${name} is encrypted and no password was given`);
    const crypt =
      method === 'zipcrypto'
        ? { password: source.password!, zipCrypto: true }
        : method === 'aes'
          ? { password: source.password!, encryptionStrength: 3 as const }
          : {};
    await writer.add(name, data.length ? new Uint8ArrayReader(data) : new TextReader(''), crypt);
  }
  const zipped = Buffer.from(await writer.close());
  const back = await withZip(bufferByteSource(zipped), source.password !== undefined ? { password: source.password } : {}, (zip) => zip.readAll());
  if (back.size !== entries.size || [...entries].some(([name, data]) => !back.get(name)?.equals(data))) {
    throw new Error('rewriteLexArchive: the rewritten archive does not read back as written');
  }
  return { data: zipped, entries, changedEntries, ...(info ? { info } : {}) };
}
