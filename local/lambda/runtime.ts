/**
 * Execution environments for Lambda functions: a pool of worker threads,
 * one invocation at a time per environment, warm reuse, timeouts that kill,
 * a global concurrency limit and reaping of idle environments.
 */
import { Worker } from 'node:worker_threads';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { AwsError } from '../errors';
import type { FunctionErrorPayload, InvokeMessage, WorkerMessage } from './protocol';

/** What an invocation needs to know about its function (a snapshot). */
export interface FunctionSpec {
  /** Function name. */
  functionName: string;
  /** Unqualified ARN. */
  functionArn: string;
  /** Code/configuration revision; environments of another revision are not reused. */
  revision: number;
  /** Unpacked code directory. */
  codeDir: string;
  /** Handler string. */
  handler: string;
  /** Timeout in seconds. */
  timeoutSeconds: number;
  /** Memory in MB. */
  memoryMb: number;
  /** Region. */
  region: string;
  /** Runtime name, e.g. nodejs20.x. */
  runtime: string;
  /** The function's own environment variables. */
  variables: Record<string, string>;
  /** Reserved concurrency, if set. */
  reservedConcurrency?: number;
}

/** Invocations counted per function since the stack started (see `LambdaRuntime.counters()`). */
export interface FunctionCounters {
  /** Invocations that got an environment (synchronous and asynchronous attempts). */
  invocations: number;
  /** Of those, how many started a new environment. */
  coldStarts: number;
  /** Environments stopped through `LambdaRuntime.killEnvironments()`. */
  killed: number;
}

/** Which environments `LambdaRuntime.killEnvironments()` stops. */
export type KillWhich = 'busy' | 'idle' | 'all';

/** One invocation's request. */
export interface InvocationRequest {
  /** The awsRequestId. */
  requestId: string;
  /** Event JSON text. */
  payload: string;
  /** Decoded X-Amz-Client-Context, if any. */
  clientContext?: unknown;
}

/** What an invocation produced. */
export interface InvocationResult {
  /** The awsRequestId. */
  requestId: string;
  /** True when the handler returned a result. */
  ok: boolean;
  /** Result JSON text, or the error payload JSON text. */
  payload: string;
  /** The error type when not ok. */
  errorType?: string;
  /** True when the run was killed at its timeout. */
  timedOut: boolean;
  /** The invocation's log (its last part when long). */
  log: string;
  /** Run time in ms. */
  durationMs: number;
  /** True when a new environment was started for it. */
  coldStart: boolean;
}

/** Options of the runtime. */
export interface RuntimeOptions {
  /** The worker entry file (see worker-script.ts). */
  workerScript: string;
  /** Most environments running an invocation at once (all functions). */
  maxConcurrency: number;
  /** Idle environments older than this are stopped. */
  idleTimeoutMs: number;
  /** AWS_ENDPOINT_URL given to functions. */
  endpointUrl: () => string;
  /** Writes one line of function output to the stack's console. */
  log: (line: string) => void;
  /** Limit for loading a handler (Lambda's init phase: 10 s), counted from the environment's start. */
  initTimeoutMs?: number;
  /**
   * Environments starting at once (default: twice the CPU count). Starting
   * one costs about 0.2 s of CPU with the AWS SDK loaded; more cold starts
   * wait for a slot instead of starving each other past the init timeout.
   */
  startConcurrency?: number;
}

/** Execution environments alive now. */
export interface EnvironmentCounts {
  /** Waiting for an invocation. */
  idle: number;
  /** Starting or running an invocation. */
  busy: number;
}

/** What `LambdaRuntime.prewarm()` did. */
export interface PrewarmResult {
  /** Environments started and now idle. */
  started: number;
  /** Environments that failed to load the handler (stopped again). */
  failed: number;
  /** The first load failure, if any. */
  firstError?: string;
}

