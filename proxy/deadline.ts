/**
 * When an answer is due. API Gateway cuts the request off `GATEWAY_TIMEOUT_MS` after it arrived
 * (`requestTimeEpoch`; in stream mode also when the stream stayed silent for
 * `STREAM_IDLE_TIMEOUT_MS`, see `answerLimitMs`), and Lambda stops the function when its time
 * runs out: the earlier of the two is the cut-off. Every call the Proxy makes is bounded by it, so that the client always
 * gets an answer of the kit's (a result, a continuation, a 503 with `Retry-After`), never
 * API Gateway's bare 504 that would lose the continuation.
 *
 * - The wait window ends `SAFETY_MARGIN_MS` before the cut-off.
 * - Store calls are abandoned half the margin before it ({@link Deadline.answerBy}).
 * - The Talker's invoke is abandoned a whole margin before it, so that the task can still be
 *   withdrawn when Lambda did not answer.
 *
 * @module
 */
import type { Clock } from '../core/clock';
import { answerLimitMs, type ProxyConfig } from '../core/config';
import type { IncomingRequest } from '../core/events';
import type { Preferences } from '../core/prefer';

/** The part of the Lambda context the Proxy uses. */
export interface InvocationContext {
  /** Milliseconds until the function is stopped. */
  getRemainingTimeInMillis(): number;
  /** The invocation's id, for logs. */
  awsRequestId?: string;
}

/** A wait window. */
export interface WaitWindow {
  /** When the wait ends (epoch ms). */
  until: number;
  /** The wait applied, in whole seconds, when the client asked for one (`Prefer: wait=N`). */
  appliedWaitSeconds?: number;
}

/** The deadlines of one invocation. */
export interface Deadline {
  /** When the request is cut off (epoch ms): by API Gateway, or by the function's own timeout. */
  readonly cutoff: number;
  /** When the answer must be ready (epoch ms): half the safety margin before the cut-off. */
  readonly answerBy: number;
  /** When the Talker's invoke is abandoned (epoch ms): a whole safety margin before the cut-off. */
  readonly dispatchBy: number;
  /**
   * A signal that aborts at `at` (default {@link Deadline.answerBy}).
   *
   * @param at - epoch ms
   */
  signal(at?: number): AbortSignal;
  /**
   * Options for a store call: abandoned at {@link Deadline.answerBy}, and each attempt given half
   * the time left (at least a second), so that a hung connection still leaves room for a retry
   * while a slow but working table is waited for.
   */
  storeCall(): { signal: AbortSignal; attemptTimeoutMs: number };
  /** The same for the Talker's invoke, bounded by {@link Deadline.dispatchBy}. */
  dispatchCall(): { signal: AbortSignal; attemptTimeoutMs: number };
  /**
   * The window of a wait of at most `limitMs`, shortened by the cut-off and by `Prefer: wait`.
   *
   * @param limitMs - the longest wait (the configured window, or 0 for a single read)
   * @param prefs - the client's preferences
   */
  window(limitMs: number, prefs: Preferences): WaitWindow;
}

/**
 * The deadlines of an invocation.
 *
 * @param request - the request (its arrival time)
 * @param context - the Lambda context (its remaining time)
 * @param config - the transfer mode, the gateway's timeouts and the safety margin
 * @param clock - now
 */
export function deadlineOf(
  request: IncomingRequest, context: InvocationContext,
  config: Pick<ProxyConfig, 'transferMode' | 'gatewayTimeoutMs' | 'streamIdleTimeoutMs' | 'safetyMarginMs'>, clock: Clock,
): Deadline {
  const now = clock.now();
  const limitMs = answerLimitMs(config);
  const remaining = typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : Infinity;
  // API Gateway's clock started when the request arrived, not when this function did: a slow
  // cold start must not push the answer past the gateway's cut-off. A time stamp far from now
  // (clock skew, bad data), or none, counts as now.
  const received = request.receivedAt;
  const arrived = received !== undefined && received <= now + 5000 && received >= now - limitMs ? received : now;
  const cutoff = Math.min(now + remaining, arrived + limitMs);
  const margin = config.safetyMarginMs;
  const answerBy = cutoff - margin / 2;
  const signals = new Map<number, AbortSignal>();
  const signal = (at = answerBy): AbortSignal => {
    const when = Math.min(at, answerBy);
    let made = signals.get(when);
    if (!made) {
      made = AbortSignal.timeout(Math.max(0, Math.floor(when - clock.now())));
      signals.set(when, made);
    }
    return made;
  };
  return {
    cutoff,
    answerBy,
    dispatchBy: cutoff - margin,
    signal,
    storeCall: () => ({ signal: signal(), attemptTimeoutMs: Math.max(1000, Math.floor((answerBy - clock.now()) / 2)) }),
    dispatchCall: () => ({ signal: signal(cutoff - margin), attemptTimeoutMs: Math.max(1000, Math.floor((cutoff - margin - clock.now()) / 2)) }),
    window(limitMs, prefs) {
      const start = clock.now();
      let ms = Math.min(limitMs, cutoff - margin - start);
      if (prefs.waitSeconds !== undefined) ms = Math.min(ms, prefs.waitSeconds * 1000);
      ms = Math.max(0, ms);
      const window: WaitWindow = { until: start + ms };
      if (prefs.waitSeconds !== undefined) window.appliedWaitSeconds = Math.floor(ms / 1000);
      return window;
    },
  };
}
