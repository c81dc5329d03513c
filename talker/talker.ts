/**
 * The Talker: claims a task, runs Main synchronously with the original event, and records
 * the outcome. A Proxy that invoked it synchronously also gets Main's response in the Talker's
 * answer. It never throws: Lambda retries a failed asynchronous invoke, and a retry would run
 * Main again.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../core/clock';
import { loadTalkerConfig, type TalkerConfig } from '../core/config';
import { DynamoTaskStore } from '../core/dynamodb-task-store';
import { payloadFormatOf } from '../core/events';
import { InvokeError, LambdaInvoker, type FunctionInvoker, type SyncInvokeResult } from '../core/invoker';
import { createLogger, type KitLogger } from '../core/logger';
import { encodeResult } from '../core/result-codec';
import { StoreUnavailableError, type StoredResult, type TaskFailure, type TaskStore } from '../core/task-store';
import type { ApiGatewayEvent, PayloadFormat } from '../core/types';

/** The part of the Lambda context the Talker uses. */
export interface TalkerContext {
  /** Milliseconds until the function is stopped. */
  getRemainingTimeInMillis(): number;
  /** This invocation's id: the same on each retry of one asynchronous event. */
  awsRequestId: string;
}

/** What the Talker runs on. */
export interface TalkerDependencies {
  /** The validated configuration. */
  config: TalkerConfig;
  /** The task table. */
  store: TaskStore;
  /** Invokes Main. */
  invoker: FunctionInvoker;
  /** Time; the system clock by default. */
  clock?: Clock;
  /** Logs; JSON lines by default. */
  logger?: KitLogger;
}

/** Main answered and its response is stored. */
export interface TalkerCreated {
  /** Always `CREATED`. */
  outcome: 'CREATED';
  /** The task. */
  requestId: string;
  /** How long Main ran, in ms. */
  mainMs: number;
  /** The size of Main's response. */
  resultBytes: number;
  /** The size stored, after compression. */
  storedBytes: number;
  /** `identity` or `gzip`. */
  encoding: string;
  /**
   * Whether the result was stored in the task's own row with its status (at most
   * `INLINE_RESULT_MAX_BYTES`), so that retiring the task is one write.
   */
  resultInline: boolean;
  /**
   * Main's response as Main returned it (JSON text), when the payload asked for it
   * (`returnResult`, a Proxy waiting on a synchronous invoke) and the answer stays within
   * {@link MAX_RETURNED_RESPONSE_BYTES}. It is never logged.
   */
  response?: string;
}

/**
 * The largest answer a Talker returns, Main's response included: a little under Lambda's 6 MB
 * limit for a synchronous response (6,291,556 bytes), above which Lambda would replace the
 * answer with a `Function.ResponseSizeTooLarge` error. A larger response is only stored, and the
 * Proxy reads it from the table.
 */
export const MAX_RETURNED_RESPONSE_BYTES = 6_000_000;

/** Main could not give a usable answer; the task is FAILED. */
export interface TalkerFailed {
  /** Always `FAILED`. */
  outcome: 'FAILED';
  /** The task. */
  requestId: string;
  /** How long the attempt to run Main took, in ms. */
  mainMs: number;
  /** Why. */
  kind: TaskFailure['kind'];
  /** Details, for the logs. */
  message: string;
}

/** The Talker did nothing: a duplicate delivery, a task gone, or a payload it cannot read. */
export interface TalkerSkipped {
  /** Always `SKIPPED`. */
  outcome: 'SKIPPED';
  /** The task, when the payload named one. */
  requestId?: string;
  /** Why nothing was done. */
  reason: string;
}

/** How one Talker invocation ended, also logged as one JSON line. */
export type TalkerOutcome = TalkerCreated | TalkerFailed | TalkerSkipped;

