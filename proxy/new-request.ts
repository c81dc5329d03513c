/**
 * A new request: it gets a task (a RequestID and a link token), an `Idempotency-Key` reservation
 * when it carries one, and a Talker; then the Proxy waits for it inside the window, on the
 * Talker's own answer when it invoked the Talker synchronously (`talker-call.ts`), otherwise on
 * the table.
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
import { endedWithoutMain, StoreUnavailableError, type IdempotencyReservation, type TaskStatusView } from '../core/task-store';
import type { ApiGatewayEvent, TalkerPayload } from '../core/types';
import { handOver, waitAndAnswer, whenStoreFails } from './answer';
import { answerStyle, linkTo, type Answer, type ProxyCall, type ProxyRuntime, type TaskLink } from './runtime';
import { dispatchTalker, type Dispatch } from './talker-call';

/** The key a request carries, as stored. */
interface KeyedRequest {
  /** The key's hash within the caller's scope. */
  keyHash: string;
  /** The request's fingerprint. */
  fingerprint: string;
}

/** What {@link withdraw} found: `unknown` when the table did not say. */
type Withdrawal = 'abandoned' | 'started' | 'unknown';

/** Withdraws a task that no Talker will run, and frees its key; best effort within the deadline. */
async function withdraw(rt: ProxyRuntime, call: ProxyCall, requestId: string, keyed: KeyedRequest | undefined): Promise<Withdrawal> {
  let fate: Withdrawal;
  try {
    fate = await rt.store.abandonTask(requestId, rt.clock.now(), call.deadline.storeCall());
  } catch (error) {
    rt.logger.warn('could not withdraw the task', { requestId, error: String(error) });
    fate = 'unknown';
  }
  if (keyed && fate === 'abandoned') {
    await rt.store.releaseIdempotencyKey(keyed.keyHash, requestId, call.deadline.storeCall()).catch((error: unknown) => {
      // A retry takes the key over anyway: its task is ABANDONED.
      rt.logger.warn('could not release idempotency key', { requestId, error: String(error) });
    });
  }
  return fate;
}

/** Who holds a request's key after {@link holdKey}. */
type KeyHolder = { mine: true } | { mine: false; requestId: string; fingerprint: string; view: TaskStatusView | undefined };

/**
 * Takes the request's key for its task, or finds the task that holds it. A key whose task ended
 * without running Main (withdrawn, refused by Lambda, lost before any Talker claimed it) is taken
 * over: the new try runs.
 */
async function holdKey(rt: ProxyRuntime, call: ProxyCall, reservation: IdempotencyReservation): Promise<KeyHolder> {
  let replacing: string | undefined;
  for (let round = 0; round < 3; round += 1) {
    const held = await rt.store.reserveIdempotencyKey(reservation, { ...call.deadline.storeCall(), ...(replacing !== undefined && { replacing }) });
    if (held.reserved) return { mine: true };
    const view = await rt.store.readStatus(held.requestId, rt.clock.now(), call.deadline.storeCall());
    if (view === undefined || !endedWithoutMain(view)) return { mine: false, requestId: held.requestId, fingerprint: held.fingerprint, view };
    rt.logger.info('taking over an idempotency key whose task never ran Main', { requestId: reservation.requestId, from: held.requestId, status: view.status });
    replacing = held.requestId;
  }
  throw new StoreUnavailableError('the Idempotency-Key changed hands three times during the request');
}

