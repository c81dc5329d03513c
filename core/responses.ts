/**
 * The Proxy's own answers: 303 and 202 continuations, the self-continuing page for browsers,
 * and errors. None of them reflects a request header or the request body.
 *
 * @module
 */

/** A response built by the Proxy itself (not Main's): valid in both payload formats. */
export interface ProxyResponse {
  /** The HTTP status. */
  statusCode: number;
  /** Response headers. */
  headers: Record<string, string>;
  /** The body, as text. */
  body: string;
  /** Always false: the Proxy's own bodies are text. */
  isBase64Encoded: false;
}

/** How the Proxy's own answers to a request are dressed: HTML or JSON, CORS, the RequestID. */
export interface AnswerStyle {
  /** The task's RequestID, when there is one. */
  requestId?: string;
  /** Whether to answer with HTML (a browser navigating) rather than JSON. */
  html: boolean;
  /** `CORS_ALLOW_ORIGIN`, if set. */
  corsAllowOrigin?: string;
}

const EXPOSED = 'Location, Retry-After, Preference-Applied, X-Request-Id';
const CORS_ALLOW_HEADERS = 'Content-Type, Authorization, Prefer, Idempotency-Key, Api-Key, X-Api-Key';

function baseHeaders(style: AnswerStyle, contentType: string): Record<string, string> {
  const headers: Record<string, string> = {
    'Content-Type': contentType,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    // A page served at a continuation URL must not hand the link (its token) to other sites.
    'Referrer-Policy': 'no-referrer',
  };
  if (style.requestId !== undefined) headers['X-Request-Id'] = style.requestId;
  if (style.corsAllowOrigin !== undefined) {
    headers['Access-Control-Allow-Origin'] = style.corsAllowOrigin;
    headers['Access-Control-Expose-Headers'] = EXPOSED;
    if (style.corsAllowOrigin !== '*') headers['Vary'] = 'Origin';
  }
  return headers;
}

/** The codes of the Proxy's own error answers ({@link PROXY_ERRORS}). */
export type ProxyErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'LINK_TOKEN_MISSING'
  | 'LINK_TOKEN_INVALID'
  | 'BAD_SIGNATURE'
  | 'LINK_EXPIRED'
  | 'NOT_FOUND'
  | 'IDEMPOTENCY_KEY_USED'
  | 'REQUEST_TOO_LARGE'
  | 'IDEMPOTENCY_KEY_REUSED'
  | 'INTERNAL_ERROR'
  | 'TALKER_UNAVAILABLE'
  | 'SERVICE_UNAVAILABLE'
  | 'NOT_STARTED';

/** One of the Proxy's own error answers. */
export interface ProxyErrorEntry {
  /** Its HTTP status. */
  status: number;
  /** The sentence a client reads, unless the answer gives a more precise one. */
  message: string;
}

/**
 * The Proxy's own error answers: each code with its status and the sentence a client reads.
 * (Main's failures are answered by kind, see `failures.ts`.) The README's status table lists
 * the same codes.
 */
export const PROXY_ERRORS: Readonly<Record<ProxyErrorCode, ProxyErrorEntry>> = {
  BAD_REQUEST: { status: 400, message: 'The request is malformed.' },
  UNAUTHORIZED: { status: 401, message: 'This API needs a valid api-key query parameter for GET requests.' },
  LINK_TOKEN_MISSING: { status: 403, message: 'This link has no token: a RequestID alone does not fetch a result. Use the Location the kit answered with.' },
  LINK_TOKEN_INVALID: { status: 403, message: 'This link is not valid for this request: its token is wrong. Use the Location the kit answered with.' },
  BAD_SIGNATURE: { status: 403, message: 'This link is not valid: its signature is missing or wrong.' },
  LINK_EXPIRED: { status: 403, message: 'This link has expired.' },
  NOT_FOUND: { status: 404, message: 'No request with this RequestID is waiting: it never existed, it expired, or its result was already delivered.' },
  IDEMPOTENCY_KEY_USED: { status: 409, message: 'This Idempotency-Key belongs to an earlier request whose result was already delivered or has expired.' },
  REQUEST_TOO_LARGE: { status: 413, message: 'The request is too large for Lambda to run asynchronously.' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, message: 'This Idempotency-Key was used for a different request.' },
  INTERNAL_ERROR: { status: 500, message: 'The kit failed unexpectedly; the error is logged.' },
  TALKER_UNAVAILABLE: { status: 502, message: 'The kit could not start its Talker function.' },
  SERVICE_UNAVAILABLE: { status: 503, message: 'A service the kit needs is unavailable right now; nothing was lost.' },
  NOT_STARTED: { status: 503, message: 'This request never started: the kit could not start its Talker. Nothing ran; send the request again.' },
};

