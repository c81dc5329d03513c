/**
 * The client for callers that are not browsers navigating: it sends a request through the kit
 * and follows the kit's answers until Main's own response arrives, however many hops that takes.
 *
 * It uses nothing but the platform (`fetch`, `URL`, `Headers`, `AbortSignal`), so it runs on
 * Node 20+ and in browsers, and it takes its `fetch` and clock as options so that tests drive it
 * without a network or real time.
 *
 * @module
 */
import { LongRequestError, type LongRequestErrorDetails, type LongRequestErrorKind } from './errors.js';

/** A `fetch` function: the platform's global `fetch` by default. */
export type FetchFunction = (input: string, init: RequestInit) => Promise<Response>;

/** Time as the client sees it: the real clock by default, a fake one in tests. */
export interface LongRequestClock {
  /** The current time in epoch milliseconds. */
  now(): number;
  /**
   * Resolves after `ms` milliseconds; rejects with `signal.reason` as soon as `signal` aborts.
   *
   * @param ms - how long to wait
   * @param signal - cancels the wait
   */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/**
 * What the client does after an answer:
 * - `redirect`: follows a `303` (or another redirect, or the kit's self-continuing page) to the next hop;
 * - `poll`: waits `Retry-After`, then polls the `Location` of a `202 Accepted`;
 * - `retry`: waits, then sends the same request again (a `503` with `Retry-After`, or a network error on a GET);
 * - `done`: the answer is final and is returned.
 */
export type LongRequestStep = 'redirect' | 'poll' | 'retry' | 'done';

/** One report to {@link LongRequestOptions.onProgress}, made after each answer. */
export interface LongRequestProgress {
  /** Redirects followed and polls made before this answer (0 for the answer to the first request). */
  hops: number;
  /** Retries made so far in the whole chain (503s and network errors). */
  retries: number;
  /** Milliseconds since the first request was sent. */
  elapsedMs: number;
  /** The answer's HTTP status; 0 when there was no answer (a network error, or a browser's opaque redirect). */
  status: number;
  /** The kit's RequestID, once an answer carried one (`X-Request-Id`, or the `requestID` of a continuation). */
  requestId?: string;
  /** The URL that gave this answer. */
  url: string;
  /** What the client does next. */
  next: LongRequestStep;
  /** For `poll` and `retry`: how long the client waits before the next request, in milliseconds. */
  waitMs?: number;
}

/** Options of {@link callLongRequest}; all optional. */
export interface LongRequestOptions {
  /**
   * Sends `Prefer: respond-async` with the first request: the kit answers `202 Accepted` at once
   * and the client polls the `Location` every `Retry-After` seconds, so no Proxy invocation sits
   * waiting. The way for browsers (see the guide). Default false.
   */
  respondAsync?: boolean;
  /** Most redirects and polls to make before giving up with `too-many-hops` (default {@link DEFAULT_MAX_HOPS}). */
  maxHops?: number;
  /**
   * Most retries of one request in a row: a `503` with `Retry-After`, or a network error on a
   * follow-up GET or on a GET of a continuation URL (default {@link DEFAULT_RETRIES}; 0 turns
   * retrying off). When they run out, the
   * last `503` is returned (or the network error thrown).
   */
  retries?: number;
  /** Gives up with `timeout` when no final answer has arrived after this many milliseconds (default: no limit). */
  timeoutMs?: number;
  /** Aborts the request (as `init.signal` does; either one aborts). */
  signal?: AbortSignal;
  /**
   * Called after each answer with the hops, the elapsed time and what comes next. An exception
   * it throws ends the request with that exception.
   */
  onProgress?: (progress: LongRequestProgress) => void;
  /** The wait between polls when a `202` carries no usable `Retry-After` (default {@link DEFAULT_POLL_INTERVAL_MS}). */
  pollIntervalMs?: number;
  /** The longest wait a `Retry-After` may impose; longer values are cut to this (default {@link DEFAULT_MAX_RETRY_AFTER_MS}). */
  maxRetryAfterMs?: number;
  /** The `fetch` to use (default: the global `fetch`). */
  fetch?: FetchFunction;
  /** The clock to use (default: `Date.now` and `setTimeout`). */
  clock?: LongRequestClock;
}

/**
 * A client with defaults: call it as you would call {@link callLongRequest}; the options given
 * to the call override the defaults.
 *
 * @param url - the endpoint behind the kit (absolute)
 * @param init - the request, as for `fetch`
 * @param options - overrides of the client's defaults
 * @returns the final response, body unread
 */
export type LongRequestClient = (url: string | URL, init?: RequestInit, options?: LongRequestOptions) => Promise<Response>;

/** Default of {@link LongRequestOptions.maxHops}: with 25 s hops, over 80 minutes; 200 polls at 5 s are over 16 minutes. */
export const DEFAULT_MAX_HOPS = 200;
/** Default of {@link LongRequestOptions.retries}. */
export const DEFAULT_RETRIES = 5;
/** Default of {@link LongRequestOptions.pollIntervalMs}. */
export const DEFAULT_POLL_INTERVAL_MS = 2000;
/** Default of {@link LongRequestOptions.maxRetryAfterMs}. */
export const DEFAULT_MAX_RETRY_AFTER_MS = 60_000;

/** The query parameter that names the task in a continuation URL of the kit. */
const REQUEST_ID_PARAM = 'requestID';
/** The query parameter of a continuation's link token. */
const TOKEN_PARAM = 'token';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Headers that describe a body: dropped when a redirect turns the request into a GET (as fetch does). */
const BODY_HEADERS = ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location'];
/** Headers that carry credentials: dropped when a redirect leaves the first request's origin (as fetch does for Authorization). */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie'];
/** Bodies up to this size are read to the end, so that the connection can be reused; larger ones are cancelled. */
const DRAIN_LIMIT = 64 * 1024;

const realClock: LongRequestClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, Math.max(0, ms));
      signal.addEventListener('abort', onAbort, { once: true });
    }),
};

