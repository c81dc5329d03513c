// Small helpers shared by the scripts: raw arguments, flag parsing, one-line errors.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { minimist } from 'zx';

/** A mistake in how a script was called (unknown flag, bad value): printed as one line with exit code 1. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure the scripts expect and explain (missing zip, no credentials, ...): one line, exit code 1. */
export class ExpectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExpectedError';
  }
}

/**
 * The arguments given to a script, unparsed, whether it runs as `zx script.mjs ...` or
 * `node script.mjs ...` (zx's own `argv` has already parsed them with its defaults, which turns
 * `--api-key 0123` into the number 123).
 *
 * @param scriptUrl - the script's `import.meta.url`
 */
export function scriptArgs(scriptUrl: string, processArgv: string[] = process.argv): string[] {
  const file = fileURLToPath(scriptUrl);
  const at = processArgv.findIndex((a, i) => i > 0 && !a.startsWith('-') && path.resolve(a) === file);
  return processArgv.slice(at >= 0 ? at + 1 : 2);
}

/**
 * What {@link parseFlags} returns: each string flag's last value (or undefined when absent), each
 * repeatable flag's values in order, each boolean flag as true or false.
 */
export type Flags<S extends string, R extends string, B extends string> =
  { readonly [K in S]?: string } & { readonly [K in R]: string[] } & { readonly [K in B]: boolean };

/** The flags a script accepts, by kind. */
export interface FlagSpec<S extends string, R extends string, B extends string> {
  /** flags that take a value; given twice, the last one wins */
  string?: readonly S[];
  /** flags that take a value and may be given several times */
  repeatable?: readonly R[];
  /** flags that take no value */
  boolean?: readonly B[];
  /** short names, e.g. `{ h: 'help' }` */
  alias?: Readonly<Record<string, B | S | R>>;
}

/**
 * Parses flags with zx's minimist: only the named flags are accepted, strings stay strings, and
 * a positional argument or a value given to a boolean flag is a usage error.
 *
 * @param args - raw arguments
 * @param spec - the flags accepted
 */
export function parseFlags<S extends string = never, R extends string = never, B extends string = never>(
  args: string[], spec: FlagSpec<S, R, B>,
): Flags<S, R, B> {
  const strings: string[] = [...(spec.string ?? []), ...(spec.repeatable ?? [])];
  const booleans: string[] = [...(spec.boolean ?? [])];
  const alias: Record<string, string> = { ...spec.alias };
  const known = new Set([...strings, ...booleans, ...Object.keys(alias), ...Object.values(alias)]);
  const unknown: string[] = [];
  const parsed = minimist(args, {
    string: strings,
    boolean: booleans,
    alias,
    unknown: (arg) => {
      if (arg.startsWith('-')) {
        const name = arg.replace(/^-+/, '').split('=')[0] ?? '';
        const base = name.startsWith('no-') ? name.slice(3) : name;
        if (!known.has(name) && !known.has(base)) unknown.push(arg.split('=')[0] ?? arg);
        return known.has(name) || known.has(base);
      }
      return true;
    },
  });
  if (unknown.length > 0) throw new UsageError(`unknown flag ${unknown[0]} (see --help)`);
  if (parsed._.length > 0) throw new UsageError(`unexpected argument "${parsed._[0]}" (see --help)`);
  const flags: Record<string, string | string[] | boolean | undefined> = {};
  // minimist gives a flag given several times as an array, and a boolean given a value as a string
  for (const name of booleans) {
    if (typeof parsed[name] !== 'boolean') throw new UsageError(`--${name} takes no value`);
    flags[name] = parsed[name];
  }
  const values = (name: string): string[] => (parsed[name] === undefined ? [] : [parsed[name]].flat().map(String));
  for (const name of spec.string ?? []) flags[name] = values(name).at(-1);
  for (const name of spec.repeatable ?? []) flags[name] = values(name);
  return flags as Flags<S, R, B>;
}

/**
 * Runs a script's main function: expected errors become one line on stderr and exit code 1; an
 * unexpected one too, with the stack only when DEBUG is set.
 *
 * @param scriptName - e.g. "deploy"
 */
export async function runMain(scriptName: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    process.exitCode = 1;
    const e = (err as Error);
    const message = describeError(e);
    console.error(`${scriptName}: ${message}`);
    if (!(e instanceof UsageError || e instanceof ExpectedError) && process.env.DEBUG) console.error(e.stack);
    else if (!(e instanceof UsageError || e instanceof ExpectedError) && !isKnownAwsError(e)) {
      console.error(`${scriptName}: (set DEBUG=1 for the stack trace)`);
    }
  }
}

const CREDENTIAL_ERRORS = new Set([
  'CredentialsProviderError', 'UnrecognizedClientException', 'InvalidClientTokenId', 'ExpiredToken',
  'ExpiredTokenException', 'SignatureDoesNotMatch', 'InvalidSignatureException', 'UnrecognizedClient',
]);

function isKnownAwsError(e: Error): boolean {
  return CREDENTIAL_ERRORS.has(e.name) || e.name === 'AccessDeniedException' || e.name === 'AccessDenied' || (e as { $metadata?: unknown }).$metadata !== undefined;
}

/**
 * One readable line for an error, with a hint for the usual AWS credential problems.
 */
export function describeError(e: Error): string {
  const firstLine = String(e?.message ?? e).split('\n')[0] ?? '';
  if (e instanceof UsageError || e instanceof ExpectedError) return firstLine;
  if (CREDENTIAL_ERRORS.has(e?.name)) {
    return `no usable AWS credentials (${e.name}: ${firstLine}). Configure them (aws configure, AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), or pass --endpoint URL for LocalStack or the local stack.`;
  }
  if (e?.name === 'AccessDeniedException' || e?.name === 'AccessDenied') {
    return `access denied: ${firstLine}`;
  }
  if (e && (e as { code?: string }).code === 'ECONNREFUSED') return `cannot connect: ${firstLine}`;
  return e?.name && e.name !== 'Error' ? `${e.name}: ${firstLine}` : firstLine;
}
