/**
 * Lambda's Invoke operation (`POST /2015-03-31/functions/{name}/invocations`)
 * with the wire format of AWS: invocation types RequestResponse (200),
 * Event (202) and DryRun (204), `X-Amz-Function-Error`, `X-Amz-Log-Result`,
 * `X-Amz-Executed-Version`, and the payload limits. And InvokeWithResponseStream
 * (`POST /2021-11-15/functions/{name}/response-streaming-invocations`): the
 * response as an event stream of `PayloadChunk` events and one `InvokeComplete`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventEmitter } from 'node:events';
import { AwsError, BodyTooLargeError } from '../errors';
import { credentialScope, newRequestId, readBody, send } from '../http';
import { invalidRequestContent, requestTooLarge, resourceConflict } from './errors';
import type { LambdaRuntime } from './runtime';
import type { InvocationResult, ResponseSink } from './types';
import { EVENT_STREAM_CONTENT_TYPE, invokeComplete, payloadChunk, type InvokeComplete } from './event-stream';
import type { FunctionRecord, FunctionStore } from './store';
import { functionSpec } from './store';
import { functionArn, parseFunctionRef } from './functions';
import type { AsyncQueue } from './async-queue';
import { loseAnswer, type FaultEvent, type LambdaFaults } from '../faults';

/** Largest synchronous request payload (6 MB). */
export const MAX_SYNC_REQUEST = 6_291_456;
/** Largest asynchronous request payload (1 MB). */
export const MAX_ASYNC_REQUEST = 1_048_576;
/** Largest synchronous response payload. */
export const MAX_SYNC_RESPONSE = 6_291_556;
/** Largest streamed response (200 MB). */
export const MAX_STREAM_RESPONSE = 209_715_200;
/** Log bytes returned with `X-Amz-Log-Type: Tail`. */
const TAIL_BYTES = 4096;

/** A synchronous invocation's summary, emitted as `invocation`. */
export interface InvocationEvent {
  /** Function name. */
  functionName: string;
  /** The awsRequestId. */
  requestId: string;
  /** True when the function returned a result. */
  ok: boolean;
  /** Error type when not ok. */
  errorType?: string;
  /** True when killed at its timeout. */
  timedOut: boolean;
  /** Run time. */
  durationMs: number;
  /** A new environment was started. */
  coldStart: boolean;
}

/** What Invoke needs. */
export interface InvokeDeps {
  /** The functions. */
  functions: FunctionStore;
  /** The environments. */
  runtime: LambdaRuntime;
  /** The async queue. */
  queue: AsyncQueue;
  /** Receives `invocation`. */
  events: EventEmitter;
  /** Test/ops hook: Invoke requests that hang or lose their answer. */
  faults: LambdaFaults;
  /**
   * Checks a call against the caller's role: its access key, the action and the function's
   * ARN; returns AccessDeniedException's message when it is refused.
   */
  authorize?: (accessKeyId: string | undefined, action: string, resource: string) => string | undefined;
}

/**
 * AccessDeniedException (403) when the caller's role may not invoke the function.
 * @param deps what may check
 * @param req the request (its signature names the caller)
 * @param fn the function
 */
function checkInvokeAllowed(deps: InvokeDeps, req: IncomingMessage, name: string, qualifier: string | undefined, region: string): void {
  if (!deps.authorize) return;
  // AWS authorizes before it looks the function up (a refused caller learns nothing of it), and
  // a qualified call on the qualified ARN: a policy on function:NAME does not cover NAME:alias.
  const ref = parseFunctionRef(name);
  const arnRegion = /^arn:aws[a-zA-Z-]*:lambda:([a-z0-9-]+):/.exec(name)?.[1] ?? region;
  const version = qualifier ?? ref.qualifier;
  const denied = deps.authorize(credentialScope(req)?.accessKeyId, 'lambda:InvokeFunction', `${functionArn(arnRegion, ref.name)}${version ? `:${version}` : ''}`);
  if (denied !== undefined) throw new AwsError(403, 'AccessDeniedException', denied);
}

/**
 * Checks that a payload is JSON, as Lambda does.
 * @param text the payload
 */
export function checkJsonPayload(text: string): void {
  try {
    JSON.parse(text);
  } catch (err) {
    throw invalidRequestContent(`Could not parse request body into json: Could not parse payload into json: ${(err as Error).message}`);
  }
}

/**
 * The function, unless it is still being created: Lambda refuses to invoke a Pending function.
 * @param fn the function
 */
function invocable(fn: FunctionRecord): FunctionRecord {
  if (fn.config.State === 'Pending') {
    throw resourceConflict('The operation cannot be performed at this time. The function is currently in the following state: Pending');
  }
  return fn;
}