/** One request of the chain, as the client is about to send it. */
interface Outgoing {
  url: string;
  method: string;
  headers: Headers;
  body: RequestInit['body'];
  /** The caller's own request (not a hop the kit or a redirect asked for). */
  first: boolean;
}

/** What to do after an answer. */
type Step =
  | { kind: 'done' }
  | { kind: 'opaque' }
  | { kind: 'redirect' | 'poll' | 'retry'; request: Outgoing; waitMs: number };

/**
 * Sends a request through the kit and follows its answers to the end: `303` redirects without
 * the 20-redirect cap of browsers and `fetch` (and 301/302/307/308 as `fetch` does), `202
 * Accepted` polls after `Retry-After`, and `503` answers with `Retry-After` (retried, up to
 * `retries` times in a row). Returns the final response with its body unread, whatever its
 * status: a `502` from a Main that threw is a response, not an exception.
 *
 * Follow-up requests carry the caller's headers (without the body's headers once the request
 * became a GET, and without `Authorization` and `Cookie` once a redirect left the first URL's
 * origin). `init.redirect` is ignored: the client follows redirects itself.
 *
 * A continuation URL is itself a valid `url`: `callLongRequest(error.continuationUrl)` resumes
 * waiting after a timeout or a network failure.
 *
 * @param url - the endpoint behind the kit (absolute)
 * @param init - the first request, as for `fetch`: method, headers, body, signal
 * @param options - hops, retries, timeout, progress, and the `fetch` and clock to use
 * @returns the final response, body unread
 * @throws {@link LongRequestError} on timeout, abort, too many hops, or a network failure
 * @example
 * ```ts
 * import { callLongRequest } from './client/index.js';
 *
 * const response = await callLongRequest('https://abc123.execute-api.eu-west-1.amazonaws.com/prod/report', {
 *   method: 'POST',
 *   headers: { 'content-type': 'application/json' },
 *   body: JSON.stringify({ year: 2024 }),
 * }, {
 *   timeoutMs: 20 * 60_000,
 *   onProgress: ({ hops, elapsedMs }) => console.log(`hop ${hops}, ${Math.round(elapsedMs / 1000)} s`),
 * });
 * if (!response.ok) throw new Error(`failed: ${response.status} ${await response.text()}`);
 * const report = await response.json();
 * ```
 */
