/**
 * A fake clock and a scripted fake fetch for the client's unit tests: time moves only when the
 * test (or `drive`) moves it, and each request is answered by a function of the test.
 */
import type { FetchFunction, LongRequestClock } from '../../client/index';

interface Timer {
  at: number;
  resolve: () => void;
}

/** Virtual time: `sleep` registers a timer, `fireNext` jumps to the earliest one. */
export class FakeClock implements LongRequestClock {
  time = 1_700_000_000_000;
  readonly start = this.time;
  private timers: Timer[] = [];

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        this.timers = this.timers.filter((t) => t !== timer);
        reject(signal.reason);
      };
      const timer: Timer = {
        at: this.time + Math.max(0, ms),
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.timers.push(timer);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Moves time forward by `ms`, firing the timers due on the way. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const next = this.earliest();
      if (!next || next.at > end) break;
      this.fire(next);
    }
    this.time = end;
  }

  /** Jumps to the earliest timer and fires it; false when none is pending. */
  fireNext(): boolean {
    const next = this.earliest();
    if (!next) return false;
    this.fire(next);
    return true;
  }

  /** Milliseconds since the clock was made. */
  elapsed(): number {
    return this.time - this.start;
  }

  private earliest(): Timer | undefined {
    return [...this.timers].sort((a, b) => a.at - b.at)[0];
  }

  private fire(timer: Timer): void {
    this.timers = this.timers.filter((t) => t !== timer);
    this.time = Math.max(this.time, timer.at);
    timer.resolve();
  }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Runs a promise to the end on virtual time: whenever nothing else is left to do, the clock
 * jumps to its next timer. Fails if the promise waits for something that never comes.
 */
export async function drive<T>(clock: FakeClock, promise: Promise<T>): Promise<T> {
  let settled = false;
  promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 100_000; i++) {
    for (let j = 0; j < 3 && !settled; j++) await tick();
    if (settled) return promise;
    if (!clock.fireNext()) throw new Error('deadlock: the promise waits for something no timer will bring');
  }
  throw new Error('drive: too many steps');
}

/** One request as the fake fetch saw it. */
export interface SeenRequest {
  url: string;
  method: string;
  headers: Headers;
  body: string | undefined;
  redirect: string | undefined;
  signal: AbortSignal | undefined;
  /** Virtual time of the request, in milliseconds since the clock was made. */
  at: number;
}

/** The answer of a scripted request: a Response, or a promise of one. */
export type Script = (request: SeenRequest, index: number) => Response | Promise<Response>;

/** A fetch that answers with `script` and records every request. */
export function fakeFetch(clock: FakeClock, script: Script): { fetch: FetchFunction; seen: SeenRequest[] } {
  const seen: SeenRequest[] = [];
  const fetchFn: FetchFunction = async (input, init) => {
    const signal = init.signal ?? undefined;
    if (signal?.aborted) throw signal.reason;
    const request: SeenRequest = {
      url: input,
      method: init.method ?? 'GET',
      headers: new Headers(init.headers),
      body: typeof init.body === 'string' ? init.body : undefined,
      redirect: init.redirect,
      signal,
      at: clock.elapsed(),
    };
    seen.push(request);
    const answer = script(request, seen.length - 1);
    if (!signal) return answer;
    // Like fetch: an abort while waiting for the answer rejects with the signal's reason.
    let onAbort = () => undefined as void;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([answer, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  };
  return { fetch: fetchFn, seen };
}

/** A response with headers and a JSON or text body. */
export function answer(status: number, headers: Record<string, string> = {}, body: string | null = null): Response {
  return new Response(status === 204 || status === 304 ? null : body, { status, headers });
}

/** The kit's 303 to hop `hop` of `requestId`. */
export function seeOther(requestId: string, hop: number): Response {
  const location = `?requestID=${requestId}&hop=${hop}`;
  return answer(303, { location, 'x-request-id': requestId, 'content-type': 'application/json' }, JSON.stringify({ status: 'pending', requestId, location }));
}

/** A response that never comes (until the request's signal aborts). */
export function never(): Promise<Response> {
  return new Promise<Response>(() => undefined);
}
