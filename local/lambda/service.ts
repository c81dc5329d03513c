/**
 * The Lambda service of the local stack: finds the operation a request
 * names (its route), dispatches it to the provider or to Invoke, renders
 * every error in Lambda's shape, and owns the function store, the runtime
 * and the async queue.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventEmitter } from 'node:events';
import { AwsError } from '../errors';
import { regionOf, send, sendOperationAnswer } from '../http';
import { Router } from '../routes';
import { internalError, sendLambdaError, unknownOperation } from './errors';
import { LAMBDA_ROUTES, LambdaProvider, type LambdaOperation } from './provider';
import { LambdaRuntime } from './runtime';
import { FunctionStore } from './store';
import type { InvocationResult, ResponseSink } from './types';
import { AsyncQueue } from './async-queue';
import { handleInvoke, handleInvokeWithResponseStream, invokeSync } from './invoke';
import type { InvokeDeps } from './invoke';
import { parseFunctionRef } from './functions';
import { LambdaFaults } from '../faults';
import { evaluateResourcePolicy } from '../iam/evaluate';

/** Options of the Lambda service. */
export interface LambdaServiceOptions {
  /** Where code is unpacked. */
  codeRoot: string;
  /** The worker entry file. */
  workerScript: string;
  /** Region when a request names none. */
  defaultRegion: string;
  /** The stack's URL (AWS_ENDPOINT_URL of functions). */
  baseUrl: () => string;
  /** Global concurrency limit. */
  maxConcurrency: number;
  /** Idle environments are stopped after this. */
  idleTimeoutMs: number;
  /** Scale of async retry timing. */
  retryScale: number;
  /** Console line writer. */
  log: (line: string) => void;
  /** The stack's event emitter. */
  events: EventEmitter;
  /** How long a creation stays Pending and an update InProgress (ms; 0: at once). */
  stateDelayMs: number;
  /** The credentials of a session of an execution role, for the function's environments. */
  credentialsFor?: (roleArn: string, functionName: string) => { accessKeyId: string; secretAccessKey: string; sessionToken: string };
  /** Reads code given as `Code.S3Bucket`/`S3Key` from the stack's S3 (throws S3's AwsError when it is not there). */
  readS3Object?: (bucket: string, key: string) => Uint8Array;
  /** Checks an Invoke against the caller's role; returns AccessDeniedException's message when refused. */
  authorize?: (accessKeyId: string | undefined, action: string, resource: string) => string | undefined;
}

/** Path prefixes (first segment) that belong to Lambda. */
export const LAMBDA_VERSIONS: ReadonlySet<string> = new Set(LAMBDA_ROUTES.map((route) => route.path.split('/')[1] ?? ''));

const router = new Router<LambdaOperation>(LAMBDA_ROUTES);

/** The Lambda service. */
export class LambdaService {
  /** The functions. */
  readonly functions = new FunctionStore();
  /** The control-plane operations. */
  readonly provider: LambdaProvider;
  /** Execution environments. */
  readonly runtime: LambdaRuntime;
  /** Async invocations. */
  readonly queue: AsyncQueue;
  /** Test/ops hook: faults of the Invoke API, by function. */
  readonly faults = new LambdaFaults();
  private readonly deps: InvokeDeps;

  /** @param options service options */
  constructor(private readonly options: LambdaServiceOptions) {
    this.runtime = new LambdaRuntime({
      workerScript: options.workerScript,
      maxConcurrency: options.maxConcurrency,
      idleTimeoutMs: options.idleTimeoutMs,
      endpointUrl: options.baseUrl,
      log: options.log,
    });
    this.provider = new LambdaProvider(this.functions, {
      codeRoot: options.codeRoot,
      baseUrl: options.baseUrl,
      maxConcurrency: options.maxConcurrency,
      onChange: (name) => this.runtime.discard(name),
      stateDelayMs: options.stateDelayMs,
      onSettled: (functionName) => options.events.emit('function-settled', { functionName }),
      ...(options.credentialsFor && { credentialsFor: options.credentialsFor }),
      ...(options.readS3Object && { readS3Object: options.readS3Object }),
    });
    this.queue = new AsyncQueue({
      runtime: this.runtime,
      events: options.events,
      log: options.log,
      retryScale: options.retryScale,
      lookup: (name) => {
        const spec = this.functions.specOf(name);
        const config = this.functions.get(name)?.eventInvokeConfig;
        if (!spec) return undefined;
        return { spec, ...(config ? { eventInvokeConfig: config } : {}) };
      },
    });
    this.deps = {
      functions: this.functions, runtime: this.runtime, queue: this.queue, events: options.events, faults: this.faults,
      ...(options.authorize && { authorize: options.authorize }),
    };
  }