/** A Talker handler. Resolves with what happened; never rejects. */
export type TalkerHandler = (payload: unknown, context: TalkerContext) => Promise<TalkerOutcome>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The members of a REST (payload 1.0) Lambda proxy response; API Gateway answers 502 to any other. */
export const REST_RESPONSE_KEYS = ['statusCode', 'headers', 'multiValueHeaders', 'body', 'isBase64Encoded'] as const;

const isScalar = (v: unknown): boolean => v === null || ['string', 'number', 'boolean'].includes(typeof v);
const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A `statusCode` API Gateway reads: a whole number or a string of digits, of a final status. */
function validStatus(value: unknown): boolean {
  const status = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof status === 'number' && Number.isInteger(status) && status >= 200 && status <= 599;
}

/**
 * Checks that Main's answer is something API Gateway can use, by the event's payload format.
 *
 * - REST (1.0), as recorded on AWS (LocalStack's parity snapshot
 *   `tests/aws/services/apigateway/test_apigateway_lambda.snapshot.json`,
 *   `test_aws_proxy_response_payload_format_validation`): an object whose members are only
 *   `statusCode`, `headers`, `multiValueHeaders`, `body` and `isBase64Encoded` (any other gives
 *   502); `statusCode` may be left out (200) or be a string of digits; `multiValueHeaders`
 *   values are lists.
 * - HTTP API (2.0): any JSON; an object with `statusCode` is a structured response whose
 *   `headers` hold single values, `cookies` a list of strings and `body` a string.
 *
 * A 1xx status is refused in both: it is not a final answer.
 *
 * @param text - Main's payload
 * @param format - the event's payload format
 * @returns a reason when the answer is unusable, naming the member at fault; `undefined` when it is fine
 */
export function checkMainResponse(text: string, format: PayloadFormat): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'the response is not JSON';
  }
  if (format === '2.0') {
    // Anything but an object with statusCode is the short form: a 200 JSON answer.
    if (!isPlainObject(value) || !('statusCode' in value)) return undefined;
    return checkMembers(value, format);
  }
  if (!isPlainObject(value)) return 'the response is not an object';
  const extra = Object.keys(value).find((key) => !(REST_RESPONSE_KEYS as readonly string[]).includes(key));
  if (extra !== undefined) {
    return `it has the member ${JSON.stringify(extra)}, which a REST API does not accept (only ${REST_RESPONSE_KEYS.join(', ')}; API Gateway answers 502)`;
  }
  return checkMembers(value, format);
}

function checkMembers(response: Record<string, unknown>, format: PayloadFormat): string | undefined {
  const status = response['statusCode'];
  if ((format === '2.0' || status !== undefined) && !validStatus(status)) return `statusCode ${JSON.stringify(status)} is not an HTTP status from 200 to 599`;
  const body = response['body'];
  if (body !== undefined && body !== null && typeof body !== 'string') return 'body is not a string';
  const base64 = response['isBase64Encoded'];
  if (base64 !== undefined && base64 !== null && typeof base64 !== 'boolean') return 'isBase64Encoded is not a boolean';
  const headers = response['headers'];
  if (headers !== undefined && headers !== null) {
    if (!isPlainObject(headers)) return 'headers is not an object';
    const bad = Object.entries(headers).find(([, v]) => !isScalar(v));
    if (bad) return `headers.${bad[0]} is not a single value${format === '2.0' ? ' (use cookies for several Set-Cookie)' : ' (use multiValueHeaders for several)'}`;
  }
  if (format === '1.0') {
    const multi = response['multiValueHeaders'];
    if (multi !== undefined && multi !== null) {
      if (!isPlainObject(multi)) return 'multiValueHeaders is not an object';
      const bad = Object.entries(multi).find(([, v]) => v !== null && (!Array.isArray(v) || !v.every(isScalar)));
      if (bad) return `multiValueHeaders.${bad[0]} is not a list of values`;
    }
  } else {
    const cookies = response['cookies'];
    if (cookies !== undefined && cookies !== null && (!Array.isArray(cookies) || !cookies.every((c) => typeof c === 'string'))) return 'cookies is not a list of strings';
  }
  return undefined;
}

