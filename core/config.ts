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

/** The Proxy's environment variables, by what each sets (the names the deploy script and the CDK construct set too). */
export const PROXY_ENV = {
  /** `DYNAMODB_TABLE_NAME`: the tasks table. */
  tableName: 'DYNAMODB_TABLE_NAME',
  /** `LAMBDA_TALKER_NAME`: the Talker function's name or ARN. */
  talkerName: 'LAMBDA_TALKER_NAME',
  /** `STAGE_NAME`: the stage, accepted for compatibility. */
  stageName: 'STAGE_NAME',
  /** `API_KEY`: the key new GET requests must carry. */
  apiKey: 'API_KEY',
  /** `SIGNING_SECRET`: the secret that signs links. */
  signingSecret: 'SIGNING_SECRET',
  /** `WAIT_SECONDS`: the wait window. */
  waitSeconds: 'WAIT_SECONDS',
  /** `SAFETY_MARGIN_MS`: the time kept back from the cut-off. */
  safetyMarginMs: 'SAFETY_MARGIN_MS',
  /** `GATEWAY_TIMEOUT_MS`: API Gateway's cut-off. */
  gatewayTimeoutMs: 'GATEWAY_TIMEOUT_MS',
  /** `ENDPOINT_TYPE`: the REST API's endpoint type (the default stream idle timeout follows it). */
  endpointType: 'ENDPOINT_TYPE',
  /** `STREAM_IDLE_TIMEOUT_MS`: how long a streamed answer may stay silent (stream mode only). */
  streamIdleTimeoutMs: 'STREAM_IDLE_TIMEOUT_MS',
  /** `POLL_INITIAL_MS`: the first delay between status reads. */
  pollInitialMs: 'POLL_INITIAL_MS',
  /** `POLL_MAX_MS`: the longest delay between status reads. */
  pollMaxMs: 'POLL_MAX_MS',
  /** `POLL_FACTOR`: the growth of the delay. */
  pollFactor: 'POLL_FACTOR',
  /** `TASK_TTL_SECONDS`: a task's lifetime. */
  taskTtlSeconds: 'TASK_TTL_SECONDS',
  /** `PENDING_TIMEOUT_SECONDS`: how long a task may wait for its Talker. */
  pendingTimeoutSeconds: 'PENDING_TIMEOUT_SECONDS',
  /** `RESULT_GRACE_SECONDS`: how long a delivered result stays readable. */
  resultGraceSeconds: 'RESULT_GRACE_SECONDS',
  /** `RETRY_AFTER_SECONDS`: the Retry-After of 202 and 503 answers. */
  retryAfterSeconds: 'RETRY_AFTER_SECONDS',
  /** `CORS_ALLOW_ORIGIN`: the origin allowed to read the Proxy's answers. */
  corsAllowOrigin: 'CORS_ALLOW_ORIGIN',
  /** `SHOW_ERROR_DETAILS`: whether error answers show Main's error. */
  showErrorDetails: 'SHOW_ERROR_DETAILS',
  /** `BROWSER_HOPS_BEFORE_PAGE`: 303s before the self-continuing page. */
  browserHopsBeforePage: 'BROWSER_HOPS_BEFORE_PAGE',
  /** `MAX_ASYNC_PAYLOAD_BYTES`: Lambda's limit for an asynchronous invoke. */
  maxAsyncPayloadBytes: 'MAX_ASYNC_PAYLOAD_BYTES',
  /** `RESULTS_PATH`: the dedicated route of continuations. */
  resultsPath: 'RESULTS_PATH',
  /** `IDEMPOTENCY_CALLER_HEADERS`: more headers that identify a caller. */
  idempotencyCallerHeaders: 'IDEMPOTENCY_CALLER_HEADERS',
  /** `TALKER_INVOCATION_TYPE`: how the Proxy invokes the Talker for a request that waits. */
  talkerInvocationType: 'TALKER_INVOCATION_TYPE',
} as const;

