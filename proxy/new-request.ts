/**
 * A new request: it gets a task (a RequestID and a link token), an `Idempotency-Key` reservation
 * when it carries one, and a Talker; then the Proxy waits for it inside the window.
 *
 * Until the Talker has the task, nothing has run: every failure up to there withdraws the task
 * and releases the key, and answers 503 "try again". Once the Talker may have it, the answer is
 * always the continuation (or the outcome), so that nothing is lost.
 *
 * @module
 */
import { identifyCaller } from '../core/caller';
import { headerValue } from '../core/events';
import { hashIdempotencyKey, readIdempotencyKey, requestFingerprint } from '../core/idempotency';
import { InvokeError } from '../core/invoker';
import { apiKeyMatches, hashLinkToken } from '../core/secrets';
import { accepted, proxyError, serviceUnavailable } from '../core/responses';
import { StoreUnavailableError } from '../core/task-store';
import type { ApiGatewayEvent, TalkerPayload } from '../core/types';
import { waitAndAnswer, whenStoreFails } from './answer';
import { answerStyle, linkTo, type Answer, type ProxyCall, type ProxyRuntime, type TaskLink } from './runtime';

/** The key a request carries, as stored. */
interface KeyedRequest {
  /** The key's hash within the caller's scope. */
  keyHash: string;
  /** The request's fingerprint. */
  fingerprint: string;
}

function isStoreTrouble(error: unknown): boolean {
  return error instanceof StoreUnavailableError;
}

/** Withdraws a task that no Talker will run, and its key; best effort within the deadline. */
async function withdraw(rt: ProxyRuntime, call: ProxyCall, requestId: string, keyed: KeyedRequest | undefined): Promise<'abandoned' | 'taken' | 'unknown'> {
  let fate: 'abandoned' | 'taken' | 'unknown';
  try {
    fate = await rt.store.abandonTask(requestId, call.deadline.storeCall());
  } catch (error) {
    rt.logger.warn('could not withdraw the task', { requestId, error: String(error) });
    fate = 'unknown';
  }
  if (keyed && fate === 'abandoned') {
    await rt.store.releaseIdempotencyKey(keyed.keyHash, requestId, call.deadline.storeCall()).catch((error: unknown) => {
      rt.logger.warn('could not release idempotency key', { requestId, error: String(error) });
    });
  }
  return fate;
}

/** A repeated request with a known Idempotency-Key: its own link to the first request's task. */
async function joinTask(rt: ProxyRuntime, call: ProxyCall, requestId: string): Promise<Answer> {
  const { store, clock, config, logger } = rt;
  const style = answerStyle(rt, call, requestId);
  const task: TaskLink = { requestId, token: rt.newToken() };
  let joined: boolean;
  try {
    joined = await store.addTaskToken(requestId, hashLinkToken(task.token), clock.now(), call.deadline.storeCall());
  } catch (error) {
    if (!isStoreTrouble(error)) throw error;
    logger.warn('store unavailable', { requestId, error: String(error) });
    // Joining again later is safe: nothing new runs.
    return whenStoreFails(rt, call, undefined);
  }
  const used = () => proxyError('IDEMPOTENCY_KEY_USED', answerStyle(rt, call));
  if (!joined) return { own: used() };
  logger.info('request joined its earlier task', { requestId });
  if (call.prefs.respondAsync) return { own: accepted(linkTo(rt, call, task, { hop: 0, mode: 'async' }), config.retryAfterSeconds, style, 'respond-async') };
  return waitAndAnswer(rt, call, task, {
    window: call.deadline.window(config.waitMs, call.prefs),
    position: { hop: 0, mode: 'redirect' },
    absent: used,
    onStoreFailure: 'continue',
  });
}

/**
 * Answers a new request.
 *
 * @param rt - the runtime
 * @param call - the call
 * @param event - the original event, for Main
 */
