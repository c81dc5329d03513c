/**
 * Waiting for a task inside the window and answering with what the wait found: Main's response,
 * an error, or a continuation (303, the self-continuing page for browsers, or 202).
 *
 * A LOST verdict that loses a race (the Talker recorded an outcome at the last moment) is not an
 * answer: the task is read again, a bounded number of times, and answered from what is there.
 *
 * @module
 */
import { statusForFailure, summaryForFailure } from '../core/failures';
import { decodeResult } from '../core/result-codec';
import { accepted, continuePage, errorResponse, proxyError, seeOther, serviceUnavailable, type ProxyResponse, type TaskProgress } from '../core/responses';
import { endedWithoutMain, StoreUnavailableError, type TaskFailure, type TaskStatusView } from '../core/task-store';

import { waitForOutcome, type WaitOutcome } from '../core/wait';
import type { WaitWindow } from './deadline';
import { answerStyle, linkTo, type Answer, type ChainPosition, type MainPayload, type ProxyCall, type ProxyRuntime, type TaskLink } from './runtime';

/** How many times a task is read again after a LOST verdict lost its race. */
const MAX_LOOKS = 3;

/** What {@link waitAndAnswer} needs to know about the wait. */
export interface WaitPlan {
  /** The window. */
  window: WaitWindow;
  /** Where the caller is in its chain. */
  position: ChainPosition;
  /** The answer when no live task has this RequestID. */
  absent: () => ProxyResponse;
  /** Whether the caller's link must be checked against the task's tokens (a continuation). */
  checkToken?: (view: TaskStatusView) => boolean;
  /** Start polling at the ceiling's pace (a task seen again has been running a while). */
  slowStart?: boolean;
  /**
   * When the table fails: `continue` answers with the continuation (303 or 202: the request's
   * first answer, whose task runs), `unavailable` with a 503 whose `Location` is the same
   * continuation (a continuation's answer).
   */
  onStoreFailure: 'continue' | 'unavailable';
}

/** The outcome of answering a wait, or `look-again` after a lost race. */
type Verdict = Answer | 'look-again';

/**
 * The answer when the table could not be reached: where the caller already has a task, the
 * continuation (so nothing is lost); otherwise a 503 that invites a new try.
 *
 * @param rt - the runtime
 * @param call - the call
 * @param task - the task the caller has, if any
 * @param position - for a continuation: the hop to ask again
 */
export function whenStoreFails(rt: ProxyRuntime, call: ProxyCall, task: TaskLink | undefined, position?: ChainPosition): Answer {
  const style = answerStyle(rt, call, task?.requestId);
  const location = task && position ? linkTo(rt, call, task, position) : undefined;
  return { own: serviceUnavailable('The task table', rt.config.retryAfterSeconds, style, location) };
}

/**
 * The continuation to answer while the task runs: 202 for a client that polls, the
 * self-continuing page for a browser that has followed many redirects, 303 otherwise.
 *
 * @param rt - the runtime
 * @param call - the call
 * @param task - the task and the caller's token
 * @param position - where the caller is now
 * @param window - the wait just made (for `Preference-Applied`)
 * @param view - the last status seen, if any
 */
export function continuation(rt: ProxyRuntime, call: ProxyCall, task: TaskLink, position: ChainPosition, window: WaitWindow, view?: TaskStatusView): Answer {
  const { config, logger, clock } = rt;
  const style = answerStyle(rt, call, task.requestId);
  const applied = window.appliedWaitSeconds !== undefined ? `wait=${window.appliedWaitSeconds}` : undefined;
  const now = clock.now();
  const elapsedMs = view ? now - view.createdAt : 0;
  const progress: TaskProgress = view
    ? { started: view.startedAt !== undefined || view.status !== 'PENDING', createdAt: view.createdAt, ...(view.startedAt !== undefined && { startedAt: view.startedAt }), expiresAt: view.expiresAt, now }
    : { started: undefined, now };
  if (position.mode === 'async') {
    return { own: accepted(linkTo(rt, call, task, { hop: 0, mode: 'async' }), config.retryAfterSeconds, style, applied, progress) };
  }
  const limit = config.browserHopsBeforePage;
  if (call.html && limit > 0 && position.hop + 1 > limit) {
    logger.info('still running, page continues', { requestId: task.requestId, hop: position.hop, elapsedMs });
    return { own: continuePage(linkTo(rt, call, task, { hop: 0, mode: 'redirect' }), elapsedMs / 1000, style) };
  }
  logger.info('still running, redirecting', { requestId: task.requestId, hop: position.hop + 1, elapsedMs });
  return { own: seeOther(linkTo(rt, call, task, { hop: position.hop + 1, mode: 'redirect' }), style, applied, progress) };
}

