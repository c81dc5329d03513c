/**
 * The Proxy: gives each new request a task and a Talker, waits for the outcome inside API
 * Gateway's window, and answers with Main's response, an error, or a continuation.
 *
 * The logic takes its store, invoker, clock and logger as arguments, so tests drive it with
 * real parts (dynalite, in-process functions) and no monkey-patching.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { DynamoTaskStore } from '../core/dynamodb-task-store';
import { systemClock, type Clock } from '../core/clock';
import { loadProxyConfig, type ProxyConfig } from '../core/config';
import {
  apiKeyMatches,
  continuationLocation,
  readContinuation,
  verifyContinuation,
  type Continuation,
  type ContinuationMode,
} from '../core/continuation';
import { acceptsHtml, headerValue, readRequest, type IncomingRequest, type ProxyResponse } from '../core/events';
import { statusForFailure, summaryForFailure } from '../core/failures';
import { hashIdempotencyKey, readIdempotencyKey, requestFingerprint } from '../core/idempotency';
import { InvokeError, LambdaInvoker, type FunctionInvoker } from '../core/invoker';
import { createLogger, type KitLogger } from '../core/logger';
import { readPreferences, type Preferences } from '../core/prefer';
import { decodeResult } from '../core/result-codec';
import { accepted, continuePage, errorResponse, seeOther, type AnswerContext } from '../core/responses';
import { StoreUnavailableError, type TaskStore } from '../core/task-store';
import type { ApiGatewayEvent, TalkerPayload, TaskStatusView } from '../core/types';
import { waitForOutcome, type WaitOutcome } from '../core/wait';

/** The part of the Lambda context the Proxy uses. */
export interface InvocationContext {
  /** Milliseconds until the function is stopped. */
  getRemainingTimeInMillis(): number;
  /** The invocation's id, for logs. */
  awsRequestId?: string;
}

/** What the Proxy runs on. */
export interface ProxyDependencies {
  /** The validated configuration. */
  config: ProxyConfig;
  /** The task table. */
  store: TaskStore;
  /** Starts the Talker. */
  invoker: FunctionInvoker;
  /** Time; the system clock by default. */
  clock?: Clock;
  /** Logs; JSON lines by default. */
  logger?: KitLogger;
  /** Makes RequestIDs; `crypto.randomUUID` by default. */
  newRequestId?: () => string;
}

/** A Proxy handler: takes an API Gateway event, returns Main's response or the Proxy's own. */
export type ProxyHandler = (event: ApiGatewayEvent, context: InvocationContext) => Promise<unknown>;

const CORS_ALLOW_HEADERS = 'Content-Type, Authorization, Prefer, Idempotency-Key, Api-Key, X-Api-Key';

/**
 * Builds the Proxy from its parts.
 *
 * @param deps - configuration, store, invoker, clock, logger
 * @returns the handler function
 */
