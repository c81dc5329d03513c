import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeResult, encodeResult } from '../../core/result-codec';

const text = (s: string) => Buffer.from(s, 'utf8');

describe('encodeResult', () => {
  it('stores a small result as it is', () => {
    const out = encodeResult(text('{"statusCode":200}'), 4096, 380_000);
    expect(out.ok && out.result.encoding).toBe('identity');
    if (out.ok) expect(decodeResult(out.result)).toBe('{"statusCode":200}');
  });

  it('compresses a large result and restores it exactly', () => {
    const payload = JSON.stringify({ statusCode: 200, body: 'é'.repeat(300_000) });
    const out = encodeResult(text(payload), 4096, 380_000);
    expect(out.ok).toBe(true);
    if (out.ok) {
      expect(out.result.encoding).toBe('gzip');
      expect(out.result.body.byteLength).toBeLessThan(payload.length / 10);
      expect(decodeResult(out.result)).toBe(payload);
    }
  });

  it('refuses what does not fit even compressed, with both sizes', () => {
    const payload = randomBytes(500_000);
    const out = encodeResult(payload, 4096, 380_000);
    expect(out.ok).toBe(false);
    if (!out.ok) {
      expect(out.rawBytes).toBe(500_000);
      expect(out.compressedBytes).toBeGreaterThan(380_000);
    }
  });
});