/**
 * How the Proxy invokes the Talker for a request that waits: `RequestResponse` (the Proxy waits
 * for the Talker's answer, which carries Main's response, until its window ends) or `Event`
 * (queued; the Proxy polls the task table for the outcome).
 */
export type TalkerInvocationType = 'RequestResponse' | 'Event';

/** The Talker's invocation types, as Lambda spells them. */
export const TALKER_INVOCATION_TYPES = ['RequestResponse', 'Event'] as const satisfies readonly TalkerInvocationType[];

/** The Talker's environment variables, by what each sets. */
export const TALKER_ENV = {
  /** `DYNAMODB_TABLE_NAME`: the tasks table. */
  tableName: 'DYNAMODB_TABLE_NAME',
  /** `MAIN_LAMBDA_NAME`: Main's function name or ARN. */
  mainName: 'MAIN_LAMBDA_NAME',
  /** `SAFETY_MARGIN_MS`: the time kept back from the Talker's own timeout. */
  safetyMarginMs: 'SAFETY_MARGIN_MS',
  /** `MAX_RESULT_BYTES`: the largest stored result. */
  maxResultBytes: 'MAX_RESULT_BYTES',
  /** `COMPRESS_ABOVE_BYTES`: the size above which results are compressed. */
  compressAboveBytes: 'COMPRESS_ABOVE_BYTES',
  /** `INLINE_RESULT_MAX_BYTES`: the largest result kept in the task's own row. */
  inlineResultMaxBytes: 'INLINE_RESULT_MAX_BYTES',
  /** `THROTTLE_RETRIES`: retries when Lambda throttles Main. */
  throttleRetries: 'THROTTLE_RETRIES',
} as const;

/** The environment to read: `process.env` in a function, a plain object in tests. */
export type Environment = Record<string, string | undefined>;

/**
 * How API Gateway passes the Proxy's answer on: `buffered` (the whole response at once, the
 * classic proxy integration, up to `GATEWAY_TIMEOUT_MS`) or `stream` (REST APIs with
 * `responseTransferMode: STREAM`: the Proxy runs as a response-streaming handler and may take up
 * to the integration timeout, bounded by the stream's idle timeout).
 */
export type TransferMode = 'buffered' | 'stream';

/** The transfer modes, as `--transfer-mode` spells them. */
export const TRANSFER_MODES = ['buffered', 'stream'] as const satisfies readonly TransferMode[];

/** A REST API's endpoint type. */
export type EndpointType = 'REGIONAL' | 'EDGE' | 'PRIVATE';

/** The endpoint types, as API Gateway spells them. */
export const ENDPOINT_TYPES = ['REGIONAL', 'EDGE', 'PRIVATE'] as const satisfies readonly EndpointType[];

/** API Gateway's limits that bound a hop, in milliseconds. */
export const GATEWAY_LIMITS_MS = {
  /** The default integration timeout of REST and HTTP APIs (29 s; HTTP APIs cannot raise it). */
  bufferedTimeout: 29_000,
  /** The most the kit accepts for a buffered timeout raised by a quota increase (Regional and private REST APIs; 300 s is the highest reported). */
  bufferedTimeoutMax: 300_000,
  /** The most a streaming integration may be given (15 minutes). */
  streamTimeoutMax: 900_000,
  /** The idle timeout of a response stream, by endpoint type. */
  streamIdle: {
    /** Regional endpoints: 5 minutes. */
    REGIONAL: 300_000,
    /** Private endpoints: 5 minutes. */
    PRIVATE: 300_000,
    /** Edge-optimized endpoints: 30 s. */
    EDGE: 30_000,
  },
} as const;

/** Time kept back between the longest window and the cut-off's margin by default: 25 s of 29 s (at most a tenth of the window). */
const DEFAULT_WINDOW_HEADROOM_MS = 2000;
/**
 * A task row without its result is under 1 KB (a few link-token hashes included): with up to
 * 3000 bytes of result it stays within the 4 KB of one strongly consistent read unit.
 */
