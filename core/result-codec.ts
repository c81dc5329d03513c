/**
 * Encoding of Main's response for storage: as is when small, gzip when large, refused when
 * even compressed it does not fit in a DynamoDB item (400 KB).
 *
 * @module
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { StoredResult } from './task-store';

/** A result ready to store. */
export interface EncodedResult {
  /** Always `true`. */
  ok: true;
  /** What to store. */
  result: StoredResult;
  /** The size of Main's payload before compression. */
  rawBytes: number;
}

/** A result too large to store even compressed. */
export interface OversizedResult {
  /** Always `false`. */
  ok: false;
  /** The size of Main's payload. */
  rawBytes: number;
  /** Its size compressed, still over the limit. */
  compressedBytes: number;
}

/** The outcome of {@link encodeResult}. */
export type EncodeOutcome = EncodedResult | OversizedResult;

/**
 * Prepares Main's raw response payload for a task row.
 *
 * @param payload - the bytes Main returned (JSON text)
 * @param compressAboveBytes - compress payloads larger than this
 * @param maxBytes - the largest stored size allowed
 */
export function encodeResult(payload: Uint8Array, compressAboveBytes: number, maxBytes: number): EncodeOutcome {
  const rawBytes = payload.byteLength;
  if (rawBytes <= compressAboveBytes && rawBytes <= maxBytes) {
    return { ok: true, rawBytes, result: { body: payload, encoding: 'identity' } };
  }
  const compressed = gzipSync(payload, { level: 6 });
  if (compressed.byteLength > maxBytes) {
    return { ok: false, rawBytes, compressedBytes: compressed.byteLength };
  }
  return { ok: true, rawBytes, result: { body: new Uint8Array(compressed), encoding: 'gzip' } };
}

/**
 * Restores the JSON text that Main returned.
 *
 * @param stored - the result as read from the table
 * @returns Main's payload as text
 */
export function decodeResult(stored: StoredResult): string {
  const bytes = stored.encoding === 'gzip' ? gunzipSync(stored.body) : stored.body;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}
