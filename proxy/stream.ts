/**
 * The Proxy as a response-streaming handler, for REST integrations with
 * `responseTransferMode: STREAM`. It decides its answer exactly as the buffered Proxy does, only
 * with the longer window stream mode allows (see `answerLimitMs` in `core/config`), then writes
 * it the way API Gateway reads a stream: the metadata (status, headers, multi-value headers,
 * cookies) as JSON, 8 NUL bytes, then the body's bytes, a base64 body decoded.
 *
 * @module
 */
import type { Writable } from 'node:stream';
import { loadProxyConfig } from '../core/config';
import type { ApiGatewayEvent } from '../core/types';
import type { InvocationContext } from './deadline';
import { createProxyHandler, type ProxyHandlerOptions, type ProxyResult } from './proxy';

/** The metadata API Gateway reads before a streamed body (`HttpResponseStream.from`'s prelude). */
export interface StreamMetadata {
  /** The HTTP status. */
  statusCode: number;
  /** Single-value headers. */
  headers?: Record<string, string>;
  /** Multi-value headers; for a name in both, API Gateway keeps these values. */
  multiValueHeaders?: Record<string, string[]>;
  /** `Set-Cookie` values. */
  cookies?: string[];
}

/** An answer split the way it is streamed: its metadata, then its body. */
export interface StreamedAnswer {
  /** What goes before the 8 NUL bytes. */
  metadata: StreamMetadata;
  /** The body's bytes. */
  body: Buffer;
}

/** The response stream Lambda's Node.js runtime hands a streaming handler. */
export type ResponseStream = Writable;

/** The part of the runtime's `awslambda.HttpResponseStream` the Proxy uses. */
export interface HttpResponseStreamApi {
  /**
   * Prepares a response stream to send `metadata` before the first byte written.
   *
   * @param stream - the handler's response stream
   * @param metadata - status, headers, cookies
   */
  from(stream: ResponseStream, metadata: StreamMetadata): ResponseStream;
}

/** The part of Lambda's Node.js runtime global `awslambda` the Proxy uses. */
export interface AwsLambdaGlobal {
  /** Marks a handler as streaming. */
  streamifyResponse(handler: StreamingProxyHandler): StreamingProxyHandler;
  /** Writes the metadata of an HTTP response before its body. */
  HttpResponseStream: HttpResponseStreamApi;
}

/** A Proxy handler that writes its answer to a response stream. */
export type StreamingProxyHandler = (event: ApiGatewayEvent, responseStream: ResponseStream, context: InvocationContext) => Promise<void>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringHeaders(value: unknown): Record<string, string> | undefined {
  if (!isRecord(value)) return undefined;
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) if (v !== null && v !== undefined) out[name] = String(v);
  return out;
}

function multiHeaders(value: unknown): Record<string, string[]> | undefined {
  if (!isRecord(value)) return undefined;
  const out: Record<string, string[]> = {};
  for (const [name, v] of Object.entries(value)) if (Array.isArray(v)) out[name] = v.filter((x) => x !== null && x !== undefined).map(String);
  return out;
}

const REST_MEMBERS = new Set(['statusCode', 'headers', 'multiValueHeaders', 'body', 'isBase64Encoded', 'cookies']);

/**
 * The status of a REST proxy response as API Gateway reads it: a number, a string of digits, or
 * 200 when a response of only REST's members leaves it out; undefined for anything else.
 */
function restStatus(result: Record<string, unknown>): number | undefined {
  const status = result['statusCode'];
  if (typeof status === 'number') return status;
  if (typeof status === 'string' && /^\d+$/.test(status)) return Number(status);
  if (status === undefined && Object.keys(result).length > 0 && Object.keys(result).every((key) => REST_MEMBERS.has(key))) return 200;
  return undefined;
}

/**
 * Splits an answer into what is streamed: Main's REST proxy response, or the Proxy's own, gives
 * its status (a string of digits read as a number, 200 when left out), headers and body
 * (decoded when `isBase64Encoded`); an answer in payload format
 * 2.0's short form (a value without `statusCode`) is a 200 JSON answer, as HTTP APIs read it.
 *
 * @param result - what the Proxy decided to answer
 */
export function streamedAnswer(result: ProxyResult): StreamedAnswer {
  const status = isRecord(result) ? restStatus(result) : undefined;
  if (!isRecord(result) || status === undefined) {
    return { metadata: { statusCode: 200, headers: { 'content-type': 'application/json' } }, body: Buffer.from(JSON.stringify(result), 'utf8') };
  }
  const metadata: StreamMetadata = { statusCode: status };
  const headers = stringHeaders(result['headers']);
  if (headers && Object.keys(headers).length > 0) metadata.headers = headers;
  const multi = multiHeaders(result['multiValueHeaders']);
  if (multi && Object.keys(multi).length > 0) metadata.multiValueHeaders = multi;
  const cookies = result['cookies'];
  if (Array.isArray(cookies) && cookies.length > 0) metadata.cookies = cookies.map(String);
  const raw = result['body'];
  const text = typeof raw === 'string' ? raw : '';
  const body = result['isBase64Encoded'] === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
  return { metadata, body };
}

/**
 * Writes an answer to a response stream: the metadata through `HttpResponseStream.from`, then
 * the body. The body is always written, even when empty, because the runtime sends the metadata
 * only just before the first write.
 *
 * @param result - what the Proxy decided to answer
 * @param responseStream - the handler's response stream
 * @param http - the runtime's `awslambda.HttpResponseStream`
 */
export async function writeStreamed(result: ProxyResult, responseStream: ResponseStream, http: HttpResponseStreamApi): Promise<void> {
  const { metadata, body } = streamedAnswer(result);
  const stream = http.from(responseStream, metadata);
  await new Promise<void>((resolve, reject) => {
    stream.once('error', reject);
    stream.write(body);
    stream.end(() => resolve());
  });
}

/**
 * Builds the Proxy's streaming handler: the Proxy with its configuration read in stream mode,
 * writing each answer to the response stream. Wrap it with `awslambda.streamifyResponse`.
 *
 * @param http - the runtime's `awslambda.HttpResponseStream`
 * @param options - parts to use instead of the defaults (as for `createProxyHandler`)
 * @example
 * ```ts
 * // proxy/index.ts, deployed with the handler `index.streamHandler`
 * export const streamHandler = awslambda.streamifyResponse(createProxyStreamHandler(awslambda.HttpResponseStream));
 * ```
 */
export function createProxyStreamHandler(http: HttpResponseStreamApi, options: ProxyHandlerOptions = {}): StreamingProxyHandler {
  const handler = createProxyHandler({ ...options, config: options.config ?? loadProxyConfig(process.env, { transferMode: 'stream' }) });
  return async (event, responseStream, context) => {
    await writeStreamed(await handler(event, context), responseStream, http);
  };
}