const DEFAULT_INLINE_RESULT_MAX_BYTES = 3000;
/**
 * DynamoDB bills every later write of a row (a retire, a joining caller's token) by its whole
 * size in 1 KB units, and a row holds 400 KB: larger results are better apart.
 */
const MAX_INLINE_RESULT_BYTES = 65_536;

/**
 * How long the Proxy may take to start its answer: the integration timeout, and in stream
 * mode also the stream's idle timeout, which the kit assumes runs before the first byte too
 * (AWS does not say that it does not).
 *
 * @param config - the transfer mode and the two timeouts
 */
export function answerLimitMs(config: Pick<ProxyConfig, 'transferMode' | 'gatewayTimeoutMs' | 'streamIdleTimeoutMs'>): number {
  return config.transferMode === 'stream' ? Math.min(config.gatewayTimeoutMs, config.streamIdleTimeoutMs) : config.gatewayTimeoutMs;
}

/** The longest and the default `WAIT_SECONDS`. */
export interface WaitBounds {
  /** The longest window, in seconds. */
  max: number;
  /** The default window, in seconds. */
  fallback: number;
}

/**
 * The longest and the default wait window for a limit: the window ends `SAFETY_MARGIN_MS` before
 * the cut-off at most, and by default 2 s earlier still, or a tenth of the window when that is
 * less (25 s with API Gateway's default 29 s, 3.6 s with a 6 s limit).
 *
 * @param limitMs - how long the Proxy may take to answer ({@link answerLimitMs})
 * @param safetyMarginMs - the margin kept back from the cut-off
 * @returns seconds: the longest and the default
 */
export function waitSecondsBounds(limitMs: number, safetyMarginMs: number): WaitBounds {
  const maxMs = Math.max(0, limitMs - safetyMarginMs);
  const headroomMs = Math.min(DEFAULT_WINDOW_HEADROOM_MS, maxMs / 10);
  return { max: maxMs / 1000, fallback: Math.round(maxMs - headroomMs) / 1000 };
}

/** Options of {@link loadProxyConfig} that come from the handler, not the environment. */
export interface ProxyConfigOptions {
  /** The mode of the handler that reads the configuration (default `buffered`). */
  transferMode?: TransferMode;
}

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
  /**
   * `WAIT_SECONDS`: how long one request waits before answering 303. At most the answer limit
   * ({@link answerLimitMs}) less `SAFETY_MARGIN_MS`; by default 2 s less than that (25 s with
   * API Gateway's default 29 s, 296 s when streaming on a Regional endpoint with a 900 s
   * integration timeout).
   */
  waitMs: number;
  /** `SAFETY_MARGIN_MS` (default 2000): time kept back from the function's remaining time and from API Gateway's cut-off. */
  safetyMarginMs: number;
  /**
   * `GATEWAY_TIMEOUT_MS` (default 29000): API Gateway's integration timeout (`timeoutInMillis`),
   * counted from the request's arrival (`requestTimeEpoch`), which a slow cold start eats into.
   * Set it to the integration's own value: up to 300000 in buffered mode (only if your REST
   * API's timeout was raised), up to 900000 in stream mode. The default is the smallest, since a
   * Proxy that waits past the real cut-off loses its continuation to API Gateway's 504.
   */
  gatewayTimeoutMs: number;
  /** The mode of the handler: decides whether the stream's idle timeout bounds the answer. */
  transferMode: TransferMode;
  /** `ENDPOINT_TYPE` (default `REGIONAL`): the REST API's endpoint type. */
  endpointType: EndpointType;
  /**
   * `STREAM_IDLE_TIMEOUT_MS` (default 300000 on Regional and private endpoints, 30000 on
   * edge-optimized ones): how long a response stream may stay silent. Bounds the window in
   * stream mode only.
   */
  streamIdleTimeoutMs: number;
  /** `POLL_INITIAL_MS` (25), `POLL_MAX_MS` (220), `POLL_FACTOR` (1.5). */
  poll: PollPolicy;
  /**
   * `TALKER_INVOCATION_TYPE` (default `RequestResponse`): how a request that waits invokes its
   * Talker. `RequestResponse` waits for the Talker's answer until the window ends, so a job that
   * ends inside the window needs no status read at all; a throttled invoke falls back to
   * `Event`, and the Talker runs on when the window ends first. `Event` queues the Talker and
   * polls the table, as a `Prefer: respond-async` request always does.
   */
  talkerInvocationType: TalkerInvocationType;
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
  /**
   * `INLINE_RESULT_MAX_BYTES` (default 3000): a stored result of at most this size is written
   * with the task's `CREATED` status in one write, and comes with the status read that finds it
   * (the task row then stays under 4 KB, one read unit); a larger one goes in an item of its own
   * first. 0 keeps every result apart; at most 65536.
   */
  inlineResultMaxBytes: number;
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

