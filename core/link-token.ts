/**
 * The secret of a continuation link: a random token made for each task (and for each caller that
 * joins it with an `Idempotency-Key`). The link carries the token; the task row keeps only its
 * hash, so neither the table nor a log line can open a link. A RequestID alone never fetches a
 * result.
 *
 * @module
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** The query parameter that carries the token. */
export const LINK_TOKEN_PARAM = 'token';

/** What a token looks like: 32 random bytes, base64url (43 characters). */
export const LINK_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/**
 * Makes a new token (256 random bits).
 *
 * @returns 43 base64url characters
 */
export function newLinkToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The hash kept in the task row for a token.
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