async function retireQuietly(rt: ProxyRuntime, call: ProxyCall, requestId: string, delivered: boolean, resultInline = false): Promise<void> {
  try {
    await rt.store.retireTask(requestId, { now: rt.clock.now(), graceSeconds: rt.config.resultGraceSeconds, delivered, resultInline }, call.deadline.storeCall());
  } catch (error) {
    // TTL removes the row later; the client has its answer.
    rt.logger.warn('could not retire task', { requestId, error: String(error) });
  }
}

/** A task that ended without running Main gives its key back, so that a new try may run. */
async function freeKey(rt: ProxyRuntime, call: ProxyCall, view: TaskStatusView): Promise<void> {
  if (view.idempotencyKeyHash === undefined || !endedWithoutMain(view)) return;
  await rt.store.releaseIdempotencyKey(view.idempotencyKeyHash, view.requestId, call.deadline.storeCall()).catch((error: unknown) => {
    // A retry with the key takes it over anyway (new-request.ts): the task ended without Main.
    rt.logger.warn('could not release idempotency key', { requestId: view.requestId, error: String(error) });
  });
}

/** Main's response, ready to hand over, and what the log says of it. */
export interface Delivery {
  /** The task. */
  requestId: string;
  /** Main's response, as Main returned it (JSON text). */
  text: string;
  /** When the task was made (epoch ms), for the log. */
  createdAt: number;
  /** Where the caller is in its chain, for the log. */
  position: ChainPosition;
  /** The status reads the request made, for the log. */
  reads: number;
  /** Where the response came from, for the log: the Talker's answer or the table. */
  source: 'talker' | 'table';
  /** The result was stored in the task's own row: there is no result apart to retire. */
  resultInline: boolean;
}

/**
 * Answers with Main's response, after retiring its task (so that its links stop working once the
 * grace period ends).
 *
 * @param rt - the runtime
 * @param call - the call
 * @param delivery - the response and where it came from
 */
export async function handOver(rt: ProxyRuntime, call: ProxyCall, delivery: Delivery): Promise<Answer> {
  const { requestId, text, position } = delivery;
  await retireQuietly(rt, call, requestId, true, delivery.resultInline);
  rt.logger.info('result delivered', { requestId, hop: position.hop, mode: position.mode, elapsedMs: rt.clock.now() - delivery.createdAt, resultBytes: text.length, reads: delivery.reads, source: delivery.source });
  return { main: JSON.parse(text) as MainPayload };
}

/** Main's answer, from the status read (a small result) or read apart, then retired. */
async function deliver(rt: ProxyRuntime, call: ProxyCall, task: TaskLink, view: TaskStatusView, position: ChainPosition, reads: number): Promise<Answer | undefined> {
  const stored = view.result ?? (await rt.store.readResult(task.requestId, call.deadline.storeCall()));
  if (!stored) return undefined;
  return handOver(rt, call, { requestId: task.requestId, text: decodeResult(stored), createdAt: view.createdAt, position, reads, source: 'table', resultInline: view.result !== undefined });
}

function failureAnswer(rt: ProxyRuntime, call: ProxyCall, requestId: string, failure: TaskFailure, position: ChainPosition, elapsedMs: number, neverStarted = false): Answer {
  const status = statusForFailure(failure.kind);
  let message = summaryForFailure(failure.kind);
  // The client may send it again at once: nothing ran, and its key is free.
  if (neverStarted) message += ' No Talker started it, so nothing ran: send the request again.';
  if (rt.config.showErrorDetails) message += ` ${failure.errorType ? `${failure.errorType}: ` : ''}${failure.message}`;
  rt.logger.info('request failed', { requestId, kind: failure.kind, status, hop: position.hop, elapsedMs });
  const extra: Record<string, string> = status === 503 ? { 'Retry-After': String(rt.config.retryAfterSeconds) } : {};
  return { own: errorResponse(status, failure.kind, message, answerStyle(rt, call, requestId), extra) };
}

