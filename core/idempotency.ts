/**
 * The `Idempotency-Key` request header (IETF draft "The Idempotency-Key HTTP Header Field"):
 * a repeated request with the same key joins the task the first one started instead of running
 * Main again; the same key with a different request is refused with 422.
 *
 * @module
 */
import { createHash } from 'node:crypto';
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
 * Hashes a key so that the table never holds the key itself.
 *
 * @param key - the header's value
 */
export function hashIdempotencyKey(key: string): string {
  return createHash('sha256').update(`idempotency-key\n${key}`).digest('hex');
}

/**
 * A hash of what makes two requests "the same": method, path, query, body and the caller's
 * credentials (`Authorization`), so that another caller who learns a key cannot join the task.
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
    .update(JSON.stringify([request.method, request.path, query, request.headers.get('authorization') ?? []]))
    .update('\n')
    .update(bodyBytes)
    .digest('hex');
}