  /**
   * Answers one Lambda API request; every error becomes Lambda's error shape.
   * @param req the request
   * @param res the response
   */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const method = req.method ?? 'GET';
      const route = router.match(method, url.pathname);
      if (!route) throw unknownOperation(method, url.pathname);
      const region = regionOf(req, this.options.defaultRegion);
      const qualifier = url.searchParams.get('Qualifier') ?? undefined;
      if (route.operation === 'Invoke') {
        await handleInvoke(this.deps, req, res, route.params['FunctionName'] ?? '', qualifier, region);
        return;
      }
      if (route.operation === 'InvokeWithResponseStream') {
        await handleInvokeWithResponseStream(this.deps, req, res, route.params['FunctionName'] ?? '', qualifier, region);
        return;
      }
      const answer = await this.provider.dispatch(route.operation, { req, params: route.params, query: url.searchParams, region });
      sendOperationAnswer(res, answer);
    } catch (err) {
      if (err instanceof AwsError) sendLambdaError(res, err);
      else {
        this.options.log(`[lambda] internal error: ${err instanceof Error ? err.stack : String(err)}`);
        sendLambdaError(res, internalError());
      }
    }
  }

  /**
   * Serves a function's zip (GetFunction's Code.Location).
   * @param name function name
   * @param res the response
   */
  serveCode(name: string, res: ServerResponse): void {
    const fn = this.functions.get(name);
    if (!fn) send(res, 404, { 'Content-Type': 'text/plain' }, 'Not Found');
    else send(res, 200, { 'Content-Type': 'application/zip' }, Buffer.from(fn.zip));
  }

  /**
   * Invokes a function synchronously (API Gateway's integration). Throws
   * AwsError when the function does not exist or is throttled.
   * @param ref name or ARN
   * @param payload event JSON text
   */
  invoke(ref: string, payload: string): Promise<InvocationResult> {
    const parsed = parseFunctionRef(ref);
    return invokeSync(this.deps, parsed.name, parsed.qualifier, this.options.defaultRegion, payload);
  }

  /**
   * Invokes a function with its response streamed to `sink` as it is written (API Gateway's
   * streaming integration, InvokeWithResponseStream). Throws AwsError when the function does not
   * exist or is throttled.
   * @param ref name or ARN
   * @param payload event JSON text
   * @param sink receives the content type and each piece of the response
   */
  invokeStreaming(ref: string, payload: string, sink: ResponseSink): Promise<InvocationResult> {
    const parsed = parseFunctionRef(ref);
    return invokeSync(this.deps, parsed.name, parsed.qualifier, this.options.defaultRegion, payload, { sink });
  }

  /**
   * Whether a function's resource policy lets a service principal invoke it (API Gateway's
   * integrations): undefined when it does, else why not.
   * @param ref name or ARN
   * @param call the service, and the ARN and account it calls from
   */
  refusesServiceInvoke(ref: string, call: { service: string; sourceArn: string; sourceAccount: string }): string | undefined {
    const parsed = parseFunctionRef(ref);
    const fn = this.functions.get(parsed.name);
    if (!fn) return undefined;
    const decision = evaluateResourcePolicy(fn.policy, { ...call, action: 'lambda:InvokeFunction', resource: fn.config.FunctionArn });
    if (decision === 'allowed') return undefined;
    return `the resource policy of ${fn.config.FunctionArn} does not allow ${call.service} to invoke it from ${call.sourceArn} (lambda add-permission with --principal ${call.service} and a matching --source-arn)`;
  }

  /**
   * The ARN of the function a name or ARN refers to, undefined when there is none.
   * @param ref name or ARN
   */
  functionArnOf(ref: string): string | undefined {
    return this.functions.get(parseFunctionRef(ref).name)?.config.FunctionArn;
  }

  /** Stops the queue, the pending creation and update timers, and every environment. */
  async stop(): Promise<void> {
    this.provider.stop();
    this.faults.stop();
    this.queue.stop();
    await this.runtime.stop();
  }
}