export function createProxy(deps: ProxyDependencies): ProxyHandler {
  const { config, store, invoker } = deps;
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? createLogger('proxy');
  const newRequestId = deps.newRequestId ?? randomUUID;

  function answerContext(request: IncomingRequest, requestId?: string): AnswerContext {
    const context: AnswerContext = { html: acceptsHtml(request) };
    if (requestId !== undefined) context.requestId = requestId;
    if (config.corsAllowOrigin !== undefined) context.corsAllowOrigin = config.corsAllowOrigin;
    return context;
  }

  function location(request: IncomingRequest, requestId: string, hop: number, mode: ContinuationMode): string {
    const now = clock.now();
    const signing = config.signingKey
      ? { key: config.signingKey, expires: Math.floor(now / 1000) + config.taskTtlSeconds }
      : undefined;
    const route = config.resultsPath !== undefined ? { resultsPath: config.resultsPath, from: request } : undefined;
    return continuationLocation({ requestId, hop, mode }, signing, route);
  }

  function windowEnd(request: IncomingRequest, context: InvocationContext, prefs: Preferences, fallbackMs: number): number {
    const now = clock.now();
    const remaining = typeof context.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : Infinity;
    let ms = Math.min(fallbackMs, remaining - config.safetyMarginMs);
    // API Gateway's clock started when the request arrived, not when this function did: a slow
    // cold start must not push the answer past the gateway's cut-off (the client would get 504
    // and lose its continuation). A time stamp far from now (clock skew, bad data) is ignored.
    const received = request.receivedAt;
    if (received !== undefined && received <= now + 5000 && received >= now - config.gatewayTimeoutMs) {
      ms = Math.min(ms, received + config.gatewayTimeoutMs - config.safetyMarginMs - now);
    }
    if (prefs.waitSeconds !== undefined) ms = Math.min(ms, prefs.waitSeconds * 1000);
    return now + Math.max(0, ms);
  }

  /**
   * Aborts half the safety margin after the window's end: a status read still running then is
   * abandoned, so the answer still beats API Gateway's cut-off and the function's timeout.
   */
  function answerBy(until: number): AbortSignal {
    return AbortSignal.timeout(Math.max(0, until - clock.now()) + Math.floor(config.safetyMarginMs / 2));
  }

  function unavailable(ctx: AnswerContext, what: string, retryLocation?: string): ProxyResponse {
    const retry = String(config.retryAfterSeconds);
    const headers: Record<string, string> = { 'Retry-After': retry };
    if (retryLocation !== undefined) {
      headers['Location'] = retryLocation;
      if (ctx.html) headers['Refresh'] = `${retry};url=${retryLocation}`;
    }
    return errorResponse(503, 'SERVICE_UNAVAILABLE', `${what} is unavailable right now; nothing was lost. Try again in ${retry} s.`, ctx, headers);
  }

  async function retireQuietly(requestId: string): Promise<void> {
    try {
      await store.retireTask(requestId, { now: clock.now(), graceSeconds: config.resultGraceSeconds });
    } catch (error) {
      // TTL removes the row later; the client already has its answer.
      logger.warn('could not retire task', { requestId, error: String(error) });
    }
  }

  async function deliver(requestId: string, outcome: WaitOutcome, cont: { hop: number; mode: ContinuationMode }, request: IncomingRequest, prefs: Preferences): Promise<unknown> {
    const ctx = answerContext(request, requestId);
    const view: TaskStatusView | undefined = 'view' in outcome ? outcome.view : undefined;
    const elapsedMs = view ? clock.now() - view.createdAt : 0;
    switch (outcome.kind) {
      case 'absent':
        return errorResponse(404, 'NOT_FOUND', 'No request with this RequestID is waiting: it never existed, it expired, or its result was already delivered.', ctx);
      case 'done': {
        const stored = await store.readResult(requestId);
        if (!stored) {
          return errorResponse(404, 'NOT_FOUND', 'The result of this request was already delivered or has expired.', ctx);
        }
        const text = decodeResult(stored);
        await retireQuietly(requestId);
        logger.info('result delivered', { requestId, hop: cont.hop, mode: cont.mode, elapsedMs, resultBytes: text.length, reads: outcome.reads });
        return JSON.parse(text) as unknown;
      }
      case 'failed':
      case 'lost': {
        let failure = view?.failure ?? { kind: 'LOST' as const, message: 'no outcome recorded' };
        if (outcome.kind === 'lost' && view) {
          failure = { kind: 'LOST', message: view.status === 'PENDING' ? 'no Talker picked the request up in time' : 'the Talker stopped before recording an outcome' };
          const marked = await store.failTask(requestId, failure, clock.now(), [view.status as 'PENDING' | 'RUNNING']);
          if (!marked) {
            // Someone recorded an outcome at the last moment: look again.
            return handleContinuation({ requestId, hop: cont.hop, mode: cont.mode }, request, prefs, { getRemainingTimeInMillis: () => 0 });
          }
        }
        await retireQuietly(requestId);
        const status = statusForFailure(failure.kind);
        let message = summaryForFailure(failure.kind);
        if (config.showErrorDetails) message += ` ${failure.errorType ? `${failure.errorType}: ` : ''}${failure.message}`;
        logger.info('request failed', { requestId, kind: failure.kind, status, hop: cont.hop, elapsedMs });
        const extra: Record<string, string> = status === 503 ? { 'Retry-After': String(config.retryAfterSeconds) } : {};
        return errorResponse(status, failure.kind, message, ctx, extra);
      }
      case 'unknown':
        // The store did not answer before the gateway's cut-off: the continuation lets the
        // client ask again instead of losing the RequestID to API Gateway's 504.
        logger.warn('status read abandoned at the window end', { requestId, hop: cont.hop, reads: outcome.reads });
        if (cont.mode === 'async') return accepted(location(request, requestId, 0, 'async'), config.retryAfterSeconds, ctx);
        return seeOther(location(request, requestId, cont.hop + 1, 'redirect'), ctx);
      case 'pending': {
        if (cont.mode === 'async') {
          return accepted(location(request, requestId, 0, 'async'), config.retryAfterSeconds, ctx);
        }
        const limit = config.browserHopsBeforePage;
        if (ctx.html && limit > 0 && cont.hop + 1 > limit) {
          logger.info('still running, page continues', { requestId, hop: cont.hop, elapsedMs });
          return continuePage(location(request, requestId, 0, 'redirect'), elapsedMs / 1000, ctx);
        }
        logger.info('still running, redirecting', { requestId, hop: cont.hop + 1, elapsedMs, reads: outcome.reads });
        return seeOther(location(request, requestId, cont.hop + 1, 'redirect'), ctx);
      }
    }
  }

  async function handleContinuation(cont: Continuation, request: IncomingRequest, prefs: Preferences, context: InvocationContext): Promise<unknown> {
    const ctx = answerContext(request, cont.requestId);
    if (config.signingKey) {
      const check = verifyContinuation(config.signingKey, cont, Math.floor(clock.now() / 1000));
      if (check === 'expired') return errorResponse(403, 'LINK_EXPIRED', 'This link has expired.', ctx);
      if (check !== 'valid') return errorResponse(403, 'BAD_SIGNATURE', 'This link is not valid: its signature is missing or wrong.', ctx);
    }
    // A 202 poll reads once unless the client asked to wait.
    const windowMs = cont.mode === 'async' ? 0 : config.waitMs;
    const until = windowEnd(request, context, prefs, prefs.waitSeconds !== undefined ? config.waitMs : windowMs);
    try {
      // A task seen again has been running a while: read at once, then at the ceiling's pace
      // rather than restarting the fast start of the backoff.
      const poll = { ...config.poll, initialDelayMs: config.poll.maxDelayMs };
      const outcome = await waitForOutcome(store, cont.requestId, { until, poll, clock, signal: answerBy(until) });
      return await deliver(cont.requestId, outcome, cont, request, prefs);
    } catch (error) {
      if (error instanceof StoreUnavailableError) {
        logger.warn('store unavailable', { requestId: cont.requestId, error: error.message });
        return unavailable(ctx, 'The task table', location(request, cont.requestId, cont.hop, cont.mode));
      }
      throw error;
    }
  }

  /** A repeated request with a known Idempotency-Key: wait for the first request's task. */
  async function joinTask(requestId: string, request: IncomingRequest, prefs: Preferences, context: InvocationContext): Promise<unknown> {
    const ctx = answerContext(request, requestId);
    if (prefs.respondAsync) return accepted(location(request, requestId, 0, 'async'), config.retryAfterSeconds, ctx, 'respond-async');
    const until = windowEnd(request, context, prefs, config.waitMs);
    const outcome = await waitForOutcome(store, requestId, { until, poll: config.poll, clock, signal: answerBy(until) });
    if (outcome.kind === 'absent') {
      return errorResponse(409, 'IDEMPOTENCY_KEY_USED', 'This Idempotency-Key belongs to an earlier request whose result was already delivered or has expired.', ctx);
    }
    return withPreferenceApplied(await deliver(requestId, outcome, { hop: 0, mode: 'redirect' }, request, prefs), prefs);
  }

  async function handleNewRequest(event: ApiGatewayEvent, request: IncomingRequest, prefs: Preferences, context: InvocationContext): Promise<unknown> {
    if (config.apiKey !== undefined && (request.method === 'GET' || request.method === 'HEAD')) {
      const given = request.query.get('api-key');
      const key = given?.length === 1 ? given[0] : given === undefined ? headerValue(request, 'api-key') : undefined;
      if (!apiKeyMatches(key, config.apiKey)) {
        return errorResponse(401, 'UNAUTHORIZED', 'This API needs a valid api-key query parameter for GET requests.', answerContext(request));
      }
    }
    const idempotency = readIdempotencyKey(request);
    if (idempotency.kind === 'invalid') {
      return errorResponse(400, 'BAD_REQUEST', `${idempotency.reason}.`, answerContext(request));
    }
    const requestId = newRequestId();
    const ctx = answerContext(request, requestId);
    const payload: TalkerPayload = { requestId, event };
    const body = JSON.stringify(payload);
    const size = Buffer.byteLength(body, 'utf8');
    if (size > config.maxAsyncPayloadBytes) {
      return errorResponse(413, 'REQUEST_TOO_LARGE', `The request is too large to run asynchronously: ${size} bytes with its envelope, the limit is ${config.maxAsyncPayloadBytes}.`, ctx);
    }
    const now = clock.now();
    const expiresAt = Math.floor(now / 1000) + config.taskTtlSeconds;
    const fingerprint = idempotency.key !== undefined ? requestFingerprint(event, request) : undefined;
    try {
      await store.createTask({
        requestId,
        createdAt: now,
        pendingDeadline: now + config.pendingTimeoutMs,
        expiresAt,
        ...(fingerprint !== undefined && { requestFingerprint: fingerprint }),
      });
      if (idempotency.key !== undefined && fingerprint !== undefined) {
        // The task exists before the key points at it, so a request that joins always finds it.
        const outcome = await store.reserveIdempotencyKey({ keyHash: hashIdempotencyKey(idempotency.key), requestId, fingerprint, now, expiresAt });
        if (!outcome.reserved) {
          await store.retireTask(requestId, { now, graceSeconds: 0 });
          const joinCtx = answerContext(request, outcome.requestId);
          if (outcome.fingerprint !== fingerprint) {
            return errorResponse(422, 'IDEMPOTENCY_KEY_REUSED', 'This Idempotency-Key was used for a different request.', joinCtx);
          }
          logger.info('request joined its earlier task', { requestId: outcome.requestId });
          return await joinTask(outcome.requestId, request, prefs, context);
        }
      }
    } catch (error) {
      if (error instanceof StoreUnavailableError) {
        logger.warn('store unavailable', { requestId, error: error.message });
        return unavailable(ctx, 'The task table');
      }
      throw error;
    }
    try {
      await invoker.invokeAsync(config.talkerFunctionName, body);
    } catch (error) {
      await store.retireTask(requestId, { now: clock.now(), graceSeconds: 0 }).catch(() => undefined);
      if (error instanceof InvokeError) {
        logger.warn('talker invoke refused', { requestId, kind: error.kind, error: error.message });
        if (error.kind === 'too-large') return errorResponse(413, 'REQUEST_TOO_LARGE', 'The request is too large for Lambda to run asynchronously.', ctx);
        if (error.kind === 'rejected') return errorResponse(502, 'TALKER_UNAVAILABLE', 'The kit could not start its Talker function.', ctx);
        return unavailable(ctx, 'Lambda');
      }
      throw error;
    }
    logger.info('request accepted', { requestId, method: request.method, format: request.format, bodyBytes: request.bodyBytes, async: prefs.respondAsync });
    if (prefs.respondAsync) {
      return accepted(location(request, requestId, 0, 'async'), config.retryAfterSeconds, ctx, 'respond-async');
    }
    const until = windowEnd(request, context, prefs, config.waitMs);
    try {
      const outcome = await waitForOutcome(store, requestId, { until, poll: config.poll, clock, signal: answerBy(until) });
      const response = await deliver(requestId, outcome, { hop: 0, mode: 'redirect' }, request, prefs);
      return withPreferenceApplied(response, prefs);
    } catch (error) {
      if (error instanceof StoreUnavailableError) return unavailable(ctx, 'The task table', location(request, requestId, 0, 'redirect'));
      throw error;
    }
  }

  return async function proxyHandler(event, context) {
    let request: IncomingRequest | undefined;
    try {
      request = readRequest(event);
      if (config.corsAllowOrigin !== undefined && request.method === 'OPTIONS' && headerValue(request, 'access-control-request-method')) {
        return preflight(config.corsAllowOrigin);
      }
      const prefs = readPreferences(request);
      const parsed = readContinuation(request, config.resultsPath);
      if (parsed.kind === 'malformed') return errorResponse(400, 'BAD_REQUEST', `Malformed continuation: ${parsed.reason}.`, answerContext(request));
      if (parsed.kind === 'continuation') return await handleContinuation(parsed.continuation, request, prefs, context);
      return await handleNewRequest(event, request, prefs, context);
    } catch (error) {
      logger.error('unexpected error', { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error), stack: error instanceof Error ? error.stack : undefined });
      const ctx: AnswerContext = request ? answerContext(request) : { html: false };
      return errorResponse(500, 'INTERNAL_ERROR', 'The kit failed unexpectedly; the error is logged.', ctx);
    }
  };
}

