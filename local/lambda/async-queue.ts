/**
 * Asynchronous (`Event`) invocations: queued, run as capacity allows, and
 * retried on a function error or timeout as Lambda does (two retries by
 * default, about one and then two minutes apart, with the same request id),
 * honouring the event invoke config's MaximumRetryAttempts and
 * MaximumEventAgeInSeconds.
 */
import type { EventEmitter } from 'node:events';
import { AwsError } from '../errors';
import type { LambdaRuntime } from './runtime';
import type { FunctionSpec, InvocationResult } from './types';
import type { EventInvokeConfig } from './store';

/** The outcome of one async attempt, emitted as `async-attempt`. */
export interface AsyncAttemptEvent {
  /** Function name. */
  functionName: string;
  /** The awsRequestId (the same on every attempt). */
  requestId: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** True when the function returned a result. */
  ok: boolean;
  /** Error type when not ok. */
  errorType?: string;
}

/** An event given up on, emitted as `async-discarded`. */
export interface AsyncDiscardedEvent {
  /** Function name. */
  functionName: string;
  /** The awsRequestId. */
  requestId: string;
  /** Attempts made. */
  attempts: number;
  /** Why: retries exhausted, event too old, or function gone. */
  reason: 'RetriesExhausted' | 'EventAgeExceeded' | 'FunctionNotFound';
}

/** What the queue needs from the control plane. */
export interface AsyncQueueDeps {
  /** Runs invocations. */
  runtime: LambdaRuntime;
  /** The function as it is now, or undefined when deleted. */
  lookup(functionName: string): { spec: FunctionSpec; eventInvokeConfig?: EventInvokeConfig } | undefined;
  /** Receives `async-attempt` and `async-discarded`. */
  events: EventEmitter;
  /** Writes a line to the stack's console. */
  log(line: string): void;
  /** Scales every async delay (retry spacing, throttle backoff, event age); 1 = AWS timing. */
  retryScale: number;
}

interface QueuedEvent {
  functionName: string;
  requestId: string;
  payload: string;
  enqueuedAt: number;
  attempts: number;
  throttles: number;
}

/** Lambda's delays before the first and second retry. */
const RETRY_DELAYS_MS = [60_000, 120_000];
const DEFAULT_MAX_AGE_S = 21_600;

/** The queue of asynchronous invocations. */
export class AsyncQueue {
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  private pending = 0;

  /** @param deps what the queue needs */
  constructor(private readonly deps: AsyncQueueDeps) {}

  /** Events queued or running now. */
  get size(): number {
    return this.pending;
  }

  /**
   * Queues one event; it runs as soon as capacity allows.
   * @param functionName function name
   * @param requestId its awsRequestId
   * @param payload event JSON text
   */
  enqueue(functionName: string, requestId: string, payload: string): void {
    this.pending++;
    const item: QueuedEvent = { functionName, requestId, payload, enqueuedAt: Date.now(), attempts: 0, throttles: 0 };
    this.later(item, 0);
  }

  /** Drops every queued event. */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private later(item: QueuedEvent, delayMs: number): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void this.deliver(item).catch((err: unknown) => {
        this.deps.log(`[lambda] async delivery of ${item.requestId} failed: ${String(err)}`);
        this.done();
      });
    }, delayMs);
    this.timers.add(timer);
  }

  private done(): void {
    this.pending = Math.max(0, this.pending - 1);
  }

  private discard(item: QueuedEvent, reason: AsyncDiscardedEvent['reason']): void {
    this.done();
    this.deps.log(`[${item.functionName}] async event ${item.requestId} discarded after ${item.attempts} attempt(s): ${reason}`);
    const event: AsyncDiscardedEvent = { functionName: item.functionName, requestId: item.requestId, attempts: item.attempts, reason };
    this.deps.events.emit('async-discarded', event);
  }

  private async deliver(item: QueuedEvent): Promise<void> {
    if (this.stopped) return;
    const fn = this.deps.lookup(item.functionName);
    if (!fn) {
      this.discard(item, 'FunctionNotFound');
      return;
    }
    const scale = this.deps.retryScale;
    const maxAgeMs = (fn.eventInvokeConfig?.MaximumEventAgeInSeconds ?? DEFAULT_MAX_AGE_S) * 1000 * scale;
    if (Date.now() - item.enqueuedAt > maxAgeMs) {
      this.discard(item, 'EventAgeExceeded');
      return;
    }
    let result: InvocationResult;
    try {
      result = await this.deps.runtime.invoke(fn.spec, { requestId: item.requestId, payload: item.payload });
    } catch (err) {
      if (err instanceof AwsError && err.status === 429) {
        // Throttled: back off (1 s doubling, at most 5 min, scaled) without using up a retry.
        item.throttles++;
        this.later(item, Math.min(300_000, 1000 * 2 ** Math.min(item.throttles - 1, 9)) * scale);
        return;
      }
      throw err;
    }
    item.attempts++;
    const attempt: AsyncAttemptEvent = {
      functionName: item.functionName,
      requestId: item.requestId,
      attempt: item.attempts,
      ok: result.ok,
      ...(result.errorType ? { errorType: result.errorType } : {}),
    };
    this.deps.events.emit('async-attempt', attempt);
    if (result.ok) {
      this.done();
      return;
    }
    const maxRetries = fn.eventInvokeConfig?.MaximumRetryAttempts ?? 2;
    if (item.attempts > maxRetries) {
      this.discard(item, 'RetriesExhausted');
      return;
    }
    const delay = (RETRY_DELAYS_MS[item.attempts - 1] ?? 120_000) * scale;
    this.later(item, delay);
  }
}