export async function answerNewRequest(rt: ProxyRuntime, call: ProxyCall, event: ApiGatewayEvent): Promise<Answer> {
  const { config, store, invoker, clock, logger } = rt;
  const { request, prefs } = call;
  if (config.apiKey !== undefined && (request.method === 'GET' || request.method === 'HEAD')) {
    const given = request.query.get('api-key');
    const key = given?.length === 1 ? given[0] : given === undefined ? headerValue(request, 'api-key') : undefined;
    if (!apiKeyMatches(key, config.apiKey)) {
      return { own: proxyError('UNAUTHORIZED', answerStyle(rt, call)) };
    }
  }
  const idempotency = readIdempotencyKey(request);
  if (idempotency.kind === 'invalid') return { own: proxyError('BAD_REQUEST', answerStyle(rt, call), { message: `${idempotency.reason}.` }) };

  const task: TaskLink = { requestId: rt.newRequestId(), token: rt.newToken() };
  const { requestId } = task;
  const style = answerStyle(rt, call, requestId);
  const payload: TalkerPayload = { requestId, event };
  const body = JSON.stringify(payload);
  const size = Buffer.byteLength(body, 'utf8');
  if (size > config.maxAsyncPayloadBytes) {
    return { own: proxyError('REQUEST_TOO_LARGE', style, { message: `The request is too large to run asynchronously: ${size} bytes with its envelope, the limit is ${config.maxAsyncPayloadBytes}.` }) };
  }
  let keyed: KeyedRequest | undefined;
  if (idempotency.key !== undefined) {
    const caller = identifyCaller(event, request, { extraHeaders: config.idempotencyCallerHeaders });
    keyed = { keyHash: hashIdempotencyKey(caller, idempotency.key), fingerprint: requestFingerprint(event, request) };
  }
  const now = clock.now();
  const expiresAt = Math.floor(now / 1000) + config.taskTtlSeconds;
  try {
    await store.createTask({
      requestId,
      createdAt: now,
      pendingDeadline: now + config.pendingTimeoutMs,
      expiresAt,
      tokenHash: hashLinkToken(task.token),
      ...(keyed && { idempotencyKeyHash: keyed.keyHash }),
    }, call.deadline.storeCall());
  } catch (error) {
    if (!isStoreTrouble(error)) throw error;
    logger.warn('store unavailable', { requestId, error: String(error) });
    return whenStoreFails(rt, call, undefined);
  }

  if (keyed) {
    let held;
    try {
      // The task exists before the key points at it, so a request that joins always finds it.
      held = await store.reserveIdempotencyKey({ keyHash: keyed.keyHash, requestId, fingerprint: keyed.fingerprint, now, expiresAt }, call.deadline.storeCall());
    } catch (error) {
      if (!isStoreTrouble(error)) throw error;
      logger.warn('store unavailable', { requestId, error: String(error) });
      await withdraw(rt, call, requestId, keyed);
      return whenStoreFails(rt, call, undefined);
    }
    if (!held.reserved) {
      // Another task of this caller holds the key: this one never runs.
      await withdraw(rt, call, requestId, undefined);
      if (held.fingerprint !== keyed.fingerprint) {
        // Named after this request only: the first request's RequestID and link stay its own.
        return { own: proxyError('IDEMPOTENCY_KEY_REUSED', style) };
      }
      return joinTask(rt, call, held.requestId);
    }
  }

  try {
    await invoker.invokeAsync(config.talkerFunctionName, body, call.deadline.dispatchCall());
  } catch (error) {
    if (!(error instanceof InvokeError)) throw error;
    logger.warn('talker invoke failed', { requestId, kind: error.kind, error: error.message });
    const fate = await withdraw(rt, call, requestId, keyed);
    if (fate === 'unknown') {
      // The Talker may have the task, or may never get it: give the continuation, so that the
      // client learns which (the outcome, or LOST, which frees the key).
      return { own: serviceUnavailable('Lambda', config.retryAfterSeconds, style, linkTo(rt, call, task, { hop: 0, mode: prefs.respondAsync ? 'async' : 'redirect' })) };
    }
    if (fate === 'abandoned') {
      if (error.kind === 'too-large') return { own: proxyError('REQUEST_TOO_LARGE', style) };
      if (error.kind === 'rejected') return { own: proxyError('TALKER_UNAVAILABLE', style) };
      return { own: serviceUnavailable('Lambda', config.retryAfterSeconds, style) };
    }
    // 'taken': Lambda did take the event (its answer was lost) and a Talker claimed the task.
    logger.info('the Talker claimed the task although its invoke failed', { requestId });
  }
  logger.info('request accepted', { requestId, method: request.method, format: request.format, bodyBytes: request.bodyBytes, async: prefs.respondAsync });
  if (prefs.respondAsync) {
    return { own: accepted(linkTo(rt, call, task, { hop: 0, mode: 'async' }), config.retryAfterSeconds, style, 'respond-async') };
  }
  return waitAndAnswer(rt, call, task, {
    window: call.deadline.window(config.waitMs, prefs),
    position: { hop: 0, mode: 'redirect' },
    // The task was just written: absent means the table lost it, which the client should hear of.
    absent: () => proxyError('NOT_FOUND', style, { message: 'The request\'s task disappeared from the table.' }),
    onStoreFailure: 'continue',
  });
}
