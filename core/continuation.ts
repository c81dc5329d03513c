/**
 * Continuation URLs: the `Location` a client follows to get a result later.
 *
 * A continuation URL is a capability: whoever holds it gets the result. It carries the
 * RequestID (a random UUID, for correlation: it is in logs and `X-Request-Id`), the task's link
 * token (256 random bits, whose hash alone is stored: `secrets.ts`) and, when
 * `SIGNING_SECRET` is set, an expiry and an HMAC-SHA256 signature over all three. It never
 * carries the API key, nor anything derived from it.
 *
 * The Location is a relative reference holding only a query (`?requestID=...`), resolved by
 * the client against the URL it requested (RFC 3986, section 5.2). It therefore works behind
 * the default execute-api URL with its stage prefix, behind a custom domain with a base path,
 * on an HTTP API `$default` stage and on local emulators, without knowing any of them.
 *
 * @module
 */
import type { IncomingRequest } from './events';
import { LINK_TOKEN_PATTERN, signContinuation } from './secrets';

/** The query parameter that names the task, as in the original kit. */
export const REQUEST_ID_PARAM = 'requestID';

/** The query parameter that carries the link's token. */
export const LINK_TOKEN_PARAM = 'token';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;

/**
 * How the client is waiting: `redirect` follows 303s (browsers, `curl -L`); `async` asked
 * for `Prefer: respond-async` and polls a 202 Location itself.
 */
export type ContinuationMode = 'redirect' | 'async';

/** What a continuation URL says. */
export interface Continuation {
  /** The task's RequestID. */
  requestId: string;
  /** How many 303s led here (for the browsers' redirect cap). */
  hop: number;
  /** How the client waits. */
  mode: ContinuationMode;
  /** The link's token; absent in a bare RequestID, which is refused. */
  token?: string;
  /** Expiry of the link (epoch seconds), when signed. */
  expires?: number;
  /** The link's signature, when signed. */
  signature?: string;
}

/** A request that is not a continuation: a new request. */
export interface NotAContinuation {
  /** Always `none`. */
  kind: 'none';
}

/** A continuation whose parameters are unusable (answered 400). */
export interface MalformedContinuation {
  /** Always `malformed`. */
  kind: 'malformed';
  /** What is wrong, for the error message. */
  reason: string;
}

/** A well-formed continuation. */
export interface FoundContinuation {
  /** Always `continuation`. */
  kind: 'continuation';
  /** What the URL says. */
  continuation: Continuation;
}

/** The result of {@link readContinuation}. */
export type ContinuationParse = NotAContinuation | MalformedContinuation | FoundContinuation;

function single(request: IncomingRequest, name: string): string | undefined | null {
  const values = request.query.get(name);
  if (!values || values.length === 0) return undefined;
  return values.length === 1 ? (values[0] as string) : null;
}

/**
 * The RequestID named by a request on the results path (`<resultsPath>/<RequestID>`), `null`
 * when the request is on the results path but names no proper RequestID, `undefined` when it is
 * not on the results path at all.
 */
function idFromResultsPath(request: IncomingRequest, resultsPath: string): string | null | undefined {
  const prefix = `${resultsPath}/`;
  if (!request.apiPath.startsWith(prefix)) return undefined;
  const rest = request.apiPath.slice(prefix.length);
  return rest.includes('/') || rest === '' ? null : rest;
}

/**
 * Recognises a continuation: a GET or HEAD carrying a `requestID` query parameter, or, when a
 * results path is configured, a GET or HEAD of `<resultsPath>/<RequestID>`.
 *
 * @param request - the incoming request
 * @param resultsPath - `RESULTS_PATH`, if configured
 * @returns `none` for a new request, `malformed` with the reason, or the continuation
 */
