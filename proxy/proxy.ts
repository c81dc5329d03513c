/**
 * The Proxy: gives each new request a task and a Talker, waits for the outcome inside API
 * Gateway's window, and answers with Main's response, an error, or a continuation.
 *
 * This module is the entry: it reads the event and dispatches to the step that answers it
 * (`new-request.ts`, `continuation-request.ts`), which share `answer.ts` (waiting and answering an
 * outcome), `deadline.ts` (when the answer is due) and `runtime.ts` (the parts). The logic takes
 * its store, invoker, clock and logger as arguments, so tests drive it with real parts
 * (dynalite, in-process functions) and no monkey-patching.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../core/clock';
import { describeLinkProtection, loadProxyConfig, type ProxyConfig } from '../core/config';
import { readContinuation } from '../core/continuation';
import { DynamoTaskStore } from '../core/dynamodb-task-store';
import { acceptsHtml, headerValue, readRequest, type IncomingRequest } from '../core/events';
import { LambdaInvoker, type FunctionInvoker } from '../core/invoker';
import { newLinkToken } from '../core/secrets';
import { createLogger, type KitLogger } from '../core/logger';
import { readPreferences } from '../core/prefer';
import { preflight, proxyError, type ProxyResponse } from '../core/responses';
import type { TaskStore } from '../core/task-store';
import type { ApiGatewayEvent } from '../core/types';
import { answerContinuation } from './continuation-request';
import { deadlineOf, type InvocationContext } from './deadline';
import { answerNewRequest } from './new-request';
import { answerStyle, type Answer, type MainPayload, type ProxyCall, type ProxyRuntime } from './runtime';

export type { InvocationContext } from './deadline';
export type { MainPayload } from './runtime';

/** What the Proxy runs on. */
export interface ProxyDependencies {
  /** The validated configuration. */
  config: ProxyConfig;
  /** The task table. */
  store: TaskStore;
  /** Starts the Talker. */
  invoker: FunctionInvoker;
  /** Time; the system clock by default. */
  clock?: Clock;
  /** Logs; JSON lines by default. */
  logger?: KitLogger;
  /** Makes RequestIDs; `crypto.randomUUID` by default. */
  newRequestId?: () => string;
  /** Makes link tokens; 32 random bytes by default. */
  newToken?: () => string;
}

/**
 * What the Proxy's handler returns: its own response (a 303, 202, page or error, valid in both
 * payload formats), or Main's payload exactly as Main returned it.
 */
export type ProxyResult = ProxyResponse | MainPayload;

/** A Proxy handler: takes an API Gateway event, returns Main's response or the Proxy's own. */
export type ProxyHandler = (event: ApiGatewayEvent, context: InvocationContext) => Promise<ProxyResult>;

function render(answer: Answer): ProxyResult {
  return 'own' in answer ? answer.own : answer.main;
}

/**
 * Builds the Proxy from its parts.
 *
 * @param deps - configuration, store, invoker, clock, logger
 * @returns the handler function
 */
export function createProxy(deps: ProxyDependencies): ProxyHandler {
  const rt: ProxyRuntime = {
    config: deps.config,
    store: deps.store,
    invoker: deps.invoker,
    clock: deps.clock ?? systemClock,
    logger: deps.logger ?? createLogger('proxy'),
    newRequestId: deps.newRequestId ?? randomUUID,
    newToken: deps.newToken ?? newLinkToken,
  };
  rt.logger.info(describeLinkProtection(rt.config));
  const { config, logger } = rt;

  return async function proxyHandler(event, context) {
    let request: IncomingRequest | undefined;
    let call: ProxyCall | undefined;
    try {
      request = readRequest(event);
      if (config.corsAllowOrigin !== undefined && request.method === 'OPTIONS' && headerValue(request, 'access-control-request-method')) {
        return preflight(config.corsAllowOrigin);
      }
      call = { request, prefs: readPreferences(request), deadline: deadlineOf(request, context, config, rt.clock), html: acceptsHtml(request) };
      const parsed = readContinuation(request, config.resultsPath);
      if (parsed.kind === 'malformed') return proxyError('BAD_REQUEST', answerStyle(rt, call), { message: `Malformed continuation: ${parsed.reason}.` });
      const answer = parsed.kind === 'continuation' ? await answerContinuation(rt, call, parsed.continuation) : await answerNewRequest(rt, call, event);
      return render(answer);
    } catch (error) {
      logger.error('unexpected error', { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error), stack: error instanceof Error ? error.stack : undefined });
      return proxyError('INTERNAL_ERROR', call ? answerStyle(rt, call) : { html: request ? acceptsHtml(request) : false });
    }
  };
}

/** Options of {@link createProxyHandler}: anything not given is built from the environment. */
export type ProxyHandlerOptions = Partial<ProxyDependencies>;

/** The HTTP settings of an SDK client. */
export interface RequestHandlerSettings {
  /** Milliseconds to open a connection. */
  connectionTimeout: number;
  /** Milliseconds for one attempt's answer. */
  requestTimeout: number;
  /** Fail the attempt when `requestTimeout` passes (the SDK only logs a warning otherwise). */
  throwOnRequestTimeout: boolean;
}

/** The settings of one SDK client. */
export interface SdkClientSettings {
  /** Attempts per call, the first included. */
  maxAttempts: number;
  /** Its HTTP settings. */
  requestHandler: RequestHandlerSettings;
}

/** The settings of the Proxy's two SDK clients. */
export interface ProxyClientSettings {
  /** The task table's client. */
  dynamodb: SdkClientSettings;
  /** The client that invokes the Talker. */
  lambda: SdkClientSettings;
}

/**
 * How the Proxy's own clients talk to DynamoDB and Lambda: few attempts, and timeouts that throw
 * (the SDK only warns about a slow request unless `throwOnRequestTimeout` is set), so that a hung
 * endpoint costs a retry, not the window. Every call is bounded by the answer's deadline besides,
 * and a DynamoDB write or the Talker's invoke gets half the time left for its attempt
 * (`Deadline.storeCall`, `Deadline.dispatchCall`): a slow but working service (seconds under
 * load) is waited for, a hung connection is retried.
 */
export const PROXY_CLIENT_SETTINGS: Readonly<ProxyClientSettings> = {
  dynamodb: { maxAttempts: 2, requestHandler: { connectionTimeout: 1000, requestTimeout: 10_000, throwOnRequestTimeout: true } },
  lambda: { maxAttempts: 2, requestHandler: { connectionTimeout: 1000, requestTimeout: 10_000, throwOnRequestTimeout: true } },
};

/**
 * Builds the Lambda handler of the Proxy. Reads and validates the environment at cold start
 * (a bad value fails the init with a message naming the variable), and logs how its links are
 * protected.
 *
 * @param options - parts to use instead of the defaults
 * @example
 * ```ts
 * // proxy/index.ts
 * export const handler = createProxyHandler();
 * ```
 */
export function createProxyHandler(options: ProxyHandlerOptions = {}): ProxyHandler {
  const config = options.config ?? loadProxyConfig();
  const store = options.store ?? new DynamoTaskStore({ tableName: config.tableName, clientConfig: { ...PROXY_CLIENT_SETTINGS.dynamodb, requestHandler: { ...PROXY_CLIENT_SETTINGS.dynamodb.requestHandler } } });
  const invoker = options.invoker ?? new LambdaInvoker({ ...PROXY_CLIENT_SETTINGS.lambda, requestHandler: { ...PROXY_CLIENT_SETTINGS.lambda.requestHandler } });
  return createProxy({ ...options, config, store, invoker });
}
