/**
 * API Gateway's REST control-plane operations (`/restapis`, `/apikeys`,
 * `/usageplans`, `/tags`): what a deploy script calls to build a REST API
 * with AWS_PROXY integrations, deployments, stages, API keys and usage
 * plans. One method per AWS operation, reached by the operation's name from
 * the route table; the data lives in the {@link ApiGatewayStore}.
 */
import type { IncomingMessage } from 'node:http';
import { randomBytes } from 'node:crypto';
import { readJsonObject, type JsonBodyErrors } from '../http';
import type { Route } from '../routes';
import { badRequest, conflict, notFound, requestTooLarge } from './errors';
import { newId, nowSeconds } from './model';
import type { ApiGatewayStore, ApiKey, Deployment, Integration, Method, Resource, RestApi, Stage, UsagePlan } from './model';

type Json = Record<string, unknown>;

const PATH_PART = /^([a-zA-Z0-9._\-:~@!$&'()*,;=]+|\{[a-zA-Z0-9._-]+\+?\})$/;
const HTTP_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'ANY']);
/** A Lambda proxy integration's URI: Invoke (buffered) or InvokeWithResponseStream (STREAM). */
const LAMBDA_URI = /^arn:aws[a-zA-Z-]*:apigateway:[a-z0-9-]+:lambda:path\/(?:2015-03-31\/functions\/(.+)\/invocations|2021-11-15\/functions\/(.+)\/response-streaming-invocations)$/;
const STREAMING_URI = /:lambda:path\/2021-11-15\/functions\/.+\/response-streaming-invocations$/;

/** The transfer modes of an integration. */
export const RESPONSE_TRANSFER_MODES = ['BUFFERED', 'STREAM'] as const;
/** The longest timeout of a streaming integration (15 minutes). */
export const MAX_STREAM_INTEGRATION_TIMEOUT_MS = 900_000;

/** Options of the provider. */
export interface ApiGatewayProviderOptions {
  /**
   * The longest `timeoutInMillis` a buffered integration may ask for: the account's quota, 29 s
   * unless raised (Regional and private REST APIs, by a quota increase).
   */
  bufferedTimeoutQuotaMs: number;
}

/**
 * Checks an integration's transfer mode, URI and timeout together, as PutIntegration and
 * UpdateIntegration do: a STREAM Lambda integration calls InvokeWithResponseStream and may wait
 * up to 15 minutes; a buffered one calls Invoke and may wait up to the account's quota.
 */
function checkIntegration(integration: Integration, quotaMs: number): void {
  const mode = integration.responseTransferMode ?? 'BUFFERED';
  if (typeof mode !== 'string' || !(RESPONSE_TRANSFER_MODES as readonly string[]).includes(mode)) {
    throw badRequest(`Invalid value '${String(mode)}' for responseTransferMode: it must be one of ${RESPONSE_TRANSFER_MODES.join(', ')}`);
  }
  if (mode === 'STREAM' && !['AWS_PROXY', 'HTTP_PROXY'].includes(integration.type)) {
    throw badRequest(`Integrations of type '${integration.type}' do not support responseTransferMode STREAM`);
  }
  if (integration.type === 'AWS_PROXY') {
    const streamingUri = STREAMING_URI.test(String(integration.uri));
    // The streaming URI and STREAM go together: each mode calls its own Lambda action.
    if (streamingUri !== (mode === 'STREAM')) {
      throw badRequest(mode === 'STREAM'
        ? 'Invalid Resource identifier specified: a STREAM integration must call .../2021-11-15/functions/<arn>/response-streaming-invocations'
        : 'Invalid Resource identifier specified: .../response-streaming-invocations needs responseTransferMode STREAM');
    }
  }
  const timeout = integration.timeoutInMillis;
  const max = mode === 'STREAM' ? MAX_STREAM_INTEGRATION_TIMEOUT_MS : quotaMs;
  if (timeout !== undefined && (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 50 || timeout > max)) {
    throw badRequest(`Timeout should be between 50 ms and ${max} ms`);
  }
}
const MAX_JSON_REQUEST = 6 * 1024 * 1024;

const RESOURCE = '/restapis/{restapi_id}/resources/{resource_id}';
const METHOD = `${RESOURCE}/methods/{http_method}`;

