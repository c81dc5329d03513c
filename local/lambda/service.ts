/**
 * The Lambda service of the local stack: routes Lambda API requests to the
 * control plane or to Invoke, and owns the runtime and the async queue.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventEmitter } from 'node:events';
import { AwsError } from '../errors';
import { decodePart, regionOf, send } from '../http';
import { LambdaControlPlane, sendLambdaError } from './control-plane';
import { LambdaRuntime } from './runtime';
import type { InvocationResult } from './runtime';
import { AsyncQueue } from './async-queue';
import { handleInvoke, invokeSync } from './invoke';
import type { InvokeDeps } from './invoke';
import { parseFunctionRef } from './functions';
import { LambdaFaults } from '../faults';

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
}

/** Path prefixes (first segment) that belong to Lambda. */
export const LAMBDA_VERSIONS = new Set(['2015-03-31', '2016-08-19', '2017-03-31', '2017-10-31', '2019-09-25', '2019-09-30']);

/** The Lambda service. */
export class LambdaService {
  /** Function registry and control plane. */
  readonly controlPlane: LambdaControlPlane;
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
    this.controlPlane = new LambdaControlPlane({
      codeRoot: options.codeRoot,
      defaultRegion: options.defaultRegion,
      baseUrl: options.baseUrl,
      maxConcurrency: options.maxConcurrency,
      onChange: (name) => this.runtime.discard(name),
    });
    this.queue = new AsyncQueue({
      runtime: this.runtime,
      events: options.events,
      log: options.log,
      retryScale: options.retryScale,
      lookup: (name) => {
        const fn = this.controlPlane.functions.get(name);
        if (!fn) return undefined;
        return { spec: this.controlPlane.spec(fn), ...(fn.eventInvokeConfig ? { eventInvokeConfig: fn.eventInvokeConfig } : {}) };
      },
    });
    this.deps = { controlPlane: this.controlPlane, runtime: this.runtime, queue: this.queue, events: options.events, faults: this.faults };
  }

  /**
   * Answers one Lambda API request; every error becomes Lambda's error shape.
   * @param req the request
   * @param res the response
   */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const segments = url.pathname.split('/').filter(Boolean);
      const [version, ...rest] = segments;
      const region = regionOf(req, this.options.defaultRegion);
      if (version === '2015-03-31' && rest[0] === 'functions' && rest[2] === 'invocations' && req.method === 'POST') {
        await handleInvoke(this.deps, req, res, decodePart(rest[1] ?? ''), url.searchParams.get('Qualifier') ?? undefined, region);
        return;
      }
      if (version && LAMBDA_VERSIONS.has(version) && (await this.controlPlane.handle(req, res, version, rest))) return;
      throw new AwsError(404, 'UnknownOperationException', `Unknown operation ${req.method} ${url.pathname}`);
    } catch (err) {
      if (err instanceof AwsError) sendLambdaError(res, err);
      else {
        this.options.log(`[lambda] internal error: ${err instanceof Error ? err.stack : String(err)}`);
        sendLambdaError(res, new AwsError(500, 'ServiceException', 'An internal error occurred in the local stack.'));
      }
    }
  }

  /**
   * Serves a function's zip (GetFunction's Code.Location).
   * @param name function name
   * @param res the response
   */
  serveCode(name: string, res: ServerResponse): void {
    const fn = this.controlPlane.functions.get(name);
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

  /** Stops the queue and every environment. */
  async stop(): Promise<void> {
    this.faults.stop();
    this.queue.stop();
    await this.runtime.stop();
  }
}
