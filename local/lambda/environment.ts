/**
 * One execution environment: a worker thread with one function's code
 * loaded, which owns the invocation it runs (its log, its init and run
 * timeouts, its end) and knows its own state.
 */
import { Worker } from 'node:worker_threads';
import { randomBytes } from 'node:crypto';
import type { FunctionErrorPayload, InvokeMessage, WorkerMessage } from './protocol';
import type { FunctionSpec, InvocationRequest, InvocationResult } from './types';

/**
 * Where an environment is in its life:
 * - `starting`: loading the handler (Lambda's init phase), with no invocation yet;
 * - `idle`: ready, waiting for an invocation;
 * - `busy`: running an invocation (or about to, once init ends);
 * - `retiring`: alive but never given another invocation (its code changed, it failed, it timed
 *   out): it stops when its current invocation ends;
 * - `dead`: its worker is stopped or stopping.
 */
export type EnvironmentState = 'starting' | 'idle' | 'busy' | 'retiring' | 'dead';

/** What an environment needs from the stack. */
export interface EnvironmentOptions {
  /** The worker entry file (see worker-script.ts). */
  workerScript: string;
  /** AWS_ENDPOINT_URL given to functions. */
  endpointUrl: () => string;
  /** Writes one line of function output to the stack's console. */
  log: (line: string) => void;
  /** Limit for loading a handler (Lambda's init phase), in ms. */
  initTimeoutMs: number;
  /** Called once the worker has exited. */
  onDead: (env: ExecutionEnvironment) => void;
}

/** The invocation an environment is running. */
interface Invocation {
  requestId: string;
  started: number;
  log: string;
  timer?: NodeJS.Timeout;
  /** Where a streaming handler's response goes; without one it is kept in `chunks`. */
  sink?: InvocationRequest['sink'];
  chunks: Buffer[];
  contentType?: string;
  finish: (ok: boolean, payload: string, errorType?: string, timedOut?: boolean) => void;
}

/** Log bytes kept for an invocation's `X-Amz-Log-Result`. */
const LOG_KEEP = 16 * 1024;

/** A worker thread running one function's code, one invocation at a time. */
export class ExecutionEnvironment {
  /** The id in its log stream name. */
  readonly id = randomBytes(16).toString('hex');
  /** Where it is in its life. */
  state: EnvironmentState = 'starting';
  /** When it last ended an invocation (or started), epoch ms: the least recently used idle ones go first. */
  lastUsed = Date.now();
  /** Resolves when the handler has loaded: with the init error when it did not. */
  readonly ready: Promise<FunctionErrorPayload | undefined>;
  /** Whether the loaded handler streams its response (known once `ready` resolved). */
  streaming = false;
  /** The worker thread's id in the operating system, once ready (Linux only), for per-thread CPU figures. */
  osThreadId: number | undefined;
  /** As AWS names it: `YYYY/MM/DD/[$LATEST]<id>`. */
  readonly logStreamName: string;
  private readonly worker: Worker;
  private current: Invocation | undefined;
  private pendingLog = '';
  private lineBuffer = '';
  private resolveReady!: (err: FunctionErrorPayload | undefined) => void;