export async function callLongRequest(url: string | URL, init: RequestInit = {}, options: LongRequestOptions = {}): Promise<Response> {
  const fetchFn: FetchFunction = options.fetch ?? ((input, requestInit) => fetch(input, requestInit));
  const clock = options.clock ?? realClock;
  const maxHops = options.maxHops ?? DEFAULT_MAX_HOPS;
  const maxRetries = options.retries ?? DEFAULT_RETRIES;
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  const { timeoutMs, onProgress } = options;
  const started = clock.now();

  const firstUrl = new URL(url).toString();
  const firstOrigin = new URL(firstUrl).origin;
  const callerHeaders = new Headers(init.headers ?? undefined);
  const firstHeaders = new Headers(callerHeaders);
  if (options.respondAsync) firstHeaders.append('prefer', 'respond-async');
  const wantsHtml = /(^|,)\s*text\/html\s*(;|,|$)/i.test(callerHeaders.get('accept') ?? '');
  // Everything else the caller set (credentials, mode, cache, keepalive, duplex ...) goes with every request.
  const { body: _body, method: _method, headers: _headers, signal: _signal, redirect: _redirect, ...passThrough } = init;

  let current: Outgoing = { url: firstUrl, method: (init.method ?? 'GET').toUpperCase(), headers: firstHeaders, body: init.body, first: true };
  let hops = 0;
  let retries = 0;
  let retriesInARow = 0;
  let crossedOrigin = false;
  let redirectMode: 'manual' | 'follow' = 'manual';
  let requestId: string | undefined;
  // Called with a continuation URL (to resume): that is already the one to come back to.
  let continuationUrl: string | undefined = isContinuation(firstUrl) ? firstUrl : undefined;

  // One signal for every fetch and wait: the caller's signals and the deadline abort it.
  const controller = new AbortController();
  let timedOut = false;
  for (const signal of [init.signal, options.signal]) {
    if (!signal) continue;
    if (signal.aborted) controller.abort(signal.reason);
    // Kept after the answer arrives, so that the caller's signal still aborts reading its body (as with fetch).
    else signal.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  }
  const deadlineTimer = new AbortController();
  if (timeoutMs !== undefined && !controller.signal.aborted) {
    clock.sleep(timeoutMs, deadlineTimer.signal).then(
      () => {
        timedOut = true;
        controller.abort(new Error(`no final answer within ${timeoutMs} ms`));
      },
      () => undefined,
    );
  }

  const details = (cause?: unknown): LongRequestErrorDetails => {
    const d: LongRequestErrorDetails = { hops, elapsedMs: clock.now() - started, url: current.url };
    if (continuationUrl !== undefined) d.continuationUrl = continuationUrl;
    if (requestId !== undefined) d.requestId = requestId;
    if (cause !== undefined) d.cause = cause;
    return d;
  };
  const fail = (kind: LongRequestErrorKind, message: string, cause?: unknown) => new LongRequestError(kind, message, details(cause));
  const stopped = (): LongRequestError | undefined => {
    if (timedOut) return fail('timeout', `No final answer within ${timeoutMs} ms (${plural(hops, 'hop')}).`);
    if (controller.signal.aborted) return fail('aborted', `The request was aborted after ${plural(hops, 'hop')}.`, controller.signal.reason);
    return undefined;
  };
  const report = (status: number, next: LongRequestStep, waitMs?: number) => {
    if (!onProgress) return;
    const progress: LongRequestProgress = { hops, retries, elapsedMs: clock.now() - started, status, url: current.url, next };
    if (requestId !== undefined) progress.requestId = requestId;
    if (waitMs !== undefined) progress.waitMs = waitMs;
    onProgress(progress);
  };

  /** The request a redirect or the kit asks for: a GET (or HEAD) of `target` without a body, or the same request again. */
  const followUp = (target: string, keepMethodAndBody: boolean): Outgoing => {
    if (new URL(target).origin !== firstOrigin) crossedOrigin = true;
    // A GET the kit asks for goes without the client's own `Prefer: respond-async`; a 307/308 repeats the request as it was.
    const headers = new Headers(!keepMethodAndBody && current.first ? callerHeaders : current.headers);
    if (!keepMethodAndBody) for (const name of BODY_HEADERS) headers.delete(name);
    if (crossedOrigin) for (const name of CREDENTIAL_HEADERS) headers.delete(name);
    if (keepMethodAndBody) return { url: target, method: current.method, headers, body: current.body, first: false };
    return { url: target, method: current.method === 'HEAD' ? 'HEAD' : 'GET', headers, body: undefined, first: false };
  };

  const retryAfterMs = (response: Response): number | undefined => {
    const raw = response.headers.get('retry-after')?.trim();
    if (!raw) return undefined;
    let ms: number;
    if (/^\d+$/.test(raw)) ms = Number(raw) * 1000;
    else {
      const date = Date.parse(raw);
      if (Number.isNaN(date)) return undefined;
      ms = date - clock.now();
    }
    return Math.min(Math.max(0, ms), maxRetryAfterMs);
  };

  const nextStep = async (response: Response): Promise<Step> => {
    if (response.type === 'opaqueredirect') return { kind: 'opaque' };
    const status = response.status;
    const location = resolve(response.headers.get('location'), current.url);
    if (status === 301 || status === 302 || status === 303 || status === 307 || status === 308) {
      if (location === undefined) return { kind: 'done' };
      const keep = status === 307 || status === 308 || ((status === 301 || status === 302) && current.method !== 'POST');
      if (keep && !replayable(current.body)) return { kind: 'done' };
      return { kind: 'redirect', request: followUp(location, keep), waitMs: 0 };
    }
    if (status === 202 && location !== undefined && isContinuation(location)) {
      return { kind: 'poll', request: followUp(location, false), waitMs: retryAfterMs(response) ?? pollIntervalMs };
    }
    if (status === 503 && retriesInARow < maxRetries) {
      const waitMs = retryAfterMs(response);
      if (waitMs === undefined) return { kind: 'done' };
      // With a Location, the kit says where to ask again (the same continuation); without one, a new
      // request was refused before Main ran, so sending it again is safe.
      if (location !== undefined) return { kind: 'retry', request: followUp(location, false), waitMs };
      if (current.first && replayable(current.body)) return { kind: 'retry', request: { ...current, headers: new Headers(current.headers) }, waitMs };
      return { kind: 'done' };
    }
    if (status === 200 && wantsHtml && response.headers.has('x-request-id') && /text\/html/i.test(response.headers.get('content-type') ?? '')) {
      // The kit's self-continuing page for browsers (sent only to requests that accept text/html).
      const target = resolve(metaRefreshUrl(await response.clone().text()), current.url);
      if (target !== undefined && isContinuation(target)) return { kind: 'redirect', request: followUp(target, false), waitMs: 0 };
    }
    return { kind: 'done' };
  };

  try {
    for (;;) {
      const halt = stopped();
      if (halt) throw halt;
      let response: Response;
      try {
        response = await fetchFn(current.url, {
          ...passThrough,
          method: current.method,
          headers: current.headers,
          ...(current.body !== undefined && current.body !== null && { body: current.body }),
          redirect: redirectMode,
          signal: controller.signal,
        });
      } catch (error) {
        const halted = stopped();
        if (halted) throw halted;
        // A follow-up GET, or a GET of a continuation, only reads: asking again cannot run Main twice.
        const idempotent = current.method === 'GET' || current.method === 'HEAD';
        if (idempotent && (!current.first || isContinuation(current.url)) && retriesInARow < maxRetries) {
          const waitMs = Math.min(1000 * 2 ** retriesInARow, maxRetryAfterMs);
          report(0, 'retry', waitMs);
          await clock.sleep(waitMs, controller.signal);
          retries += 1;
          retriesInARow += 1;
          continue;
        }
        const hint = redirectMode === 'follow' ? ' (a browser also fails like this after its 20-redirect cap: use respondAsync: true)' : '';
        throw fail('network', `The request to ${current.url} failed: ${error instanceof Error ? error.message : String(error)}${hint}`, error);
      }
      requestId = response.headers.get('x-request-id') ?? requestId;
      if (redirectMode === 'follow' && response.redirected) hops += 1;

      const step = await nextStep(response);
      if (step.kind === 'done') {
        report(response.status, 'done');
        return response;
      }
      await discard(response);
      if (step.kind === 'opaque') {
        // A browser hides the Location of a manual redirect. Let it follow by itself (up to its cap)
        // if sending this request again is safe; otherwise Main would run twice.
        if (current.method !== 'GET' && current.method !== 'HEAD') {
          throw fail('opaque-redirect', `The browser hid the redirect of this ${current.method} request, and sending it again would run it twice: use respondAsync: true in browsers.`);
        }
        report(0, 'redirect');
        redirectMode = 'follow';
        continue;
      }
      if (isContinuation(step.request.url)) {
        continuationUrl = step.request.url;
        requestId ??= requestIdOf(step.request.url);
      }
      report(response.status, step.kind, step.kind === 'redirect' ? undefined : step.waitMs);
      if (step.kind !== 'retry' && hops + 1 > maxHops) {
        throw fail('too-many-hops', `Gave up after ${plural(hops, 'hop')} (maxHops is ${maxHops}); the request may still be running.`);
      }
      if (step.waitMs > 0) await clock.sleep(step.waitMs, controller.signal);
      const halted = stopped();
      if (halted) throw halted;
      if (step.kind === 'retry') {
        retries += 1;
        retriesInARow += 1;
      } else {
        hops += 1;
        retriesInARow = 0;
      }
      current = step.request;
    }
  } catch (error) {
    // A wait or a fetch cut short by the deadline or the caller's signal becomes a LongRequestError.
    if (error instanceof LongRequestError) throw error;
    throw stopped() ?? error;
  } finally {
    deadlineTimer.abort();
  }
}

