// Small helpers shared by the zx scripts: raw arguments, flag parsing, one-line errors.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { minimist } from 'zx';

/** A mistake in how a script was called (unknown flag, bad value): printed as one line with exit code 1. */
export class UsageError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure the scripts expect and explain (missing zip, no credentials, ...): one line, exit code 1. */
export class ExpectedError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'ExpectedError';
  }
}

/**
 * The arguments given to a script, unparsed, whether it runs as `zx script.mjs ...` or
 * `node script.mjs ...` (zx's own `argv` has already parsed them with its defaults, which turns
 * `--api-key 0123` into the number 123).
 *
 * @param {string} scriptUrl the script's `import.meta.url`
 * @param {string[]} [processArgv]
 * @returns {string[]}
 */
export function scriptArgs(scriptUrl, processArgv = process.argv) {
  const file = fileURLToPath(scriptUrl);
  const at = processArgv.findIndex((a, i) => i > 0 && !a.startsWith('-') && path.resolve(a) === file);
  return processArgv.slice(at >= 0 ? at + 1 : 2);
}

/**
 * Parses flags with zx's minimist: only the named flags are accepted, strings stay strings.
 *
 * @param {string[]} args raw arguments
 * @param {{ string?: string[], boolean?: string[], alias?: Record<string, string> }} spec
 * @returns {Record<string, unknown> & { _: string[] }}
 */
export function parseFlags(args, spec) {
  const known = new Set([...(spec.string ?? []), ...(spec.boolean ?? []), ...Object.keys(spec.alias ?? {}), ...Object.values(spec.alias ?? {})]);
  /** @type {string[]} */
  const unknown = [];
  const parsed = minimist(args, {
    string: spec.string ?? [],
    boolean: spec.boolean ?? [],
    alias: spec.alias ?? {},
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
  // a string flag given several times arrives as an array; a boolean given a value as a string
  for (const name of spec.boolean ?? []) {
    if (typeof parsed[name] !== 'boolean') throw new UsageError(`--${name} takes no value`);
  }
  return /** @type {Record<string, unknown> & { _: string[] }} */ (parsed);
}

/**
 * Runs a script's main function: expected errors become one line on stderr and exit code 1; an
 * unexpected one too, with the stack only when DEBUG is set.
 *
 * @param {string} scriptName e.g. "deploy"
 * @param {() => Promise<void>} main
 * @returns {Promise<void>}
 */
export async function runMain(scriptName, main) {
  try {
    await main();
  } catch (err) {
    process.exitCode = 1;
    const e = /** @type {Error} */ (err);
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

/**
 * @param {Error} e
 * @returns {boolean}
 */
function isKnownAwsError(e) {
  return CREDENTIAL_ERRORS.has(e.name) || e.name === 'AccessDeniedException' || e.name === 'AccessDenied' || /** @type {{ $metadata?: unknown }} */ (e).$metadata !== undefined;
}

/**
 * One readable line for an error, with a hint for the usual AWS credential problems.
 *
 * @param {Error} e
 * @returns {string}
 */
export function describeError(e) {
  const firstLine = String(e?.message ?? e).split('\n')[0] ?? '';
  if (e instanceof UsageError || e instanceof ExpectedError) return firstLine;
  if (CREDENTIAL_ERRORS.has(e?.name)) {
    return `no usable AWS credentials (${e.name}: ${firstLine}). Configure them (aws configure, AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY), or pass --endpoint URL for LocalStack or the local stack.`;
  }
  if (e?.name === 'AccessDeniedException' || e?.name === 'AccessDenied') {
    return `access denied: ${firstLine}`;
  }
  if (e && /** @type {{ code?: string }} */ (e).code === 'ECONNREFUSED') return `cannot connect: ${firstLine}`;
  return e?.name && e.name !== 'Error' ? `${e.name}: ${firstLine}` : firstLine;
}