/** A repeated request with a known Idempotency-Key: its own link to the first request's task. */
async function joinTask(rt: ProxyRuntime, call: ProxyCall, requestId: string): Promise<Answer> {
  const { store, clock, config, logger } = rt;
  const style = answerStyle(rt, call, requestId);
  const task: TaskLink = { requestId, token: rt.newToken() };
  const used = () => proxyError('IDEMPOTENCY_KEY_USED', answerStyle(rt, call));
  if (!(await store.addTaskToken(requestId, hashLinkToken(task.token), clock.now(), call.deadline.storeCall()))) return { own: used() };
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
  const { config, store, clock, logger } = rt;
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
  // This Proxy reads a small result from the status item: the Talker may keep it there.
  const payload: TalkerPayload = { requestId, event, inlineResult: true };
  const body = JSON.stringify(payload);
  const size = Buffer.byteLength(body, 'utf8');
  if (size > config.maxAsyncPayloadBytes) {
    return { own: proxyError('REQUEST_TOO_LARGE', style, { message: `The request is too large to run asynchronously: ${size} bytes with its envelope, the limit is ${config.maxAsyncPayloadBytes}.` }) };
  }
  let keyed: KeyedRequest | undefined;
  if (idempotency.key !== undefined) {
    const caller = identifyCaller(event, request, { extraHeaders: config.idempotencyCallerHeaders });
    // Nothing tells two anonymous callers apart: their keys are not honoured, so that one never
    // receives the other's result.
    if (caller.kind === 'anonymous') logger.warn('Idempotency-Key ignored: the request carries no credentials and no verified identity', { requestId });
    else keyed = { keyHash: hashIdempotencyKey(caller, idempotency.key), fingerprint: requestFingerprint(event, request) };
  }
  const now = clock.now();
  const expiresAt = Math.floor(now / 1000) + config.taskTtlSeconds;
  // Until the Talker may have the task, a table that fails means nothing ran: the one answer for
  // it is a 503 that invites a new try, after the task (if written) is withdrawn.
  let written = false;
  try {
    await store.createTask({
      requestId,
      createdAt: now,
      pendingDeadline: now + config.pendingTimeoutMs,
      expiresAt,
      tokenHash: hashLinkToken(task.token),
      ...(keyed && { idempotencyKeyHash: keyed.keyHash }),
    }, call.deadline.storeCall());
    written = true;
    if (keyed) {
      // The task exists before the key points at it, so a request that joins always finds it.
      const holder = await holdKey(rt, call, { keyHash: keyed.keyHash, requestId, fingerprint: keyed.fingerprint, now, expiresAt });
      if (!holder.mine) {
        // Another task of this caller holds the key: this one never runs.
        await withdraw(rt, call, requestId, undefined);
        // Named after this request only: the first request's RequestID and link stay its own.
        if (holder.fingerprint !== keyed.fingerprint) return { own: proxyError('IDEMPOTENCY_KEY_REUSED', style) };
        if (holder.view === undefined) return { own: proxyError('IDEMPOTENCY_KEY_USED', answerStyle(rt, call)) };
        return await joinTask(rt, call, holder.requestId);
      }
    }
  } catch (error) {
    if (!(error instanceof StoreUnavailableError)) throw error;
    logger.warn('store unavailable', { requestId, error: error.message });
    if (written) await withdraw(rt, call, requestId, keyed);
    return whenStoreFails(rt, call, undefined);
  }

  const position = { hop: 0, mode: 'redirect' } as const;
  const window = prefs.respondAsync ? undefined : call.deadline.window(config.waitMs, prefs);
  let dispatch: Dispatch = { kind: 'in-table' };
  // Logged before the Talker is invoked: a synchronous invoke answers only when the job ends.
  logger.info('request accepted', { requestId, method: request.method, format: request.format, bodyBytes: request.bodyBytes, async: prefs.respondAsync });
  try {
    dispatch = await dispatchTalker(rt, call, payload, window);
  } catch (error) {
    if (!(error instanceof InvokeError)) throw error;
    logger.warn('talker invoke failed', { requestId, kind: error.kind, error: error.message });
    // The Talker may have claimed the task and even finished it: the table says which.
    const fate = await withdraw(rt, call, requestId, keyed);
    if (fate === 'unknown') {
      // The Talker may have the task, or may never get it: give the continuation, so that the
      // client learns which (the outcome, or LOST, which frees the key).
      return { own: serviceUnavailable('Lambda', config.retryAfterSeconds, style, linkTo(rt, call, task, { hop: 0, mode: prefs.respondAsync ? 'async' : 'redirect' })) };
    }
    if (fate === 'abandoned') {
      if (error.kind === 'too-large') return { own: proxyError('REQUEST_TOO_LARGE', style) };
      if (error.kind === 'rejected') return { own: proxyError('TALKER_UNAVAILABLE', style) };
      // The Talker started and failed before its claim (its init, a crash): nothing ran, and a
      // new try may well succeed.
      if (error.kind === 'function-error') return { own: proxyError('NOT_STARTED', style, { headers: { 'Retry-After': String(config.retryAfterSeconds) } }) };
      return { own: serviceUnavailable('Lambda', config.retryAfterSeconds, style) };
    }
    // 'started': Lambda did take the event (its answer was lost) and a Talker claimed the task.
    logger.info('the Talker claimed the task although its invoke failed', { requestId });
  }
  if (window === undefined) {
    return { own: accepted(linkTo(rt, call, task, { hop: 0, mode: 'async' }), config.retryAfterSeconds, style, 'respond-async') };
  }
  if (dispatch.kind === 'response') {
    return handOver(rt, call, { requestId, text: dispatch.text, createdAt: now, position, reads: 0, source: 'talker', resultInline: dispatch.resultInline });
  }
  // A window already over (the Talker runs on) gets one read: the continuation's progress.
  return waitAndAnswer(rt, call, task, {
    window,
    position,
    // The task was just written: absent means its result went to a repeat of this request (same
    // Idempotency-Key) and was retired, or the table lost it.
    absent: () => proxyError('NOT_FOUND', style, { message: 'The request\'s task is gone: its result was delivered to a repeat of this request, or the table lost it.' }),
    onStoreFailure: 'continue',
  });
}
