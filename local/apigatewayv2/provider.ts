/**
 * API Gateway's HTTP API control-plane operations (apigatewayv2, `/v2/apis/...`): what a deploy
 * script and the AWS CLI call to build an HTTP API with Lambda proxy integrations, routes,
 * stages and deployments. One method per AWS operation, reached by name from the route table;
 * the data lives in the {@link HttpApiStore}. The wire format is REST-JSON with camelCase
 * members and ISO 8601 dates; updates are PATCH with the changed members.
 */
import type { IncomingMessage } from 'node:http';
import { readJsonObject, type JsonBodyErrors } from '../http';
import type { Route } from '../routes';
import { badRequest, conflict, notFound, requestTooLarge } from '../apigateway/errors';
import { newId } from '../apigateway/model';
import { parseRouteKey } from './model';
import type { HttpApi, HttpApiStore, HttpDeployment, HttpIntegration, HttpRoute, HttpStage } from './model';

type Json = Record<string, unknown>;

/** The shortest and longest `timeoutInMillis` of an HTTP API integration; the longest is the default. */
export const HTTP_INTEGRATION_TIMEOUT_MS = { min: 50, max: 30_000 } as const;
/** The payload format versions of a Lambda proxy integration. */
export const PAYLOAD_FORMAT_VERSIONS = ['1.0', '2.0'] as const;
/** A Lambda function ARN (optionally qualified), or API Gateway's Invoke URI for one. */
const LAMBDA_TARGET = /^(arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9$_-]+)?|arn:aws[a-zA-Z-]*:apigateway:[a-z0-9-]+:lambda:path\/2015-03-31\/functions\/.+\/invocations)$/;
const MAX_JSON_REQUEST = 6 * 1024 * 1024;

/** Every HTTP API control-plane operation the stack serves. */
export const API_GATEWAY_V2_ROUTES = [
  { method: 'POST', path: '/v2/apis', operation: 'CreateApi' },
  { method: 'GET', path: '/v2/apis', operation: 'GetApis' },
  { method: 'GET', path: '/v2/apis/{apiId}', operation: 'GetApi' },
  { method: 'PATCH', path: '/v2/apis/{apiId}', operation: 'UpdateApi' },
  { method: 'DELETE', path: '/v2/apis/{apiId}', operation: 'DeleteApi' },
  { method: 'POST', path: '/v2/apis/{apiId}/integrations', operation: 'CreateIntegration' },
  { method: 'GET', path: '/v2/apis/{apiId}/integrations', operation: 'GetIntegrations' },
  { method: 'GET', path: '/v2/apis/{apiId}/integrations/{integrationId}', operation: 'GetIntegration' },
  { method: 'PATCH', path: '/v2/apis/{apiId}/integrations/{integrationId}', operation: 'UpdateIntegration' },
  { method: 'DELETE', path: '/v2/apis/{apiId}/integrations/{integrationId}', operation: 'DeleteIntegration' },
  { method: 'POST', path: '/v2/apis/{apiId}/routes', operation: 'CreateRoute' },
  { method: 'GET', path: '/v2/apis/{apiId}/routes', operation: 'GetRoutes' },
  { method: 'GET', path: '/v2/apis/{apiId}/routes/{routeId}', operation: 'GetRoute' },
  { method: 'PATCH', path: '/v2/apis/{apiId}/routes/{routeId}', operation: 'UpdateRoute' },
  { method: 'DELETE', path: '/v2/apis/{apiId}/routes/{routeId}', operation: 'DeleteRoute' },
  { method: 'POST', path: '/v2/apis/{apiId}/stages', operation: 'CreateStage' },
  { method: 'GET', path: '/v2/apis/{apiId}/stages', operation: 'GetStages' },
  { method: 'GET', path: '/v2/apis/{apiId}/stages/{stageName}', operation: 'GetStage' },
  { method: 'PATCH', path: '/v2/apis/{apiId}/stages/{stageName}', operation: 'UpdateStage' },
  { method: 'DELETE', path: '/v2/apis/{apiId}/stages/{stageName}', operation: 'DeleteStage' },
  { method: 'POST', path: '/v2/apis/{apiId}/deployments', operation: 'CreateDeployment' },
  { method: 'GET', path: '/v2/apis/{apiId}/deployments', operation: 'GetDeployments' },
  { method: 'GET', path: '/v2/apis/{apiId}/deployments/{deploymentId}', operation: 'GetDeployment' },
  { method: 'PATCH', path: '/v2/apis/{apiId}/deployments/{deploymentId}', operation: 'UpdateDeployment' },
  { method: 'DELETE', path: '/v2/apis/{apiId}/deployments/{deploymentId}', operation: 'DeleteDeployment' },
] as const satisfies ReadonlyArray<Route<string>>;

