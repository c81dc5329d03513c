/**
 * The API Gateway service of the local stack: its control plane (finds the
 * operation a request names and dispatches it to the provider, errors in
 * API Gateway's shape) and its invoke URLs (`invoke.ts`), over one store.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AwsError } from '../errors';
import { regionOf, sendOperationAnswer } from '../http';
import { Router } from '../routes';
import type { InvocationResult, ResponseSink } from '../lambda/types';
import { sendApiGatewayError, unknownOperation } from './errors';
import { DEFAULT_INTEGRATION_TIMEOUT_MS, handleExecute, type ExecuteTarget } from './invoke';
import { ApiGatewayStore } from './model';
import { API_GATEWAY_ROUTES, ApiGatewayProvider, type ApiGatewayOperation } from './provider';

/** Path prefixes (first segment) of API Gateway's control plane. */
export const API_GATEWAY_PREFIXES: ReadonlySet<string> = new Set(API_GATEWAY_ROUTES.map((route) => route.path.split('/')[1] ?? ''));

const router = new Router<ApiGatewayOperation>(API_GATEWAY_ROUTES);

/** Options of the API Gateway service. */
export interface ApiGatewayServiceOptions {
  /** Region when a request names none. */
  defaultRegion: string;
  /**
   * The account's integration-timeout quota for buffered integrations (ms, 29000 unless raised):
   * above 29000, buffered integrations may ask for up to this; below it, every buffered
   * integration is scaled down to it (none waits longer), while PutIntegration still accepts
   * what AWS accepts.
   */
  integrationTimeoutMs: number;
  /** How long a streamed response may stay silent before API Gateway ends it (ms). */
  streamIdleTimeoutMs: number;
  /** Invokes a Lambda function synchronously by name or ARN (the AWS_PROXY integration). */
  invokeLambda: (ref: string, payload: string) => Promise<InvocationResult>;
  /** Invokes a Lambda function with its response streamed (a STREAM integration). */
  invokeLambdaStreaming: (ref: string, payload: string, sink: ResponseSink) => Promise<InvocationResult>;
  /** Console line writer (the access log of invoke URLs). */
  log: (line: string) => void;
  /** Whether a function's resource policy refuses this API's call (`API/STAGE/HTTPMETHOD/RESOURCEPATH` of the matched method resource); undefined when allowed. */
  refusesInvoke?: (ref: string, sourceArn: string, credentials?: string) => string | undefined;
}

/** The API Gateway service. */
export class ApiGatewayService {
  /** APIs, keys and usage plans. */
  readonly store = new ApiGatewayStore();
  /** The control-plane operations. */
  readonly provider: ApiGatewayProvider;

  /** @param options region, integration timeouts, the Lambda invokes and the log */
  constructor(private readonly options: ApiGatewayServiceOptions) {
    // AWS's quota is 29 s unless raised: a stack scaled below it still accepts what AWS accepts.
    this.provider = new ApiGatewayProvider(this.store, { bufferedTimeoutQuotaMs: Math.max(DEFAULT_INTEGRATION_TIMEOUT_MS, options.integrationTimeoutMs) });
  }

  /**
   * Answers one control-plane request; every error becomes API Gateway's shape.
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
      const answer = await this.provider.dispatch(route.operation, { req, params: route.params, query: url.searchParams, region });
      sendOperationAnswer(res, answer);
    } catch (err) {
      if (err instanceof AwsError) sendApiGatewayError(res, err);
      else throw err;
    }
  }

  /**
   * Answers a request to an invoke URL.
   * @param req the request
   * @param res the response
   * @param target the API, stage and path it names
   */
  execute(req: IncomingMessage, res: ServerResponse, target: ExecuteTarget): Promise<void> {
    return handleExecute({
      store: this.store,
      invokeLambda: this.options.invokeLambda,
      invokeLambdaStreaming: this.options.invokeLambdaStreaming,
      integrationTimeoutMs: this.options.integrationTimeoutMs,
      streamIdleTimeoutMs: this.options.streamIdleTimeoutMs,
      log: this.options.log,
      ...(this.options.refusesInvoke && { refusesInvoke: this.options.refusesInvoke }),
    }, req, res, target);
  }
}