/** Lambda's throttling error. */
export function tooManyRequests(reason: string): AwsError {
  return new AwsError(429, 'TooManyRequestsException', 'Rate Exceeded.', { Type: 'User', Reason: reason });
}

const LOG_KEEP = 16 * 1024;

interface Current {
  requestId: string;
  started: number;
  log: string;
  timer?: NodeJS.Timeout;
  finish: (ok: boolean, payload: string, errorType?: string, timedOut?: boolean) => void;
}

/** One execution environment: a worker thread with one function's code loaded. */
class Environment {
  readonly id = randomBytes(16).toString('hex');
  readonly worker: Worker;
  state: 'starting' | 'idle' | 'busy' | 'dead' = 'starting';
  lastUsed = Date.now();
  retire = false;
  private terminated = false;
  current?: Current | undefined;
  readonly ready: Promise<FunctionErrorPayload | undefined>;
  readonly logStreamName: string;
  private pendingLog = '';
  private lineBuffer = '';
  private resolveReady!: (err: FunctionErrorPayload | undefined) => void;

  constructor(readonly spec: FunctionSpec, script: string, private readonly options: RuntimeOptions, onDead: (env: Environment) => void) {
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
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_SESSION_TOKEN: 'test',
      AWS_ENDPOINT_URL: options.endpointUrl(),
      AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
      // Functions target nodejs22.x; here they run on the local Node (20 is fine), so the
      // SDK's "upgrade to Node 22" notice is noise in every log.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...spec.variables,
    };
    this.worker = new Worker(script, {
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
      onDead(this);
    });
  }

  private fail(error: FunctionErrorPayload): void {
    this.resolveReady(error);
    if (this.current) this.current.finish(false, JSON.stringify(error), error.errorType);
    this.retire = true;
  }

  private onMessage(msg: WorkerMessage): void {
    switch (msg.type) {
      case 'ready':
        this.resolveReady(undefined);
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
        this.retire = true;
        if (this.current) this.current.finish(false, JSON.stringify(msg.error), msg.error.errorType);
        break;
    }
  }

  /** Records output for the current invocation and prints whole lines. */
  onLog(text: string): void {
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

  flushLines(): void {
    if (this.lineBuffer) {
      this.options.log(`[${this.spec.functionName}] ${this.lineBuffer}`);
      this.lineBuffer = '';
    }
  }

  takePendingLog(): string {
    const text = this.pendingLog;
    this.pendingLog = '';
    return text;
  }

  kill(): void {
    this.retire = true;
    if (this.terminated) return;
    this.terminated = true;
    this.state = 'dead';
    void this.worker.terminate();
  }
}

/** The pool of execution environments of every function. */
export class LambdaRuntime {
  private readonly envs = new Set<Environment>();
  private readonly reaper: NodeJS.Timeout;
  private stopped = false;
  /** Cold starts waiting for a start slot, by function. */
  private readonly waiting = new Map<string, number>();
  private waitingTotal = 0;
  private startsRunning = 0;
  private readonly startQueue: (() => void)[] = [];
  private readonly startConcurrency: number;
  private readonly perFunction = new Map<string, FunctionCounters>();

  /** @param options runtime options */
  constructor(private readonly options: RuntimeOptions) {
    const every = Math.max(1000, Math.min(30_000, Math.floor(options.idleTimeoutMs / 2)));
    this.reaper = setInterval(() => this.reapIdle(), every);
    this.reaper.unref();
    this.startConcurrency = options.startConcurrency ?? Math.max(2, availableParallelism() * 2);
  }

  /** Invocations running now or waiting to start (all functions). */
  get running(): number {
    let n = this.waitingTotal;
    for (const env of this.envs) if (env.state === 'busy' || env.state === 'starting') n++;
    return n;
  }

  /** Environments alive now, by state. */
  stats(): EnvironmentCounts {
    let idle = 0;
    let busy = 0;
    for (const env of this.envs) {
      if (env.state === 'idle') idle++;
      else if (env.state !== 'dead') busy++;
    }
    return { idle, busy };
  }