/** Every control-plane operation the stack serves. */
export const API_GATEWAY_ROUTES = [
  { method: 'POST', path: '/restapis', operation: 'CreateRestApi' },
  { method: 'GET', path: '/restapis', operation: 'GetRestApis' },
  { method: 'GET', path: '/restapis/{restapi_id}', operation: 'GetRestApi' },
  { method: 'PATCH', path: '/restapis/{restapi_id}', operation: 'UpdateRestApi' },
  { method: 'DELETE', path: '/restapis/{restapi_id}', operation: 'DeleteRestApi' },
  { method: 'GET', path: '/restapis/{restapi_id}/resources', operation: 'GetResources' },
  { method: 'GET', path: RESOURCE, operation: 'GetResource' },
  { method: 'POST', path: '/restapis/{restapi_id}/resources/{parent_id}', operation: 'CreateResource' },
  { method: 'DELETE', path: RESOURCE, operation: 'DeleteResource' },
  { method: 'PUT', path: METHOD, operation: 'PutMethod' },
  { method: 'GET', path: METHOD, operation: 'GetMethod' },
  { method: 'PATCH', path: METHOD, operation: 'UpdateMethod' },
  { method: 'DELETE', path: METHOD, operation: 'DeleteMethod' },
  { method: 'PUT', path: `${METHOD}/responses/{status_code}`, operation: 'PutMethodResponse' },
  { method: 'GET', path: `${METHOD}/responses/{status_code}`, operation: 'GetMethodResponse' },
  { method: 'DELETE', path: `${METHOD}/responses/{status_code}`, operation: 'DeleteMethodResponse' },
  { method: 'PUT', path: `${METHOD}/integration`, operation: 'PutIntegration' },
  { method: 'GET', path: `${METHOD}/integration`, operation: 'GetIntegration' },
  { method: 'PATCH', path: `${METHOD}/integration`, operation: 'UpdateIntegration' },
  { method: 'DELETE', path: `${METHOD}/integration`, operation: 'DeleteIntegration' },
  { method: 'PUT', path: `${METHOD}/integration/responses/{status_code}`, operation: 'PutIntegrationResponse' },
  { method: 'GET', path: `${METHOD}/integration/responses/{status_code}`, operation: 'GetIntegrationResponse' },
  { method: 'DELETE', path: `${METHOD}/integration/responses/{status_code}`, operation: 'DeleteIntegrationResponse' },
  { method: 'POST', path: '/restapis/{restapi_id}/deployments', operation: 'CreateDeployment' },
  { method: 'GET', path: '/restapis/{restapi_id}/deployments', operation: 'GetDeployments' },
  { method: 'GET', path: '/restapis/{restapi_id}/deployments/{deployment_id}', operation: 'GetDeployment' },
  { method: 'DELETE', path: '/restapis/{restapi_id}/deployments/{deployment_id}', operation: 'DeleteDeployment' },
  { method: 'POST', path: '/restapis/{restapi_id}/stages', operation: 'CreateStage' },
  { method: 'GET', path: '/restapis/{restapi_id}/stages', operation: 'GetStages' },
  { method: 'GET', path: '/restapis/{restapi_id}/stages/{stage_name}', operation: 'GetStage' },
  { method: 'PATCH', path: '/restapis/{restapi_id}/stages/{stage_name}', operation: 'UpdateStage' },
  { method: 'DELETE', path: '/restapis/{restapi_id}/stages/{stage_name}', operation: 'DeleteStage' },
  { method: 'POST', path: '/apikeys', operation: 'CreateApiKey' },
  { method: 'GET', path: '/apikeys', operation: 'GetApiKeys' },
  { method: 'GET', path: '/apikeys/{api_Key}', operation: 'GetApiKey' },
  { method: 'PATCH', path: '/apikeys/{api_Key}', operation: 'UpdateApiKey' },
  { method: 'DELETE', path: '/apikeys/{api_Key}', operation: 'DeleteApiKey' },
  { method: 'POST', path: '/usageplans', operation: 'CreateUsagePlan' },
  { method: 'GET', path: '/usageplans', operation: 'GetUsagePlans' },
  { method: 'GET', path: '/usageplans/{usageplanId}', operation: 'GetUsagePlan' },
  { method: 'PATCH', path: '/usageplans/{usageplanId}', operation: 'UpdateUsagePlan' },
  { method: 'DELETE', path: '/usageplans/{usageplanId}', operation: 'DeleteUsagePlan' },
  { method: 'POST', path: '/usageplans/{usageplanId}/keys', operation: 'CreateUsagePlanKey' },
  { method: 'GET', path: '/usageplans/{usageplanId}/keys', operation: 'GetUsagePlanKeys' },
  { method: 'GET', path: '/usageplans/{usageplanId}/keys/{keyId}', operation: 'GetUsagePlanKey' },
  { method: 'DELETE', path: '/usageplans/{usageplanId}/keys/{keyId}', operation: 'DeleteUsagePlanKey' },
  { method: 'GET', path: '/tags/{resource_arn+}', operation: 'GetTags' },
  { method: 'PUT', path: '/tags/{resource_arn+}', operation: 'TagResource' },
  { method: 'DELETE', path: '/tags/{resource_arn+}', operation: 'UntagResource' },
] as const satisfies ReadonlyArray<Route<string>>;

/** The name of an API Gateway operation the stack serves. */
export type ApiGatewayOperation = (typeof API_GATEWAY_ROUTES)[number]['operation'];

/** One operation's request: the HTTP request (its body unread), path parameters, query and region. */
export interface ApiGatewayRequest {
  /** The HTTP request. */
  req: IncomingMessage;
  /** Path parameters by the names of the route's template (`restapi_id`, `http_method`, ...). */
  params: Record<string, string>;
  /** The query string. */
  query: URLSearchParams;
  /** The region the request was signed for. */
  region: string;
}

/** One operation's answer: its status and JSON body (none for 202 and 204). */
export interface ApiGatewayAnswer {
  /** HTTP status. */
  status: number;
  /** The JSON body, if any. */
  body?: unknown;
}

const BODY_ERRORS: JsonBodyErrors = {
  tooLarge: () => requestTooLarge(),
  notAnObject: () => badRequest('Invalid JSON in request body'),
};

function readJson(req: IncomingMessage): Promise<Json> {
  return readJsonObject(req, MAX_JSON_REQUEST, BODY_ERRORS);
}

const done = (status: number, body?: unknown): ApiGatewayAnswer => (body === undefined ? { status } : { status, body });

function renderApi(api: RestApi): Json {
  return {
    id: api.id,
    name: api.name,
    ...(api.description !== undefined ? { description: api.description } : {}),
    createdDate: api.createdDate,
    ...(api.binaryMediaTypes.length ? { binaryMediaTypes: api.binaryMediaTypes } : {}),
    apiKeySource: api.apiKeySource,
    endpointConfiguration: api.endpointConfiguration,
    disableExecuteApiEndpoint: false,
    rootResourceId: api.rootResourceId,
    ...(Object.keys(api.tags).length ? { tags: api.tags } : {}),
  };
}

function renderResource(r: Resource, embedMethods: boolean): Json {
  const methods = Object.keys(r.resourceMethods);
  return {
    id: r.id,
    ...(r.parentId !== undefined ? { parentId: r.parentId } : {}),
    ...(r.pathPart !== undefined ? { pathPart: r.pathPart } : {}),
    path: r.path,
    ...(methods.length
      ? { resourceMethods: Object.fromEntries(methods.map((m) => [m, embedMethods ? r.resourceMethods[m] : {}])) }
      : {}),
  };
}

