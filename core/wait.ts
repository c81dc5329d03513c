/**
 * Waiting for a task's outcome inside a time window, polling its status with a backoff that
 * starts fast (so a short job is answered soon after it ends) and grows to a ceiling (so a long
 * job costs few reads).
 *
 * @module
 */
import type { Clock } from './clock';
import { StoreUnavailableError, type TaskStatusView, type TaskStore } from './task-store';

/** How the Proxy polls a task's status while it waits. */
export interface PollPolicy {
  /** The first delay between two status reads, in ms. */
  initialDelayMs: number;
  /** The ceiling of the delay, in ms: at most `1000 / maxDelayMs` reads a second per waiting request. */
  maxDelayMs: number;
  /** How much the delay grows after each read. */
  factor: number;
}

/** A wait that found no live task. */
export interface TaskAbsent {
  /** Always `absent`. */
  kind: 'absent';
  /** How many status reads the wait made. */
  reads: number;
}

/**
 * A wait that found the task: `done` (CREATED), `failed` (FAILED), `abandoned` (ABANDONED:
 * withdrawn before it started), `lost` (its deadline passed with no outcome), or `pending` (the
 * window closed first).
 */
export interface TaskSeen {
  /** How the wait ended. */
  kind: 'done' | 'failed' | 'abandoned' | 'lost' | 'pending';
  /** The last status read. */
  view: TaskStatusView;
  /** How many status reads the wait made. */
  reads: number;
}

/**
 * A wait abandoned (its signal aborted) before any read answered: the store is too slow to
 * say whether the task exists.
 */
export interface TaskUnknown {
  /** Always `unknown`. */
  kind: 'unknown';
  /** How many status reads the wait started. */
  reads: number;
}

/** A wait that found the task, but the caller may not read it (its link token is not the task's). */
export interface TaskRefused {
  /** Always `refused`. */
  kind: 'refused';
  /** How many status reads the wait made. */
  reads: number;
}

/** How a wait ended. */
export type WaitOutcome = TaskAbsent | TaskSeen | TaskUnknown | TaskRefused;

/** Options of {@link waitForOutcome}. */
export interface WaitOptions {
  /** The instant (epoch ms) at which to stop waiting and report `pending`. */
  until: number;
  /** The poll backoff. */
  poll: PollPolicy;
  /** The clock. */
  clock: Clock;
  /** Consecutive store errors tolerated before giving up (default 2). */
  maxStoreErrors?: number;
  /**
   * Ends the wait at once when it aborts, abandoning a read still in flight: the wait reports
   * `pending` with the last status seen, or `unknown` when no read has answered. The Proxy
   * aborts shortly after `until`, so that a slow store cannot hold its answer past API
   * Gateway's cut-off.
   */
  signal?: AbortSignal;
  /**
   * Checked on the first status read: when it says no, the wait ends at once with `refused`, and
   * nothing about the task is reported (a link whose token is not the task's).
   */
  admit?: (view: TaskStatusView) => boolean;
}

/**
 * The delays between polls under a policy: initial, initial*factor, ... up to the ceiling.
 *
 * @param policy - the poll policy
 * @returns an endless iterator of delays in ms
 */
export function* pollDelays(policy: PollPolicy): Generator<number, never, void> {
  let delay = policy.initialDelayMs;
  for (;;) {
    yield Math.round(delay);
    delay = Math.min(delay * policy.factor, policy.maxDelayMs);
  }
}

/**
 * Whether a task in a non-final state has passed its deadline (its Talker died, or no Talker
 * ever claimed it).
 *
 * @param view - the task's status
 * @param now - now, epoch ms
 */
export function isLost(view: TaskStatusView, now: number): boolean {
  if (view.status === 'PENDING') return view.pendingDeadline <= now;
  if (view.status === 'RUNNING') return view.deadline !== undefined && view.deadline <= now;
  return false;
}

/**
 * Polls a task until it is done, failed or lost, or until the window closes.
 *
 * @param store - the task store
 * @param requestId - the task
 * @param options - the window, the poll policy and the clock
 * @throws {@link StoreUnavailableError} when the store keeps failing
 */
export async function waitForOutcome(store: TaskStore, requestId: string, options: WaitOptions): Promise<WaitOutcome> {
  const { until, clock, signal } = options;
  const maxErrors = options.maxStoreErrors ?? 2;
  const delays = pollDelays(options.poll);
  const readOptions = signal ? { signal } : {};
  let reads = 0;
  let errors = 0;
  let last: TaskStatusView | undefined;
  const abandoned = (): WaitOutcome => (last ? { kind: 'pending', view: last, reads } : { kind: 'unknown', reads });
  for (;;) {
    if (signal?.aborted) return abandoned();
    let view: TaskStatusView | undefined;
    try {
      reads += 1;
      view = await store.readStatus(requestId, clock.now(), readOptions);
      errors = 0;
    } catch (error) {
      if (signal?.aborted) return abandoned();
      if (!(error instanceof StoreUnavailableError) || ++errors > maxErrors) throw error;
      const left = until - clock.now();
      if (left <= 0) throw error;
      await clock.sleep(Math.min(delays.next().value, left));
      continue;
    }
    if (view === undefined) return { kind: 'absent', reads };
    if (last === undefined && options.admit && !options.admit(view)) return { kind: 'refused', reads };
    last = view;
    const now = clock.now();
    if (view.status === 'CREATED') return { kind: 'done', view, reads };
    if (view.status === 'FAILED') return { kind: 'failed', view, reads };
    if (view.status === 'ABANDONED') return { kind: 'abandoned', view, reads };
    if (isLost(view, now)) return { kind: 'lost', view, reads };
    const left = until - now;
    if (left <= 0) return { kind: 'pending', view, reads };
    await clock.sleep(Math.min(delays.next().value, left));
  }
}