  /**
   * Test/ops hook: invocations and cold starts per function since the stack started.
   * Not part of any AWS API.
   */
  counters(): Record<string, FunctionCounters> {
    return Object.fromEntries([...this.perFunction].map(([name, c]) => [name, { ...c }]));
  }

  private count(functionName: string): FunctionCounters {
    let c = this.perFunction.get(functionName);
    if (!c) {
      c = { invocations: 0, coldStarts: 0, killed: 0 };
      this.perFunction.set(functionName, c);
    }
    return c;
  }

  /**
   * Test/ops hook: stops a function's environments at once, as if their
   * process had been killed (`busy`: those running an invocation, which ends
   * with `Runtime.ExitError`; `idle`: the warm ones, to free memory; `all`).
   * Not part of any AWS API.
   * @param functionName the function
   * @param which which environments
   * @returns how many were stopped
   */
  killEnvironments(functionName: string, which: KillWhich = 'busy'): number {
    let killed = 0;
    for (const env of this.envs) {
      if (env.spec.functionName !== functionName || env.state === 'dead') continue;
      const busy = env.state === 'busy' || env.state === 'starting';
      if (which === 'all' || (which === 'busy') === busy) {
        const current = env.current;
        if (current) {
          env.retire = true;
          const error: FunctionErrorPayload = {
            errorType: 'Runtime.ExitError',
            errorMessage: `RequestId: ${current.requestId} Error: Runtime exited with error: signal: killed`,
          };
          current.finish(false, JSON.stringify(error), error.errorType);
        }
        env.kill();
        killed++;
      }
    }
    this.count(functionName).killed += killed;
    return killed;
  }

  /**
   * Throws TooManyRequestsException when no environment may start now.
   * @param spec the function
   */
  checkCapacity(spec: FunctionSpec): void {
    if (spec.reservedConcurrency !== undefined) {
      let mine = this.waiting.get(spec.functionName) ?? 0;
      for (const env of this.envs) {
        if (env.spec.functionName === spec.functionName && (env.state === 'busy' || env.state === 'starting')) mine++;
      }
      if (mine >= spec.reservedConcurrency) throw tooManyRequests('ReservedFunctionConcurrentInvocationLimitExceeded');
    }
    if (this.running >= this.options.maxConcurrency) throw tooManyRequests('ConcurrentInvocationLimitExceeded');
  }