/** The name of an HTTP API operation the stack serves. */
export type ApiGatewayV2Operation = (typeof API_GATEWAY_V2_ROUTES)[number]['operation'];

/** One operation's request: the HTTP request (its body unread), path parameters, query and region. */
export interface ApiGatewayV2Request {
  /** The HTTP request. */
  req: IncomingMessage;
  /** Path parameters by the names of the route's template (`apiId`, `stageName`, ...), decoded. */
  params: Record<string, string>;
  /** The query string. */
  query: URLSearchParams;
  /** The region the request was signed for. */
  region: string;
}

/** One operation's answer: its status and JSON body (none for 204). */
export interface ApiGatewayV2Answer {
  /** HTTP status. */
  status: number;
  /** The JSON body, if any. */
  body?: unknown;
}

/** Options of the provider. */
export interface ApiGatewayV2ProviderOptions {
  /** The base URL an API's `apiEndpoint` is given for, e.g. `http://127.0.0.1:4566` (read when rendered). */
  endpoint: () => string;
}

const BODY_ERRORS: JsonBodyErrors = {
  tooLarge: () => requestTooLarge(),
  notAnObject: () => badRequest('Invalid JSON in request body'),
};

function readJson(req: IncomingMessage): Promise<Json> {
  return readJsonObject(req, MAX_JSON_REQUEST, BODY_ERRORS);
}

const done = (status: number, body?: unknown): ApiGatewayV2Answer => (body === undefined ? { status } : { status, body });

function optionalString(body: Json, member: string): string | undefined {
  const value = body[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badRequest(`Invalid value for ${member}: it must be a string`);
  return value;
}

function stringMap(body: Json, member: string): Record<string, string> | undefined {
  const value = body[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value) || !Object.values(value).every((v) => typeof v === 'string')) {
    throw badRequest(`Invalid value for ${member}: it must be a map of strings`);
  }
  return { ...(value as Record<string, string>) };
}

/** `maxResults` and `nextToken` paging over a list, as every Get...s operation does. */
function page<T>(items: T[], query: URLSearchParams): { items: T[]; nextToken?: string } {
  const max = query.get('maxResults');
  const size = max === null ? 500 : Number(max);
  if (!Number.isInteger(size) || size < 1) throw badRequest('Invalid maxResults: it must be a positive whole number');
  const token = query.get('nextToken');
  const start = token === null ? 0 : Number.parseInt(Buffer.from(token, 'base64url').toString('utf8'), 10);
  if (!Number.isInteger(start) || start < 0 || start > items.length) throw badRequest('Invalid nextToken');
  const end = start + size;
  return { items: items.slice(start, end), ...(end < items.length && { nextToken: Buffer.from(String(end)).toString('base64url') }) };
}

function unique(existing: { has(id: string): boolean }, length: number): string {
  let id = newId(length);
  while (existing.has(id)) id = newId(length);
  return id;
}

function renderIntegration(i: HttpIntegration): Json {
  return { ...i };
}

function renderRoute(r: HttpRoute): Json {
  return { ...r };
}

function renderDeployment(d: HttpDeployment): Json {
  return {
    deploymentId: d.deploymentId,
    deploymentStatus: 'DEPLOYED',
    autoDeployed: d.autoDeployed,
    createdDate: d.createdDate.toISOString(),
    ...(d.description !== undefined && { description: d.description }),
  };
}

function renderStage(s: HttpStage): Json {
  return {
    defaultRouteSettings: { detailedMetricsEnabled: false },
    routeSettings: {},
    ...s,
    createdDate: s.createdDate.toISOString(),
    lastUpdatedDate: s.lastUpdatedDate.toISOString(),
  };
}

/** Checks a stage name: `$default`, or letters, digits, `-` and `_` (up to 128). */
function checkStageName(name: unknown): string {
  if (typeof name !== 'string' || !name) throw badRequest('StageName is required');
  if (name !== '$default' && !/^[A-Za-z0-9_-]{1,128}$/.test(name)) {
    throw badRequest(`Stage name ${name} is invalid: it must be $default, or letters, digits, - and _ (up to 128)`);
  }
  return name;
}

