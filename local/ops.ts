/**
 * Test and operations hooks of the local stack — not part of any AWS API, and
 * served only under `/_local/ops/` (a path no AWS client uses):
 *
 * | Route | Does |
 * | --- | --- |
 * | `GET /_local/ops/stats` | DynamoDB requests by table and operation, Lambda invocations and cold starts by function, environments, the stack process's memory (RSS now and peak) and CPU time |
 * | `POST /_local/ops/lambda/{name}/kill?which=busy\|idle\|all` | stops a function's environments as if their process were killed (`busy`, the default: running invocations end with `Runtime.ExitError`); `idle` frees memory |
 * | `POST /_local/ops/lambda/{name}/warm?count=N` | starts environments of a function ahead of traffic (like provisioned concurrency) until N of its current code are alive, and answers `{"started","failed"}` when they are ready: load tests measure warm figures without warm-up waves |
 * | `POST /_local/ops/lambda/{name}/faults` | faults of the Invoke API for that function: `{"hang":true}` (requests are read, never answered, and nothing runs, until cleared), `{"drop":"after-accept","count":N}` (the next N invocations are accepted: an `Event` is queued, a `RequestResponse` runs to its end; then the connection is closed without an answer), `{"clear":true}` (ends both, closing held requests) |
 * | `POST /_local/ops/dynamodb/stop` | stops the DynamoDB endpoint, keeping its data: body `{"mode":"reset"\|"unavailable"\|"hang","tables":[...]}` (both optional); `hang` reads requests and never answers them (they are not applied) |
 * | `POST /_local/ops/dynamodb/start` | starts it again: body `{"tables":[...]}` (optional; default: every table); requests held by `hang` are closed without an answer |
 * | `POST /_local/ops/dynamodb/faults` | `{"drop":"after-apply","operations":["PutItem","UpdateItem","DeleteItem"],"count":N,"tables":[...],"match":"text"}` (`tables` and `match`, a text the request body must contain, optional): the next N matching requests are applied, then their connections closed without an answer; `{"clear":true}` removes pending faults |
 * | `POST /_local/ops/mark?text=T` | writes `[ops] mark T` to the stack's log: a reader of the log knows every line before it was written |
 *
 * The same hooks are on the {@link LocalStack} object as `ops`, for tests in the same process.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { readBody, sendJson } from './http';
import type { DynamoDbOutage, DynamoDbService, DynamoDbStats } from './dynamodb';
import type { EnvironmentCounts, FunctionCounters, FunctionSpec, KillWhich, LambdaRuntime, PrewarmResult } from './lambda/runtime';
import { FaultSpecError, parseDynamoDbFault, parseLambdaFault, type DynamoDbDropFault, type LambdaFaults, type LambdaFaultSpec, type PendingLambdaFault } from './faults';

/** What `GET /_local/ops/stats` answers. */
export interface StackStats {
  /** DynamoDB requests and the outage in force. */
  dynamodb: DynamoDbStats;
  /** Lambda, per function and overall. */
  lambda: {
    /** Invocations, cold starts and kills per function. */
    functions: Record<string, FunctionCounters>;
    /** Environments alive now. */
    environments: EnvironmentCounts;
    /** Faults of the Invoke API in force, by function. */
    faults: Record<string, PendingLambdaFault>;
  };
  /** The stack process (every environment is a thread of it). */
  process: {
    /** Resident set size now, bytes. */
    rssBytes: number;
    /** Peak resident set size since the process started, bytes. */
    maxRssBytes: number;
    /** CPU time used so far by the whole process (every thread: server, DynamoDB, environments), microseconds. */
    cpuMicros: number;
    /**
     * The main thread's event loop (HTTP server, API Gateway, Lambda service and DynamoDB all run
     * on it; function code runs on worker threads): ms active and idle since the stack started.
     */
    eventLoop: {
      /** Milliseconds the main thread spent working. */
      activeMs: number;
      /** Milliseconds the main thread spent waiting for work. */
      idleMs: number;
    };
  };
}