/**
 * One of the Proxy's own error answers, by code.
 *
 * @param code - the code, which fixes the status
 * @param style - RequestID, content type, CORS
 * @param options - a more precise message than the table's, and extra headers (e.g. `Retry-After`)
 */
export function proxyError(code: ProxyErrorCode, style: AnswerStyle, options: { message?: string; headers?: Record<string, string> } = {}): ProxyResponse {
  const entry = PROXY_ERRORS[code];
  return errorResponse(entry.status, code, options.message ?? entry.message, style, options.headers ?? {});
}

/**
 * The answer to a CORS preflight (`OPTIONS` with `Access-Control-Request-Method`).
 *
 * @param origin - `CORS_ALLOW_ORIGIN`
 */
export function preflight(origin: string): ProxyResponse {
  const headers: Record<string, string> = {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Allow-Methods': 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
    'Access-Control-Allow-Headers': CORS_ALLOW_HEADERS,
    'Access-Control-Expose-Headers': EXPOSED,
    'Access-Control-Max-Age': '600',
    'Cache-Control': 'no-store',
  };
  if (origin !== '*') headers['Vary'] = 'Origin';
  return { statusCode: 204, headers, body: '', isBase64Encoded: false };
}

/**
 * Escapes text for HTML.
 *
 * @param text - any text
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, paragraphs: string[], head = ''): string {
  const body = paragraphs.map((p) => `<p>${p}</p>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)}</title>${head}
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}code{background:#f3f3f3;padding:0 .25rem}</style>
</head><body>
<h1>${escapeHtml(title)}</h1>
${body}
</body></html>
`;
}

/**
 * An error answer: JSON `{"error": {"status", "code", "message", "requestId"}}`, or a small
 * HTML page for a browser.
 *
 * @param status - the HTTP status
 * @param code - a stable machine-readable code, e.g. `MAIN_ERROR`
 * @param message - a sentence for a person; must not contain secrets
 * @param style - RequestID, content type, CORS
 * @param extraHeaders - e.g. `Retry-After`
 */
export function errorResponse(
  status: number,
  code: string,
  message: string,
  style: AnswerStyle,
  extraHeaders: Record<string, string> = {},
): ProxyResponse {
  if (style.html) {
    const lines = [escapeHtml(message)];
    if (style.requestId !== undefined) lines.push(`RequestID: <code>${escapeHtml(style.requestId)}</code>`);
    lines.push(`Status ${status} (${escapeHtml(code)}).`);
    return {
      statusCode: status,
      headers: { ...baseHeaders(style, 'text/html; charset=utf-8'), ...extraHeaders },
      body: page(`Error ${status}`, lines),
      isBase64Encoded: false,
    };
  }
  const error: Record<string, unknown> = { status, code, message };
  if (style.requestId !== undefined) error['requestId'] = style.requestId;
  return {
    statusCode: status,
    headers: { ...baseHeaders(style, 'application/json'), ...extraHeaders },
    body: JSON.stringify({ error }),
    isBase64Encoded: false,
  };
}

/** Where a running task stands, for its status monitor (see {@link statusMonitor}). */
export interface TaskProgress {
  /** Whether a Talker has claimed the task (so Main has started), when the Proxy read it. */
  started: boolean | undefined;
  /** When the request was accepted (epoch ms). */
  createdAt?: number;
  /** When Main started (epoch ms). */
  startedAt?: number;
  /** When the task and its links expire (epoch seconds). */
  expiresAt?: number;
  /** Now (epoch ms). */
  now: number;
}

/**
 * The body of a 303 or 202 while a task runs: a status monitor, in the shape long-running
 * operation APIs converge on (Azure's LRO status monitor, Google's AIP-151 Operation). A stable
 * format: fields may be added, none removed or renamed.
 */
