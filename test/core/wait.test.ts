import { describe, expect, it } from 'vitest';
import type { Clock } from '../../core/clock';
import { StoreUnavailableError, type TaskStore } from '../../core/task-store';
import type { TaskStatusView } from '../../core/task-store';
import { pollDelays, waitForOutcome } from '../../core/wait';

/** A clock that advances only when slept on, recording each sleep. */
function fakeClock(start = 1_000_000): Clock & { sleeps: number[] } {
  let now = start;
  const sleeps: number[] = [];
  return { sleeps, now: () => now, sleep: async (ms) => { sleeps.push(ms); now += ms; } };
}

function storeReturning(views: Array<TaskStatusView | undefined | Error>): TaskStore & { reads: number } {
  const store = {
    reads: 0,
    async readStatus() {
      const next = views[Math.min(store.reads, views.length - 1)];
      store.reads += 1;
      if (next instanceof Error) throw next;
      return next;
    },
  };
  return store as unknown as TaskStore & { reads: number };
}

const view = (status: TaskStatusView['status'], extra: Partial<TaskStatusView> = {}): TaskStatusView => ({
  requestId: 'r', status, createdAt: 0, pendingDeadline: Number.MAX_SAFE_INTEGER, expiresAt: Number.MAX_SAFE_INTEGER, tokenHashes: [], ...extra,
});
const poll = { initialDelayMs: 25, maxDelayMs: 200, factor: 1.5 };

describe('pollDelays', () => {
  it('starts fast and grows to the ceiling', () => {
    const delays = pollDelays(poll);
    expect(Array.from({ length: 8 }, () => delays.next().value)).toEqual([25, 38, 56, 84, 127, 190, 200, 200]);
  });
});

describe('waitForOutcome', () => {
  it('returns as soon as the task is done', async () => {
    const clock = fakeClock();
    const store = storeReturning([view('PENDING'), view('RUNNING'), view('CREATED')]);
    const outcome = await waitForOutcome(store, 'r', { until: clock.now() + 25_000, poll, clock });
    expect(outcome.kind).toBe('done');
    expect(outcome.reads).toBe(3);
    expect(clock.sleeps).toEqual([25, 38]);
  });

  it('reports pending when the window closes, never sleeping past it', async () => {
    const clock = fakeClock();
    const store = storeReturning([view('RUNNING')]);
    const outcome = await waitForOutcome(store, 'r', { until: clock.now() + 1000, poll, clock });
    expect(outcome.kind).toBe('pending');
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBe(1000);
    // With a 200 ms ceiling, at most 5 reads a second once backed off.
    expect(outcome.reads).toBeLessThanOrEqual(10);
  });

  it('reports a RUNNING task past its deadline as lost', async () => {
    const clock = fakeClock();
    const store = storeReturning([view('RUNNING', { deadline: clock.now() + 100 })]);
    const outcome = await waitForOutcome(store, 'r', { until: clock.now() + 5000, poll, clock });
    expect(outcome.kind).toBe('lost');
  });

  it('reports absent for an unknown task at once', async () => {
    const clock = fakeClock();
    const outcome = await waitForOutcome(storeReturning([undefined]), 'r', { until: clock.now() + 5000, poll, clock });
    expect(outcome).toEqual({ kind: 'absent', reads: 1 });
    expect(clock.sleeps).toEqual([]);
  });

  it('rides out a brief store outage, and gives up after repeated failures', async () => {
    const clock = fakeClock();
    const down = new StoreUnavailableError('down');
    const recovered = await waitForOutcome(storeReturning([down, view('CREATED')]), 'r', { until: clock.now() + 5000, poll, clock });
    expect(recovered.kind).toBe('done');
    await expect(waitForOutcome(storeReturning([down]), 'r', { until: clock.now() + 5000, poll, clock })).rejects.toThrow(StoreUnavailableError);
  });

  it('abandons a read still in flight when its signal aborts: pending with the last status seen', async () => {
    const clock = fakeClock();
    const controller = new AbortController();
    let reads = 0;
    const store = {
      async readStatus(_id: string, _now: number, options?: { signal?: AbortSignal }) {
        reads += 1;
        if (reads === 1) return view('RUNNING');
        // The second read never answers on its own, like a hung connection.
        queueMicrotask(() => controller.abort());
        return new Promise<never>((_resolve, reject) => options?.signal?.addEventListener('abort', () => reject(options.signal?.reason as Error)));
      },
    } as unknown as TaskStore;
    const outcome = await waitForOutcome(store, 'r', { until: clock.now() + 25_000, poll, clock, signal: controller.signal });
    expect(outcome).toMatchObject({ kind: 'pending', reads: 2, view: { status: 'RUNNING' } });
  });

  it('reports unknown when the signal aborts before any read answered, and reads nothing once aborted', async () => {
    const clock = fakeClock();
    const controller = new AbortController();
    const hung = {
      async readStatus(_id: string, _now: number, options?: { signal?: AbortSignal }) {
        queueMicrotask(() => controller.abort());
        return new Promise<never>((_resolve, reject) => options?.signal?.addEventListener('abort', () => reject(new StoreUnavailableError('aborted'))));
      },
    } as unknown as TaskStore;
    expect(await waitForOutcome(hung, 'r', { until: clock.now() + 25_000, poll, clock, signal: controller.signal })).toEqual({ kind: 'unknown', reads: 1 });
    const never = storeReturning([view('CREATED')]);
    expect(await waitForOutcome(never, 'r', { until: clock.now() + 25_000, poll, clock, signal: AbortSignal.abort() })).toEqual({ kind: 'unknown', reads: 0 });
    expect(never.reads).toBe(0);
  });

  it('ends with refused, and tells nothing of the task, when the first read is not admitted', async () => {
    const clock = fakeClock();
    const store = storeReturning([view('CREATED', { tokenHashes: ['other'] })]);
    const refused = await waitForOutcome(store, 'r', { until: clock.now() + 25_000, poll, clock, admit: (v) => v.tokenHashes.includes('mine') });
    expect(refused).toEqual({ kind: 'refused', reads: 1 });
    const admitted = await waitForOutcome(storeReturning([view('CREATED', { tokenHashes: ['mine'] })]), 'r', { until: clock.now() + 25_000, poll, clock, admit: (v) => v.tokenHashes.includes('mine') });
    expect(admitted.kind).toBe('done');
  });
});