/** The hooks, for tests that hold the stack object. */
export interface StackOps {
  /** Counters and memory. */
  stats(): StackStats;
  /**
   * Stops a function's environments.
   * @param functionName the function
   * @param which `busy` (default), `idle` or `all`
   * @returns how many were stopped
   */
  killEnvironments(functionName: string, which?: KillWhich): number;
  /**
   * Starts environments of a function until `count` of its current code are alive, and
   * resolves when they are ready. Rejects when the function does not exist or `count` is
   * out of range (1 to the stack's concurrency limit).
   * @param functionName the function
   * @param count how many environments should be alive
   */
  prewarm(functionName: string, count: number): Promise<PrewarmResult>;
  /** Stops the DynamoDB endpoint (connection errors or 503), keeping its data. */
  stopDynamoDb(outage?: DynamoDbOutage): void;
  /** Starts the DynamoDB endpoint again (for these tables; default: ends every outage). */
  startDynamoDb(tables?: string[]): void;
  /**
   * Adds a DynamoDB drop fault, or removes them all.
   * @param fault the fault, or `clear`
   */
  dynamoDbFault(fault: DynamoDbDropFault | 'clear'): void;
  /**
   * Sets or clears the Invoke faults of a function. Throws {@link UnknownFunctionError} for a
   * function that does not exist (clearing works for any name).
   * @param functionName the function
   * @param fault the fault, or `clear`
   */
  lambdaFault(functionName: string, fault: LambdaFaultSpec): void;
}

/** `StackOps.prewarm()` was given a function that does not exist. */
export class UnknownFunctionError extends Error {
  /** @param functionName the name asked for */
  constructor(functionName: string) {
    super(`Function not found: ${functionName}`);
    this.name = 'UnknownFunctionError';
  }
}

/** Path prefix of the hooks. */
export const OPS_PREFIX = '/_local/ops/';

/**
 * Builds the hooks over the stack's parts.
 * @param dynamodb the DynamoDB service
 * @param runtime the Lambda runtime
 * @param functionSpec the current spec of a function by name, or undefined when there is none
 * @param lambdaFaults the faults of the Invoke API
 */
export function createOps(
  dynamodb: DynamoDbService,
  runtime: LambdaRuntime,
  functionSpec: (name: string) => FunctionSpec | undefined,
  lambdaFaults: LambdaFaults,
): StackOps {
  return {
    stats: () => ({
      dynamodb: dynamodb.stats(),
      lambda: { functions: runtime.counters(), environments: runtime.stats(), faults: lambdaFaults.pending() },
      process: (() => {
        const usage = process.resourceUsage();
        const loop = performance.eventLoopUtilization();
        return {
          rssBytes: process.memoryUsage.rss(),
          maxRssBytes: usage.maxRSS * 1024,
          cpuMicros: usage.userCPUTime + usage.systemCPUTime,
          eventLoop: { activeMs: loop.active, idleMs: loop.idle },
        };
      })(),
    }),
    killEnvironments: (name, which = 'busy') => runtime.killEnvironments(name, which),
    prewarm: async (name, count) => {
      const spec = functionSpec(name);
      if (!spec) throw new UnknownFunctionError(name);
      return runtime.prewarm(spec, count);
    },
    stopDynamoDb: (outage) => dynamodb.stop(outage),
    startDynamoDb: (tables) => dynamodb.start(tables),
    dynamoDbFault: (fault) => (fault === 'clear' ? dynamodb.clearFaults() : dynamodb.addFault(fault)),
    lambdaFault: (name, fault) => {
      if (fault !== 'clear' && !functionSpec(name)) throw new UnknownFunctionError(name);
      lambdaFaults.apply(name, fault);
    },
  };
}

/** Reads a small JSON body; answers 400 itself and returns undefined when it is not JSON. */
async function jsonBody(req: IncomingMessage, res: ServerResponse): Promise<{ value: unknown } | undefined> {
  const text = (await readBody(req, 64 * 1024)).toString('utf8');
  try {
    return { value: text ? (JSON.parse(text) as unknown) : {} };
  } catch {
    sendJson(res, 400, { message: 'the body must be JSON' });
    return undefined;
  }
}

/**
 * Answers a request under {@link OPS_PREFIX}.
 * @param ops the hooks
 * @param log the stack's log
 * @param req the request
 * @param res the response
 */
