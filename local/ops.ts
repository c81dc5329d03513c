/**
 * Test and operations hooks of the local stack — not part of any AWS API, and
 * served only under `/_local/ops/` (a path no AWS client uses):
 *
 * | Route | Does |
 * | --- | --- |
 * | `GET /_local/ops/stats` | DynamoDB requests by table and operation, Lambda invocations and cold starts by function, environments and their OS thread ids (Linux), the stack process's memory (RSS now and peak) and CPU time |
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
import { readJsonObject, sendJson, type JsonBodyErrors } from './http';
import { Router, type Route } from './routes';
import type { DynamoDbOutage, DynamoDbService, DynamoDbStats } from './dynamodb/service';
import type { LambdaRuntime } from './lambda/runtime';
import type { EnvironmentCounts, FunctionCounters, FunctionSpec, KillWhich, PrewarmResult } from './lambda/types';
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
    /**
     * The operating system's thread ids of each function's live environments (Linux only),
     * whose CPU time `/proc/<pid>/task/<tid>/stat` gives.
     */
    threadIds: Record<string, number[]>;
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
      lambda: { functions: runtime.counters(), environments: runtime.stats(), faults: lambdaFaults.pending(), threadIds: runtime.threadIds() },
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

/** A hook's refusal of a request: its status and message. */
class OpsRequestError extends Error {
  /**
   * @param status HTTP status
   * @param message what is wrong
   */
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const BODY_ERRORS: JsonBodyErrors = {
  tooLarge: (limit) => new OpsRequestError(413, `the body must be at most ${limit} bytes`),
  notAnObject: () => new OpsRequestError(400, 'the body must be a JSON object'),
};

/** Reads a hook's small JSON body (an empty one is `{}`). */
function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  return readJsonObject(req, 64 * 1024, BODY_ERRORS);
}

const FUNCTION = '/_local/ops/lambda/{FunctionName}';

/** The hooks' routes, by the names of the hooks. */
const OPS_ROUTES = [
  { method: 'GET', path: '/_local/ops/stats', operation: 'Stats' },
  { method: 'POST', path: `${FUNCTION}/kill`, operation: 'KillEnvironments' },
  { method: 'POST', path: `${FUNCTION}/warm`, operation: 'Prewarm' },
  { method: 'POST', path: `${FUNCTION}/faults`, operation: 'LambdaFaults' },
  { method: 'POST', path: '/_local/ops/dynamodb/faults', operation: 'DynamoDbFaults' },
  { method: 'POST', path: '/_local/ops/dynamodb/stop', operation: 'StopDynamoDb' },
  { method: 'POST', path: '/_local/ops/dynamodb/start', operation: 'StartDynamoDb' },
  { method: 'POST', path: '/_local/ops/mark', operation: 'Mark' },
] as const satisfies ReadonlyArray<Route<string>>;

type OpsOperation = (typeof OPS_ROUTES)[number]['operation'];

const router = new Router<OpsOperation>(OPS_ROUTES);

/** What one hook answers: status and JSON body. */
interface OpsAnswer {
  status: number;
  body: unknown;
}

type OpsHandler = (ops: StackOps, log: (line: string) => void, req: IncomingMessage, url: URL, params: Record<string, string>) => Promise<OpsAnswer> | OpsAnswer;

function functionName(params: Record<string, string>): string {
  const name = params['FunctionName'] ?? '';
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw new OpsRequestError(400, `not a function name: ${name}`);
  return name;
}

const HOOKS: Record<OpsOperation, OpsHandler> = {
  Stats: (ops) => ({ status: 200, body: ops.stats() }),
  KillEnvironments: (ops, _log, _req, url, params) => {
    const which = url.searchParams.get('which') ?? 'busy';
    if (which !== 'busy' && which !== 'idle' && which !== 'all') throw new OpsRequestError(400, 'which must be busy, idle or all');
    return { status: 200, body: { killed: ops.killEnvironments(functionName(params), which) } };
  },
  Prewarm: async (ops, log, _req, url, params) => {
    const name = functionName(params);
    const result = await ops.prewarm(name, Number(url.searchParams.get('count') ?? ''));
    log(`[ops] ${name}: ${result.started} environments started ahead of traffic${result.failed ? `, ${result.failed} failed (${result.firstError ?? ''})` : ''}`);
    return { status: result.failed ? 500 : 200, body: result };
  },
  LambdaFaults: async (ops, log, req, _url, params) => {
    const name = functionName(params);
    const spec = parseLambdaFault(await jsonBody(req));
    ops.lambdaFault(name, spec);
    log(`[ops] ${name}: Invoke faults ${spec === 'clear' ? 'cleared' : JSON.stringify(spec)}`);
    return { status: 200, body: { faults: ops.stats().lambda.faults[name] ?? { hang: false, dropAfterAccept: 0, held: 0 } } };
  },
  DynamoDbFaults: async (ops, log, req) => {
    const fault = parseDynamoDbFault(await jsonBody(req));
    ops.dynamoDbFault(fault);
    log(`[ops] DynamoDB faults ${fault === 'clear' ? 'cleared' : JSON.stringify(fault)}`);
    return { status: 200, body: ops.stats().dynamodb };
  },
  StopDynamoDb: async (ops, log, req) => {
    const body = await jsonBody(req);
    const mode = body['mode'] ?? 'reset';
    const tables = body['tables'] ?? [];
    if ((mode !== 'reset' && mode !== 'unavailable' && mode !== 'hang') || !Array.isArray(tables) || !tables.every((t) => typeof t === 'string')) {
      throw new OpsRequestError(400, 'expected {"mode": "reset"|"unavailable"|"hang", "tables": ["name", ...]}');
    }
    ops.stopDynamoDb({ mode, tables: tables as string[] });
    log(`[ops] DynamoDB stopped (${mode}${tables.length ? `, tables ${tables.join(', ')}` : ''})`);
    return { status: 200, body: ops.stats().dynamodb };
  },
  StartDynamoDb: async (ops, log, req) => {
    const tables = (await jsonBody(req))['tables'];
    if (tables !== undefined && (!Array.isArray(tables) || !tables.every((t) => typeof t === 'string'))) {
      throw new OpsRequestError(400, 'expected {"tables": ["name", ...]}');
    }
    ops.startDynamoDb(tables as string[] | undefined);
    log(`[ops] DynamoDB started${Array.isArray(tables) && tables.length ? ` (tables ${tables.join(', ')})` : ''}`);
    return { status: 200, body: ops.stats().dynamodb };
  },
  Mark: (_ops, log, _req, url) => {
    const text = url.searchParams.get('text') ?? '';
    log(`[ops] mark ${text}`);
    return { status: 200, body: { marked: text } };
  },
};

/** The status of a hook's refusal, or undefined for an error of the stack itself. */
function refusalStatus(error: unknown): number | undefined {
  if (error instanceof OpsRequestError) return error.status;
  if (error instanceof UnknownFunctionError) return 404;
  if (error instanceof FaultSpecError || error instanceof RangeError) return 400;
  return undefined;
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
  const method = req.method ?? 'GET';
  const route = router.match(method, url.pathname);
  if (!route) {
    sendJson(res, 404, { message: `No ops hook at ${method} ${url.pathname}` });
    return;
  }
  try {
    const answer = await HOOKS[route.operation](ops, log, req, url, route.params);
    sendJson(res, answer.status, answer.body);
  } catch (error) {
    const status = refusalStatus(error);
    if (status === undefined) throw error;
    sendJson(res, status, { message: (error as Error).message });
  }
}