  /**
   * Starts the worker, which loads the handler at once.
   * @param spec the function, as it was when the environment started
   * @param options what the environment needs from the stack
   */
  constructor(readonly spec: FunctionSpec, private readonly options: EnvironmentOptions) {
    const d = new Date();
    const day = `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}`;
    this.logStreamName = `${day}/[$LATEST]${this.id}`;
    this.ready = new Promise((resolve) => (this.resolveReady = resolve));
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
      LAMBDA_TASK_ROOT: spec.codeDir,
      LAMBDA_RUNTIME_DIR: spec.codeDir,
      _HANDLER: spec.handler,
      AWS_EXECUTION_ENV: `AWS_Lambda_${spec.runtime}`,
      AWS_LAMBDA_FUNCTION_NAME: spec.functionName,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${spec.functionName}`,
      AWS_LAMBDA_LOG_STREAM_NAME: this.logStreamName,
      AWS_REGION: spec.region,
      AWS_DEFAULT_REGION: spec.region,
      // A session of the function's execution role: the stack evaluates its policies for every call.
      AWS_ACCESS_KEY_ID: spec.credentials?.accessKeyId ?? 'test',
      AWS_SECRET_ACCESS_KEY: spec.credentials?.secretAccessKey ?? 'test',
      AWS_SESSION_TOKEN: spec.credentials?.sessionToken ?? 'test',
      AWS_ENDPOINT_URL: options.endpointUrl(),
      AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
      // Functions target nodejs22.x; here they run on the local Node (20 is fine), so the
      // SDK's "upgrade to Node 22" notice is noise in every log.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...spec.variables,
    };
    this.worker = new Worker(options.workerScript, {
      workerData: { taskRoot: spec.codeDir, handler: spec.handler },
      env,
      execArgv: [],
      stdout: true,
      stderr: true,
      name: `lambda:${spec.functionName}`,
      resourceLimits: { maxOldGenerationSizeMb: Math.max(spec.memoryMb, 64) },
    });
    // Raw writes that bypass the patched streams still reach the console.
    this.worker.stdout.on('data', (chunk: Buffer) => this.onLog(chunk.toString('utf8')));
    this.worker.stderr.on('data', (chunk: Buffer) => this.onLog(chunk.toString('utf8')));
    this.worker.on('message', (msg: WorkerMessage) => this.onMessage(msg));
    this.worker.on('error', (err: Error & { code?: string }) => {
      const payload: FunctionErrorPayload = err.code === 'ERR_WORKER_OUT_OF_MEMORY'
        ? { errorType: 'Runtime.OutOfMemory', errorMessage: `RequestId: ${this.current?.requestId ?? ''} Error: Runtime exited with error: signal: killed` }
        : { errorType: err.name || 'Error', errorMessage: err.message, trace: (err.stack ?? '').split('\n') };
      this.fail(payload);
    });
    this.worker.on('exit', (code) => {
      this.fail({
        errorType: 'Runtime.ExitError',
        errorMessage: `RequestId: ${this.current?.requestId ?? ''} Error: Runtime exited with error: exit status ${code}`,
      });
      this.state = 'dead';
      options.onDead(this);
    });
  }

  /** Starting, busy or retiring: it holds a concurrency slot. */
  get occupied(): boolean {
    return this.state === 'starting' || this.state === 'busy' || this.state === 'retiring';
  }

  /**
   * Runs one invocation: waits for init (bounded by the init timeout on a cold start), sends the
   * event, and ends the invocation at the function's timeout, with Lambda's START, END and
   * REPORT lines. The environment is idle again afterwards, or stopped when it must not be reused.
   * @param request the invocation
   * @param coldStart whether this environment was started for it
   */
  run(request: InvocationRequest, coldStart: boolean): Promise<InvocationResult> {
    if (this.state === 'starting' || this.state === 'idle') this.state = 'busy';
    const spec = this.spec;
    return new Promise<InvocationResult>((resolve) => {
      const invocation: Invocation = {
        requestId: request.requestId,
        started: Date.now(),
        log: this.takePendingLog(),
        ...(request.sink && { sink: request.sink }),
        chunks: [],
        finish: (ok, payload, errorType, timedOut = false) => {
          if (this.current !== invocation) return;
          if (invocation.timer) clearTimeout(invocation.timer);
          const durationMs = Date.now() - invocation.started;
          this.onLog(`END RequestId: ${request.requestId}\n`);
          this.onLog(`REPORT RequestId: ${request.requestId}\tDuration: ${durationMs.toFixed(2)} ms\tBilled Duration: ${Math.max(1, Math.ceil(durationMs))} ms\tMemory Size: ${spec.memoryMb} MB\n`);
          this.flushLines();
          this.current = undefined;
          this.lastUsed = Date.now();
          if (this.state === 'busy') this.state = 'idle';
          else this.stop();
          const streamed = this.streaming && ok;
          resolve({
            requestId: request.requestId, ok, payload: streamed ? '' : payload, ...(errorType !== undefined && { errorType }), timedOut,
            log: invocation.log, durationMs, coldStart,
            ...(this.streaming && { streamed: true }),
            ...(invocation.contentType !== undefined && { contentType: invocation.contentType }),
            ...(streamed && !invocation.sink && { body: Buffer.concat(invocation.chunks) }),
          });
        },
      };
      this.current = invocation;
      this.onLog(`START RequestId: ${request.requestId} Version: $LATEST\n`);
      const initTimeoutMs = this.options.initTimeoutMs;
      const initTimer = coldStart
        ? setTimeout(() => {
          invocation.finish(false, JSON.stringify({
            errorType: 'Runtime.InitTimeout',
            errorMessage: `RequestId: ${request.requestId} Error: Init phase timed out after ${(initTimeoutMs / 1000).toFixed(2)} seconds`,
          }), 'Runtime.InitTimeout');
          this.stop();
        }, initTimeoutMs)
        : undefined;
      void this.ready.then((initError) => {
        if (initTimer) clearTimeout(initTimer);
        if (this.current !== invocation) return;
        if (initError) {
          this.retire();
          this.onLog(`${new Date().toISOString()}\tundefined\tERROR\tUncaught Exception\t${JSON.stringify(initError)}\n`);
          invocation.finish(false, JSON.stringify(initError), initError.errorType);
          return;
        }
        const timeoutMs = spec.timeoutSeconds * 1000;
        invocation.started = Date.now();
        const message: InvokeMessage = {
          type: 'invoke',
          requestId: request.requestId,
          payload: request.payload,
          deadline: invocation.started + timeoutMs,
          context: {
            functionName: spec.functionName,
            functionVersion: '$LATEST',
            invokedFunctionArn: spec.functionArn,
            memoryLimitInMB: String(spec.memoryMb),
            logGroupName: `/aws/lambda/${spec.functionName}`,
            logStreamName: this.logStreamName,
            clientContext: request.clientContext,
            traceId: `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=0`,
          },
        };
        invocation.timer = setTimeout(() => {
          const seconds = spec.timeoutSeconds.toFixed(2);
          this.onLog(`${new Date().toISOString()} ${request.requestId} Task timed out after ${seconds} seconds\n`);
          this.retire();
          invocation.finish(false, JSON.stringify({
            errorType: 'Sandbox.Timedout',
            errorMessage: `RequestId: ${request.requestId} Error: Task timed out after ${seconds} seconds`,
          }), 'Sandbox.Timedout', true);
        }, timeoutMs);
        this.worker.postMessage(message);
      });
    });
  }

  /**
   * Loads the handler ahead of traffic (provisioned concurrency), then waits idle.
   * @returns why it could not (its init error or timeout, or it was retired or stopped while
   * loading), or undefined once it is idle
   */
  async warmUp(): Promise<string | undefined> {
    const initTimeoutMs = this.options.initTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<FunctionErrorPayload>((resolve) => {
      timer = setTimeout(() => resolve({ errorType: 'Runtime.InitTimeout', errorMessage: `Init phase timed out after ${(initTimeoutMs / 1000).toFixed(2)} seconds` }), initTimeoutMs);
    });
    const initError = await Promise.race([this.ready, timedOut]);
    clearTimeout(timer);
    if (initError || this.state !== 'starting') {
      this.stop();
      return initError ? `${initError.errorType}: ${initError.errorMessage}` : 'the environment stopped while starting';
    }
    this.state = 'idle';
    this.lastUsed = Date.now();
    return undefined;
  }

  /** Never reused again: stopped now when idle, after its current invocation otherwise. */
  retire(): void {
    if (this.state === 'idle') this.stop();
    else if (this.state !== 'dead') this.state = 'retiring';
  }

  /**
   * Test/ops hook: stops the environment as if its process had been killed; a running invocation
   * ends with `Runtime.ExitError`.
   */
  kill(): void {
    const current = this.current;
    if (current) {
      this.retire();
      const error: FunctionErrorPayload = {
        errorType: 'Runtime.ExitError',
        errorMessage: `RequestId: ${current.requestId} Error: Runtime exited with error: signal: killed`,
      };
      current.finish(false, JSON.stringify(error), error.errorType);
    }
    this.stop();
  }

  /** Stops the worker (its exit is reported through `onDead`). */
  stop(): void {
    if (this.state === 'dead') return;
    this.state = 'dead';
    void this.worker.terminate();
  }

  /** Stops the worker and resolves when it has exited. */
  async terminate(): Promise<void> {
    this.state = 'dead';
    await this.worker.terminate().catch(() => 0);
  }

  private fail(error: FunctionErrorPayload): void {
    this.resolveReady(error);
    this.retire();
    this.current?.finish(false, JSON.stringify(error), error.errorType);
  }

  private onMessage(msg: WorkerMessage): void {
    switch (msg.type) {
      case 'ready':
        this.streaming = msg.streaming;
        if (msg.osThreadId !== undefined) this.osThreadId = msg.osThreadId;
        this.resolveReady(undefined);
        break;
      case 'content-type':
        if (this.current?.requestId === msg.requestId) {
          this.current.contentType = msg.contentType;
          this.current.sink?.contentType(msg.contentType);
        }
        break;
      case 'chunk':
        if (this.current?.requestId === msg.requestId) {
          const data = Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength);
          if (this.current.sink) this.current.sink.chunk(data);
          else this.current.chunks.push(data);
        }
        break;
      case 'init-error':
        this.resolveReady(msg.error);
        break;
      case 'log':
        this.onLog(msg.text);
        break;
      case 'done':
        if (this.current?.requestId === msg.requestId) {
          if (msg.ok) this.current.finish(true, msg.payload);
          else this.current.finish(false, JSON.stringify(msg.error), msg.error.errorType);
        }
        break;
      case 'fatal':
        this.retire();
        this.current?.finish(false, JSON.stringify(msg.error), msg.error.errorType);
        break;
    }
  }

  /** Records output for the current invocation and prints whole lines. */
  private onLog(text: string): void {
    if (this.current) {
      this.current.log += text;
      if (this.current.log.length > 2 * LOG_KEEP) this.current.log = this.current.log.slice(-LOG_KEEP);
    } else {
      this.pendingLog = (this.pendingLog + text).slice(-LOG_KEEP);
    }
    this.lineBuffer += text;
    const lines = this.lineBuffer.split('\n');
    this.lineBuffer = lines.pop() ?? '';
    for (const line of lines) this.options.log(`[${this.spec.functionName}] ${line}`);
  }

  private flushLines(): void {
    if (this.lineBuffer) {
      this.options.log(`[${this.spec.functionName}] ${this.lineBuffer}`);
      this.lineBuffer = '';
    }
  }

  private takePendingLog(): string {
    const text = this.pendingLog;
    this.pendingLog = '';
    return text;
  }
}
