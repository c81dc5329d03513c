/**
 * The Proxy's own answers: 303 and 202 continuations, the self-continuing page for browsers,
 * and errors. None of them reflects a request header or the request body.
 *
 * @module
 */
import type { ProxyResponse } from './events';

/** What every answer of the Proxy's own needs to know. */
export interface AnswerContext {
  /** The task's RequestID, when there is one. */
  requestId?: string;
  /** Whether to answer with HTML (a browser navigating) rather than JSON. */
  html: boolean;
  /** `CORS_ALLOW_ORIGIN`, if set. */
  corsAllowOrigin?: string;
}

const EXPOSED = 'Location, Retry-After, Preference-Applied, X-Request-Id';

function baseHeaders(context: AnswerContext, contentType: string): Record<string, string> {
  const headers: Record<string, string> = {
    'Content-Type': contentType,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    // A page served at a continuation URL must not hand the link (its token) to other sites.
    'Referrer-Policy': 'no-referrer',
  };
  if (context.requestId !== undefined) headers['X-Request-Id'] = context.requestId;
  if (context.corsAllowOrigin !== undefined) {
    headers['Access-Control-Allow-Origin'] = context.corsAllowOrigin;
    headers['Access-Control-Expose-Headers'] = EXPOSED;
    if (context.corsAllowOrigin !== '*') headers['Vary'] = 'Origin';
  }
  return headers;
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
 * @param context - RequestID, content type, CORS
 * @param extraHeaders - e.g. `Retry-After`
 */
export function errorResponse(
  status: number,
  code: string,
  message: string,
  context: AnswerContext,
  extraHeaders: Record<string, string> = {},
): ProxyResponse {
  if (context.html) {
    const lines = [escapeHtml(message)];
    if (context.requestId !== undefined) lines.push(`RequestID: <code>${escapeHtml(context.requestId)}</code>`);
    lines.push(`Status ${status} (${escapeHtml(code)}).`);
    return {
      statusCode: status,
      headers: { ...baseHeaders(context, 'text/html; charset=utf-8'), ...extraHeaders },
      body: page(`Error ${status}`, lines),
      isBase64Encoded: false,
    };
  }
  const error: Record<string, unknown> = { status, code, message };
  if (context.requestId !== undefined) error['requestId'] = context.requestId;
  return {
    statusCode: status,
    headers: { ...baseHeaders(context, 'application/json'), ...extraHeaders },
    body: JSON.stringify({ error }),
    isBase64Encoded: false,
  };
}

/**
 * `303 See Other` to the next continuation.
 *
 * @param location - the relative continuation URL
 * @param context - RequestID, content type, CORS
 * @param preferenceApplied - the `Preference-Applied` value, if any (`wait=N` with the wait applied)
 */
export function seeOther(location: string, context: AnswerContext, preferenceApplied?: string): ProxyResponse {
  const headers: Record<string, string> = { ...baseHeaders(context, 'application/json'), Location: location };
  if (preferenceApplied !== undefined) headers['Preference-Applied'] = preferenceApplied;
  return {
    statusCode: 303,
    headers,
    body: JSON.stringify({ status: 'pending', requestId: context.requestId, location }),
    isBase64Encoded: false,
  };
}

/**
 * `202 Accepted` for a client that asked `Prefer: respond-async`.
 *
 * @param location - where to poll
 * @param retryAfterSeconds - the suggested polling interval
 * @param context - RequestID, content type, CORS
 * @param preferenceApplied - the `Preference-Applied` value, if any
 */
export function accepted(
  location: string,
  retryAfterSeconds: number,
  context: AnswerContext,
  preferenceApplied?: string,
): ProxyResponse {
  const headers: Record<string, string> = {
    ...baseHeaders(context, 'application/json'),
    Location: location,
    'Retry-After': String(retryAfterSeconds),
  };
  if (preferenceApplied !== undefined) headers['Preference-Applied'] = preferenceApplied;
  return {
    statusCode: 202,
    headers,
    body: JSON.stringify({ status: 'pending', requestId: context.requestId, location }),
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
 * @param context - RequestID, content type, CORS
 * @param retryLocation - the continuation to ask again, when the request has a task
 */
export function serviceUnavailable(what: string, retryAfterSeconds: number, context: AnswerContext, retryLocation?: string): ProxyResponse {
  const retry = String(retryAfterSeconds);
  const headers: Record<string, string> = { 'Retry-After': retry };
  if (retryLocation !== undefined) {
    headers['Location'] = retryLocation;
    if (context.html) headers['Refresh'] = retry;
  }
  const message = retryLocation !== undefined
    ? `${what} is unavailable right now; nothing was lost. Ask again in ${retry} s (the Location).`
    : `${what} is unavailable right now; nothing was lost and nothing ran. Try again in ${retry} s.`;
  return errorResponse(503, 'SERVICE_UNAVAILABLE', message, context, headers);
}

/**
 * A page that continues by itself: browsers stop after 20 redirects, but a page that
 * navigates on starts a new chain. Works without JavaScript (meta refresh) and with it.
 *
 * @param location - the relative continuation URL
 * @param elapsedSeconds - how long the request has run, shown to the person waiting
 * @param context - RequestID and CORS
 */
export function continuePage(location: string, elapsedSeconds: number, context: AnswerContext): ProxyResponse {
  const href = escapeHtml(location);
  const head = `\n<meta http-equiv="refresh" content="0;url=${href}">\n<script>location.replace(${JSON.stringify(location).replace(/</g, '\\u003c')});</script>`;
  return {
    statusCode: 200,
    headers: baseHeaders(context, 'text/html; charset=utf-8'),
    body: page('Still working…', [`Your request has been running for about ${Math.round(elapsedSeconds)} s. This page continues by itself; <a href="${href}">continue</a> if it does not.`], head),
    isBase64Encoded: false,
  };
}
