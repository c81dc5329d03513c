/**
 * The error {@link callLongRequest} throws when it cannot bring back a response.
 *
 * @module
 */

/**
 * Why a long request ended without a response:
 * - `timeout`: the overall `timeoutMs` passed;
 * - `aborted`: the caller's `AbortSignal` fired (the signal's reason is the `cause`);
 * - `too-many-hops`: more than `maxHops` redirects and polls (a loop, or a request longer than planned);
 * - `network`: `fetch` itself failed (no connection, DNS, CORS, a browser's redirect cap), after the retries allowed;
 * - `opaque-redirect`: a browser hid a redirect of a request that cannot be sent again safely (not GET or HEAD): use `respondAsync: true` in browsers.
 */
export type LongRequestErrorKind = 'timeout' | 'aborted' | 'too-many-hops' | 'network' | 'opaque-redirect';

/** Where the chain stood when a {@link LongRequestError} was thrown. */
export interface LongRequestErrorDetails {
  /** Redirects followed and polls made so far. */
  hops: number;
  /** Milliseconds since the first request was sent. */
  elapsedMs: number;
  /** The last URL requested. */
  url: string;
  /**
   * The last continuation URL the kit gave (absolute), if any. A GET of it, for example
   * `callLongRequest(error.continuationUrl)`, resumes waiting for the same result while the
   * link is valid.
   */
  continuationUrl?: string;
  /** The kit's RequestID, once an answer carried one. */
  requestId?: string;
  /** The underlying error: the abort reason, or what `fetch` threw. */
  cause?: unknown;
}

/**
 * Thrown by {@link callLongRequest} when no final response can be returned. A final answer
 * with any status (404, 502, 504, ...) is not an error: it is returned as the `Response`.
 *
 * @example
 * ```ts
 * try {
 *   const response = await callLongRequest(url, {}, { timeoutMs: 60_000 });
 * } catch (error) {
 *   if (error instanceof LongRequestError && error.kind === 'timeout') {
 *     console.log(`gave up after ${error.hops} hops; resume with ${error.continuationUrl}`);
 *   } else throw error;
 * }
 * ```
 */
export class LongRequestError extends Error {
  /** Why the request ended. */
  readonly kind: LongRequestErrorKind;
  /** Redirects followed and polls made before the error. */
  readonly hops: number;
  /** Milliseconds since the first request was sent. */
  readonly elapsedMs: number;
  /** The last URL requested. */
  readonly url: string;
  /** The last continuation URL the kit gave (absolute), to resume with a GET; absent before the first one. */
  readonly continuationUrl: string | undefined;
  /** The kit's RequestID, once an answer carried one. */
  readonly requestId: string | undefined;

  /**
   * @param kind - why the request ended
   * @param message - a sentence for a person
   * @param details - where the chain stood
   */
  constructor(kind: LongRequestErrorKind, message: string, details: LongRequestErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'LongRequestError';
    this.kind = kind;
    this.hops = details.hops;
    this.elapsedMs = details.elapsedMs;
    this.url = details.url;
    this.continuationUrl = details.continuationUrl;
    this.requestId = details.requestId;
  }
}