function renderStage(s: Stage): Json {
  return { methodSettings: {}, tracingEnabled: false, cacheClusterEnabled: false, ...s };
}

function renderDeployment(d: Deployment): Json {
  return { id: d.id, ...(d.description !== undefined ? { description: d.description } : {}), createdDate: d.createdDate };
}

function renderKey(k: ApiKey, withValue: boolean): Json {
  const { value, ...rest } = k;
  return { ...rest, ...(withValue ? { value } : {}) };
}

function renderPlan(p: UsagePlan): Json {
  const { keyIds: _keyIds, ...rest } = p;
  return rest;
}

/** Applies JSON-patch-like `patchOperations` to simple fields. */
function applyPatch(target: Record<string, unknown>, ops: unknown): void {
  if (!Array.isArray(ops)) return;
  for (const raw of ops as Json[]) {
    const op = String(raw.op ?? '');
    const path = String(raw.path ?? '');
    const parts = path.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const [head, key] = parts;
    if (!head) throw badRequest(`Invalid patch path ${path}`);
    if (head === 'binaryMediaTypes' && key !== undefined) {
      const list = (target.binaryMediaTypes as string[] | undefined) ?? [];
      target.binaryMediaTypes = op === 'remove' ? list.filter((t) => t !== key) : [...new Set([...list, key])];
    } else if (head === 'endpointConfiguration' && key === 'types' && parts[2] !== undefined && op === 'replace') {
      // The type is named by its index (`/types/0`) or by itself (`/types/EDGE`): both are in use.
      const config = target.endpointConfiguration as { types: string[] } | undefined;
      const types = [...(config?.types ?? [])];
      const at = /^\d+$/.test(parts[2]) ? Number(parts[2]) : types.indexOf(parts[2]);
      if (at < 0 || at >= types.length || typeof raw.value !== 'string') throw badRequest(`Invalid patch path ${path}`);
      types[at] = raw.value;
      target.endpointConfiguration = { ...config, types };
    } else if (head === 'variables' && key !== undefined) {
      const vars = { ...((target.variables as Record<string, string> | undefined) ?? {}) };
      if (op === 'remove') delete vars[key];
      else vars[key] = String(raw.value ?? '');
      target.variables = vars;
    } else if (parts.length === 1) {
      if (op === 'remove') delete target[head];
      else {
        const value = raw.value;
        target[head] = value === 'true' ? true : value === 'false' ? false : value;
      }
    }
    // deeper paths (method settings, ...) are accepted and ignored
  }
}

function checkStageName(name: string): void {
  if (!/^[a-zA-Z0-9_-]+$/.test(name) || name.length > 128) throw badRequest('Stage name only allows a-zA-Z0-9_');
}

/** API Gateway's control-plane operations over its store. */
export class ApiGatewayProvider {
  private readonly operations: Record<ApiGatewayOperation, (r: ApiGatewayRequest) => Promise<ApiGatewayAnswer> | ApiGatewayAnswer>;

  /**
   * @param store the API Gateway data
   * @param options the account's quotas
   */
  constructor(private readonly store: ApiGatewayStore, private readonly options: ApiGatewayProviderOptions) {
    this.operations = {
      CreateRestApi: (r) => this.createRestApi(r),
      GetRestApis: () => this.getRestApis(),
      GetRestApi: (r) => this.getRestApi(r),
      UpdateRestApi: (r) => this.updateRestApi(r),
      DeleteRestApi: (r) => this.deleteRestApi(r),
      GetResources: (r) => this.getResources(r),
      GetResource: (r) => this.getResource(r),
      CreateResource: (r) => this.createResource(r),
      DeleteResource: (r) => this.deleteResource(r),
      PutMethod: (r) => this.putMethod(r),
      GetMethod: (r) => this.getMethod(r),
      UpdateMethod: (r) => this.updateMethod(r),
      DeleteMethod: (r) => this.deleteMethod(r),
      PutMethodResponse: (r) => this.putMethodResponse(r),
      GetMethodResponse: (r) => this.getMethodResponse(r),
      DeleteMethodResponse: (r) => this.deleteMethodResponse(r),
      PutIntegration: (r) => this.putIntegration(r),
      GetIntegration: (r) => this.getIntegration(r),
      UpdateIntegration: (r) => this.updateIntegration(r),
      DeleteIntegration: (r) => this.deleteIntegration(r),
      PutIntegrationResponse: (r) => this.putIntegrationResponse(r),
      GetIntegrationResponse: (r) => this.getIntegrationResponse(r),
      DeleteIntegrationResponse: (r) => this.deleteIntegrationResponse(r),
      CreateDeployment: (r) => this.createDeployment(r),
      GetDeployments: (r) => this.getDeployments(r),
      GetDeployment: (r) => this.getDeployment(r),
      DeleteDeployment: (r) => this.deleteDeployment(r),
      CreateStage: (r) => this.createStage(r),
      GetStages: (r) => this.getStages(r),
      GetStage: (r) => this.getStage(r),
      UpdateStage: (r) => this.updateStage(r),
      DeleteStage: (r) => this.deleteStage(r),
      CreateApiKey: (r) => this.createApiKey(r),
      GetApiKeys: (r) => this.getApiKeys(r),
      GetApiKey: (r) => this.getApiKey(r),
      UpdateApiKey: (r) => this.updateApiKey(r),
      DeleteApiKey: (r) => this.deleteApiKey(r),
      CreateUsagePlan: (r) => this.createUsagePlan(r),
      GetUsagePlans: () => this.getUsagePlans(),
      GetUsagePlan: (r) => this.getUsagePlan(r),
      UpdateUsagePlan: (r) => this.updateUsagePlan(r),
      DeleteUsagePlan: (r) => this.deleteUsagePlan(r),
      CreateUsagePlanKey: (r) => this.createUsagePlanKey(r),
      GetUsagePlanKeys: (r) => this.getUsagePlanKeys(r),
      GetUsagePlanKey: (r) => this.getUsagePlanKey(r),
      DeleteUsagePlanKey: (r) => this.deleteUsagePlanKey(r),
      GetTags: (r) => this.getTags(r),
      TagResource: (r) => this.tagResource(r),
      UntagResource: (r) => this.untagResource(r),
    };
  }

