import { describe, expect, it } from 'vitest';
import { apiKeyMatches, hashLinkToken, newLinkToken, signContinuation, tokenAdmitted, verifyContinuation } from '../../core/secrets';

const id = '3f1c2b9e-8d7a-4c6b-9e5f-1a2b3c4d5e6f';
const token = 'Tq'.repeat(21) + 'x';
const key = Buffer.from('k'.repeat(32));

describe('signatures', () => {
  it('verify when untouched and fail when anything changes', () => {
    const sig = signContinuation(key, id, token, 2000);
    const base = { requestId: id, token, hop: 0, mode: 'redirect' as const, expires: 2000, signature: sig };
    expect(verifyContinuation(key, base, 1000)).toBe('valid');
    expect(verifyContinuation(key, { ...base, expires: 2001 }, 1000)).toBe('invalid');
    expect(verifyContinuation(key, { ...base, requestId: id.replace('3f', '4f') }, 1000)).toBe('invalid');
    expect(verifyContinuation(key, { ...base, token: 'x' + token.slice(1) }, 1000)).toBe('invalid');
    expect(verifyContinuation(Buffer.from('x'.repeat(32)), base, 1000)).toBe('invalid');
    expect(verifyContinuation(key, base, 2001)).toBe('expired');
    const { signature: _s, ...unsigned } = base;
    expect(verifyContinuation(key, unsigned, 1000)).toBe('missing');
  });
});

describe('link tokens', () => {
  it('are 43 base64url characters, new each time, and only their own hash admits them', () => {
    const a = newLinkToken();
    const b = newLinkToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a).not.toBe(b);
    expect(hashLinkToken(a)).not.toContain(a);
    expect(tokenAdmitted(a, [hashLinkToken(b), hashLinkToken(a)])).toBe(true);
    expect(tokenAdmitted(a, [hashLinkToken(b)])).toBe(false);
    expect(tokenAdmitted(a, [])).toBe(false);
    expect(tokenAdmitted(a, ['short'])).toBe(false);
  });
});

describe('apiKeyMatches', () => {
  it('matches only the exact key', () => {
    expect(apiKeyMatches('abc', 'abc')).toBe(true);
    expect(apiKeyMatches('abcd', 'abc')).toBe(false);
    expect(apiKeyMatches('', 'abc')).toBe(false);
    expect(apiKeyMatches(undefined, 'abc')).toBe(false);
  });
});