export async function handleOps(ops: StackOps, log: (line: string) => void, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const route = url.pathname.slice(OPS_PREFIX.length);
  const method = req.method ?? 'GET';
  if (method === 'GET' && route === 'stats') {
    sendJson(res, 200, ops.stats());
    return;
  }
  const kill = /^lambda\/([A-Za-z0-9_-]{1,64})\/kill$/.exec(route);
  if (method === 'POST' && kill) {
    const which = url.searchParams.get('which') ?? 'busy';
    if (which !== 'busy' && which !== 'idle' && which !== 'all') {
      sendJson(res, 400, { message: 'which must be busy, idle or all' });
      return;
    }
    sendJson(res, 200, { killed: ops.killEnvironments(kill[1] ?? '', which) });
    return;
  }
  const warm = /^lambda\/([A-Za-z0-9_-]{1,64})\/warm$/.exec(route);
  if (method === 'POST' && warm) {
    const name = warm[1] ?? '';
    const count = Number(url.searchParams.get('count') ?? '');
    try {
      const result = await ops.prewarm(name, count);
      log(`[ops] ${name}: ${result.started} environments started ahead of traffic${result.failed ? `, ${result.failed} failed (${result.firstError ?? ''})` : ''}`);
      sendJson(res, result.failed ? 500 : 200, result);
    } catch (error) {
      if (error instanceof UnknownFunctionError) sendJson(res, 404, { message: error.message });
      else if (error instanceof RangeError) sendJson(res, 400, { message: error.message });
      else throw error;
    }
    return;
  }
  const faults = /^lambda\/([A-Za-z0-9_-]{1,64})\/faults$/.exec(route);
  if (method === 'POST' && faults) {
    const name = faults[1] ?? '';
    const body = await jsonBody(req, res);
    if (!body) return;
    try {
      const spec = parseLambdaFault(body.value);
      ops.lambdaFault(name, spec);
      log(`[ops] ${name}: Invoke faults ${spec === 'clear' ? 'cleared' : JSON.stringify(spec)}`);
      sendJson(res, 200, { faults: ops.stats().lambda.faults[name] ?? { hang: false, dropAfterAccept: 0, held: 0 } });
    } catch (error) {
      if (error instanceof UnknownFunctionError) sendJson(res, 404, { message: error.message });
      else if (error instanceof FaultSpecError) sendJson(res, 400, { message: error.message });
      else throw error;
    }
    return;
  }
  if (method === 'POST' && route === 'dynamodb/faults') {
    const body = await jsonBody(req, res);
    if (!body) return;
    try {
      const fault = parseDynamoDbFault(body.value);
      ops.dynamoDbFault(fault);
      log(`[ops] DynamoDB faults ${fault === 'clear' ? 'cleared' : JSON.stringify(fault)}`);
      sendJson(res, 200, ops.stats().dynamodb);
    } catch (error) {
      if (error instanceof FaultSpecError) sendJson(res, 400, { message: error.message });
      else throw error;
    }
    return;
  }
  if (method === 'POST' && route === 'dynamodb/stop') {
    const parsed = await jsonBody(req, res);
    if (!parsed) return;
    const body = (typeof parsed.value === 'object' && parsed.value !== null ? parsed.value : {}) as { mode?: unknown; tables?: unknown };
    const mode = body.mode ?? 'reset';
    const tables = body.tables ?? [];
    if ((mode !== 'reset' && mode !== 'unavailable' && mode !== 'hang') || !Array.isArray(tables) || !tables.every((t) => typeof t === 'string')) {
      sendJson(res, 400, { message: 'expected {"mode": "reset"|"unavailable"|"hang", "tables": ["name", ...]}' });
      return;
    }
    ops.stopDynamoDb({ mode, tables: tables as string[] });
    log(`[ops] DynamoDB stopped (${mode}${tables.length ? `, tables ${tables.join(', ')}` : ''})`);
    sendJson(res, 200, ops.stats().dynamodb);
    return;
  }
  if (method === 'POST' && route === 'dynamodb/start') {
    const parsed = await jsonBody(req, res);
    if (!parsed) return;
    const tables = (parsed.value as { tables?: unknown } | null)?.tables;
    if (tables !== undefined && (!Array.isArray(tables) || !tables.every((t) => typeof t === 'string'))) {
      sendJson(res, 400, { message: 'expected {"tables": ["name", ...]}' });
      return;
    }
    ops.startDynamoDb(tables as string[] | undefined);
    log(`[ops] DynamoDB started${Array.isArray(tables) && tables.length ? ` (tables ${tables.join(', ')})` : ''}`);
    sendJson(res, 200, ops.stats().dynamodb);
    return;
  }
  if (method === 'POST' && route === 'mark') {
    const text = url.searchParams.get('text') ?? '';
    log(`[ops] mark ${text}`);
    sendJson(res, 200, { marked: text });
    return;
  }
  sendJson(res, 404, { message: `No ops hook at ${method} ${url.pathname}` });
}