/** Records the LOST verdict; `look-again` when the task got an outcome first. */
async function declareLost(rt: ProxyRuntime, call: ProxyCall, task: TaskLink, view: TaskStatusView, position: ChainPosition, reads: number): Promise<Verdict> {
  const { store, clock, logger } = rt;
  const wasPending = view.status === 'PENDING';
  if (!wasPending) {
    // A Talker that stored Main's answer and died before recording it: the answer is there.
    const delivered = await deliver(rt, call, task, view, position, reads);
    if (delivered) {
      logger.warn('the Talker stopped after storing the result: delivered it', { requestId: task.requestId });
      return delivered;
    }
  }
  const failure: TaskFailure = { kind: 'LOST', message: wasPending ? 'no Talker picked the request up in time' : 'the Talker stopped before recording an outcome' };
  const marked = await store.failTask(task.requestId, failure, clock.now(), [view.status as 'PENDING' | 'RUNNING'], call.deadline.storeCall());
  if (!marked) return 'look-again';
  if (wasPending) await freeKey(rt, call, { ...view, status: 'FAILED', failure });
  else await retireQuietly(rt, call, task.requestId, false);
  return failureAnswer(rt, call, task.requestId, failure, position, clock.now() - view.createdAt, wasPending);
}

async function answerOutcome(rt: ProxyRuntime, call: ProxyCall, task: TaskLink, outcome: WaitOutcome, plan: WaitPlan): Promise<Verdict> {
  const { clock, logger } = rt;
  const { position } = plan;
  const style = answerStyle(rt, call, task.requestId);
  switch (outcome.kind) {
    case 'refused':
      return { own: proxyError('LINK_TOKEN_INVALID', answerStyle(rt, call)) };
    case 'absent':
      return { own: plan.absent() };
    case 'unknown':
      // The store did not answer before the cut-off: the continuation lets the client ask again
      // instead of losing it to API Gateway's 504.
      logger.warn('status read abandoned at the window end', { requestId: task.requestId, hop: position.hop, reads: outcome.reads });
      return continuation(rt, call, task, position, plan.window);
    case 'pending':
      return continuation(rt, call, task, position, plan.window, outcome.view);
    case 'done': {
      const delivered = await deliver(rt, call, task, outcome.view, position, outcome.reads);
      return delivered ?? { own: proxyError('NOT_FOUND', style, { message: 'The result of this request was already delivered or has expired.' }) };
    }
    case 'failed': {
      // A task that ended without running Main keeps its row until it expires, so that a retry
      // with its key can see that it is free; others are retired.
      if (endedWithoutMain(outcome.view)) await freeKey(rt, call, outcome.view);
      else await retireQuietly(rt, call, task.requestId, false);
      const failure = outcome.view.failure ?? { kind: 'LOST' as const, message: 'no outcome recorded' };
      const neverStarted = failure.kind === 'LOST' && outcome.view.startedAt === undefined;
      return failureAnswer(rt, call, task.requestId, failure, position, clock.now() - outcome.view.createdAt, neverStarted);
    }
    case 'abandoned':
      // Withdrawn before it started (its Talker could not be invoked): nothing ran.
      await freeKey(rt, call, outcome.view);
      logger.info('request never started', { requestId: task.requestId, hop: position.hop });
      return { own: proxyError('NOT_STARTED', style, { headers: { 'Retry-After': String(rt.config.retryAfterSeconds) } }) };
    case 'lost':
      return declareLost(rt, call, task, outcome.view, position, outcome.reads);
  }
}

/**
 * Waits for a task inside the window and answers. A store that fails (or does not answer in
 * time) gives the continuation, never an answer past the cut-off.
 *
 * @param rt - the runtime
 * @param call - the call
 * @param task - the task and the caller's token
 * @param plan - the window, the chain position, and what to answer for an absent task
 */
export async function waitAndAnswer(rt: ProxyRuntime, call: ProxyCall, task: TaskLink, plan: WaitPlan): Promise<Answer> {
  const { config, clock } = rt;
  let until = plan.window.until;
  for (let look = 1; ; look += 1) {
    try {
      const poll = plan.slowStart ? { ...config.poll, initialDelayMs: config.poll.maxDelayMs } : config.poll;
      const outcome = await waitForOutcome(rt.store, task.requestId, {
        until,
        poll,
        clock,
        // A read still running half a margin after the window is abandoned.
        signal: call.deadline.signal(until + config.safetyMarginMs / 2),
        ...(plan.checkToken && { admit: plan.checkToken }),
      });
      const verdict = await answerOutcome(rt, call, task, outcome, plan);
      if (verdict !== 'look-again') return verdict;
      rt.logger.info('an outcome was recorded while the task was declared lost: reading it again', { requestId: task.requestId, look });
      if (look >= MAX_LOOKS) return continuation(rt, call, task, plan.position, plan.window);
      // Read again at once: the outcome is there.
      until = clock.now();
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      rt.logger.warn('store unavailable', { requestId: task.requestId, error: error.message });
      return plan.onStoreFailure === 'unavailable'
        ? whenStoreFails(rt, call, task, plan.position)
        : continuation(rt, call, task, plan.position, plan.window);
    }
  }
}
