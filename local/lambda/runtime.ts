/**
 * The pool of execution environments of every function: warm reuse by
 * revision, a global and a per-function concurrency limit, bounded starts,
 * and reaping of idle environments. Each environment owns its invocation
 * (`environment.ts`).
 */
import { availableParallelism } from 'node:os';
import { stackStopping, tooManyRequests } from './errors';
import { ExecutionEnvironment } from './environment';
import type { EnvironmentCounts, FunctionCounters, FunctionSpec, InvocationRequest, InvocationResult, KillWhich, PrewarmResult } from './types';

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

/** Lambda's init phase limit. */
const DEFAULT_INIT_TIMEOUT_MS = 10_000;

/** The pool of execution environments of every function. */
export class LambdaRuntime {
  private readonly envs = new Set<ExecutionEnvironment>();
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
    for (const env of this.envs) if (env.occupied) n++;
    return n;
  }

  /** Environments alive now, by state. */
  stats(): EnvironmentCounts {
    let idle = 0;
    let busy = 0;
    for (const env of this.envs) {
      if (env.state === 'idle') idle++;
      else if (env.occupied) busy++;
    }
    return { idle, busy };
  }

  /**
   * Test/ops hook: the operating system's thread ids of each function's live environments
   * (Linux only: empty elsewhere), so that a benchmark can read each thread's CPU time.
   */
  threadIds(): Record<string, number[]> {
    const ids: Record<string, number[]> = {};
    for (const env of this.envs) {
      if (env.osThreadId === undefined || env.state === 'dead') continue;
      (ids[env.spec.functionName] ??= []).push(env.osThreadId);
    }
    return ids;
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
      if (which === 'all' || (which === 'busy') === env.occupied) {
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
        if (env.spec.functionName === spec.functionName && env.occupied) mine++;
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
    if (this.stopped) throw stackStopping();
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
        throw stackStopping();
      }
      env = this.takeIdle(spec);
      if (env) this.releaseStartSlot();
      else {
        coldStart = true;
        env = this.spawn(spec);
        void env.ready.then(() => this.releaseStartSlot());
      }
    }
    const counters = this.count(spec.functionName);
    counters.invocations++;
    if (coldStart) counters.coldStarts++;
    return env.run(request, coldStart);
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
    if (this.stopped) throw stackStopping();
    if (!Number.isSafeInteger(count) || count < 1 || count > this.options.maxConcurrency) {
      throw new RangeError(`count must be an integer from 1 to the stack's concurrency limit (${this.options.maxConcurrency})`);
    }
    let alive = 0;
    for (const env of this.envs) {
      if (env.spec.functionName === spec.functionName && env.spec.revision === spec.revision && (env.state === 'starting' || env.state === 'idle' || env.state === 'busy')) alive++;
    }
    const missing = Math.max(0, count - alive);
    const errors: string[] = [];
    await Promise.all(Array.from({ length: missing }, async () => {
      await this.acquireStartSlot();
      if (this.stopped) {
        this.releaseStartSlot();
        return;
      }
      const error = await this.spawn(spec).warmUp();
      this.releaseStartSlot();
      if (error !== undefined) errors.push(error);
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
      if (env.spec.functionName === functionName) env.retire();
    }
  }

  /** Stops every environment. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.reaper);
    for (const next of this.startQueue.splice(0)) next();
    await Promise.all([...this.envs].map((env) => env.terminate()));
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

  private takeIdle(spec: FunctionSpec): ExecutionEnvironment | undefined {
    let best: ExecutionEnvironment | undefined;
    for (const env of this.envs) {
      if (env.state !== 'idle') continue;
      if (env.spec.functionName !== spec.functionName || env.spec.revision !== spec.revision) continue;
      if (!best || env.lastUsed > best.lastUsed) best = env;
    }
    return best;
  }

  private spawn(spec: FunctionSpec): ExecutionEnvironment {
    // Keep the number of threads bounded: drop the least recently used idle ones.
    if (this.envs.size >= this.options.maxConcurrency) {
      const idle = [...this.envs].filter((e) => e.state === 'idle').sort((a, b) => a.lastUsed - b.lastUsed);
      for (const env of idle.slice(0, this.envs.size - this.options.maxConcurrency + 1)) env.stop();
    }
    const env = new ExecutionEnvironment(spec, {
      workerScript: this.options.workerScript,
      endpointUrl: this.options.endpointUrl,
      log: this.options.log,
      initTimeoutMs: this.options.initTimeoutMs ?? DEFAULT_INIT_TIMEOUT_MS,
      onDead: (dead) => this.envs.delete(dead),
    });
    this.envs.add(env);
    return env;
  }

  private reapIdle(): void {
    const limit = Date.now() - this.options.idleTimeoutMs;
    for (const env of this.envs) {
      if (env.state === 'idle' && env.lastUsed < limit) env.stop();
    }
  }
}