function withPreferenceApplied(response: unknown, prefs: Preferences): unknown {
  if (prefs.waitSeconds === undefined) return response;
  // Only the Proxy's own answers carry it; Main's response is passed on untouched.
  const own = response as ProxyResponse;
  if (own && typeof own === 'object' && (own.statusCode === 303 || own.statusCode === 202) && own.headers?.['Location']) {
    own.headers['Preference-Applied'] = `wait=${prefs.waitSeconds}`;
  }
  return response;
}

function preflight(origin: string): ProxyResponse {
  const headers: Record<string, string> = {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Methods': 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
    'Access-Control-Allow-Headers': CORS_ALLOW_HEADERS,
    'Access-Control-Expose-Headers': 'Location, Retry-After, Preference-Applied, X-Request-Id',
    'Access-Control-Max-Age': '600',
    'Cache-Control': 'no-store',
  };
  if (origin !== '*') headers['Vary'] = 'Origin';
  return { statusCode: 204, headers, body: '', isBase64Encoded: false };
}

/** Options of {@link createProxyHandler}: anything not given is built from the environment. */
export type ProxyHandlerOptions = Partial<ProxyDependencies>;

/**
 * Builds the Lambda handler of the Proxy. Reads and validates the environment at cold start
 * (a bad value fails the init with a message naming the variable).
 *
 * @param options - parts to use instead of the defaults
 * @example
 * ```ts
 * // proxy/index.ts
 * export const handler = createProxyHandler();
 * ```
 */
export function createProxyHandler(options: ProxyHandlerOptions = {}): ProxyHandler {
  const config = options.config ?? loadProxyConfig();
  const store =
    options.store ??
    new DynamoTaskStore({
      tableName: config.tableName,
      // Fail fast: a hung connection must not eat the wait window.
      clientConfig: { maxAttempts: 2, requestHandler: { connectionTimeout: 1000, requestTimeout: 3000 } },
    });
  const invoker =
    options.invoker ?? new LambdaInvoker({ maxAttempts: 2, requestHandler: { connectionTimeout: 1000, requestTimeout: 5000 } });
  return createProxy({ ...options, config, store, invoker });
}
