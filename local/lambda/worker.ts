/**
 * The code inside one execution environment (a worker thread). It loads the
 * function's handler like Lambda's Node.js runtime, formats console output
 * like CloudWatch lines and runs one invocation at a time.
 *
 * This file is bundled to CommonJS by `worker-script.ts`; it must import
 * nothing but Node built-ins and types.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { format as formatLog } from 'node:util';
import { Writable } from 'node:stream';
import { getHeapStatistics } from 'node:v8';
import type { FunctionErrorPayload, InvokeMessage, WorkerInit, WorkerMessage } from './protocol';

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');
const init = workerData as WorkerInit;
let currentRequestId: string | undefined;

function post(message: WorkerMessage): void {
  port?.postMessage(message);
}

// Everything written to stdout/stderr travels on the same port as the
// results, so an invocation's log is complete when its result arrives.
for (const stream of [process.stdout, process.stderr]) {
  stream.write = ((chunk: unknown, encoding?: unknown, callback?: unknown): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    post({ type: 'log', text });
    const cb = typeof encoding === 'function' ? encoding : callback;
    if (typeof cb === 'function') queueMicrotask(() => (cb as () => void)());
    return true;
  }) as typeof stream.write;
}

const levels: Record<string, string> = { log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG', trace: 'TRACE' };
for (const [method, level] of Object.entries(levels)) {
  (console as unknown as Record<string, (...args: unknown[]) => void>)[method] = (...args: unknown[]) => {
    let message = formatLog(...args);
    if (method === 'trace') message = `Trace: ${message}\n${(new Error().stack ?? '').split('\n').slice(2).join('\n')}`;
    process.stdout.write(`${new Date().toISOString()}\t${currentRequestId ?? 'undefined'}\t${level}\t${message}\n`);
  };
}

/** Turns anything thrown into Lambda's error payload. */
function errorPayload(err: unknown): FunctionErrorPayload {
  if (isRuntimeError(err)) return err;
  if (err instanceof Error || (typeof err === 'object' && err !== null && 'message' in err)) {
    const e = err as { name?: unknown; message?: unknown; stack?: unknown };
    return {
      errorType: typeof e.name === 'string' ? e.name : 'Error',
      errorMessage: typeof e.message === 'string' ? e.message : String(e.message),
      trace: typeof e.stack === 'string' ? e.stack.split('\n') : [],
    };
  }
  let text: string;
  try {
    text = typeof err === 'string' ? err : (JSON.stringify(err) ?? String(err));
  } catch {
    text = String(err);
  }
  return { errorType: typeof err, errorMessage: text, trace: [] };
}

/** A runtime error made by {@link runtimeError} (not something the handler threw). */
const RUNTIME_ERROR = Symbol('runtime error');

function isRuntimeError(err: unknown): err is FunctionErrorPayload {
  return typeof err === 'object' && err !== null && RUNTIME_ERROR in err;
}

function runtimeError(errorType: string, errorMessage: string, cause?: unknown): FunctionErrorPayload {
  const trace = cause instanceof Error && cause.stack ? cause.stack.split('\n') : [];
  const error = { errorType, errorMessage, trace };
  // Not enumerable: postMessage and JSON leave it out.
  Object.defineProperty(error, RUNTIME_ERROR, { value: true, enumerable: false });
  return error;
}

process.on('unhandledRejection', (reason) => {
  const inner = errorPayload(reason);
  post({
    type: 'fatal',
    error: { errorType: 'Runtime.UnhandledPromiseRejection', errorMessage: `${inner.errorType}: ${inner.errorMessage}`, trace: inner.trace ?? [] },
  });
  process.exit(1);
});
process.on('uncaughtException', (err) => {
  post({ type: 'fatal', error: errorPayload(err) });
  process.exit(1);
});

/** True when the nearest package.json (up to the task root) says `"type": "module"`. */
function isEsmPackage(file: string, root: string): boolean {
  let dir = dirname(file);
  const top = resolve(root);
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        return (JSON.parse(readFileSync(pkg, 'utf8')) as { type?: string }).type === 'module';
      } catch {
        return false;
      }
    }
    if (resolve(dir) === top) return false;
    const up = dirname(dir);
    if (up === dir) return false;
    dir = up;
  }
}

type Handler = (event: unknown, context: unknown, callback: (err?: unknown, result?: unknown) => void) => unknown;
type StreamingHandler = (event: unknown, responseStream: ResponseStream, context: unknown) => unknown;

// Response streaming as Node.js's Lambda runtime offers it: `awslambda.streamifyResponse` marks
// the handler with this symbol, and the runtime then streams whichever API invoked it.
const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HTTP_INTEGRATION_RESPONSE = 'application/vnd.awslambda.http-integration-response';

