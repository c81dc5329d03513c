/**
 * The HTTP API service of the local stack (apigatewayv2): its control plane under `/v2/`
 * (finds the operation a request names and dispatches it to the provider, errors in API
 * Gateway's shape) and its invoke URLs (`invoke.ts`), over one store.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AwsError } from '../errors';
import { regionOf, sendOperationAnswer } from '../http';
import { Router } from '../routes';
import { sendApiGatewayError, unknownOperation } from '../apigateway/errors';
import type { ExecuteTarget } from '../apigateway/invoke';
import type { InvocationResult } from '../lambda/types';
import { handleHttpApiExecute } from './invoke';
import { HttpApiStore } from './model';
import { API_GATEWAY_V2_ROUTES, ApiGatewayV2Provider, type ApiGatewayV2Operation } from './provider';

/** The first path segment of every HTTP API control-plane operation. */
export const API_GATEWAY_V2_PREFIX = 'v2';

const router = new Router<ApiGatewayV2Operation>(API_GATEWAY_V2_ROUTES);

/** Options of the HTTP API service. */
export interface ApiGatewayV2ServiceOptions {
  /** Region when a request names none. */
  defaultRegion: string;
  /** The stack's integration-timeout setting (ms): below 29000 it scales every integration down to it. */
  integrationTimeoutMs: number;
  /** The stack's base URL, for the APIs' `apiEndpoint` (read when an API is rendered). */
  endpoint: () => string;
  /** Invokes a Lambda function synchronously by name or ARN (the AWS_PROXY integration). */
  invokeLambda: (ref: string, payload: string) => Promise<InvocationResult>;
  /** Console line writer (the access log of invoke URLs). */
  log: (line: string) => void;
  /** Whether a function's resource policy refuses this API's call (`API/STAGE/METHOD/PATH` of the matched route key); undefined when allowed. */
  refusesInvoke?: (ref: string, sourceArn: string, credentials?: string) => string | undefined;
}

/** The HTTP API service. */
export class ApiGatewayV2Service {
  /** The HTTP APIs. */
  readonly store = new HttpApiStore();
  /** The control-plane operations. */
  readonly provider: ApiGatewayV2Provider;

  /** @param options region, timeout scale, endpoint, the Lambda invoke and the log */
  constructor(private readonly options: ApiGatewayV2ServiceOptions) {
    this.provider = new ApiGatewayV2Provider(this.store, { endpoint: options.endpoint });
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
   * Whether an invoke URL names one of these HTTP APIs (otherwise it is a REST API's).
   * @param target where the invoke URL points
   */
  serves(target: ExecuteTarget): boolean {
    return this.store.apis.has(target.apiId);
  }

  /**
   * Answers a request to an HTTP API's invoke URL.
   * @param req the request
   * @param res the response
   * @param target the API and the path after its id
   */
  execute(req: IncomingMessage, res: ServerResponse, target: ExecuteTarget): Promise<void> {
    return handleHttpApiExecute({
      store: this.store,
      invokeLambda: this.options.invokeLambda,
      integrationTimeoutMs: this.options.integrationTimeoutMs,
      log: this.options.log,
      ...(this.options.refusesInvoke && { refusesInvoke: this.options.refusesInvoke }),
    }, req, res, target);
  }
}