/**
 * Makes a client with default options, for example one `fetch`, a timeout and a progress
 * callback shared by every call.
 *
 * @param defaults - options for every call; a call's own options override them
 * @returns a function with the signature of {@link callLongRequest}
 * @example
 * ```ts
 * const call = createLongRequestClient({ timeoutMs: 16 * 60_000, respondAsync: true });
 * const response = await call('https://api.example.com/report?year=2024');
 * ```
 */
export function createLongRequestClient(defaults: LongRequestOptions = {}): LongRequestClient {
  return (url, init, options) => callLongRequest(url, init, { ...defaults, ...options });
}

/** `1 hop`, `2 hops`. */
function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/**
 * Whether a URL is one of the kit's continuations: it names a task by its `requestID` query
 * parameter (`?requestID=<id>&token=...`), or, on a results path (`RESULTS_PATH`), by its last
 * path segment (`.../_results/<id>?token=...`).
 */
function isContinuation(url: string): boolean {
  const parsed = new URL(url);
  if (parsed.searchParams.has(REQUEST_ID_PARAM)) return true;
  return parsed.searchParams.has(TOKEN_PARAM) && UUID.test(parsed.pathname.slice(parsed.pathname.lastIndexOf('/') + 1));
}

/** The RequestID a continuation URL names. */
function requestIdOf(url: string): string | undefined {
  const parsed = new URL(url);
  const fromQuery = parsed.searchParams.get(REQUEST_ID_PARAM);
  if (fromQuery !== null) return fromQuery;
  const last = parsed.pathname.slice(parsed.pathname.lastIndexOf('/') + 1);
  return UUID.test(last) ? last : undefined;
}

