/**
 * What Lambda's operations share about functions: names and ARNs, the
 * reserved environment variables, timestamps, code hashes, and unpacking a
 * zip to a directory under the OS temp dir.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, isAbsolute } from 'node:path';
import { unzipSync } from 'fflate';
import { invalidParameter, validationError } from './errors';
import { ACCOUNT_ID } from '../http';

/** Largest zip accepted by CreateFunction / UpdateFunctionCode (direct upload). */
export const MAX_ZIP_BYTES = 50 * 1024 * 1024;
/** Largest unzipped code size. */
export const MAX_UNZIPPED_BYTES = 262_144_000;

/** Environment variable names that Lambda reserves. */
export const RESERVED_ENV_KEYS = new Set([
  '_HANDLER', '_X_AMZN_TRACE_ID', 'AWS_DEFAULT_REGION', 'AWS_REGION', 'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME', 'AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE', 'AWS_LAMBDA_LOG_GROUP_NAME', 'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API', 'LAMBDA_TASK_ROOT', 'LAMBDA_RUNTIME_DIR',
]);

/**
 * Splits a function name, full ARN or partial ARN into name and qualifier.
 * @param ref the FunctionName path parameter
 */
export function parseFunctionRef(ref: string): { name: string; qualifier?: string } {
  const m = /^(?:arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:)?(?:\d{12}:)?(?:function:)?([a-zA-Z0-9_-]+)(?::(\$LATEST|[a-zA-Z0-9_-]+))?$/.exec(ref);
  if (!m?.[1] || m[1].length > 64) {
    throw validationError(ref, 'functionName',
      'Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?');
  }
  return m[2] ? { name: m[1], qualifier: m[2] } : { name: m[1] };
}

/**
 * The ARN of a function.
 * @param region region
 * @param name function name
 */
export function functionArn(region: string, name: string): string {
  return `arn:aws:lambda:${region}:${ACCOUNT_ID}:function:${name}`;
}

/** AWS's LastModified format for functions: `2024-01-01T00:00:00.000+0000`. */
export function lambdaTimestamp(date = new Date()): string {
  return date.toISOString().replace('Z', '+0000');
}

/** Base64 SHA-256 of the code, as CodeSha256. */
export function codeSha256(zip: Uint8Array): string {
  return createHash('sha256').update(zip).digest('base64');
}

/**
 * Unpacks a zip into a new directory under `root`.
 * @param zip the zip bytes
 * @param root parent directory
 * @param label a readable part of the directory name
 */
export function unpackZip(zip: Uint8Array, root: string, label: string): string {
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip);
  } catch {
    throw invalidParameter('Could not unzip uploaded file. Please check your file, then try to upload again.');
  }
  let total = 0;
  for (const data of Object.values(files)) total += data.length;
  if (total > MAX_UNZIPPED_BYTES) {
    throw invalidParameter(`Unzipped size must be smaller than ${MAX_UNZIPPED_BYTES} bytes`);
  }
  const dir = join(root, `${label}-${randomBytes(4).toString('hex')}`);
  mkdirSync(dir, { recursive: true });
  try {
    for (const [name, data] of Object.entries(files)) {
      const clean = normalize(name);
      if (isAbsolute(clean) || clean.startsWith('..')) {
        throw invalidParameter(`Could not unzip uploaded file: entry outside the archive root: ${name}`);
      }
      const target = join(dir, clean);
      if (name.endsWith('/')) {
        mkdirSync(target, { recursive: true });
        continue;
      }
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, data);
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return dir;
}

/** A new revision id. */
export function newRevisionId(): string {
  return randomUUID();
}