export interface StatusMonitor {
  /** The task's RequestID (also `X-Request-Id`). */
  requestId: string | undefined;
  /** `NotStarted` until a Talker claimed the task, `Running` after (and when the Proxy could not read it in time). */
  status: 'NotStarted' | 'Running';
  /** Always false here: a finished task is answered with Main's response or an error instead. */
  done: false;
  /** When the request was accepted (ISO 8601), null when unknown. */
  createdAt: string | null;
  /** When Main started (ISO 8601), null until it has (or when unknown). */
  startedAt: string | null;
  /** Seconds since the request was accepted, null when unknown. */
  elapsedSeconds: number | null;
  /** When the task, its result and its links expire (ISO 8601): its retention. Null when unknown. */
  expiresAt: string | null;
  /** The continuation (the same as the `Location` header). */
  location: string;
  /** With 202: the suggested polling interval (the same as `Retry-After`). */
  retryAfterSeconds?: number;
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/**
 * A running task's status monitor.
 *
 * @param requestId - the task's RequestID
 * @param location - the continuation
 * @param progress - what the Proxy last read of the task
 * @param retryAfterSeconds - the polling interval, for a 202
 */
export function statusMonitor(requestId: string | undefined, location: string, progress: TaskProgress | undefined, retryAfterSeconds?: number): StatusMonitor {
  return {
    requestId,
    status: progress?.started === false ? 'NotStarted' : 'Running',
    done: false,
    createdAt: iso(progress?.createdAt),
    startedAt: iso(progress?.startedAt),
    elapsedSeconds: progress?.createdAt === undefined ? null : Math.max(0, Math.round((progress.now - progress.createdAt) / 100) / 10),
    expiresAt: iso(progress?.expiresAt === undefined ? undefined : progress.expiresAt * 1000),
    location,
    ...(retryAfterSeconds !== undefined && { retryAfterSeconds }),
  };
}

/**
 * `303 See Other` to the next continuation, with the task's status monitor as its body.
 *
 * @param location - the relative continuation URL
 * @param style - RequestID, content type, CORS
 * @param preferenceApplied - the `Preference-Applied` value, if any (`wait=N` with the wait applied)
 * @param progress - what the Proxy last read of the task
 */
export function seeOther(location: string, style: AnswerStyle, preferenceApplied?: string, progress?: TaskProgress): ProxyResponse {
  const headers: Record<string, string> = { ...baseHeaders(style, 'application/json'), Location: location };
  if (preferenceApplied !== undefined) headers['Preference-Applied'] = preferenceApplied;
  return {
    statusCode: 303,
    headers,
    body: JSON.stringify(statusMonitor(style.requestId, location, progress)),
    isBase64Encoded: false,
  };
}

/**
 * `202 Accepted` for a client that asked `Prefer: respond-async`, with the task's status monitor.
 *
 * @param location - where to poll
 * @param retryAfterSeconds - the suggested polling interval
 * @param style - RequestID, content type, CORS
 * @param preferenceApplied - the `Preference-Applied` value, if any
 * @param progress - what the Proxy last read of the task
 */
export function accepted(
  location: string,
  retryAfterSeconds: number,
  style: AnswerStyle,
  preferenceApplied?: string,
  progress?: TaskProgress,
): ProxyResponse {
  const headers: Record<string, string> = {
    ...baseHeaders(style, 'application/json'),
    Location: location,
    'Retry-After': String(retryAfterSeconds),
  };
  if (preferenceApplied !== undefined) headers['Preference-Applied'] = preferenceApplied;
  return {
    statusCode: 202,
    headers,
    body: JSON.stringify(statusMonitor(style.requestId, location, progress, retryAfterSeconds)),
    isBase64Encoded: false,
  };
}

/**
 * `503 Service Unavailable` with `Retry-After`: the table or Lambda could not be reached, and
 * nothing was lost. With a continuation, `Location` says where to ask again, and a browser's page
 * reloads itself after `Retry-After` (`Refresh`, without a URL: the page's own URL is the
 * continuation). The error body never shows the link.
 *
 * @param what - what is unavailable, e.g. "The task table"
 * @param retryAfterSeconds - the `Retry-After` value
 * @param style - RequestID, content type, CORS
 * @param retryLocation - the continuation to ask again, when the request has a task
 */
export function serviceUnavailable(what: string, retryAfterSeconds: number, style: AnswerStyle, retryLocation?: string): ProxyResponse {
  const retry = String(retryAfterSeconds);
  const headers: Record<string, string> = { 'Retry-After': retry };
  if (retryLocation !== undefined) {
    headers['Location'] = retryLocation;
    if (style.html) headers['Refresh'] = retry;
  }
  const message = retryLocation !== undefined
    ? `${what} is unavailable right now; nothing was lost. Ask again in ${retry} s (the Location).`
    : `${what} is unavailable right now; nothing was lost and nothing ran. Try again in ${retry} s.`;
  return proxyError('SERVICE_UNAVAILABLE', style, { message, headers });
}

/**
 * A page that continues by itself: browsers stop after 20 redirects, but a page that
 * navigates on starts a new chain. Works without JavaScript (meta refresh) and with it.
 *
 * @param location - the relative continuation URL
 * @param elapsedSeconds - how long the request has run, shown to the person waiting
 * @param style - RequestID and CORS
 */
export function continuePage(location: string, elapsedSeconds: number, style: AnswerStyle): ProxyResponse {
  const href = escapeHtml(location);
  const head = `\n<meta http-equiv="refresh" content="0;url=${href}">\n<script>location.replace(${JSON.stringify(location).replace(/</g, '\\u003c')});</script>`;
  return {
    statusCode: 200,
    headers: baseHeaders(style, 'text/html; charset=utf-8'),
    body: page('Still working…', [`Your request has been running for about ${Math.round(elapsedSeconds)} s. This page continues by itself; <a href="${href}">continue</a> if it does not.`], head),
    isBase64Encoded: false,
  };
}