/**
 * Sorts Main's function error into a failure.
 *
 * @param payload - Lambda's error payload `{errorType, errorMessage}`
 */
export function failureFromFunctionError(payload: Uint8Array): TaskFailure {
  let errorType = 'Error';
  let errorMessage = '';
  try {
    const parsed = JSON.parse(Buffer.from(payload).toString('utf8')) as { errorType?: unknown; errorMessage?: unknown };
    if (typeof parsed.errorType === 'string') errorType = parsed.errorType;
    if (typeof parsed.errorMessage === 'string') errorMessage = parsed.errorMessage;
  } catch {
    errorMessage = 'unreadable error payload';
  }
  if (errorType === 'Sandbox.Timedout' || /Task timed out after/.test(errorMessage)) {
    return { kind: 'MAIN_TIMEOUT', message: errorMessage || 'Main timed out', errorType };
  }
  if (errorType === 'Function.ResponseSizeTooLarge') {
    return { kind: 'RESULT_TOO_LARGE', message: errorMessage || 'Main returned more than Lambda allows', errorType };
  }
  return { kind: 'MAIN_ERROR', message: errorMessage || errorType, errorType };
}

/** Main answered something to store. */
export interface MainResultVerdict {
  /** Always `result`. */
  kind: 'result';
  /** The answer, encoded for storage. */
  result: StoredResult;
  /** Its size before compression. */
  rawBytes: number;
}

/** Main's answer, or the invoke, failed. */
export interface MainFailureVerdict {
  /** Always `failure`. */
  kind: 'failure';
  /** What to record. */
  failure: TaskFailure;
}

/** What Main's answer comes to: a result to store, or a failure to record. */
export type MainVerdict = MainResultVerdict | MainFailureVerdict;

/**
 * Classifies Main's answer, a pure step: a refused invoke or a function error is a failure; an
 * answer API Gateway cannot use, or one too large to store even compressed, is a failure; any
 * other answer is a result, encoded for storage.
 *
 * @param answer - Lambda's answer, or the failure of the invoke itself
 * @param format - the event's payload format (it decides what API Gateway accepts)
 * @param limits - `COMPRESS_ABOVE_BYTES` and `MAX_RESULT_BYTES`
 */
export function classifyMainAnswer(answer: SyncInvokeResult | TaskFailure, format: PayloadFormat, limits: Pick<TalkerConfig, 'compressAboveBytes' | 'maxResultBytes'>): MainVerdict {
  if ('kind' in answer) return { kind: 'failure', failure: answer };
  if (answer.functionError !== undefined) return { kind: 'failure', failure: failureFromFunctionError(answer.payload) };
  const problem = checkMainResponse(Buffer.from(answer.payload).toString('utf8'), format);
  if (problem !== undefined) return { kind: 'failure', failure: { kind: 'MALFORMED_RESPONSE', message: `Main's response cannot be used by API Gateway: ${problem}` } };
  const encoded = encodeResult(answer.payload, limits.compressAboveBytes, limits.maxResultBytes);
  if (!encoded.ok) {
    return {
      kind: 'failure',
      failure: { kind: 'RESULT_TOO_LARGE', message: `Main's response is ${encoded.rawBytes} bytes (${encoded.compressedBytes} compressed); a task row holds at most ${limits.maxResultBytes}` },
    };
  }
  return { kind: 'result', result: encoded.result, rawBytes: encoded.rawBytes };
}

function isPayload(value: unknown): value is { requestId: string; event: ApiGatewayEvent; returnResult?: unknown; inlineResult?: unknown } {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record['requestId'] === 'string' && UUID.test(record['requestId']) && typeof record['event'] === 'object' && record['event'] !== null;
}