/**
 * Checks an integration as a whole, as CreateIntegration and UpdateIntegration do: its type, its
 * Lambda URI and payload format, and its timeout.
 */
function checkIntegration(i: HttpIntegration): void {
  if (i.integrationType !== 'AWS_PROXY' && i.integrationType !== 'HTTP_PROXY') {
    throw badRequest(`Integration type ${i.integrationType} is not supported for HTTP APIs: use AWS_PROXY or HTTP_PROXY`);
  }
  if (i.integrationType === 'AWS_PROXY') {
    if (typeof i.integrationUri !== 'string' || !LAMBDA_TARGET.test(i.integrationUri)) {
      throw badRequest('Invalid integration URI specified: an AWS_PROXY integration needs a Lambda function ARN');
    }
    if (i.payloadFormatVersion === undefined) throw badRequest('PayloadFormatVersion is a required parameter for integration');
  }
  if (i.integrationType === 'HTTP_PROXY' && (typeof i.integrationUri !== 'string' || !/^https?:\/\//.test(i.integrationUri))) {
    throw badRequest('Invalid integration URI specified: an HTTP_PROXY integration needs an http(s) URL');
  }
  if (i.payloadFormatVersion !== undefined && !(PAYLOAD_FORMAT_VERSIONS as readonly string[]).includes(i.payloadFormatVersion)) {
    throw badRequest(`Invalid payload format version ${i.payloadFormatVersion}: it must be 1.0 or 2.0`);
  }
  const t = i.timeoutInMillis;
  if (!Number.isInteger(t) || t < HTTP_INTEGRATION_TIMEOUT_MS.min || t > HTTP_INTEGRATION_TIMEOUT_MS.max) {
    throw badRequest(`Timeout must be between ${HTTP_INTEGRATION_TIMEOUT_MS.min} ms and ${HTTP_INTEGRATION_TIMEOUT_MS.max} ms`);
  }
}

/** The integration members a request may set, with their checks. */
function integrationMembers(body: Json): Partial<HttpIntegration> {
  const out: Partial<HttpIntegration> = {};
  for (const member of ['integrationType', 'integrationUri', 'integrationMethod', 'payloadFormatVersion', 'connectionType', 'description', 'credentialsArn', 'connectionId', 'integrationSubtype', 'passthroughBehavior'] as const) {
    const value = optionalString(body, member);
    if (value !== undefined) out[member] = value;
  }
  if (body.timeoutInMillis !== undefined && body.timeoutInMillis !== null) {
    if (typeof body.timeoutInMillis !== 'number') throw badRequest('Invalid value for timeoutInMillis: it must be a number');
    out.timeoutInMillis = body.timeoutInMillis;
  }
  for (const member of ['requestParameters', 'responseParameters', 'requestTemplates', 'tlsConfig'] as const) {
    if (body[member] !== undefined) out[member] = body[member];
  }
  return out;
}

function checkTarget(api: HttpApi, target: unknown): string | undefined {
  if (target === undefined || target === null) return undefined;
  const m = typeof target === 'string' ? /^integrations\/([a-z0-9]+)$/.exec(target) : null;
  if (!m || !api.integrations.has(m[1] ?? '')) throw badRequest(`Invalid target ${String(target)}: it must be integrations/<an integration id of this API>`);
  return target as string;
}

/** The authorization types of an HTTP API route. */
export const ROUTE_AUTHORIZATION_TYPES = ['NONE', 'AWS_IAM', 'JWT', 'CUSTOM'] as const;

/**
 * Checks a route's authorization type: JWT and CUSTOM need an authorizer, which AWS requires and
 * the stack does not emulate (no CreateAuthorizer), so they are refused; AWS_IAM is recorded and
 * not enforced, as IAM is not.
 */
function checkAuthorization(body: Json): string | undefined {
  const type = optionalString(body, 'authorizationType');
  if (type === undefined) return undefined;
  if (!(ROUTE_AUTHORIZATION_TYPES as readonly string[]).includes(type)) {
    throw badRequest(`Invalid authorization type ${type}: it must be one of ${ROUTE_AUTHORIZATION_TYPES.join(', ')}`);
  }
  if ((type === 'JWT' || type === 'CUSTOM') && optionalString(body, 'authorizerId') === undefined) {
    throw badRequest(`An authorizerId is required for authorization type ${type}`);
  }
  if (type === 'JWT' || type === 'CUSTOM') throw badRequest(`Authorization type ${type} needs an authorizer, and the local stack does not emulate authorizers`);
  return type;
}

function checkRouteKey(api: HttpApi, routeKey: unknown, except?: string): string {
  if (typeof routeKey !== 'string' || !routeKey) throw badRequest('RouteKey is required');
  if (!parseRouteKey(routeKey)) {
    throw badRequest(`Invalid route key ${routeKey}: it must be $default or "METHOD /path" (ANY, GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS; {param}, and a greedy {param+} last)`);
  }
  if ([...api.routes.values()].some((r) => r.routeKey === routeKey && r.routeId !== except)) {
    throw conflict(`Route with key ${routeKey} already exists for this API`);
  }
  return routeKey;
}

/** apigatewayv2's operations over its store. */
export class ApiGatewayV2Provider {
  private readonly operations: Record<ApiGatewayV2Operation, (r: ApiGatewayV2Request) => Promise<ApiGatewayV2Answer> | ApiGatewayV2Answer>;

  /**
   * @param store the HTTP APIs
   * @param options where the APIs are served
   */
  constructor(private readonly store: HttpApiStore, private readonly options: ApiGatewayV2ProviderOptions) {
    this.operations = {
      CreateApi: (r) => this.createApi(r),
      GetApis: (r) => this.getApis(r),
      GetApi: (r) => this.getApi(r),
      UpdateApi: (r) => this.updateApi(r),
      DeleteApi: (r) => this.deleteApi(r),
      CreateIntegration: (r) => this.createIntegration(r),
      GetIntegrations: (r) => this.getIntegrations(r),
      GetIntegration: (r) => this.getIntegration(r),
      UpdateIntegration: (r) => this.updateIntegration(r),
      DeleteIntegration: (r) => this.deleteIntegration(r),
      CreateRoute: (r) => this.createRoute(r),
      GetRoutes: (r) => this.getRoutes(r),
      GetRoute: (r) => this.getRoute(r),
      UpdateRoute: (r) => this.updateRoute(r),
      DeleteRoute: (r) => this.deleteRoute(r),
      CreateStage: (r) => this.createStage(r),
      GetStages: (r) => this.getStages(r),
      GetStage: (r) => this.getStage(r),
      UpdateStage: (r) => this.updateStage(r),
      DeleteStage: (r) => this.deleteStage(r),
      CreateDeployment: (r) => this.createDeployment(r),
      GetDeployments: (r) => this.getDeployments(r),
      GetDeployment: (r) => this.getDeployment(r),
      UpdateDeployment: (r) => this.updateDeployment(r),
      DeleteDeployment: (r) => this.deleteDeployment(r),
    };
  }

  /**
   * Answers one operation.
   * @param operation the operation's name
   * @param request its request
   */
  async dispatch(operation: ApiGatewayV2Operation, request: ApiGatewayV2Request): Promise<ApiGatewayV2Answer> {
    return this.operations[operation](request);
  }

  // --- APIs

  /**
   * CreateApi. With `target` (quick create), also an integration, a `$default` route to it (or
   * `routeKey`'s) and an auto-deploy `$default` stage, all marked apiGatewayManaged.
   */
  async createApi(r: ApiGatewayV2Request): Promise<ApiGatewayV2Answer> {
    const body = await readJson(r.req);
    const name = body.name;
    if (typeof name !== 'string' || !name || name.length > 128) throw badRequest('Name is required (1 to 128 characters)');
    if (body.protocolType !== 'HTTP') {
      throw badRequest(body.protocolType === 'WEBSOCKET'
        ? 'The local stack emulates HTTP APIs only: protocolType WEBSOCKET is not served'
        : 'ProtocolType is required: HTTP or WEBSOCKET');
    }
    const now = new Date();
    const description = optionalString(body, 'description');
    const version = optionalString(body, 'version');
    const api: HttpApi = {
      apiId: unique(this.store.apis, 10),
      name,
      protocolType: 'HTTP',
      ...(description !== undefined && { description }),
      createdDate: now,
      routeSelectionExpression: optionalString(body, 'routeSelectionExpression') ?? '$request.method $request.path',
      apiKeySelectionExpression: optionalString(body, 'apiKeySelectionExpression') ?? '$request.header.x-api-key',
      disableExecuteApiEndpoint: body.disableExecuteApiEndpoint === true,
      ...(body.corsConfiguration !== undefined && { corsConfiguration: body.corsConfiguration as Record<string, unknown> }),
      ...(version !== undefined && { version }),
      tags: stringMap(body, 'tags') ?? {},
      integrations: new Map(),
      routes: new Map(),
      deployments: new Map(),
      stages: new Map(),
    };
    const target = optionalString(body, 'target');
    if (target !== undefined) {
      const integration: HttpIntegration = {
        integrationId: unique(api.integrations, 7), integrationType: LAMBDA_TARGET.test(target) ? 'AWS_PROXY' : 'HTTP_PROXY',
        integrationUri: target, integrationMethod: 'POST', payloadFormatVersion: '2.0',
        timeoutInMillis: HTTP_INTEGRATION_TIMEOUT_MS.max, connectionType: 'INTERNET', apiGatewayManaged: true,
      };
      checkIntegration(integration);
      const routeKey = optionalString(body, 'routeKey') ?? '$default';
      if (!parseRouteKey(routeKey)) throw badRequest(`Invalid route key ${routeKey}`);
      api.integrations.set(integration.integrationId, integration);
      const route: HttpRoute = {
        routeId: unique(api.routes, 7), routeKey, target: `integrations/${integration.integrationId}`,
        authorizationType: 'NONE', apiKeyRequired: false, apiGatewayManaged: true,
      };
      api.routes.set(route.routeId, route);
      api.stages.set('$default', {
        stageName: '$default', autoDeploy: true, stageVariables: {}, createdDate: now, lastUpdatedDate: now, tags: {}, apiGatewayManaged: true,
      });
      this.autoDeploy(api);
    } else if (body.routeKey !== undefined) throw badRequest('RouteKey is only allowed with Target (quick create)');
    this.store.apis.set(api.apiId, api);
    return done(201, this.renderApi(api));
  }

  /** GetApis. */
  getApis(r: ApiGatewayV2Request): ApiGatewayV2Answer {
    const { items, nextToken } = page([...this.store.apis.values()], r.query);
    return done(200, { items: items.map((a) => this.renderApi(a)), ...(nextToken !== undefined && { nextToken }) });
  }

  /** GetApi. */
  getApi(r: ApiGatewayV2Request): ApiGatewayV2Answer {
    return done(200, this.renderApi(this.apiOf(r)));
  }

  /** UpdateApi: the members given change. */
  async updateApi(r: ApiGatewayV2Request): Promise<ApiGatewayV2Answer> {
    const api = this.apiOf(r);
    const body = await readJson(r.req);
    const name = optionalString(body, 'name');
    if (name !== undefined) {
      if (!name || name.length > 128) throw badRequest('Name must have 1 to 128 characters');
      api.name = name;
    }
    const description = optionalString(body, 'description');
    if (description !== undefined) api.description = description;
    const version = optionalString(body, 'version');
    if (version !== undefined) api.version = version;
    const rse = optionalString(body, 'routeSelectionExpression');
    if (rse !== undefined) api.routeSelectionExpression = rse;
    if (typeof body.disableExecuteApiEndpoint === 'boolean') api.disableExecuteApiEndpoint = body.disableExecuteApiEndpoint;
    if (body.corsConfiguration !== undefined) api.corsConfiguration = body.corsConfiguration as Record<string, unknown>;
    return done(200, this.renderApi(api));
  }

  /** DeleteApi, with everything in it. */
  deleteApi(r: ApiGatewayV2Request): ApiGatewayV2Answer {
    this.store.apis.delete(this.apiOf(r).apiId);
    return done(204);
  }

  // --- integrations

  /** CreateIntegration (AWS_PROXY to a Lambda function, or HTTP_PROXY). */
  async createIntegration(r: ApiGatewayV2Request): Promise<ApiGatewayV2Answer> {
    const api = this.apiOf(r);
    const given = integrationMembers(await readJson(r.req));
    if (given.integrationType === undefined) throw badRequest('IntegrationType is required');
    const integration: HttpIntegration = {
      connectionType: 'INTERNET',
      timeoutInMillis: HTTP_INTEGRATION_TIMEOUT_MS.max,
      ...(given.integrationType === 'AWS_PROXY' && { integrationMethod: 'POST' }),
      ...given,
      integrationId: unique(api.integrations, 7),
      integrationType: given.integrationType,
      apiGatewayManaged: false,
    };
    checkIntegration(integration);
    api.integrations.set(integration.integrationId, integration);
    this.autoDeploy(api);
    return done(201, renderIntegration(integration));
  }

  /** GetIntegrations. */
  getIntegrations(r: ApiGatewayV2Request): ApiGatewayV2Answer {
    const { items, nextToken } = page([...this.apiOf(r).integrations.values()], r.query);
    return done(200, { items: items.map(renderIntegration), ...(nextToken !== undefined && { nextToken }) });
  }

  /** GetIntegration. */
  getIntegration(r: ApiGatewayV2Request): ApiGatewayV2Answer {
    return done(200, renderIntegration(this.integrationOf(r).integration));
  }

  /** UpdateIntegration: checked as a whole, so a call that leaves it invalid changes nothing. */
  async updateIntegration(r: ApiGatewayV2Request): Promise<ApiGatewayV2Answer> {
    const { api, integration } = this.integrationOf(r);
    const patched: HttpIntegration = { ...integration, ...integrationMembers(await readJson(r.req)) };
    checkIntegration(patched);
    api.integrations.set(patched.integrationId, patched);
    this.autoDeploy(api);
    return done(200, renderIntegration(patched));
  }

  /** DeleteIntegration (refused while a route targets it). */
  deleteIntegration(r: ApiGatewayV2Request): ApiGatewayV2Answer {
    const { api, integration } = this.integrationOf(r);
    const user = [...api.routes.values()].find((route) => route.target === `integrations/${integration.integrationId}`);
    if (user) throw conflict(`Cannot delete integration ${integration.integrationId}: route ${user.routeKey} (${user.routeId}) targets it`);
    api.integrations.delete(integration.integrationId);
    this.autoDeploy(api);
    return done(204);
  }

  // --- routes

  /** CreateRoute: a route key unique in the API, and a target among its integrations. */
  async createRoute(r: ApiGatewayV2Request): Promise<ApiGatewayV2Answer> {
    const api = this.apiOf(r);
    const body = await readJson(r.req);
    const routeKey = checkRouteKey(api, body.routeKey);
    const target = checkTarget(api, body.target);
    const operationName = optionalString(body, 'operationName');
    const authorizationType = checkAuthorization(body);
    const route: HttpRoute = {
      routeId: unique(api.routes, 7),
      routeKey,
      ...(target !== undefined && { target }),
      authorizationType: authorizationType ?? 'NONE',
      apiKeyRequired: false,
      apiGatewayManaged: false,
      ...(operationName !== undefined && { operationName }),
    };
    if (body.apiKeyRequired === true) throw badRequest('API keys are not supported for HTTP APIs');
    api.routes.set(route.routeId, route);
    this.autoDeploy(api);
    return done(201, renderRoute(route));
  }

  /** GetRoutes. */
  getRoutes(r: ApiGatewayV2Request): ApiGatewayV2Answer {
    const { items, nextToken } = page([...this.apiOf(r).routes.values()], r.query);
    return done(200, { items: items.map(renderRoute), ...(nextToken !== undefined && { nextToken }) });
  }

  /** GetRoute. */
  getRoute(r: ApiGatewayV2Request): ApiGatewayV2Answer {
    return done(200, renderRoute(this.routeOf(r).route));
  }

  /** UpdateRoute: route key and target, checked as in CreateRoute. */
  async updateRoute(r: ApiGatewayV2Request): Promise<ApiGatewayV2Answer> {
    const { api, route } = this.routeOf(r);
    const body = await readJson(r.req);
    const patched: HttpRoute = { ...route };
    if (body.routeKey !== undefined) patched.routeKey = checkRouteKey(api, body.routeKey, route.routeId);
    const target = checkTarget(api, body.target);
    if (target !== undefined) patched.target = target;
    const authorizationType = checkAuthorization(body);
    if (authorizationType !== undefined) patched.authorizationType = authorizationType;
    api.routes.set(patched.routeId, patched);
    this.autoDeploy(api);
    return done(200, renderRoute(patched));
  }

  /** DeleteRoute. */
  deleteRoute(r: ApiGatewayV2Request): ApiGatewayV2Answer {
    const { api, route } = this.routeOf(r);
    api.routes.delete(route.routeId);
    this.autoDeploy(api);
    return done(204);
  }

  // --- stages

  /** CreateStage: `$default` or a name; with autoDeploy, the API as it is now is deployed to it. */
  async createStage(r: ApiGatewayV2Request): Promise<ApiGatewayV2Answer> {
    const api = this.apiOf(r);
    const body = await readJson(r.req);
    const stageName = checkStageName(body.stageName);
    if (api.stages.has(stageName)) throw conflict(`Stage ${stageName} already exists`);
    const deploymentId = optionalString(body, 'deploymentId');
    if (deploymentId !== undefined && !api.deployments.has(deploymentId)) throw notFound(`Invalid Deployment identifier specified ${deploymentId}`);
    const now = new Date();
    const description = optionalString(body, 'description');
    const stage: HttpStage = {
      stageName,
      autoDeploy: body.autoDeploy === true,
      ...(deploymentId !== undefined && { deploymentId }),
      ...(description !== undefined && { description }),
      stageVariables: stringMap(body, 'stageVariables') ?? {},
      createdDate: now,
      lastUpdatedDate: now,
      tags: stringMap(body, 'tags') ?? {},
      apiGatewayManaged: false,
      ...(body.defaultRouteSettings !== undefined && { defaultRouteSettings: body.defaultRouteSettings }),
      ...(body.routeSettings !== undefined && { routeSettings: body.routeSettings }),
    };
    api.stages.set(stageName, stage);
    if (stage.autoDeploy) this.autoDeploy(api);
    return done(201, renderStage(stage));
  }

  /** GetStages. */
  getStages(r: ApiGatewayV2Request): ApiGatewayV2Answer {
    const { items, nextToken } = page([...this.apiOf(r).stages.values()], r.query);
    return done(200, { items: items.map(renderStage), ...(nextToken !== undefined && { nextToken }) });
  }

  /** GetStage. */
  getStage(r: ApiGatewayV2Request): ApiGatewayV2Answer {
    return done(200, renderStage(this.stageOf(r).stage));
  }

  /** UpdateStage: autoDeploy, deploymentId, description, stage variables, route settings. */
  async updateStage(r: ApiGatewayV2Request): Promise<ApiGatewayV2Answer> {
    const { api, stage } = this.stageOf(r);
    const body = await readJson(r.req);
    const deploymentId = optionalString(body, 'deploymentId');
    if (deploymentId !== undefined && !api.deployments.has(deploymentId)) throw notFound(`Invalid Deployment identifier specified ${deploymentId}`);
    const description = optionalString(body, 'description');
    const variables = stringMap(body, 'stageVariables');
    if (deploymentId !== undefined) stage.deploymentId = deploymentId;
    if (description !== undefined) stage.description = description;
    if (variables !== undefined) stage.stageVariables = { ...stage.stageVariables, ...variables };
    if (body.defaultRouteSettings !== undefined) stage.defaultRouteSettings = body.defaultRouteSettings;
    if (body.routeSettings !== undefined) stage.routeSettings = body.routeSettings;
    const turnedOn = body.autoDeploy === true && !stage.autoDeploy;
    if (typeof body.autoDeploy === 'boolean') stage.autoDeploy = body.autoDeploy;
    stage.lastUpdatedDate = new Date();
    if (turnedOn) this.autoDeploy(api);
    return done(200, renderStage(stage));
  }

  /** DeleteStage. */
  deleteStage(r: ApiGatewayV2Request): ApiGatewayV2Answer {
    const { api, stage } = this.stageOf(r);
    api.stages.delete(stage.stageName);
    return done(204);
  }

  // --- deployments

  /** CreateDeployment: the routes and integrations as they are now, moved to `stageName` if given. */
  async createDeployment(r: ApiGatewayV2Request): Promise<ApiGatewayV2Answer> {
    const api = this.apiOf(r);
    const body = await readJson(r.req);
    const stageName = optionalString(body, 'stageName');
    const stage = stageName === undefined ? undefined : api.stages.get(stageName);
    if (stageName !== undefined && !stage) throw notFound(`Invalid stage identifier specified ${stageName}`);
    const description = optionalString(body, 'description');
    const deployment = this.snapshot(api, false, description);
    if (stage) {
      stage.deploymentId = deployment.deploymentId;
      stage.lastUpdatedDate = new Date();
    }
    return done(201, renderDeployment(deployment));
  }

  /** GetDeployments. */
  getDeployments(r: ApiGatewayV2Request): ApiGatewayV2Answer {
    const { items, nextToken } = page([...this.apiOf(r).deployments.values()], r.query);
    return done(200, { items: items.map(renderDeployment), ...(nextToken !== undefined && { nextToken }) });
  }

  /** GetDeployment. */
  getDeployment(r: ApiGatewayV2Request): ApiGatewayV2Answer {
    return done(200, renderDeployment(this.deploymentOf(r).deployment));
  }

  /** UpdateDeployment (its description). */
  async updateDeployment(r: ApiGatewayV2Request): Promise<ApiGatewayV2Answer> {
    const { deployment } = this.deploymentOf(r);
    const description = optionalString(await readJson(r.req), 'description');
    if (description !== undefined) deployment.description = description;
    return done(200, renderDeployment(deployment));
  }

  /** DeleteDeployment (refused while a stage serves it). */
  deleteDeployment(r: ApiGatewayV2Request): ApiGatewayV2Answer {
    const { api, deployment } = this.deploymentOf(r);
    const stage = [...api.stages.values()].find((s) => s.deploymentId === deployment.deploymentId);
    if (stage) throw badRequest(`Deployment ${deployment.deploymentId} is in use by stage ${stage.stageName}`);
    api.deployments.delete(deployment.deploymentId);
    return done(204);
  }

  // --- helpers

  /** The API with its `apiEndpoint`: the host-style URL LocalStack gives HTTP APIs. */
  private renderApi(api: HttpApi): Json {
    const { integrations: _i, routes: _r, deployments: _d, stages: _s, createdDate, ...rest } = api;
    const base = new URL(this.options.endpoint() || 'http://localhost:4566');
    return {
      ...rest,
      apiEndpoint: `${base.protocol}//${api.apiId}.execute-api.localhost.localstack.cloud:${base.port || '4566'}`,
      createdDate: createdDate.toISOString(),
    };
  }

  /** A deployment of the API as it is now. */
  private snapshot(api: HttpApi, autoDeployed: boolean, description?: string): HttpDeployment {
    const deployment: HttpDeployment = {
      deploymentId: unique(api.deployments, 6),
      autoDeployed,
      createdDate: new Date(),
      ...(description !== undefined && { description }),
      routes: [...api.routes.values()].map((route) => structuredClone(route)),
      integrations: new Map([...api.integrations].map(([id, i]) => [id, structuredClone(i)])),
    };
    api.deployments.set(deployment.deploymentId, deployment);
    return deployment;
  }

  /** Deploys the API's current state to every auto-deploy stage (at once, where AWS takes a moment). */
  private autoDeploy(api: HttpApi): void {
    const stages = [...api.stages.values()].filter((s) => s.autoDeploy);
    if (stages.length === 0) return;
    const deployment = this.snapshot(api, true);
    for (const stage of stages) {
      stage.deploymentId = deployment.deploymentId;
      stage.lastDeploymentStatusMessage = `Successfully deployed stage with deployment ID '${deployment.deploymentId}'`;
      stage.lastUpdatedDate = deployment.createdDate;
    }
  }

  private apiOf(r: ApiGatewayV2Request): HttpApi {
    return this.store.api(r.params['apiId'] ?? '');
  }

  private integrationOf(r: ApiGatewayV2Request): { api: HttpApi; integration: HttpIntegration } {
    const api = this.apiOf(r);
    const id = r.params['integrationId'] ?? '';
    const integration = api.integrations.get(id);
    if (!integration) throw notFound(`Invalid Integration identifier specified ${id}`);
    return { api, integration };
  }

  private routeOf(r: ApiGatewayV2Request): { api: HttpApi; route: HttpRoute } {
    const api = this.apiOf(r);
    const id = r.params['routeId'] ?? '';
    const route = api.routes.get(id);
    if (!route) throw notFound(`Invalid Route identifier specified ${id}`);
    return { api, route };
  }

  private stageOf(r: ApiGatewayV2Request): { api: HttpApi; stage: HttpStage } {
    const api = this.apiOf(r);
    const name = r.params['stageName'] ?? '';
    const stage = api.stages.get(name);
    if (!stage) throw notFound(`Invalid stage identifier specified ${name}`);
    return { api, stage };
  }

  private deploymentOf(r: ApiGatewayV2Request): { api: HttpApi; deployment: HttpDeployment } {
    const api = this.apiOf(r);
    const id = r.params['deploymentId'] ?? '';
    const deployment = api.deployments.get(id);
    if (!deployment) throw notFound(`Invalid Deployment identifier specified ${id}`);
    return { api, deployment };
  }
}