  /**
   * Answers one operation.
   * @param operation the operation's name
   * @param request its request
   */
  async dispatch(operation: ApiGatewayOperation, request: ApiGatewayRequest): Promise<ApiGatewayAnswer> {
    return this.operations[operation](request);
  }

  // --- REST APIs

  /** CreateRestApi, with its root resource. */
  async createRestApi(r: ApiGatewayRequest): Promise<ApiGatewayAnswer> {
    const body = await readJson(r.req);
    const name = body.name;
    if (typeof name !== 'string' || !name) throw badRequest('Invalid REST API name specified');
    let id = newId();
    while (this.store.apis.has(id)) id = newId();
    const rootId = newId();
    const root: Resource = { id: rootId, path: '/', resourceMethods: {} };
    const types = ((body.endpointConfiguration as Json | undefined)?.types as string[] | undefined) ?? ['EDGE'];
    const api: RestApi = {
      id, name,
      ...(typeof body.description === 'string' ? { description: body.description } : {}),
      createdDate: nowSeconds(),
      binaryMediaTypes: Array.isArray(body.binaryMediaTypes) ? (body.binaryMediaTypes as string[]) : [],
      apiKeySource: typeof body.apiKeySource === 'string' ? body.apiKeySource : 'HEADER',
      endpointConfiguration: { types },
      rootResourceId: rootId,
      tags: { ...((body.tags ?? {}) as Record<string, string>) },
      resources: new Map([[rootId, root]]),
      deployments: new Map(),
      stages: new Map(),
    };
    this.store.apis.set(id, api);
    return done(201, renderApi(api));
  }

  /** GetRestApis. */
  getRestApis(): ApiGatewayAnswer {
    return done(200, { item: [...this.store.apis.values()].map(renderApi) });
  }

  /** GetRestApi. */
  getRestApi(r: ApiGatewayRequest): ApiGatewayAnswer {
    return done(200, renderApi(this.apiOf(r)));
  }

  /** UpdateRestApi (patch operations on its fields). */
  async updateRestApi(r: ApiGatewayRequest): Promise<ApiGatewayAnswer> {
    const api = this.apiOf(r);
    const body = await readJson(r.req);
    applyPatch(api as unknown as Record<string, unknown>, body.patchOperations);
    return done(200, renderApi(api));
  }

  /** DeleteRestApi. */
  deleteRestApi(r: ApiGatewayRequest): ApiGatewayAnswer {
    const api = this.apiOf(r);
    this.store.apis.delete(api.id);
    return done(202);
  }

  // --- resources

  /** GetResources (`embed=methods` puts the methods in). */
  getResources(r: ApiGatewayRequest): ApiGatewayAnswer {
    const api = this.apiOf(r);
    const embed = r.query.getAll('embed').includes('methods');
    return done(200, { item: [...api.resources.values()].map((res) => renderResource(res, embed)) });
  }

  /** GetResource. */
  getResource(r: ApiGatewayRequest): ApiGatewayAnswer {
    const { resource } = this.resourceOf(r);
    return done(200, renderResource(resource, r.query.getAll('embed').includes('methods')));
  }