/** Adds Main's response to the Talker's answer when the whole answer fits Lambda's limit. */
function withResponse(created: TalkerCreated, payload: Uint8Array): void {
  // JSON escapes can make the text longer than Main's bytes: measure the answer as Lambda will.
  if (payload.byteLength >= MAX_RETURNED_RESPONSE_BYTES) return;
  const response = Buffer.from(payload).toString('utf8');
  const size = Buffer.byteLength(JSON.stringify({ ...created, response }), 'utf8');
  if (size <= MAX_RETURNED_RESPONSE_BYTES) created.response = response;
}

/**
 * Builds the Talker from its parts.
 *
 * @param deps - configuration, store, invoker, clock, logger
 */
export function createTalker(deps: TalkerDependencies): TalkerHandler {
  const { config, store, invoker } = deps;
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? createLogger('talker');

  /**
   * Retries a store write on StoreUnavailableError until `until`; each attempt is abandoned at
   * `until` too, so that a hung table cannot hold the Talker past its own timeout.
   */
  async function persist<T>(what: string, requestId: string, until: number, write: (signal: AbortSignal) => Promise<T>): Promise<T | undefined> {
    let delay = 100;
    for (;;) {
      try {
        return await write(AbortSignal.timeout(Math.max(0, until - clock.now())));
      } catch (error) {
        if (!(error instanceof StoreUnavailableError) || clock.now() + delay >= until) {
          logger.error(`could not ${what}`, { requestId, error: String(error) });
          return undefined;
        }
        await clock.sleep(delay);
        delay = Math.min(delay * 2, 2000);
      }
    }
  }

  async function invokeMain(body: string, stopAt: number): Promise<SyncInvokeResult | TaskFailure> {
    let attempt = 0;
    for (;;) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), Math.max(0, stopAt - clock.now()));
      try {
        return await invoker.invokeSync(config.mainFunctionName, body, { signal: controller.signal });
      } catch (error) {
        // An error of unknown kind may have come after Main started: never read it as a refusal.
        const invokeError = error instanceof InvokeError ? error : new InvokeError('unavailable', String(error));
        if (invokeError.kind === 'aborted') {
          return { kind: 'TALKER_TIMEOUT', message: 'Main was still running when the Talker had to stop' };
        }
        // Only a throttle is retried: Lambda did not run Main. Anything else may have run it.
        const backoff = 1000 * 2 ** attempt;
        if (invokeError.kind === 'throttled' && attempt < config.throttleRetries && clock.now() + backoff < stopAt) {
          attempt += 1;
          await clock.sleep(backoff);
          continue;
        }
        if (invokeError.kind === 'throttled') return { kind: 'THROTTLED', message: invokeError.message };
        if (invokeError.kind === 'too-large') return { kind: 'INVOKE_FAILED', message: `the request is too large for a synchronous invoke: ${invokeError.message}` };
        if (invokeError.kind === 'rejected') return { kind: 'INVOKE_FAILED', message: invokeError.message };
        // A 5xx or a broken connection: Lambda may have run Main, so the key stays taken.
        return { kind: 'INVOKE_INTERRUPTED', message: invokeError.message };
      } finally {
        clearTimeout(timer);
      }
    }
  }

  async function run(payload: unknown, context: TalkerContext): Promise<TalkerOutcome> {
    if (!isPayload(payload)) {
      return { outcome: 'SKIPPED', reason: 'the payload is not {requestId, event}' };
    }
    const { requestId, event } = payload;
    const returnResult = payload.returnResult === true;
    const start = clock.now();
    const endOfLife = start + context.getRemainingTimeInMillis();
    const stopAt = endOfLife - config.safetyMarginMs;
    // Unique to this invocation: a duplicate delivery of the same event may share its awsRequestId,
    // and a retried claim must recognise its own success, not a twin's.
    const claimedBy = `${context.awsRequestId}/${randomUUID()}`;
    const claim = await persist('claim task', requestId, stopAt, (signal) =>
      // The deadline is when this Talker is surely gone: its own timeout plus a little slack.
      store.claimTask(requestId, { now: clock.now(), deadline: endOfLife + 1000, claimedBy }, { signal }),
    );
    if (!claim) return { outcome: 'SKIPPED', requestId, reason: 'already claimed, finished, expired or unreachable' };

    // The outcome is written until shortly before the Talker's own end, never past it.
    const writeBy = endOfLife - Math.min(500, config.safetyMarginMs);
    const mainStart = clock.now();
    const answer = await invokeMain(JSON.stringify(event), stopAt);
    const mainMs = clock.now() - mainStart;
    const verdict = classifyMainAnswer(answer, payloadFormatOf(event), config);
    if (verdict.kind === 'result') {
      const { result, rawBytes } = verdict;
      // A small result goes with the status (one write, and no read of its own) when the Proxy
      // that sent the task reads it there; an older Proxy reads only a result stored apart.
      const inline = payload.inlineResult === true && config.inlineResultMaxBytes > 0 && result.body.byteLength <= config.inlineResultMaxBytes;
      const saved = await persist('store result', requestId, writeBy, (signal) =>
        store.completeTask(requestId, result, { now: clock.now(), expiresAt: claim.expiresAt, claimedBy, inline }, { signal }),
      );
      if (!saved) return { outcome: 'SKIPPED', requestId, reason: 'the task was no longer running when Main answered' };
      const created: TalkerCreated = { outcome: 'CREATED', requestId, mainMs, resultBytes: rawBytes, storedBytes: result.body.byteLength, encoding: result.encoding, resultInline: inline };
      // Stored first, returned second: a Proxy that left at its window's end finds it in the table.
      if (returnResult) withResponse(created, (answer as SyncInvokeResult).payload);
      return created;
    }
    const { failure } = verdict;
    await persist('record failure', requestId, writeBy, (signal) => store.failTask(requestId, failure, clock.now(), ['RUNNING'], { signal, claimedBy }));
    return { outcome: 'FAILED', requestId, mainMs, kind: failure.kind, message: failure.message };
  }

  return async function talkerHandler(payload, context) {
    let outcome: TalkerOutcome;
    try {
      outcome = await run(payload, context);
    } catch (error) {
      // Never throw: an async retry would run Main again.
      outcome = { outcome: 'SKIPPED', reason: `unexpected error: ${error instanceof Error ? error.message : String(error)}` };
      logger.error('talker failed unexpectedly', { error: error instanceof Error ? error.stack : String(error) });
    }
    // The logger keeps `message` for its own text and drops a field of that name: the failure's
    // details go out as `detail`.
    // Main's response is the caller's data, never a log's.
    const { outcome: result, ...rest } = outcome;
    const { message: detail, response: _response, ...details } = rest as typeof rest & { message?: string; response?: string };
    const fields = { outcome: result, ...details, ...(detail !== undefined && { detail }) };
    if (result === 'SKIPPED') logger.warn('talker skipped', fields);
    else logger.info('talker finished', fields);
    return outcome;
  };
}

/**
 * Builds the Lambda handler of the Talker from the environment (validated at cold start).
 *
 * @param options - parts to use instead of the defaults
 * @example
 * ```ts
 * // talker/index.ts
 * export const handler = createTalkerHandler();
 * ```
 */
export function createTalkerHandler(options: Partial<TalkerDependencies> = {}): TalkerHandler {
  const config = options.config ?? loadTalkerConfig();
  // Timeouts that throw (the SDK only warns unless told): a hung table costs a retry, and every
  // call is bounded by the Talker's own remaining time besides.
  const store = options.store ?? new DynamoTaskStore({ tableName: config.tableName, clientConfig: { requestHandler: { connectionTimeout: 2000, requestTimeout: 5000, throwOnRequestTimeout: true } } });
  // Main may run up to 15 minutes: no request timeout on the invoke itself (the Talker aborts it).
  const invoker = options.invoker ?? new LambdaInvoker({ maxAttempts: 1, requestHandler: { connectionTimeout: 3000, requestTimeout: 0 } });
  return createTalker({ ...options, config, store, invoker });
}