/** Resolves a `Location` against the URL requested; undefined when absent, unusable, or not HTTP(S). */
function resolve(location: string | null | undefined, base: string): string | undefined {
  if (location === null || location === undefined || location.trim() === '') return undefined;
  try {
    const target = new URL(location.trim(), base);
    return target.protocol === 'http:' || target.protocol === 'https:' ? target.toString() : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a body can be sent a second time (a stream cannot). */
function replayable(body: RequestInit['body']): boolean {
  if (body === undefined || body === null || typeof body === 'string') return true;
  const candidate = body as { getReader?: unknown; [Symbol.asyncIterator]?: unknown };
  return typeof candidate.getReader !== 'function' && typeof candidate[Symbol.asyncIterator] !== 'function';
}

/** The URL of a `<meta http-equiv="refresh" content="N;url=...">`, HTML entities decoded. */
function metaRefreshUrl(html: string): string | undefined {
  const match = /<meta\s+http-equiv=["']?refresh["']?\s+content=["']\s*\d+(?:\.\d+)?\s*;\s*url=([^"']+)["']/i.exec(html);
  if (!match?.[1]) return undefined;
  return match[1]
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)))
    .replace(/&#x([0-9a-f]+);/gi, (_, code: string) => String.fromCharCode(parseInt(code, 16)))
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');
}

/** Frees an intermediate answer's body: small ones are read (the connection stays reusable), others cancelled. */
async function discard(response: Response): Promise<void> {
  if (!response.body) return;
  try {
    const length = Number(response.headers.get('content-length') ?? Number.NaN);
    if (Number.isFinite(length) && length <= DRAIN_LIMIT) await response.arrayBuffer();
    else await response.body.cancel();
  } catch {
    // The body is not needed; a failure to drain it does not matter.
  }
}
