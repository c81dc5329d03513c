/**
 * The `application/vnd.amazon.eventstream` framing of InvokeWithResponseStream's answer: one
 * `PayloadChunk` event per piece the handler wrote, then one `InvokeComplete`. The binary
 * format (prelude, typed headers, CRC32s) is the AWS SDK's own codec.
 */
import { EventStreamCodec } from '@smithy/core/event-streams';

/** The content type of an event-stream answer. */
export const EVENT_STREAM_CONTENT_TYPE = 'application/vnd.amazon.eventstream';

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
  (text) => Buffer.from(text, 'utf8'),
);

/** What InvokeComplete reports: nothing on success, the error and the log tail otherwise. */
export interface InvokeComplete {
  /** `Unhandled` when the function failed. */
  ErrorCode?: string;
  /** The error payload (`{"errorType","errorMessage","trace"}`) as JSON text. */
  ErrorDetails?: string;
  /** The last 4 KB of the log, base64, when `X-Amz-Log-Type: Tail` was asked for. */
  LogResult?: string;
}

function event(eventType: string, contentType: string, body: Uint8Array): Buffer {
  const frame = codec.encode({
    headers: {
      ':event-type': { type: 'string', value: eventType },
      ':content-type': { type: 'string', value: contentType },
      ':message-type': { type: 'string', value: 'event' },
    },
    body,
  });
  return Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
}

/**
 * One `PayloadChunk` event.
 * @param payload the bytes the handler wrote
 */
export function payloadChunk(payload: Uint8Array): Buffer {
  return event('PayloadChunk', 'application/octet-stream', payload);
}

/**
 * The `InvokeComplete` event that ends the stream.
 * @param complete the error and log tail, if any
 */
export function invokeComplete(complete: InvokeComplete): Buffer {
  return event('InvokeComplete', 'application/json', Buffer.from(JSON.stringify(complete), 'utf8'));
}
