/**
 * A continuation: a GET of a Location the kit answered with. Its link is checked (signature,
 * expiry, token) before anything about the task is told, then the Proxy waits again.
 *
 * @module
 */
import { verifyContinuation, type Continuation } from '../core/continuation';
import { tokenAdmitted } from '../core/link-token';
import { errorResponse } from '../core/responses';
import { waitAndAnswer } from './answer';
import { answerContext, type Answer, type ProxyCall, type ProxyRuntime } from './runtime';

/**
 * Answers a continuation.
 *
 * @param rt - the runtime
 * @param call - the call
 * @param link - what the URL says
 */
export async function answerContinuation(rt: ProxyRuntime, call: ProxyCall, link: Continuation): Promise<Answer> {
  const { config, clock } = rt;
  const ctx = answerContext(rt, call, link.requestId);
  const token = link.token;
  if (token === undefined) {
    return { own: errorResponse(403, 'LINK_TOKEN_MISSING', 'This link has no token: a RequestID alone does not fetch a result. Use the Location the kit answered with.', ctx) };
  }
  if (config.signingKey) {
    const check = verifyContinuation(config.signingKey, link, Math.floor(clock.now() / 1000));
    if (check === 'expired') return { own: errorResponse(403, 'LINK_EXPIRED', 'This link has expired.', ctx) };
    if (check !== 'valid') return { own: errorResponse(403, 'BAD_SIGNATURE', 'This link is not valid: its signature is missing or wrong.', ctx) };
  }
  // A 202 poll reads once unless the client asked to wait.
  const limitMs = link.mode === 'async' && call.prefs.waitSeconds === undefined ? 0 : config.waitMs;
  return waitAndAnswer(rt, call, { requestId: link.requestId, token }, {
    window: call.deadline.window(limitMs, call.prefs),
    position: { hop: link.hop, mode: link.mode },
    absent: () => errorResponse(404, 'NOT_FOUND', 'No request with this RequestID is waiting: it never existed, it expired, or its result was already delivered.', ctx),
    checkToken: (view) => tokenAdmitted(token, view.tokenHashes),
    // A task seen again has been running a while: read at once, then at the ceiling's pace.
    slowStart: true,
    onStoreFailure: 'unavailable',
  });
}