export function readContinuation(request: IncomingRequest, resultsPath?: string): ContinuationParse {
  if (request.method !== 'GET' && request.method !== 'HEAD') return { kind: 'none' };
  const fromPath = resultsPath !== undefined ? idFromResultsPath(request, resultsPath) : undefined;
  if (fromPath === null) return { kind: 'malformed', reason: `the results path must end with a RequestID` };
  const requestId = fromPath ?? single(request, REQUEST_ID_PARAM);
  if (requestId === undefined) return { kind: 'none' };
  if (requestId === null) return { kind: 'malformed', reason: `${REQUEST_ID_PARAM} is given more than once` };
  if (!UUID.test(requestId)) return { kind: 'malformed', reason: `${REQUEST_ID_PARAM} is not a RequestID` };
  const token = single(request, LINK_TOKEN_PARAM);
  if (token === null || (token !== undefined && !LINK_TOKEN_PATTERN.test(token))) {
    return { kind: 'malformed', reason: `${LINK_TOKEN_PARAM} is not a link token` };
  }
  const hopText = single(request, 'hop');
  const expText = single(request, 'exp');
  const signature = single(request, 'sig');
  const mode = single(request, 'mode');
  if (hopText === null || (hopText !== undefined && !/^\d{1,4}$/.test(hopText))) {
    return { kind: 'malformed', reason: 'hop must be a small whole number' };
  }
  if (expText === null || (expText !== undefined && !/^\d{1,12}$/.test(expText))) {
    return { kind: 'malformed', reason: 'exp must be a time in epoch seconds' };
  }
  if (signature === null || (signature !== undefined && !SIGNATURE.test(signature))) {
    return { kind: 'malformed', reason: 'sig is not a signature' };
  }
  if (mode === null || (mode !== undefined && mode !== 'async')) {
    return { kind: 'malformed', reason: 'mode must be "async" when given' };
  }
  const continuation: Continuation = {
    requestId,
    hop: hopText === undefined ? 0 : Number(hopText),
    mode: mode === 'async' ? 'async' : 'redirect',
  };
  if (token !== undefined) continuation.token = token;
  if (expText !== undefined) continuation.expires = Number(expText);
  if (signature !== undefined) continuation.signature = signature;
  return { kind: 'continuation', continuation };
}

/** Where continuations live, when not on the request's own path. */
export interface ResultsRoute {
  /** `RESULTS_PATH`, e.g. `/_results`. */
  resultsPath: string;
  /** The request being answered: the Location is relative to its URL. */
  from: IncomingRequest;
}

/**
 * The relative path from the URL of `from` to `<resultsPath>/<requestId>`, using only the
 * request's path below the API root, so that any stage, base path or host prefix is kept.
 */
function pathToResult(route: ResultsRoute, requestId: string): string {
  const { from, resultsPath } = route;
  const target = `${resultsPath.slice(1)}/${requestId}`;
  // Already on the results route: its directory is the results path itself.
  if (from.apiPath.startsWith(`${resultsPath}/`)) return `./${requestId}`;
  // The API's root requested without its trailing slash (".../dev"): the last segment is the root itself.
  if (from.apiPath === '/' && from.clientPath !== undefined && !from.clientPath.endsWith('/')) {
    const last = from.clientPath.slice(from.clientPath.lastIndexOf('/') + 1);
    if (last !== '') return `${last}/${target}`;
  }
  const ups = from.apiPath.split('/').length - 2;
  return ups > 0 ? `${'../'.repeat(ups)}${target}` : `./${target}`;
}

/**
 * Builds the relative Location of the next continuation.
 *
 * @param next - the RequestID, link token, hop count and mode of the next request
 * @param signing - the key and expiry, when links are signed
 * @param route - the results path and the current request, when `RESULTS_PATH` is set
 * @returns a relative reference: query-only (`?requestID=...&token=...&hop=1`), or a path to the
 *   results route (`../_results/<id>?token=...&hop=1`)
 * @example
 * ```ts
 * continuationLocation({ requestId, token, hop: 1, mode: 'redirect' });
 * // "?requestID=5b0c...&token=Xq3...&hop=1"
 * ```
 */
export function continuationLocation(
  next: { requestId: string; token: string; hop: number; mode: ContinuationMode },
  signing?: { key: Buffer; expires: number },
  route?: ResultsRoute,
): string {
  const params = new URLSearchParams(route ? {} : { [REQUEST_ID_PARAM]: next.requestId });
  params.set(LINK_TOKEN_PARAM, next.token);
  if (signing) {
    params.set('exp', String(signing.expires));
    params.set('sig', signContinuation(signing.key, next.requestId, next.token, signing.expires));
  }
  if (next.mode === 'async') params.set('mode', 'async');
  else params.set('hop', String(next.hop));
  return `${route ? pathToResult(route, next.requestId) : ''}?${params.toString()}`;
}
