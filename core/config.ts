/**
 * Configuration from environment variables, validated once at cold start.
 *
 * A missing or invalid value throws a {@link ConfigError} that names the variable, so the
 * function fails at init with a message that says what to fix instead of failing per request.
 *
 * @module
 */
import type { PollPolicy } from './wait';

/** Thrown at cold start when an environment variable is missing or invalid. */
export class ConfigError extends Error {
  /** The name of the offending environment variable. */
  readonly variable: string;

  /**
   * @param variable - the environment variable's name
   * @param problem - what is wrong with it, e.g. "must be an integer from 1 to 28"
   */
  constructor(variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

/** The environment to read: `process.env` in a function, a plain object in tests. */
export type Environment = Record<string, string | undefined>;

/** Everything the Proxy needs, read from its environment by {@link loadProxyConfig}. */
export interface ProxyConfig {
  /** `DYNAMODB_TABLE_NAME`: the tasks table. Required. */
  tableName: string;
  /** `LAMBDA_TALKER_NAME`: the Talker function's name or ARN. Required. */
  talkerFunctionName: string;
  /** `STAGE_NAME`: accepted for compatibility with the original kit; Locations do not need it. */
  stageName?: string;
  /**
   * `API_KEY`: when set, a new GET must carry `api-key=<key>` (compared in constant time). It is
   * never put in a Location, and nothing in a link is derived from it, so no link lets anyone
   * guess it offline.
   */
  apiKey?: string;
  /**
   * `SIGNING_SECRET` (at least 32 characters): when set, every continuation also carries an
   * expiry and an HMAC-SHA256 signature, and a wrong or stale one is refused before any read.
   * Links carry a per-task token in any case.
   */
  signingKey?: Buffer;
  /**
   * `IDEMPOTENCY_CALLER_HEADERS`: more request headers (comma-separated) that identify a caller
   * for `Idempotency-Key` scoping, beside the credentials the kit knows (see `core/caller.ts`).
   */
  idempotencyCallerHeaders: string[];
  /** `WAIT_SECONDS` (default 25): how long one request waits before answering 303. */
  waitMs: number;
  /** `SAFETY_MARGIN_MS` (default 2000): time kept back from the function's remaining time and from API Gateway's cut-off. */
  safetyMarginMs: number;
  /**
   * `GATEWAY_TIMEOUT_MS` (default 29000): API Gateway's integration timeout, counted from the
   * request's arrival (`requestTimeEpoch`), which a slow cold start eats into. Raise it only if
   * your REST API's timeout was raised.
   */
  gatewayTimeoutMs: number;
  /** `POLL_INITIAL_MS` (25), `POLL_MAX_MS` (220), `POLL_FACTOR` (1.5). */
  poll: PollPolicy;
  /** `TASK_TTL_SECONDS` (default 3600): lifetime of a task row; also the validity of signed links. */
  taskTtlSeconds: number;
  /** `PENDING_TIMEOUT_SECONDS` (default 300): a task no Talker claimed by then counts as lost. */
  pendingTimeoutMs: number;
  /** `RESULT_GRACE_SECONDS` (default 60): how long a delivered result stays readable; 0 deletes it at once. */
  resultGraceSeconds: number;
  /** `RETRY_AFTER_SECONDS` (default 5): the `Retry-After` of 202 and 503 answers. */
  retryAfterSeconds: number;
  /** `CORS_ALLOW_ORIGIN`: the origin allowed to read the Proxy's own answers (303, 202, errors); none by default. */
  corsAllowOrigin?: string;
  /** `SHOW_ERROR_DETAILS` (default false): include Main's error type and message in error bodies. */
  showErrorDetails: boolean;
  /** `BROWSER_HOPS_BEFORE_PAGE` (default 15): after this many 303s a browser gets a page that continues by itself. 0 = never. */
  browserHopsBeforePage: number;
  /** `MAX_ASYNC_PAYLOAD_BYTES` (default 1048576): Lambda's limit for an `Event` invoke. Larger requests get 413. */
  maxAsyncPayloadBytes: number;
  /**
   * `RESULTS_PATH`: a dedicated path for continuations, e.g. `/_results` (Locations then read
   * `/_results/<RequestID>?...`). Unset: continuations use `?requestID=` on the request's own path.
   */
  resultsPath?: string;
}

/** Everything the Talker needs, read from its environment by {@link loadTalkerConfig}. */
export interface TalkerConfig {
  /** `DYNAMODB_TABLE_NAME`: the tasks table. Required. */
  tableName: string;
  /** `MAIN_LAMBDA_NAME`: Main's function name or ARN. Required. */
  mainFunctionName: string;
  /** `SAFETY_MARGIN_MS` (default 3000): time kept back to record the outcome before the Talker's own timeout. */
  safetyMarginMs: number;
  /** `MAX_RESULT_BYTES` (default 380000): the largest stored result, after compression; an item holds 400 KB. */
  maxResultBytes: number;
  /** `COMPRESS_ABOVE_BYTES` (default 4096): results larger than this are gzip-compressed. */
  compressAboveBytes: number;
  /** `THROTTLE_RETRIES` (default 3): how often to retry invoking Main when Lambda answers 429. */
  throttleRetries: number;
}

function required(env: Environment, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(name, 'is required but not set');
  return value;
}

function optional(env: Environment, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function integer(env: Environment, name: string, fallback: number, min: number, max: number): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be a whole number from ${min} to ${max}, got ${value}`);
  return value;
}

function decimal(env: Environment, name: string, fallback: number, min: number, max: number): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || value < min || value > max) {
    throw new ConfigError(name, `must be a number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function boolean(env: Environment, name: string, fallback: boolean): boolean {
  const raw = optional(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function headerList(env: Environment, name: string): string[] {
  const raw = optional(env, name);
  if (raw === undefined) return [];
  const names = raw.split(',').map((part) => part.trim().toLowerCase()).filter((part) => part !== '');
  const bad = names.find((part) => !/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(part));
  if (bad !== undefined) throw new ConfigError(name, `must be a comma-separated list of header names, got "${bad}"`);
  return names;
}

/**
 * One line on how continuation links are protected under a configuration, logged at cold start.
 *
 * @param config - the Proxy's configuration
 */
export function describeLinkProtection(config: Pick<ProxyConfig, 'apiKey' | 'signingKey'>): string {
  const signed = config.signingKey
    ? 'signed with SIGNING_SECRET and expiring'
    : 'not signed (SIGNING_SECRET is not set)';
  const apiKey = config.apiKey !== undefined
    ? 'API_KEY is required on new GET requests; it is in no link and no signature'
    : 'API_KEY is not set';
  return `continuation links carry a per-task 256-bit token (only its hash is stored), ${signed}; ${apiKey}`;
}

/**
 * Reads and validates the Proxy's configuration.
 *
 * @param env - the environment, `process.env` by default
 * @throws {@link ConfigError} naming the variable when a value is missing or invalid
 * @example
 * ```ts
 * const config = loadProxyConfig({ DYNAMODB_TABLE_NAME: 'tasks', LAMBDA_TALKER_NAME: 'talker' });
 * config.waitMs; // 25000
 * ```
 */
export function loadProxyConfig(env: Environment = process.env): ProxyConfig {
  const apiKey = optional(env, 'API_KEY');
  const signingSecret = optional(env, 'SIGNING_SECRET');
  if (signingSecret !== undefined && signingSecret.length < 32) {
    throw new ConfigError('SIGNING_SECRET', 'must be at least 32 characters long');
  }
  const corsAllowOrigin = optional(env, 'CORS_ALLOW_ORIGIN');
  if (corsAllowOrigin !== undefined && corsAllowOrigin !== '*' && !/^https?:\/\/[^/\s]+$/.test(corsAllowOrigin)) {
    throw new ConfigError('CORS_ALLOW_ORIGIN', `must be "*" or an origin like https://app.example.com, got "${corsAllowOrigin}"`);
  }
  const resultsPath = optional(env, 'RESULTS_PATH');
  if (resultsPath !== undefined && !/^(\/[A-Za-z0-9._~-]+)+$/.test(resultsPath)) {
    throw new ConfigError('RESULTS_PATH', `must be a path like /_results (no trailing slash), got "${resultsPath}"`);
  }
  const poll: PollPolicy = {
    initialDelayMs: integer(env, 'POLL_INITIAL_MS', 25, 5, 10_000),
    maxDelayMs: integer(env, 'POLL_MAX_MS', 220, 5, 10_000),
    factor: decimal(env, 'POLL_FACTOR', 1.5, 1, 10),
  };
  if (poll.maxDelayMs < poll.initialDelayMs) {
    throw new ConfigError('POLL_MAX_MS', `must not be below POLL_INITIAL_MS (${poll.initialDelayMs})`);
  }
  const stageName = optional(env, 'STAGE_NAME');
  return {
    tableName: required(env, 'DYNAMODB_TABLE_NAME'),
    talkerFunctionName: required(env, 'LAMBDA_TALKER_NAME'),
    ...(stageName !== undefined && { stageName }),
    ...(apiKey !== undefined && { apiKey }),
    ...(signingSecret !== undefined && { signingKey: Buffer.from(signingSecret, 'utf8') }),
    idempotencyCallerHeaders: headerList(env, 'IDEMPOTENCY_CALLER_HEADERS'),
    waitMs: decimal(env, 'WAIT_SECONDS', 25, 0, 28) * 1000,
    safetyMarginMs: integer(env, 'SAFETY_MARGIN_MS', 2000, 0, 60_000),
    gatewayTimeoutMs: integer(env, 'GATEWAY_TIMEOUT_MS', 29_000, 1000, 300_000),
    poll,
    taskTtlSeconds: integer(env, 'TASK_TTL_SECONDS', 3600, 60, 7 * 24 * 3600),
    pendingTimeoutMs: integer(env, 'PENDING_TIMEOUT_SECONDS', 300, 1, 6 * 3600) * 1000,
    resultGraceSeconds: integer(env, 'RESULT_GRACE_SECONDS', 60, 0, 24 * 3600),
    retryAfterSeconds: integer(env, 'RETRY_AFTER_SECONDS', 5, 1, 3600),
    ...(corsAllowOrigin !== undefined && { corsAllowOrigin }),
    showErrorDetails: boolean(env, 'SHOW_ERROR_DETAILS', false),
    browserHopsBeforePage: integer(env, 'BROWSER_HOPS_BEFORE_PAGE', 15, 0, 19),
    maxAsyncPayloadBytes: integer(env, 'MAX_ASYNC_PAYLOAD_BYTES', 1_048_576, 1024, 1_048_576),
    ...(resultsPath !== undefined && { resultsPath }),
  };
}

/**
 * Reads and validates the Talker's configuration.
 *
 * @param env - the environment, `process.env` by default
 * @throws {@link ConfigError} naming the variable when a value is missing or invalid
 */
export function loadTalkerConfig(env: Environment = process.env): TalkerConfig {
  return {
    tableName: required(env, 'DYNAMODB_TABLE_NAME'),
    mainFunctionName: required(env, 'MAIN_LAMBDA_NAME'),
    safetyMarginMs: integer(env, 'SAFETY_MARGIN_MS', 3000, 0, 60_000),
    maxResultBytes: integer(env, 'MAX_RESULT_BYTES', 380_000, 1024, 390_000),
    compressAboveBytes: integer(env, 'COMPRESS_ABOVE_BYTES', 4096, 0, 390_000),
    throttleRetries: integer(env, 'THROTTLE_RETRIES', 3, 0, 10),
  };
}