  /** CreateResource under a parent. */
  async createResource(r: ApiGatewayRequest): Promise<ApiGatewayAnswer> {
    const api = this.apiOf(r);
    const parent = resourceIn(api, r.params['parent_id'] ?? '');
    const body = await readJson(r.req);
    const pathPart = body.pathPart;
    if (typeof pathPart !== 'string' || !PATH_PART.test(pathPart)) {
      throw badRequest(`Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end and an optional plus sign before the closing brace.`);
    }
    const siblings = [...api.resources.values()].filter((x) => x.parentId === parent.id);
    if (siblings.some((x) => x.pathPart === pathPart)) {
      throw conflict(`Another resource with the same parent already has this name: ${pathPart}`);
    }
    if (pathPart.startsWith('{')) {
      const other = siblings.find((x) => x.pathPart?.startsWith('{'));
      if (other) throw badRequest(`A sibling (${other.pathPart}) of this resource already has a variable path part -- only one is allowed`);
    }
    if (/\+\}$/.test(parent.pathPart ?? '')) throw badRequest('A greedy path variable must be the last part of a path');
    const resource: Resource = {
      id: newId(6),
      parentId: parent.id,
      pathPart,
      path: parent.path === '/' ? `/${pathPart}` : `${parent.path}/${pathPart}`,
      resourceMethods: {},
    };
    api.resources.set(resource.id, resource);
    return done(201, renderResource(resource, false));
  }

  /** DeleteResource, with everything under it. */
  deleteResource(r: ApiGatewayRequest): ApiGatewayAnswer {
    const { api, resource } = this.resourceOf(r);
    if (resource.parentId === undefined) throw badRequest('Cannot delete root resource');
    const doomed = new Set([resource.id]);
    let grew = true;
    while (grew) {
      grew = false;
      for (const x of api.resources.values()) {
        if (x.parentId && doomed.has(x.parentId) && !doomed.has(x.id)) {
          doomed.add(x.id);
          grew = true;
        }
      }
    }
    for (const d of doomed) api.resources.delete(d);
    return done(202);
  }

  // --- methods and method responses

  /** PutMethod. */
  async putMethod(r: ApiGatewayRequest): Promise<ApiGatewayAnswer> {
    const { resource } = this.resourceOf(r);
    const httpMethod = httpMethodOf(r);
    const body = await readJson(r.req);
    if (typeof body.authorizationType !== 'string') throw badRequest('Invalid authorization type specified.');
    const m: Method = { ...body, httpMethod, authorizationType: body.authorizationType, apiKeyRequired: body.apiKeyRequired === true };
    resource.resourceMethods[httpMethod] = m;
    return done(201, m);
  }

  /** GetMethod. */
  getMethod(r: ApiGatewayRequest): ApiGatewayAnswer {
    return done(200, this.methodOf(r).method);
  }

  /** UpdateMethod. */
  async updateMethod(r: ApiGatewayRequest): Promise<ApiGatewayAnswer> {
    const { method } = this.methodOf(r);
    applyPatch(method, (await readJson(r.req)).patchOperations);
    return done(200, method);
  }

  /** DeleteMethod. */
  deleteMethod(r: ApiGatewayRequest): ApiGatewayAnswer {
    const { resource, httpMethod } = this.methodOf(r);
    delete resource.resourceMethods[httpMethod];
    return done(204);
  }

  /** PutMethodResponse. */
  async putMethodResponse(r: ApiGatewayRequest): Promise<ApiGatewayAnswer> {
    const { method } = this.methodOf(r);
    const statusCode = r.params['status_code'] ?? '';
    const all = (method.methodResponses ??= {});
    all[statusCode] = { ...(await readJson(r.req)), statusCode };
    return done(201, all[statusCode]);
  }

  /** GetMethodResponse. */
  getMethodResponse(r: ApiGatewayRequest): ApiGatewayAnswer {
    const { all, statusCode } = this.methodResponseOf(r);
    return done(200, all[statusCode]);
  }

  /** DeleteMethodResponse. */
  deleteMethodResponse(r: ApiGatewayRequest): ApiGatewayAnswer {
    const { all, statusCode } = this.methodResponseOf(r);
    delete all[statusCode];
    return done(204);
  }

  // --- integrations and integration responses

  /** PutIntegration (AWS_PROXY to a Lambda function, or AWS, HTTP, HTTP_PROXY, MOCK). */
  async putIntegration(r: ApiGatewayRequest): Promise<ApiGatewayAnswer> {
    const { resource, method } = this.methodOf(r);
    const body = await readJson(r.req);
    const type = body.type;
    if (typeof type !== 'string' || !['AWS', 'AWS_PROXY', 'HTTP', 'HTTP_PROXY', 'MOCK'].includes(type)) {
      throw badRequest('Enumeration value for IntegrationType must be non-empty');
    }
    if ((type === 'AWS_PROXY' || type === 'AWS') && (typeof body.uri !== 'string' || !body.uri)) {
      throw badRequest('Integrations of type \'AWS_PROXY\' currently only supports Lambda function and Firehose stream invocations.');
    }
    if (type === 'AWS_PROXY' && !LAMBDA_URI.test(String(body.uri))) throw badRequest('Invalid ARN specified in the request');
    if ((type === 'AWS_PROXY' || type === 'AWS') && !body.httpMethod) throw badRequest('Enumeration value for HttpMethod must be non-empty');
    const integration: Integration = {
      passthroughBehavior: 'WHEN_NO_MATCH',
      timeoutInMillis: 29000,
      cacheNamespace: resource.id,
      cacheKeyParameters: [],
      connectionType: 'INTERNET',
      responseTransferMode: 'BUFFERED',
      ...body,
      type,
    };
    checkIntegration(integration, this.options.bufferedTimeoutQuotaMs);
    method.methodIntegration = integration;
    return done(201, integration);
  }

  /** GetIntegration. */
  getIntegration(r: ApiGatewayRequest): ApiGatewayAnswer {
    return done(200, this.integrationOf(r).integration);
  }

  /** UpdateIntegration. */
  async updateIntegration(r: ApiGatewayRequest): Promise<ApiGatewayAnswer> {
    const { method, integration } = this.integrationOf(r);
    const patched: Integration = { ...integration };
    applyPatch(patched, (await readJson(r.req)).patchOperations);
    if (typeof patched.timeoutInMillis === 'string' && /^\d+$/.test(patched.timeoutInMillis)) patched.timeoutInMillis = Number(patched.timeoutInMillis);
    // Checked as a whole, so that switching the mode and the URI in one call works, and a call
    // that leaves them mismatched changes nothing.
    checkIntegration(patched, this.options.bufferedTimeoutQuotaMs);
    method.methodIntegration = patched;
    return done(200, patched);
  }

  /** DeleteIntegration. */
  deleteIntegration(r: ApiGatewayRequest): ApiGatewayAnswer {
    const { method } = this.integrationOf(r);
    delete method.methodIntegration;
    return done(204);
  }

  /** PutIntegrationResponse. */
  async putIntegrationResponse(r: ApiGatewayRequest): Promise<ApiGatewayAnswer> {
    const { integration } = this.integrationOf(r);
    const code = r.params['status_code'] ?? '';
    const all = (integration.integrationResponses ??= {}) as Record<string, Json>;
    all[code] = { ...(await readJson(r.req)), statusCode: code };
    return done(201, all[code]);
  }

  /** GetIntegrationResponse. */
  getIntegrationResponse(r: ApiGatewayRequest): ApiGatewayAnswer {
    const { all, code } = this.integrationResponseOf(r);
    return done(200, all[code]);
  }

  /** DeleteIntegrationResponse. */
  deleteIntegrationResponse(r: ApiGatewayRequest): ApiGatewayAnswer {
    const { all, code } = this.integrationResponseOf(r);
    delete all[code];
    return done(204);
  }

  // --- deployments and stages

  /** CreateDeployment: a snapshot of the resources, and the stage it names created or moved to it. */
  async createDeployment(r: ApiGatewayRequest): Promise<ApiGatewayAnswer> {
    const api = this.apiOf(r);
    const body = await readJson(r.req);
    const methods = [...api.resources.values()].flatMap((x) => Object.values(x.resourceMethods));
    if (methods.length === 0) throw badRequest("The REST API doesn't contain any methods");
    if (methods.some((m) => !m.methodIntegration)) throw badRequest('No integration defined for method');
    const d: Deployment = {
      id: newId(6),
      ...(typeof body.description === 'string' ? { description: body.description } : {}),
      createdDate: nowSeconds(),
      snapshot: structuredClone([...api.resources.values()]),
      binaryMediaTypes: [...api.binaryMediaTypes],
    };
    api.deployments.set(d.id, d);
    if (typeof body.stageName === 'string' && body.stageName) {
      checkStageName(body.stageName);
      const existing = api.stages.get(body.stageName);
      const now = nowSeconds();
      if (existing) {
        existing.deploymentId = d.id;
        existing.lastUpdatedDate = now;
        if (body.variables) existing.variables = { ...existing.variables, ...(body.variables as Record<string, string>) };
      } else {
        api.stages.set(body.stageName, {
          stageName: body.stageName, deploymentId: d.id, createdDate: now, lastUpdatedDate: now,
          ...(typeof body.stageDescription === 'string' ? { description: body.stageDescription } : {}),
          ...(body.variables ? { variables: body.variables as Record<string, string> } : {}),
        });
      }
    }
    return done(201, renderDeployment(d));
  }

  /** GetDeployments. */
  getDeployments(r: ApiGatewayRequest): ApiGatewayAnswer {
    return done(200, { item: [...this.apiOf(r).deployments.values()].map(renderDeployment) });
  }

  /** GetDeployment. */
  getDeployment(r: ApiGatewayRequest): ApiGatewayAnswer {
    return done(200, renderDeployment(this.deploymentOf(r).deployment));
  }

  /** DeleteDeployment (refused while a stage points to it). */
  deleteDeployment(r: ApiGatewayRequest): ApiGatewayAnswer {
    const { api, deployment } = this.deploymentOf(r);
    if ([...api.stages.values()].some((st) => st.deploymentId === deployment.id)) {
      throw badRequest('Active stages pointing to this deployment must be moved or deleted');
    }
    api.deployments.delete(deployment.id);
    return done(202);
  }

  /** CreateStage. */
  async createStage(r: ApiGatewayRequest): Promise<ApiGatewayAnswer> {
    const api = this.apiOf(r);
    const body = await readJson(r.req);
    const stageName = String(body.stageName ?? '');
    checkStageName(stageName);
    if (api.stages.has(stageName)) throw conflict('Stage already exists');
    const deploymentId = String(body.deploymentId ?? '');
    if (!api.deployments.has(deploymentId)) throw notFound('Invalid Deployment identifier specified');
    const now = nowSeconds();
    const stage: Stage = {
      stageName, deploymentId, createdDate: now, lastUpdatedDate: now,
      ...(typeof body.description === 'string' ? { description: body.description } : {}),
      ...(body.variables ? { variables: body.variables as Record<string, string> } : {}),
      ...(body.tracingEnabled !== undefined ? { tracingEnabled: body.tracingEnabled === true } : {}),
      ...(body.tags ? { tags: body.tags } : {}),
    };
    api.stages.set(stageName, stage);
    return done(201, renderStage(stage));
  }

  /** GetStages. */
  getStages(r: ApiGatewayRequest): ApiGatewayAnswer {
    return done(200, { item: [...this.apiOf(r).stages.values()].map(renderStage) });
  }

  /** GetStage. */
  getStage(r: ApiGatewayRequest): ApiGatewayAnswer {
    return done(200, renderStage(this.stageOf(r).stage));
  }

  /** UpdateStage (patch operations; the deployment must exist). */
  async updateStage(r: ApiGatewayRequest): Promise<ApiGatewayAnswer> {
    const { api, stage } = this.stageOf(r);
    applyPatch(stage, (await readJson(r.req)).patchOperations);
    if (!api.deployments.has(stage.deploymentId)) throw badRequest('Invalid deployment id specified');
    stage.lastUpdatedDate = nowSeconds();
    return done(200, renderStage(stage));
  }

  /** DeleteStage. */
  deleteStage(r: ApiGatewayRequest): ApiGatewayAnswer {
    const { api, stage } = this.stageOf(r);
    api.stages.delete(stage.stageName);
    return done(202);
  }

  // --- API keys

  /** CreateApiKey (a value of 20 characters or more, or a generated one). */
  async createApiKey(r: ApiGatewayRequest): Promise<ApiGatewayAnswer> {
    const s = this.store;
    const body = await readJson(r.req);
    if (body.value !== undefined && (typeof body.value !== 'string' || body.value.length < 20)) {
      throw badRequest('API Key value should be at least 20 characters');
    }
    if (typeof body.value === 'string' && [...s.apiKeys.values()].some((k) => k.value === body.value)) {
      throw conflict('API Key already exists');
    }
    const now = nowSeconds();
    const key: ApiKey = {
      id: newId(),
      ...(typeof body.name === 'string' ? { name: body.name } : {}),
      ...(typeof body.description === 'string' ? { description: body.description } : {}),
      enabled: body.enabled === true,
      value: typeof body.value === 'string' ? body.value : randomBytes(30).toString('base64url').slice(0, 40),
      createdDate: now,
      lastUpdatedDate: now,
      stageKeys: [],
      tags: { ...((body.tags ?? {}) as Record<string, string>) },
    };
    s.apiKeys.set(key.id, key);
    return done(201, renderKey(key, true));
  }

  /** GetApiKeys (`name` filters by prefix, `includeValues` shows the values). */
  getApiKeys(r: ApiGatewayRequest): ApiGatewayAnswer {
    const withValues = r.query.get('includeValues') === 'true';
    const nameQuery = r.query.get('name');
    const keys = [...this.store.apiKeys.values()].filter((k) => !nameQuery || k.name?.startsWith(nameQuery));
    return done(200, { item: keys.map((k) => renderKey(k, withValues)) });
  }

  /** GetApiKey (`includeValue` shows the value). */
  getApiKey(r: ApiGatewayRequest): ApiGatewayAnswer {
    return done(200, renderKey(this.apiKeyOf(r), r.query.get('includeValue') === 'true'));
  }

  /** UpdateApiKey. */
  async updateApiKey(r: ApiGatewayRequest): Promise<ApiGatewayAnswer> {
    const key = this.apiKeyOf(r);
    applyPatch(key as unknown as Record<string, unknown>, (await readJson(r.req)).patchOperations);
    key.lastUpdatedDate = nowSeconds();
    return done(200, renderKey(key, false));
  }

  /** DeleteApiKey, and its place in every usage plan. */
  deleteApiKey(r: ApiGatewayRequest): ApiGatewayAnswer {
    const key = this.apiKeyOf(r);
    this.store.apiKeys.delete(key.id);
    for (const plan of this.store.usagePlans.values()) plan.keyIds.delete(key.id);
    return done(202);
  }

  // --- usage plans and their keys

  /** CreateUsagePlan (its API stages must exist). */
  async createUsagePlan(r: ApiGatewayRequest): Promise<ApiGatewayAnswer> {
    const s = this.store;
    const body = await readJson(r.req);
    if (typeof body.name !== 'string' || !body.name) throw badRequest('Invalid usage plan name specified');
    const apiStages = Array.isArray(body.apiStages) ? (body.apiStages as { apiId: string; stage: string }[]) : [];
    for (const st of apiStages) {
      if (!s.api(String(st.apiId)).stages.has(String(st.stage))) throw notFound(`Invalid stage identifier specified`);
    }
    const plan: UsagePlan = {
      id: newId(6), name: body.name,
      ...(typeof body.description === 'string' ? { description: body.description } : {}),
      apiStages: apiStages.map((st) => ({ apiId: String(st.apiId), stage: String(st.stage) })),
      ...(body.throttle ? { throttle: body.throttle } : {}),
      ...(body.quota ? { quota: body.quota } : {}),
      keyIds: new Set(),
      tags: { ...((body.tags ?? {}) as Record<string, string>) },
    };
    s.usagePlans.set(plan.id, plan);
    return done(201, renderPlan(plan));
  }

  /** GetUsagePlans. */
  getUsagePlans(): ApiGatewayAnswer {
    return done(200, { item: [...this.store.usagePlans.values()].map(renderPlan) });
  }

  /** GetUsagePlan. */
  getUsagePlan(r: ApiGatewayRequest): ApiGatewayAnswer {
    return done(200, renderPlan(this.usagePlanOf(r)));
  }

  /** UpdateUsagePlan (`/apiStages` add and remove, and simple fields). */
  async updateUsagePlan(r: ApiGatewayRequest): Promise<ApiGatewayAnswer> {
    const plan = this.usagePlanOf(r);
    const body = await readJson(r.req);
    const ops = (Array.isArray(body.patchOperations) ? body.patchOperations : []) as Json[];
    for (const op of ops) {
      if (op.path === '/apiStages' && typeof op.value === 'string') {
        const [apiId, stage] = op.value.split(':');
        if (op.op === 'add') plan.apiStages.push({ apiId: apiId ?? '', stage: stage ?? '' });
        if (op.op === 'remove') plan.apiStages = plan.apiStages.filter((x) => !(x.apiId === apiId && x.stage === stage));
      }
    }
    applyPatch(plan as unknown as Record<string, unknown>, ops.filter((op) => op.path !== '/apiStages'));
    return done(200, renderPlan(plan));
  }

  /** DeleteUsagePlan. */
  deleteUsagePlan(r: ApiGatewayRequest): ApiGatewayAnswer {
    const plan = this.usagePlanOf(r);
    this.store.usagePlans.delete(plan.id);
    return done(202);
  }

  /** CreateUsagePlanKey: an API key into a usage plan. */
  async createUsagePlanKey(r: ApiGatewayRequest): Promise<ApiGatewayAnswer> {
    const plan = this.usagePlanOf(r);
    const body = await readJson(r.req);
    const kid = String(body.keyId ?? '');
    if (body.keyType !== 'API_KEY') throw badRequest('Invalid key type specified');
    if (!this.store.apiKeys.has(kid)) throw notFound('Invalid API Key identifier specified');
    if (plan.keyIds.has(kid)) throw conflict(`Usage Plan ${plan.id} already contains API Key ${kid}`);
    plan.keyIds.add(kid);
    return done(201, this.renderPlanKey(kid));
  }

  /** GetUsagePlanKeys. */
  getUsagePlanKeys(r: ApiGatewayRequest): ApiGatewayAnswer {
    return done(200, { item: [...this.usagePlanOf(r).keyIds].map((kid) => this.renderPlanKey(kid)) });
  }

  /** GetUsagePlanKey. */
  getUsagePlanKey(r: ApiGatewayRequest): ApiGatewayAnswer {
    return done(200, this.renderPlanKey(this.usagePlanKeyOf(r).keyId));
  }

  /** DeleteUsagePlanKey. */
  deleteUsagePlanKey(r: ApiGatewayRequest): ApiGatewayAnswer {
    const { plan, keyId } = this.usagePlanKeyOf(r);
    plan.keyIds.delete(keyId);
    return done(202);
  }

  // --- tags

  /** GetTags of an API, stage, API key or usage plan, by ARN. */
  getTags(r: ApiGatewayRequest): ApiGatewayAnswer {
    return done(200, { tags: this.tagsOf(r) });
  }

  /** TagResource. */
  async tagResource(r: ApiGatewayRequest): Promise<ApiGatewayAnswer> {
    const tags = this.tagsOf(r);
    Object.assign(tags, ((await readJson(r.req)).tags ?? {}) as Record<string, string>);
    return done(204);
  }

  /** UntagResource (`tagKeys` in the query). */
  untagResource(r: ApiGatewayRequest): ApiGatewayAnswer {
    const tags = this.tagsOf(r);
    for (const key of r.query.getAll('tagKeys')) delete tags[key];
    return done(204);
  }

  // --- what a request names

  private apiOf(r: ApiGatewayRequest): RestApi {
    return this.store.api(r.params['restapi_id'] ?? '');
  }

  private resourceOf(r: ApiGatewayRequest): { api: RestApi; resource: Resource } {
    const api = this.apiOf(r);
    return { api, resource: resourceIn(api, r.params['resource_id'] ?? '') };
  }

  private methodOf(r: ApiGatewayRequest): { resource: Resource; method: Method; httpMethod: string } {
    const { resource } = this.resourceOf(r);
    const httpMethod = httpMethodOf(r);
    const method = resource.resourceMethods[httpMethod];
    if (!method) throw notFound('Invalid Method identifier specified');
    return { resource, method, httpMethod };
  }

  private methodResponseOf(r: ApiGatewayRequest): { all: Record<string, Json>; statusCode: string } {
    const { method } = this.methodOf(r);
    const statusCode = r.params['status_code'] ?? '';
    const all = (method.methodResponses ??= {}) as Record<string, Json>;
    if (!all[statusCode]) throw notFound('Invalid Response status code specified');
    return { all, statusCode };
  }

  private integrationOf(r: ApiGatewayRequest): { method: Method; integration: Integration } {
    const { method } = this.methodOf(r);
    if (!method.methodIntegration) throw notFound('No integration defined for method');
    return { method, integration: method.methodIntegration };
  }

  private integrationResponseOf(r: ApiGatewayRequest): { all: Record<string, Json>; code: string } {
    const { integration } = this.integrationOf(r);
    const code = r.params['status_code'] ?? '';
    const all = (integration.integrationResponses ??= {}) as Record<string, Json>;
    if (!all[code]) throw notFound('Invalid Response status code specified');
    return { all, code };
  }

  private deploymentOf(r: ApiGatewayRequest): { api: RestApi; deployment: Deployment } {
    const api = this.apiOf(r);
    const deployment = api.deployments.get(r.params['deployment_id'] ?? '');
    if (!deployment) throw notFound('Invalid Deployment identifier specified');
    return { api, deployment };
  }

  private stageOf(r: ApiGatewayRequest): { api: RestApi; stage: Stage } {
    const api = this.apiOf(r);
    const stage = api.stages.get(r.params['stage_name'] ?? '');
    if (!stage) throw notFound('Invalid Stage identifier specified');
    return { api, stage };
  }

  private apiKeyOf(r: ApiGatewayRequest): ApiKey {
    const key = this.store.apiKeys.get(r.params['api_Key'] ?? '');
    if (!key) throw notFound('Invalid API Key identifier specified');
    return key;
  }

  private usagePlanOf(r: ApiGatewayRequest): UsagePlan {
    const plan = this.store.usagePlans.get(r.params['usageplanId'] ?? '');
    if (!plan) throw notFound('Invalid Usage Plan ID specified');
    return plan;
  }

  private usagePlanKeyOf(r: ApiGatewayRequest): { plan: UsagePlan; keyId: string } {
    const plan = this.usagePlanOf(r);
    const keyId = r.params['keyId'] ?? '';
    if (!plan.keyIds.has(keyId)) throw notFound('Invalid API Key identifier specified');
    return { plan, keyId };
  }

  private renderPlanKey(kid: string): Json {
    const k = this.store.apiKeys.get(kid);
    return { id: kid, type: 'API_KEY', ...(k?.name ? { name: k.name } : {}), ...(k ? { value: k.value } : {}) };
  }

  private tagsOf(r: ApiGatewayRequest): Record<string, string> {
    const arn = r.params['resource_arn'] ?? '';
    const m = /^arn:aws[a-zA-Z-]*:apigateway:[a-z0-9-]+::\/(restapis|apikeys|usageplans)\/([a-z0-9]+)(\/stages\/(.+))?$/.exec(arn);
    if (!m) throw badRequest(`Invalid ARN specified in the request: ${arn}`);
    const [, kind, id, , stage] = m;
    if (kind === 'restapis') {
      const api = this.store.api(id ?? '');
      if (stage) {
        const st = api.stages.get(stage);
        if (!st) throw notFound('Invalid stage identifier specified');
        st.tags = (st.tags as Record<string, string> | undefined) ?? {};
        return st.tags as Record<string, string>;
      }
      return api.tags;
    }
    const item = kind === 'apikeys' ? this.store.apiKeys.get(id ?? '') : this.store.usagePlans.get(id ?? '');
    if (!item) throw notFound(`Invalid ${kind} identifier specified`);
    return item.tags;
  }
}

function resourceIn(api: RestApi, id: string): Resource {
  const resource = api.resources.get(id);
  if (!resource) throw notFound('Invalid Resource identifier specified');
  return resource;
}

function httpMethodOf(r: ApiGatewayRequest): string {
  const httpMethod = (r.params['http_method'] ?? '').toUpperCase();
  if (!HTTP_METHODS.has(httpMethod)) throw badRequest(`Invalid HttpMethod specified. Valid options are ${[...HTTP_METHODS].join(',')}`);
  return httpMethod;
}