  /**
   * Runs one invocation in a warm environment of the same revision, or a new one.
   * Throws TooManyRequestsException past the concurrency limit.
   * @param spec the function
   * @param request the invocation
   */
  async invoke(spec: FunctionSpec, request: InvocationRequest): Promise<InvocationResult> {
    if (this.stopped) throw new AwsError(503, 'ServiceException', 'The local stack is stopping');
    this.checkCapacity(spec);
    let env = this.takeIdle(spec);
    let coldStart = false;
    if (!env) {
      // Reserved now (counted by checkCapacity), started when a slot is free.
      this.setWaiting(spec.functionName, +1);
      try {
        await this.acquireStartSlot();
      } finally {
        this.setWaiting(spec.functionName, -1);
      }
      if (this.stopped) {
        this.releaseStartSlot();
        throw new AwsError(503, 'ServiceException', 'The local stack is stopping');
      }
      env = this.takeIdle(spec);
      if (env) this.releaseStartSlot();
      else {
        coldStart = true;
        env = this.spawn(spec);
        void env.ready.then(() => this.releaseStartSlot());
      }
    }
    env.state = 'busy';
    const counters = this.count(spec.functionName);
    counters.invocations++;
    if (coldStart) counters.coldStarts++;
    const started = Date.now();
    return new Promise<InvocationResult>((resolve) => {
      const e = env;
      const current: Current = {
        requestId: request.requestId,
        started,
        log: e.takePendingLog(),
        finish: (ok, payload, errorType, timedOut = false) => {
          if (e.current !== current) return;
          if (current.timer) clearTimeout(current.timer);
          const durationMs = Date.now() - current.started;
          e.onLog(`END RequestId: ${request.requestId}\n`);
          e.onLog(`REPORT RequestId: ${request.requestId}\tDuration: ${durationMs.toFixed(2)} ms\tBilled Duration: ${Math.max(1, Math.ceil(durationMs))} ms\tMemory Size: ${spec.memoryMb} MB\n`);
          e.flushLines();
          const log = current.log;
          e.current = undefined;
          e.lastUsed = Date.now();
          if (e.retire || e.state === 'dead' || this.stopped) e.kill();
          else e.state = 'idle';
          resolve({ requestId: request.requestId, ok, payload, ...(errorType !== undefined && { errorType }), timedOut, log, durationMs, coldStart });
        },
      };
      e.current = current;
      e.onLog(`START RequestId: ${request.requestId} Version: $LATEST\n`);
      const initTimeoutMs = this.options.initTimeoutMs ?? 10_000;
      const initTimer = coldStart
        ? setTimeout(() => {
          current.finish(false, JSON.stringify({
            errorType: 'Runtime.InitTimeout',
            errorMessage: `RequestId: ${request.requestId} Error: Init phase timed out after ${(initTimeoutMs / 1000).toFixed(2)} seconds`,
          }), 'Runtime.InitTimeout');
          e.kill();
        }, initTimeoutMs)
        : undefined;
      void e.ready.then((initError) => {
        if (initTimer) clearTimeout(initTimer);
        if (e.current !== current) return;
        if (initError) {
          e.retire = true;
          e.onLog(`${new Date().toISOString()}\tundefined\tERROR\tUncaught Exception\t${JSON.stringify(initError)}\n`);
          current.finish(false, JSON.stringify(initError), initError.errorType);
          return;
        }
        const timeoutMs = spec.timeoutSeconds * 1000;
        current.started = Date.now();
        const message: InvokeMessage = {
          type: 'invoke',
          requestId: request.requestId,
          payload: request.payload,
          deadline: current.started + timeoutMs,
          context: {
            functionName: spec.functionName,
            functionVersion: '$LATEST',
            invokedFunctionArn: spec.functionArn,
            memoryLimitInMB: String(spec.memoryMb),
            logGroupName: `/aws/lambda/${spec.functionName}`,
            logStreamName: e.logStreamName,
            clientContext: request.clientContext,
            traceId: `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=0`,
          },
        };
        current.timer = setTimeout(() => {
          const seconds = spec.timeoutSeconds.toFixed(2);
          e.onLog(`${new Date().toISOString()} ${request.requestId} Task timed out after ${seconds} seconds\n`);
          e.retire = true;
          current.finish(false, JSON.stringify({
            errorType: 'Sandbox.Timedout',
            errorMessage: `RequestId: ${request.requestId} Error: Task timed out after ${seconds} seconds`,
          }), 'Sandbox.Timedout', true);
        }, timeoutMs);
        e.worker.postMessage(message);
      });
    });
  }

