/**
 * A continuation: a GET of a Location the kit answered with. Its link is checked (signature,
 * expiry, token) before anything about the task is told, then the Proxy waits again.
 *
 * @module
 */
import type { Continuation } from '../core/continuation';
import { tokenAdmitted, verifyContinuation } from '../core/secrets';
import { proxyError } from '../core/responses';
import { waitAndAnswer } from './answer';
import { answerStyle, type Answer, type ProxyCall, type ProxyRuntime } from './runtime';

/**
 * Answers a continuation.
 *
 * @param rt - the runtime
 * @param call - the call
 * @param link - what the URL says
 */
export async function answerContinuation(rt: ProxyRuntime, call: ProxyCall, link: Continuation): Promise<Answer> {
  const { config, clock } = rt;
  const style = answerStyle(rt, call, link.requestId);
  const token = link.token;
  if (token === undefined) {
    return { own: proxyError('LINK_TOKEN_MISSING', style) };
  }
  if (config.signingKey) {
    const check = verifyContinuation(config.signingKey, link, Math.floor(clock.now() / 1000));
    if (check === 'expired') return { own: proxyError('LINK_EXPIRED', style) };
    if (check !== 'valid') return { own: proxyError('BAD_SIGNATURE', style) };
  }
  // A 202 poll reads once unless the client asked to wait.
  const limitMs = link.mode === 'async' && call.prefs.waitSeconds === undefined ? 0 : config.waitMs;
  return waitAndAnswer(rt, call, { requestId: link.requestId, token }, {
    window: call.deadline.window(limitMs, call.prefs),
    position: { hop: link.hop, mode: link.mode },
    absent: () => proxyError('NOT_FOUND', style),
    checkToken: (view) => tokenAdmitted(token, view.tokenHashes),
    // A task seen again has been running a while: read at once, then at the ceiling's pace.
    slowStart: true,
    onStoreFailure: 'unavailable',
  });
}
