// The Proxy's streaming handler: how an answer is split into metadata and body, and written the
// way Node.js's runtime sends it (the metadata only just before the first write).
import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { streamedAnswer, writeStreamed, type HttpResponseStreamApi, type ResponseStream, type StreamMetadata } from '../../proxy/stream';

/** A response stream that records its bytes, with `HttpResponseStream.from` as the runtime does it. */
function recordingStream(): { stream: ResponseStream; bytes: () => Buffer; http: HttpResponseStreamApi } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(Buffer.from(chunk));
      callback();
    },
  });
  const http: HttpResponseStreamApi = {
    from(target, metadata: StreamMetadata) {
      // The runtime writes the metadata only when the handler first calls write().
      const write = target.write.bind(target);
      let first = true;
      target.write = ((chunk: unknown, ...rest: unknown[]) => {
        if (first) {
          first = false;
          write(JSON.stringify(metadata));
          write(new Uint8Array(8));
        }
        return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof target.write;
      return target;
    },
  };
  return { stream, bytes: () => Buffer.concat(chunks), http };
}

function split(bytes: Buffer): { metadata: unknown; body: Buffer } {
  const at = bytes.indexOf(Buffer.alloc(8));
  return { metadata: JSON.parse(bytes.subarray(0, at).toString()), body: bytes.subarray(at + 8) };
}

describe('streamedAnswer', () => {
  it('keeps a REST proxy response\'s status, headers and multi-value headers, and its text body', () => {
    const answer = streamedAnswer({
      statusCode: 201, headers: { 'Content-Type': 'text/plain', 'X-Count': 3 }, multiValueHeaders: { 'Set-Cookie': ['a=1', 'b=2'] }, body: 'héllo', isBase64Encoded: false,
    });
    expect(answer.metadata).toEqual({ statusCode: 201, headers: { 'Content-Type': 'text/plain', 'X-Count': '3' }, multiValueHeaders: { 'Set-Cookie': ['a=1', 'b=2'] } });
    expect(answer.body.toString('utf8')).toBe('héllo');
  });

  it('decodes a base64 body to its bytes', () => {
    const bytes = Buffer.from([0, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 7]);
    expect(streamedAnswer({ statusCode: 200, body: bytes.toString('base64'), isBase64Encoded: true }).body.equals(bytes)).toBe(true);
  });

  it('passes cookies on, drops empty header maps, and treats a missing body as empty', () => {
    const answer = streamedAnswer({ statusCode: 204, headers: {}, cookies: ['s=1'] });
    expect(answer.metadata).toEqual({ statusCode: 204, cookies: ['s=1'] });
    expect(answer.body.length).toBe(0);
  });

  it('reads statusCode as a REST API does: a string of digits is a status, a response of only REST\'s members without it is 200', () => {
    // Recorded on AWS: LocalStack's snapshot tests/aws/services/apigateway/test_apigateway_lambda.snapshot.json,
    // test_aws_proxy_response_payload_format_validation (invoke-api-status-code-str, invoke-api-only-headers).
    expect(streamedAnswer({ statusCode: '201', body: 'x' }).metadata.statusCode).toBe(201);
    const headersOnly = streamedAnswer({ headers: { 'test-header': 'value' } });
    expect(headersOnly.metadata).toEqual({ statusCode: 200, headers: { 'test-header': 'value' } });
    expect(headersOnly.body.length).toBe(0);
  });

  it('reads a value without statusCode as payload format 2.0 does: a 200 JSON answer', () => {
    const answer = streamedAnswer({ hello: 'world' });
    expect(answer.metadata).toEqual({ statusCode: 200, headers: { 'content-type': 'application/json' } });
    expect(JSON.parse(answer.body.toString())).toEqual({ hello: 'world' });
    expect(streamedAnswer('text').body.toString()).toBe('"text"');
  });
});

describe('writeStreamed', () => {
  it('writes the metadata, 8 NUL bytes, then the body, and ends the stream', async () => {
    const { stream, bytes, http } = recordingStream();
    await writeStreamed({ statusCode: 303, headers: { Location: '/next?requestID=x&token=t' }, body: '{"status":"Running"}', isBase64Encoded: false }, stream, http);
    expect(stream.writableFinished).toBe(true);
    expect(split(bytes())).toEqual({ metadata: { statusCode: 303, headers: { Location: '/next?requestID=x&token=t' } }, body: Buffer.from('{"status":"Running"}') });
  });

  it('sends the metadata of an answer with an empty body too', async () => {
    const { stream, bytes, http } = recordingStream();
    await writeStreamed({ statusCode: 204, headers: { 'X-Empty': 'yes' }, body: '', isBase64Encoded: false }, stream, http);
    expect(split(bytes()).metadata).toEqual({ statusCode: 204, headers: { 'X-Empty': 'yes' } });
  });
});
