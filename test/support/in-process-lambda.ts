/**
 * Lambda invocations wired in-process, for tests of the handlers before (and beside) the
 * local stack: Event invokes run in the background, RequestResponse invokes return Lambda's
 * payload and error shapes, and each call gets a context with a real remaining time.
 */
import { randomUUID } from 'node:crypto';
import { InvokeError, type FunctionInvoker, type SyncInvokeResult } from '../../core/invoker';

export interface FakeContext {
  awsRequestId: string;
  functionName: string;
  getRemainingTimeInMillis(): number;
}

export type AnyHandler = (event: unknown, context: FakeContext) => Promise<unknown> | unknown;

export interface RegisteredFunction {
  handler: AnyHandler;
  timeoutMs: number;
}

export class InProcessLambda implements FunctionInvoker {
  readonly functions = new Map<string, RegisteredFunction>();
  /** Every invoke, in order: function name and invocation type. */
  readonly calls: Array<{ name: string; type: 'Event' | 'RequestResponse'; payload: string }> = [];
  /** Set to make the next invokes of a function fail before running. */
  readonly refuse = new Map<string, InvokeError>();
  /** Set to make the next RequestResponse invokes of a function fail before running; Event invokes run. */
  readonly refuseSync = new Map<string, InvokeError>();
  /**
   * Set to make RequestResponse invokes of a function end with this function error before the
   * handler runs (a runtime that exits during its init: `Runtime.ExitError`).
   */
  readonly crash = new Map<string, string>();
  /** Set to make RequestResponse invokes of a function hang, never running it, until the caller aborts (a hung Lambda API). */
  readonly hang = new Set<string>();
  /** Set to start a function's handler only this many ms after the invoke (a cold start). */
  readonly slowStart = new Map<string, number>();
  /** Set to drop Event invokes of a function silently (a lost async event); RequestResponse invokes are not dropped. */
  readonly drop = new Set<string>();
  /**
   * Set to run invokes of a function but answer with this error (Lambda took the event, its
   * answer was lost); a RequestResponse invoke fails once the function has ended.
   */
  readonly loseAnswer = new Map<string, InvokeError>();
  private readonly running = new Set<Promise<unknown>>();

  register(name: string, handler: AnyHandler, timeoutMs = 60_000): this {
    this.functions.set(name, { handler, timeoutMs });
    return this;
  }

  countCalls(name: string): number {
    return this.calls.filter((call) => call.name === name).length;
  }

  /** Resolves when every background (Event) invocation has finished. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  async invokeAsync(name: string, payload: string): Promise<void> {
    this.calls.push({ name, type: 'Event', payload });
    const refusal = this.refuse.get(name);
    if (refusal) throw refusal;
    if (this.drop.has(name)) return;
    const fn = this.lookup(name);
    const run = this.run(fn, name, payload).catch(() => undefined);
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    const lost = this.loseAnswer.get(name);
    if (lost) throw lost;
  }

  async invokeSync(name: string, payload: string, options: { signal?: AbortSignal } = {}): Promise<SyncInvokeResult> {
    this.calls.push({ name, type: 'RequestResponse', payload });
    const refusal = this.refuse.get(name) ?? this.refuseSync.get(name);
    if (refusal) throw refusal;
    const fn = this.lookup(name);
    if (this.hang.has(name)) {
      return new Promise<SyncInvokeResult>((_, reject) => {
        const onAbort = () => reject(new InvokeError('aborted', 'aborted by caller'));
        if (options.signal?.aborted) onAbort();
        else options.signal?.addEventListener('abort', onAbort, { once: true });
      });
    }
    const crash = this.crash.get(name);
    if (crash !== undefined) return errorResult({ errorType: crash, errorMessage: `RequestId: ${randomUUID()} Error: Runtime exited with error: exit status 1` });
    const run = this.run(fn, name, payload);
    // A caller that stops waiting does not stop the function: idle() waits for it too.
    const settled = run.catch(() => undefined);
    this.running.add(settled);
    void settled.finally(() => this.running.delete(settled));
    const lost = this.loseAnswer.get(name);
    const answered = lost ? run.then(() => Promise.reject(lost)) : run;
    if (!options.signal) return answered;
    const signal = options.signal;
    return new Promise<SyncInvokeResult>((resolve, reject) => {
      const onAbort = () => reject(new InvokeError('aborted', 'aborted by caller'));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      answered.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  private lookup(name: string): RegisteredFunction {
    const fn = this.functions.get(name);
    if (!fn) throw new InvokeError('rejected', `ResourceNotFoundException: Function not found: ${name}`);
    return fn;
  }

  /** Runs a handler like Lambda does: JSON in, JSON out, errors and timeouts as payloads. */
  private async run(fn: RegisteredFunction, name: string, payload: string): Promise<SyncInvokeResult> {
    const awsRequestId = randomUUID();
    const started = Date.now();
    const context: FakeContext = {
      awsRequestId,
      functionName: name,
      getRemainingTimeInMillis: () => Math.max(0, fn.timeoutMs - (Date.now() - started)),
    };
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), fn.timeoutMs);
    });
    try {
      const delay = this.slowStart.get(name);
      if (delay !== undefined) await new Promise((resolve) => setTimeout(resolve, delay));
      const result = await Promise.race([Promise.resolve().then(() => fn.handler(JSON.parse(payload), context)), timeout]);
      if (result === 'timeout') {
        return errorResult({
          errorType: 'Sandbox.Timedout',
          errorMessage: `RequestId: ${awsRequestId} Error: Task timed out after ${(fn.timeoutMs / 1000).toFixed(2)} seconds`,
        });
      }
      return { payload: Buffer.from(JSON.stringify(result ?? null), 'utf8') };
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      return errorResult({ errorType: err.name, errorMessage: err.message, trace: (err.stack ?? '').split('\n') });
    } finally {
      clearTimeout(timer);
    }
  }
}

function errorResult(body: Record<string, unknown>): SyncInvokeResult {
  return { payload: Buffer.from(JSON.stringify(body), 'utf8'), functionError: 'Unhandled' };
}