function decimal(env: Environment, name: string, fallback: number, min: number, max: number, maxReason?: string): number {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || value < min || value > max) {
    throw new ConfigError(name, `must be a number from ${min} to ${max}${maxReason ? ` ${maxReason}` : ''}, got "${raw}"`);
  }
  return value;
}

function choice<T extends string>(env: Environment, name: string, allowed: readonly T[], fallback: T): T {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  const value = allowed.find((option) => option === raw.toUpperCase() || option === raw.toLowerCase());
  if (value === undefined) throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  return value;
}

/** A choice of mixed-case names (`RequestResponse`), matched without regard to case. */
function named<T extends string>(env: Environment, name: string, allowed: readonly T[], fallback: T): T {
  const raw = optional(env, name);
  if (raw === undefined) return fallback;
  const value = allowed.find((option) => option.toLowerCase() === raw.toLowerCase());
  if (value === undefined) throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
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
 * @param options - what the handler itself says (its transfer mode)
 * @throws {@link ConfigError} naming the variable when a value is missing or invalid
 * @example
 * ```ts
 * const config = loadProxyConfig({ DYNAMODB_TABLE_NAME: 'tasks', LAMBDA_TALKER_NAME: 'talker' });
 * config.waitMs; // 25000
 * ```
 */
export function loadProxyConfig(env: Environment = process.env, options: ProxyConfigOptions = {}): ProxyConfig {
  const transferMode = options.transferMode ?? 'buffered';
  const apiKey = optional(env, PROXY_ENV.apiKey);
  const signingSecret = optional(env, PROXY_ENV.signingSecret);
  if (signingSecret !== undefined && signingSecret.length < 32) {
    throw new ConfigError(PROXY_ENV.signingSecret, 'must be at least 32 characters long');
  }
  const corsAllowOrigin = optional(env, PROXY_ENV.corsAllowOrigin);
  if (corsAllowOrigin !== undefined && corsAllowOrigin !== '*' && !/^https?:\/\/[^/\s]+$/.test(corsAllowOrigin)) {
    throw new ConfigError(PROXY_ENV.corsAllowOrigin, `must be "*" or an origin like https://app.example.com, got "${corsAllowOrigin}"`);
  }
  const resultsPath = optional(env, PROXY_ENV.resultsPath);
  if (resultsPath !== undefined && !/^(\/[A-Za-z0-9._~-]+)+$/.test(resultsPath)) {
    throw new ConfigError(PROXY_ENV.resultsPath, `must be a path like /_results (no trailing slash), got "${resultsPath}"`);
  }
  const poll: PollPolicy = {
    initialDelayMs: integer(env, PROXY_ENV.pollInitialMs, 25, 5, 10_000),
    maxDelayMs: integer(env, PROXY_ENV.pollMaxMs, 220, 5, 10_000),
    factor: decimal(env, PROXY_ENV.pollFactor, 1.5, 1, 10),
  };
  if (poll.maxDelayMs < poll.initialDelayMs) {
    throw new ConfigError(PROXY_ENV.pollMaxMs, `must not be below POLL_INITIAL_MS (${poll.initialDelayMs})`);
  }
  const stageName = optional(env, PROXY_ENV.stageName);
  const endpointType = choice(env, PROXY_ENV.endpointType, ENDPOINT_TYPES, 'REGIONAL');
  const gatewayTimeoutMs = integer(env, PROXY_ENV.gatewayTimeoutMs, GATEWAY_LIMITS_MS.bufferedTimeout, 1000,
    transferMode === 'stream' ? GATEWAY_LIMITS_MS.streamTimeoutMax : GATEWAY_LIMITS_MS.bufferedTimeoutMax);
  const streamIdleTimeoutMs = integer(env, PROXY_ENV.streamIdleTimeoutMs, GATEWAY_LIMITS_MS.streamIdle[endpointType], 1000, GATEWAY_LIMITS_MS.streamTimeoutMax);
  const safetyMarginMs = integer(env, PROXY_ENV.safetyMarginMs, 2000, 0, 60_000);
  const limitMs = answerLimitMs({ transferMode, gatewayTimeoutMs, streamIdleTimeoutMs });
  if (safetyMarginMs >= limitMs) {
    throw new ConfigError(PROXY_ENV.safetyMarginMs, `must be below the time the Proxy may take to answer (${limitMs} ms), got ${safetyMarginMs}`);
  }
  const wait = waitSecondsBounds(limitMs, safetyMarginMs);
  return {
    tableName: required(env, PROXY_ENV.tableName),
    talkerFunctionName: required(env, PROXY_ENV.talkerName),
    ...(stageName !== undefined && { stageName }),
    ...(apiKey !== undefined && { apiKey }),
    ...(signingSecret !== undefined && { signingKey: Buffer.from(signingSecret, 'utf8') }),
    idempotencyCallerHeaders: headerList(env, PROXY_ENV.idempotencyCallerHeaders),
    waitMs: decimal(env, PROXY_ENV.waitSeconds, wait.fallback, 0, wait.max,
      transferMode === 'stream' ? `(the answer limit ${limitMs} ms less SAFETY_MARGIN_MS)` : '(GATEWAY_TIMEOUT_MS less SAFETY_MARGIN_MS)') * 1000,
    safetyMarginMs,
    gatewayTimeoutMs,
    transferMode,
    endpointType,
    streamIdleTimeoutMs,
    poll,
    talkerInvocationType: named(env, PROXY_ENV.talkerInvocationType, TALKER_INVOCATION_TYPES, 'RequestResponse'),
    taskTtlSeconds: integer(env, PROXY_ENV.taskTtlSeconds, 3600, 60, 7 * 24 * 3600),
    pendingTimeoutMs: integer(env, PROXY_ENV.pendingTimeoutSeconds, 300, 1, 6 * 3600) * 1000,
    resultGraceSeconds: integer(env, PROXY_ENV.resultGraceSeconds, 60, 0, 24 * 3600),
    retryAfterSeconds: integer(env, PROXY_ENV.retryAfterSeconds, 5, 1, 3600),
    ...(corsAllowOrigin !== undefined && { corsAllowOrigin }),
    showErrorDetails: boolean(env, PROXY_ENV.showErrorDetails, false),
    browserHopsBeforePage: integer(env, PROXY_ENV.browserHopsBeforePage, 15, 0, 19),
    maxAsyncPayloadBytes: integer(env, PROXY_ENV.maxAsyncPayloadBytes, 1_048_576, 1024, 1_048_576),
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
    tableName: required(env, TALKER_ENV.tableName),
    mainFunctionName: required(env, TALKER_ENV.mainName),
    safetyMarginMs: integer(env, TALKER_ENV.safetyMarginMs, 3000, 0, 60_000),
    maxResultBytes: integer(env, TALKER_ENV.maxResultBytes, 380_000, 1024, 390_000),
    compressAboveBytes: integer(env, TALKER_ENV.compressAboveBytes, 4096, 0, 390_000),
    inlineResultMaxBytes: integer(env, TALKER_ENV.inlineResultMaxBytes, DEFAULT_INLINE_RESULT_MAX_BYTES, 0, MAX_INLINE_RESULT_BYTES),
    throttleRetries: integer(env, TALKER_ENV.throttleRetries, 3, 0, 10),
  };
}