/**
 * Runs a function synchronously, applying the response size limit, and
 * emits `invocation`.
 * @param deps what Invoke needs
 * @param name function name or ARN
 * @param qualifier optional qualifier
 * @param region region for error messages
 * @param payload event JSON text
 * @param options the decoded client context; a sink for a streamed response (InvokeWithResponseStream); the awsRequestId to use
 */
export async function invokeSync(
  deps: InvokeDeps, name: string, qualifier: string | undefined, region: string, payload: string,
  options: { clientContext?: unknown; sink?: ResponseSink; requestId?: string } = {},
): Promise<InvocationResult> {
  const fn = invocable(deps.functions.find(name, qualifier, region));
  const { requestId = newRequestId(), ...request } = options;
  const spec = functionSpec(fn);
  deps.runtime.checkCapacity(spec);
  const running = deps.runtime.invoke(spec, { requestId, payload, ...request });
  // The environment is taken (or the call throttled) synchronously above.
  deps.events.emit('invocation-start', { functionName: fn.config.FunctionName, requestId });
  const result = await running;
  const size = result.body?.length ?? Buffer.byteLength(result.payload);
  if (result.ok && !options.sink && size > MAX_SYNC_RESPONSE) {
    result.ok = false;
    result.errorType = 'Function.ResponseSizeTooLarge';
    delete result.body;
    result.payload = JSON.stringify({
      errorMessage: `Response payload size (${size} bytes) exceeded maximum allowed payload size (${MAX_SYNC_RESPONSE} bytes).`,
      errorType: 'Function.ResponseSizeTooLarge',
    });
  }
  const event: InvocationEvent = {
    functionName: fn.config.FunctionName, requestId, ok: result.ok, timedOut: result.timedOut,
    durationMs: result.durationMs, coldStart: result.coldStart, ...(result.errorType ? { errorType: result.errorType } : {}),
  };
  deps.events.emit('invocation', event);
  return result;
}

/** The last `TAIL_BYTES` bytes of a log, base64. */
function tail(log: string): string {
  const bytes = Buffer.from(log, 'utf8');
  return bytes.subarray(Math.max(0, bytes.length - TAIL_BYTES)).toString('base64');
}

/**
 * Answers one Invoke request.
 * @param deps what Invoke needs
 * @param req the request
 * @param res the response
 * @param name the FunctionName path parameter
 * @param qualifier the Qualifier query parameter
 * @param region the request's region
 */
export async function handleInvoke(
  deps: InvokeDeps, req: IncomingMessage, res: ServerResponse, name: string, qualifier: string | undefined, region: string,
): Promise<void> {
  const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
  if (!['RequestResponse', 'Event', 'DryRun'].includes(type)) {
    throw new AwsError(400, 'ValidationException',
      `1 validation error detected: Value '${type}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]`);
  }
  const payload = await readPayload(req, type === 'Event' ? MAX_ASYNC_REQUEST : MAX_SYNC_REQUEST, 'InvokeFunction');
  checkInvokeAllowed(deps, req, name, qualifier, region);
  const fn = invocable(deps.functions.find(name, qualifier, region));

  // Test/ops hook: a hung Lambda endpoint (nothing runs), or an answer lost after the invocation was accepted.
  const fault = deps.faults.take(fn.config.FunctionName);
  if (fault !== undefined) {
    const event: FaultEvent = { service: 'lambda', action: fault === 'hang' ? 'held' : 'answer-lost', target: fn.config.FunctionName, operation: `Invoke:${type}` };
    deps.events.emit('fault', event);
  }
  if (fault === 'hang') {
    deps.faults.held.hold(fn.config.FunctionName, req, res);
    return;
  }
  if (fault === 'drop-after-accept') loseAnswer(res);

  if (type === 'DryRun') {
    send(res, 204, { 'x-amzn-RequestId': newRequestId(), 'X-Amz-Executed-Version': '$LATEST' });
    return;
  }
  if (type === 'Event') {
    const requestId = newRequestId();
    deps.queue.enqueue(fn.config.FunctionName, requestId, payload);
    send(res, 202, { 'x-amzn-RequestId': requestId, 'X-Amz-Executed-Version': '$LATEST' });
    return;
  }
  const clientContext = clientContextOf(req);
  const result = await invokeSync(deps, name, qualifier, region, payload, { clientContext });
  const headers: Record<string, string> = {
    // A streaming handler invoked without streaming: its bytes, buffered, as it wrote them.
    'Content-Type': result.body ? (result.contentType ?? 'application/octet-stream') : 'application/json',
    'x-amzn-RequestId': result.requestId,
    'X-Amz-Executed-Version': '$LATEST',
  };
  if (!result.ok) headers['X-Amz-Function-Error'] = 'Unhandled';
  if (String(req.headers['x-amz-log-type'] ?? '') === 'Tail') headers['X-Amz-Log-Result'] = tail(result.log);
  // The client may have gone away meanwhile: the function ran to its end anyway.
  send(res, 200, headers, result.body ?? result.payload);
}

