/**
 * The client of the long-request kit, for callers that are not browsers navigating (scripts,
 * servers, single-page apps): it follows the kit's `303` chain without the 20-redirect cap of
 * browsers and `fetch`, polls `202 Accepted` answers after `Retry-After`, retries `503`s, and
 * returns Main's own response. No dependencies: it needs only the platform's `fetch`, so it runs
 * on Node 20+ and in browsers.
 *
 * @example
 * ```ts
 * import { callLongRequest } from './client/index.js';
 *
 * const response = await callLongRequest('http://127.0.0.1:4566/_aws/execute-api/abc123/dev/report?seconds=40', {}, {
 *   onProgress: ({ hops, elapsedMs }) => console.log(`${hops} hops, ${(elapsedMs / 1000).toFixed(0)} s`),
 * });
 * console.log(response.status, await response.text());
 * ```
 *
 * @module
 */
export {
  callLongRequest,
  createLongRequestClient,
  DEFAULT_MAX_HOPS,
  DEFAULT_MAX_RETRY_AFTER_MS,
  DEFAULT_POLL_INTERVAL_MS,
  DEFAULT_RETRIES,
} from './long-request.js';
export type { FetchFunction, LongRequestClient, LongRequestClock, LongRequestOptions, LongRequestProgress, LongRequestStep } from './long-request.js';
export { LongRequestError } from './errors.js';
export type { LongRequestErrorDetails, LongRequestErrorKind } from './errors.js';
