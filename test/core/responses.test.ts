import { describe, expect, it } from 'vitest';
import { accepted, continuePage, errorResponse, escapeHtml, seeOther, serviceUnavailable } from '../../core/responses';

const json = { html: false, requestId: 'r-1' };
const html = { html: true, requestId: 'r-1' };

describe('the Proxy\'s own answers', () => {
  it('an error is JSON with status, code, message and the RequestID, never cached nor sniffed, no referrer', () => {
    const answer = errorResponse(502, 'MAIN_ERROR', 'It failed.', json, { 'Retry-After': '5' });
    expect(answer).toEqual({
      statusCode: 502,
      headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer', 'X-Request-Id': 'r-1', 'Retry-After': '5' },
      body: JSON.stringify({ error: { status: 502, code: 'MAIN_ERROR', message: 'It failed.', requestId: 'r-1' } }),
      isBase64Encoded: false,
    });
  });

  it('an error without a task names no RequestID', () => {
    const answer = errorResponse(400, 'BAD_REQUEST', 'Bad.', { html: false });
    expect(answer.headers['X-Request-Id']).toBeUndefined();
    expect(JSON.parse(answer.body)).toEqual({ error: { status: 400, code: 'BAD_REQUEST', message: 'Bad.' } });
  });

  it('an error page for a browser escapes its text', () => {
    const answer = errorResponse(404, 'NOT_FOUND', 'No <script>alert(1)</script> here.', html);
    expect(answer.headers['Content-Type']).toBe('text/html; charset=utf-8');
    expect(answer.body).toContain('No &#60;script&#62;alert(1)&#60;/script&#62; here.');
    expect(answer.body).toContain('RequestID: <code>r-1</code>');
    expect(answer.body).not.toContain('<script>');
  });

  it('CORS headers only when an origin is configured, with Vary for a single origin', () => {
    expect(Object.keys(seeOther('?x', json).headers).some((h) => h.startsWith('Access-Control'))).toBe(false);
    const one = seeOther('?x', { ...json, corsAllowOrigin: 'https://app.example.com' }).headers;
    expect(one).toMatchObject({ 'Access-Control-Allow-Origin': 'https://app.example.com', Vary: 'Origin' });
    expect(one['Access-Control-Expose-Headers']).toContain('Location');
    expect(seeOther('?x', { ...json, corsAllowOrigin: '*' }).headers['Vary']).toBeUndefined();
  });

  it('303 and 202 carry the Location, 202 its Retry-After, and Preference-Applied only when given', () => {
    const redirect = seeOther('?requestID=r-1&token=t&hop=1', json);
    expect(redirect.statusCode).toBe(303);
    expect(redirect.headers['Location']).toBe('?requestID=r-1&token=t&hop=1');
    expect(redirect.headers['Preference-Applied']).toBeUndefined();
    expect(seeOther('?x', json, 'wait=5').headers['Preference-Applied']).toBe('wait=5');
    const polling = accepted('?x&mode=async', 7, json, 'respond-async');
    expect(polling).toMatchObject({ statusCode: 202, headers: { Location: '?x&mode=async', 'Retry-After': '7', 'Preference-Applied': 'respond-async' } });
    // Without what the Proxy read of the task, the status monitor says what it knows.
    expect(JSON.parse(polling.body)).toEqual({
      requestId: 'r-1', status: 'Running', done: false, createdAt: null, startedAt: null, elapsedSeconds: null, expiresAt: null,
      location: '?x&mode=async', retryAfterSeconds: 7,
    });
    const progress = { started: false, createdAt: Date.UTC(2026, 0, 1), expiresAt: Date.UTC(2026, 0, 1, 1) / 1000, now: Date.UTC(2026, 0, 1) + 12_345 };
    expect(JSON.parse(seeOther('?y', json, undefined, progress).body)).toEqual({
      requestId: 'r-1', status: 'NotStarted', done: false, createdAt: '2026-01-01T00:00:00.000Z', startedAt: null, elapsedSeconds: 12.3,
      expiresAt: '2026-01-01T01:00:00.000Z', location: '?y',
    });
    expect(JSON.parse(seeOther('?y', json, undefined, { ...progress, started: true, startedAt: progress.createdAt + 500 }).body))
      .toMatchObject({ status: 'Running', startedAt: '2026-01-01T00:00:00.500Z' });
  });

  it('a 503 says whether anything ran, and gives its Location (never in the body) and a self-reload for browsers', () => {
    const fresh = serviceUnavailable('Lambda', 5, json);
    expect(fresh.headers['Location']).toBeUndefined();
    expect(JSON.parse(fresh.body).error.message).toContain('nothing ran');
    const again = serviceUnavailable('The task table', 5, html, '?requestID=r-1&token=secret-token&hop=2');
    expect(again.headers).toMatchObject({ 'Retry-After': '5', Location: '?requestID=r-1&token=secret-token&hop=2', Refresh: '5' });
    expect(again.body).not.toContain('secret-token');
  });

  it('the self-continuing page refreshes at once, with and without scripts, the link escaped', () => {
    const page = continuePage('?requestID=r-1&token=t&hop=0', 61.4, html);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<meta http-equiv="refresh" content="0;url=?requestID=r-1&#38;token=t&#38;hop=0">');
    expect(page.body).toContain('location.replace("?requestID=r-1&token=t&hop=0")');
    expect(page.body).toContain('about 61 s');
    const hostile = continuePage('?a="</script><script>x()</script>', 1, html);
    expect(hostile.body).not.toContain('</script><script>x()');
  });

  it('escapeHtml escapes the five characters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;');
  });
});