/** Reads an invocation's request body within its limit, as JSON text. */
async function readPayload(req: IncomingMessage, limit: number, operation: string): Promise<string> {
  let body: Buffer;
  try {
    body = await readBody(req, limit);
  } catch (err) {
    if (err instanceof BodyTooLargeError) throw requestTooLarge(limit, operation);
    throw err;
  }
  const payload = body.length ? body.toString('utf8') : '{}';
  checkJsonPayload(payload);
  return payload;
}

/** Decodes `X-Amz-Client-Context` (base64 JSON). */
function clientContextOf(req: IncomingMessage): unknown {
  const raw = req.headers['x-amz-client-context'];
  if (typeof raw !== 'string' || !raw) return undefined;
  try {
    return JSON.parse(Buffer.from(raw, 'base64').toString('utf8'));
  } catch {
    throw invalidRequestContent('Client context must be a valid Base64-encoded JSON object.');
  }
}

/**
 * Answers one InvokeWithResponseStream request: 200 with an event stream that carries what the
 * handler writes as it writes it (a buffered handler's JSON result arrives as one chunk), then
 * `InvokeComplete` with the error, if any, and the log tail. Errors found before the function
 * runs (unknown function, throttling, a bad payload) are ordinary Lambda errors.
 * @param deps what Invoke needs
 * @param req the request
 * @param res the response
 * @param name the FunctionName path parameter
 * @param qualifier the Qualifier query parameter
 * @param region the request's region
 */
export async function handleInvokeWithResponseStream(
  deps: InvokeDeps, req: IncomingMessage, res: ServerResponse, name: string, qualifier: string | undefined, region: string,
): Promise<void> {
  const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
  if (!['RequestResponse', 'DryRun'].includes(type)) {
    throw new AwsError(400, 'ValidationException',
      `1 validation error detected: Value '${type}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [RequestResponse, DryRun]`);
  }
  const payload = await readPayload(req, MAX_SYNC_REQUEST, 'InvokeWithResponseStream');
  checkInvokeAllowed(deps, req, name, qualifier, region);
  invocable(deps.functions.find(name, qualifier, region));
  if (type === 'DryRun') {
    send(res, 204, { 'x-amzn-RequestId': newRequestId(), 'X-Amz-Executed-Version': '$LATEST' });
    return;
  }
  const clientContext = clientContextOf(req);
  // The answer's x-amzn-RequestId is the invocation's awsRequestId, as in its log.
  const requestId = newRequestId();
  let streamed = 0;
  let tooLarge = false;
  const open = (): void => {
    if (res.headersSent) return;
    res.writeHead(200, { 'Content-Type': EVENT_STREAM_CONTENT_TYPE, 'X-Amz-Executed-Version': '$LATEST', 'x-amzn-RequestId': requestId });
    res.flushHeaders();
  };
  const sink: ResponseSink = {
    contentType: () => open(),
    chunk: (data) => {
      open();
      streamed += data.length;
      if (streamed > MAX_STREAM_RESPONSE) tooLarge = true;
      if (!tooLarge && !res.destroyed) res.write(payloadChunk(data));
    },
  };
  // Throws (unknown function, throttled) before anything was sent: an ordinary error answer.
  const running = invokeSync(deps, name, qualifier, region, payload, { clientContext, sink, requestId });
  const result = await running;
  open();
  // A buffered handler's result travels as one chunk.
  if (result.ok && !result.streamed) sink.chunk(Buffer.from(result.payload, 'utf8'));
  const complete: InvokeComplete = {};
  if (tooLarge) {
    complete.ErrorCode = 'Function.ResponseSizeTooLarge';
    complete.ErrorDetails = `Response payload size exceeded maximum allowed payload size (${MAX_STREAM_RESPONSE} bytes).`;
  } else if (!result.ok) {
    complete.ErrorCode = 'Unhandled';
    complete.ErrorDetails = result.payload;
  }
  if (String(req.headers['x-amz-log-type'] ?? '') === 'Tail') complete.LogResult = tail(result.log);
  if (!res.destroyed) res.end(invokeComplete(complete));
}
