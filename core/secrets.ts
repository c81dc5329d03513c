/**
 * The kit's secrets, in one place: the link token of each task, the signature of a link when
 * `SIGNING_SECRET` is set, and the check of `API_KEY`.
 *
 * - A **link token** is made for each task (and for each caller that joins it with an
 *   `Idempotency-Key`): 256 random bits. The link carries the token; the task row keeps only its
 *   hash, so neither the table nor a log line can open a link. A RequestID alone never fetches a
 *   result.
 * - A **signature** (HMAC-SHA256 with `SIGNING_SECRET`) covers a link's RequestID, token and
 *   expiry, so that a link can expire and be refused before any read.
 * - **`API_KEY`** is compared in constant time, and nothing is derived from it: no link lets
 *   anyone test guesses of it offline.
 *
 * @module
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** What a link token looks like: 32 random bytes, base64url (43 characters). */
export const LINK_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Makes a new link token (256 random bits).
 *
 * @returns 43 base64url characters
 */
export function newLinkToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The hash kept in the task row for a link token.
 *
 * @param token - the token
 * @returns SHA-256, base64url (43 characters)
 */
export function hashLinkToken(token: string): string {
  return createHash('sha256').update(`long-request-kit/link-token/v1\n${token}`).digest('base64url');
}

/**
 * Whether a token is one of those a task admits, compared in constant time against each hash.
 *
 * @param token - the token the link carries
 * @param hashes - the task's token hashes
 */
export function tokenAdmitted(token: string, hashes: readonly string[]): boolean {
  const given = Buffer.from(hashLinkToken(token));
  let admitted = false;
  for (const hash of hashes) {
    const expected = Buffer.from(hash);
    // Every hash is compared, so the time does not tell which one matched.
    if (expected.length === given.length && timingSafeEqual(expected, given)) admitted = true;
  }
  return admitted;
}

/** The parts of a link that its signature covers. */
export interface SignedLink {
  /** The task's RequestID. */
  requestId: string;
  /** The link's token (absent in a bare RequestID). */
  token?: string;
  /** Expiry (epoch seconds), when signed. */
  expires?: number;
  /** The signature, when signed. */
  signature?: string;
}

/**
 * Signs a RequestID, its link token and an expiry.
 *
 * @param key - the signing key (`SIGNING_SECRET`)
 * @param requestId - the task's RequestID
 * @param token - the link's token
 * @param expires - expiry in epoch seconds
 * @returns a 43-character base64url HMAC-SHA256
 */
export function signContinuation(key: Buffer, requestId: string, token: string, expires: number): string {
  return createHmac('sha256', key).update(`v2\n${requestId}\n${token}\n${expires}`).digest('base64url');
}

/** The result of {@link verifyContinuation}. */
export type SignatureCheck = 'valid' | 'missing' | 'invalid' | 'expired';

/**
 * Checks a link's signature and expiry in constant time.
 *
 * @param key - the signing key
 * @param link - the link's RequestID, token, expiry and signature
 * @param nowSeconds - now, in epoch seconds
 */
export function verifyContinuation(key: Buffer, link: SignedLink, nowSeconds: number): SignatureCheck {
  if (link.signature === undefined || link.expires === undefined) return 'missing';
  const expected = Buffer.from(signContinuation(key, link.requestId, link.token ?? '', link.expires));
  const given = Buffer.from(link.signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
  return link.expires < nowSeconds ? 'expired' : 'valid';
}

/**
 * Compares a given API key with the configured one in constant time.
 *
 * @param given - the key the caller sent, if any
 * @param expected - the configured `API_KEY`
 */
export function apiKeyMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  // Hash both so that the comparison takes the same time whatever the lengths.
  const a = createHmac('sha256', 'api-key-compare').update(given).digest();
  const b = createHmac('sha256', 'api-key-compare').update(expected).digest();
  return timingSafeEqual(a, b);
}