  /**
   * Ops hook: starts environments of a function ahead of traffic, as provisioned concurrency
   * does on AWS, until `count` of its current revision are alive; resolves when they are ready
   * (each loaded its handler) and idle. Uses the same start slots as cold starts, so it never
   * starves running invocations. Not part of any AWS API.
   * @param spec the function
   * @param count how many environments should be alive
   * @returns how many were started, and how many of them failed to load
   */
  async prewarm(spec: FunctionSpec, count: number): Promise<PrewarmResult> {
    if (this.stopped) throw new AwsError(503, 'ServiceException', 'The local stack is stopping');
    if (!Number.isSafeInteger(count) || count < 1 || count > this.options.maxConcurrency) {
      throw new RangeError(`count must be an integer from 1 to the stack's concurrency limit (${this.options.maxConcurrency})`);
    }
    let alive = 0;
    for (const env of this.envs) {
      if (env.spec.functionName === spec.functionName && env.spec.revision === spec.revision && env.state !== 'dead' && !env.retire) alive++;
    }
    const missing = Math.max(0, count - alive);
    const initTimeoutMs = this.options.initTimeoutMs ?? 10_000;
    const errors: string[] = [];
    await Promise.all(Array.from({ length: missing }, async () => {
      await this.acquireStartSlot();
      if (this.stopped) {
        this.releaseStartSlot();
        return;
      }
      const env = this.spawn(spec);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<FunctionErrorPayload>((resolve) => {
        timer = setTimeout(() => resolve({ errorType: 'Runtime.InitTimeout', errorMessage: `Init phase timed out after ${(initTimeoutMs / 1000).toFixed(2)} seconds` }), initTimeoutMs);
      });
      const initError = await Promise.race([env.ready, timedOut]);
      clearTimeout(timer);
      this.releaseStartSlot();
      if (initError || env.state !== 'starting') {
        errors.push(initError ? `${initError.errorType}: ${initError.errorMessage}` : 'the environment stopped while starting');
        env.kill();
        return;
      }
      env.state = 'idle';
      env.lastUsed = Date.now();
    }));
    return { started: missing - errors.length, failed: errors.length, ...(errors[0] ? { firstError: errors[0] } : {}) };
  }

  /**
   * Stops the idle environments of a function and retires its busy ones
   * (after a code or configuration update, or deletion).
   * @param functionName the function
   */
  discard(functionName: string): void {
    for (const env of this.envs) {
      if (env.spec.functionName !== functionName) continue;
      if (env.state === 'idle') env.kill();
      else env.retire = true;
    }
  }

  /** Stops every environment. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.reaper);
    for (const next of this.startQueue.splice(0)) next();
    await Promise.all([...this.envs].map((env) => env.worker.terminate().catch(() => 0)));
    this.envs.clear();
  }

  private setWaiting(functionName: string, delta: number): void {
    this.waitingTotal += delta;
    const n = (this.waiting.get(functionName) ?? 0) + delta;
    if (n > 0) this.waiting.set(functionName, n);
    else this.waiting.delete(functionName);
  }

  private acquireStartSlot(): Promise<void> {
    if (this.startsRunning < this.startConcurrency) {
      this.startsRunning++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.startQueue.push(resolve));
  }

  private releaseStartSlot(): void {
    const next = this.startQueue.shift();
    if (next) next();
    else this.startsRunning--;
  }

  private takeIdle(spec: FunctionSpec): Environment | undefined {
    let best: Environment | undefined;
    for (const env of this.envs) {
      if (env.state !== 'idle' || env.retire) continue;
      if (env.spec.functionName !== spec.functionName || env.spec.revision !== spec.revision) continue;
      if (!best || env.lastUsed > best.lastUsed) best = env;
    }
    return best;
  }

  private spawn(spec: FunctionSpec): Environment {
    // Keep the number of threads bounded: drop the least recently used idle ones.
    if (this.envs.size >= this.options.maxConcurrency) {
      const idle = [...this.envs].filter((e) => e.state === 'idle').sort((a, b) => a.lastUsed - b.lastUsed);
      for (const env of idle.slice(0, this.envs.size - this.options.maxConcurrency + 1)) env.kill();
    }
    const env = new Environment(spec, this.options.workerScript, this.options, (dead) => this.envs.delete(dead));
    this.envs.add(env);
    return env;
  }

  private reapIdle(): void {
    const limit = Date.now() - this.options.idleTimeoutMs;
    for (const env of this.envs) {
      if (env.state === 'idle' && env.lastUsed < limit) env.kill();
    }
  }
}
