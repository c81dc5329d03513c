/**
 * The `aws-chunked` content encoding S3 accepts for streamed uploads (the SDK's for a stream of
 * known length: `x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER`, a checksum in a
 * trailer): `<hex size>[;chunk-signature=...]\r\n<bytes>\r\n` repeated, a zero-size chunk, then
 * trailer lines `name:value\r\n` and an empty line. Chunk signatures are not verified, as no
 * signature is.
 */

/** A decoded aws-chunked body. */
export interface DecodedChunks {
  /** The payload. */
  body: Buffer;
  /** Trailer headers by lower-case name (e.g. `x-amz-checksum-crc32`). */
  trailers: Record<string, string>;
}

/**
 * Decodes an aws-chunked body, or returns undefined when it is malformed.
 * @param raw the body as received
 */
export function decodeAwsChunked(raw: Buffer): DecodedChunks | undefined {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', at);
    if (lineEnd < 0) return undefined;
    const sizeText = raw.subarray(at, lineEnd).toString('latin1').split(';')[0]?.trim() ?? '';
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) return undefined;
    const size = parseInt(sizeText, 16);
    at = lineEnd + 2;
    if (size === 0) break;
    if (at + size + 2 > raw.length) return undefined;
    parts.push(raw.subarray(at, at + size));
    at += size + 2;
  }
  const trailers: Record<string, string> = {};
  for (const line of raw.subarray(at).toString('latin1').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { body: Buffer.concat(parts), trailers };
}