/** The stream a streaming handler writes its response to; each write is sent on as it happens. */
class ResponseStream extends Writable {
  /** Set by `HttpResponseStream.from`: writes the metadata just before the first write. */
  _onBeforeFirstWrite: ((write: (chunk: Uint8Array | string) => void) => void) | undefined;
  private written = false;

  constructor(private readonly requestId: string) {
    super();
  }

  /** Sets the response's content type; only before the first write, as the runtime allows. */
  setContentType(contentType: string): void {
    if (this.written) throw Object.assign(new Error('Cannot set content-type, too late.'), { name: 'Runtime.InvalidStreamingOperation' });
    post({ type: 'content-type', requestId: this.requestId, contentType });
  }

  override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    if (!this.written) {
      this.written = true;
      const before = this._onBeforeFirstWrite;
      this._onBeforeFirstWrite = undefined;
      before?.((part) => super.write(part));
    }
    // The runtime sends anything but text and bytes as JSON.
    const data = typeof chunk === 'string' || chunk instanceof Uint8Array ? chunk : JSON.stringify(chunk);
    return super.write(data, encoding as BufferEncoding, callback as (error?: Error | null) => void);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.written = true;
    const data = new Uint8Array(chunk.byteLength);
    data.set(chunk);
    port?.postMessage({ type: 'chunk', requestId: this.requestId, data } satisfies WorkerMessage, [data.buffer]);
    callback();
  }
}

const noGlobal = ['1', 'true'].includes(String(process.env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA ?? '').toLowerCase());
if (!noGlobal) {
  (globalThis as Record<string, unknown>).awslambda = {
    streamifyResponse(handler: StreamingHandler): StreamingHandler {
      (handler as unknown as Record<symbol, unknown>)[STREAMING] = 'response';
      return handler;
    },
    HttpResponseStream: class HttpResponseStream {
      /** Writes `prelude` as JSON and 8 NUL bytes before the body, as API Gateway's streaming integration reads it. */
      static from(stream: ResponseStream, prelude: unknown): ResponseStream {
        stream.setContentType(HTTP_INTEGRATION_RESPONSE);
        stream._onBeforeFirstWrite = (write) => {
          write(JSON.stringify(prelude));
          write(new Uint8Array(8));
        };
        return stream;
      }
    },
  };
}

/** True when the handler was wrapped by `awslambda.streamifyResponse`. */
function isStreaming(handler: Handler): boolean {
  const mark = (handler as unknown as Record<symbol, unknown>)[STREAMING];
  if (mark !== undefined && mark !== 'response') {
    throw runtimeError('Runtime.MalformedStreamingHandler', 'Only response streaming is supported.');
  }
  return mark === 'response';
}

async function loadHandler(): Promise<Handler> {
  const { taskRoot, handler } = init;
  const slash = handler.lastIndexOf('/');
  const dot = handler.indexOf('.', slash + 1);
  if (dot <= slash + 1 || dot === handler.length - 1) {
    throw runtimeError('Runtime.MalformedHandlerName', `Bad handler ${handler}`);
  }
  const moduleName = handler.slice(0, dot);
  const exportPath = handler.slice(dot + 1).split('.');
  const base = resolve(taskRoot, moduleName);
  const file = ['.js', '.mjs', '.cjs'].map((ext) => base + ext).find((f) => existsSync(f));
  if (!file) {
    throw runtimeError('Runtime.ImportModuleError', `Error: Cannot find module '${moduleName}'\nRequire stack:\n- /var/runtime/index.mjs`);
  }
  let mod: unknown;
  try {
    const esm = file.endsWith('.mjs') || (file.endsWith('.js') && isEsmPackage(file, taskRoot));
    if (esm) {
      mod = await import(pathToFileURL(file).href);
    } else {
      mod = createRequire(join(taskRoot, 'noop.js'))(file);
    }
  } catch (err) {
    if (err instanceof SyntaxError) {
      throw runtimeError('Runtime.UserCodeSyntaxError', `${err.name}: ${err.message}`, err);
    }
    const code = (err as { code?: string }).code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
      throw runtimeError('Runtime.ImportModuleError', `Error: ${(err as Error).message}`, err);
    }
    throw errorPayload(err);
  }
  const lookup = (root: unknown): unknown =>
    exportPath.reduce<unknown>((obj, key) => (obj !== null && obj !== undefined ? (obj as Record<string, unknown>)[key] : undefined), root);
  let fn = lookup(mod);
  if (typeof fn !== 'function') fn = lookup((mod as { default?: unknown } | null)?.default);
  if (typeof fn !== 'function') {
    throw runtimeError('Runtime.HandlerNotFound', `${moduleName}.${exportPath.join('.')} is undefined or not exported`);
  }
  return fn as Handler;
}

