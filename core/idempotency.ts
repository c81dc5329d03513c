/**
 * The `Idempotency-Key` request header (IETF draft "The Idempotency-Key HTTP Header Field"):
 * a repeated request with the same key, from the same caller, joins the task the first one
 * started instead of running Main again; the same key with a different request is refused with
 * 422. Keys are scoped to their caller ({@link identifyCaller}): two callers never meet, even
 * with the same key.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { Caller } from './caller';
import type { IncomingRequest } from './events';
import type { ApiGatewayEvent } from './types';

/** The result of {@link readIdempotencyKey}. */
export interface IdempotencyKeyHeader {
  /** `absent`: no header; `invalid`: unusable (400); `valid`: use `key`. */
  kind: 'absent' | 'invalid' | 'valid';
  /** The key, when valid. */
  key?: string;
  /** Why it is unusable, when invalid. */
  reason?: string;
}

/**
 * Reads the `Idempotency-Key` header: a Structured Field string (`"..."`) or, leniently, a bare
 * token, 1 to 255 visible ASCII characters, given once.
 *
 * @param request - the request
 */
export function readIdempotencyKey(request: IncomingRequest): IdempotencyKeyHeader {
  const values = request.headers.get('idempotency-key');
  if (!values || values.length === 0) return { kind: 'absent' };
  if (values.length > 1) return { kind: 'invalid', reason: 'Idempotency-Key is given more than once' };
  let key = (values[0] as string).trim();
  if (key.length >= 2 && key.startsWith('"') && key.endsWith('"')) key = key.slice(1, -1);
  if (key.length === 0 || key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
    return { kind: 'invalid', reason: 'Idempotency-Key must be 1 to 255 visible ASCII characters' };
  }
  return { kind: 'valid', key };
}

/**
 * Hashes a key within its caller's scope, so that the table never holds the key itself and the
 * same key of two callers names two reservations.
 *
 * @param caller - the caller, from {@link identifyCaller}
 * @param key - the header's value
 */
export function hashIdempotencyKey(caller: Caller, key: string): string {
  return createHash('sha256').update(`idempotency-key/v2\n${caller.scope}\n${key}`).digest('hex');
}

/**
 * A hash of what makes two requests of one caller "the same": method, path, query (without the
 * kit's `api-key`) and body. The caller's credentials are not in it: they scope the key instead
 * ({@link hashIdempotencyKey}), so a refreshed token of a verified caller is the same request.
 *
 * @param event - the original event (for the body)
 * @param request - the same request, read
 */
export function requestFingerprint(event: ApiGatewayEvent, request: IncomingRequest): string {
  const raw = event as unknown as Record<string, unknown>;
  const body = typeof raw['body'] === 'string' ? raw['body'] : '';
  const bodyBytes = raw['isBase64Encoded'] === true ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  const query = [...request.query.entries()]
    .filter(([name]) => name !== 'api-key')
    .map(([name, values]) => [name, [...values]] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256')
    .update(JSON.stringify([request.method, request.path, query]))
    .update('\n')
    .update(bodyBytes)
    .digest('hex');
}