function heapUsed(): number {
  return getHeapStatistics().used_heap_size;
}

function run(handler: Handler, msg: InvokeMessage): void {
  currentRequestId = msg.requestId;
  process.env._X_AMZN_TRACE_ID = msg.context.traceId;
  let finished = false;
  const finish = (ok: boolean, value: unknown): void => {
    if (finished) return;
    finished = true;
    if (!ok) {
      post({ type: 'done', requestId: msg.requestId, ok: false, error: errorPayload(value), heapUsed: heapUsed() });
      return;
    }
    let payload: string;
    try {
      payload = JSON.stringify(value === undefined ? null : value) ?? 'null';
    } catch (err) {
      post({
        type: 'done', requestId: msg.requestId, ok: false, heapUsed: heapUsed(),
        error: runtimeError('Runtime.SerializationError', `Unable to stringify response body: ${(err as Error).message}`, err),
      });
      return;
    }
    post({ type: 'done', requestId: msg.requestId, ok: true, payload, heapUsed: heapUsed() });
  };
  const callback = (err?: unknown, result?: unknown): void => {
    if (err !== undefined && err !== null) finish(false, err);
    else finish(true, result);
  };
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: msg.context.functionName,
    functionVersion: msg.context.functionVersion,
    invokedFunctionArn: msg.context.invokedFunctionArn,
    memoryLimitInMB: msg.context.memoryLimitInMB,
    awsRequestId: msg.requestId,
    logGroupName: msg.context.logGroupName,
    logStreamName: msg.context.logStreamName,
    clientContext: msg.context.clientContext,
    identity: undefined,
    getRemainingTimeInMillis: () => Math.max(0, msg.deadline - Date.now()),
    succeed: (result?: unknown) => finish(true, result),
    fail: (err?: unknown) => finish(false, err ?? 'handled'),
    done: callback,
  };
  if (streaming) {
    runStreaming(handler as unknown as StreamingHandler, msg, context, finish);
    return;
  }
  try {
    const event = JSON.parse(msg.payload) as unknown;
    const returned = handler(event, context, callback);
    if (returned !== null && typeof returned === 'object' && typeof (returned as { then?: unknown }).then === 'function') {
      (returned as Promise<unknown>).then(
        (result) => finish(true, result),
        (err: unknown) => finish(false, err ?? new Error('Promise rejected without a reason')),
      );
    } else if (handler.length < 3) {
      // A plain synchronous handler: its return value is the result.
      finish(true, returned);
    }
  } catch (err) {
    finish(false, err);
  }
}

/**
 * Runs a streaming handler: its response is what it writes, and it ends when its promise
 * resolves with the stream ended (the runtime's rules: an async handler, a finished stream).
 */
function runStreaming(handler: StreamingHandler, msg: InvokeMessage, context: unknown, finish: (ok: boolean, value: unknown) => void): void {
  const stream = new ResponseStream(msg.requestId);
  let returned: unknown;
  try {
    returned = handler(JSON.parse(msg.payload) as unknown, stream, context);
  } catch (err) {
    finish(false, err);
    return;
  }
  if (returned === null || typeof returned !== 'object' || typeof (returned as { then?: unknown }).then !== 'function') {
    finish(false, runtimeError('Runtime.MalformedStreamingHandler', 'Streaming does not support non-async handlers.'));
    return;
  }
  (returned as Promise<unknown>).then(
    (value) => {
      if (value !== undefined) console.warn('Streaming handlers ignore return values.');
      if (!stream.writableEnded) {
        finish(false, runtimeError('Runtime.InvalidStreamingOperation', 'Response stream is not finished.'));
        return;
      }
      if (stream.writableFinished) finish(true, null);
      else stream.once('finish', () => finish(true, null));
    },
    (err: unknown) => finish(false, err ?? new Error('Promise rejected without a reason')),
  );
}

let streaming = false;

/** This thread's id in the operating system (Linux: `/proc/thread-self`), for per-thread CPU figures. */
function osThread(): { osThreadId?: number } {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) && tid > 0 ? { osThreadId: tid } : {};
  } catch {
    return {};
  }
}

loadHandler().then(
  (handler) => {
    try {
      streaming = isStreaming(handler);
    } catch (err) {
      post({ type: 'init-error', error: err as FunctionErrorPayload });
      return;
    }
    port.on('message', (msg: InvokeMessage) => {
      if (msg?.type === 'invoke') run(handler, msg);
    });
    post({ type: 'ready', streaming, ...osThread() });
  },
  (err: unknown) => {
    const error = typeof err === 'object' && err !== null && 'errorType' in err ? (err as FunctionErrorPayload) : errorPayload(err);
    post({ type: 'init-error', error });
  },
);
