/**
 * The API Gateway REST control plane (`/restapis`, `/apikeys`,
 * `/usageplans`, `/tags`): what a deploy script calls to build a REST API
 * with AWS_PROXY integrations, deployments, stages, API keys and usage plans.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { AwsError, BodyTooLargeError } from '../errors';
import { decodePart, newRequestId, readBody, send, sendJson } from '../http';
import { badRequest, conflict, newId, notFound, nowSeconds } from './model';
import type { ApiGatewayStore, ApiKey, Deployment, Integration, Method, Resource, RestApi, Stage, UsagePlan } from './model';

type Json = Record<string, unknown>;

const PATH_PART = /^([a-zA-Z0-9._\-:~@!$&'()*,;=]+|\{[a-zA-Z0-9._-]+\+?\})$/;
const HTTP_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'ANY']);
const LAMBDA_URI = /^arn:aws[a-zA-Z-]*:apigateway:[a-z0-9-]+:lambda:path\/2015-03-31\/functions\/(.+)\/invocations$/;

/**
 * Sends an API Gateway-shaped error: `x-amzn-ErrorType` and `{"message"}`.
 * @param res the response
 * @param err the error
 */
export function sendApiGatewayError(res: ServerResponse, err: AwsError): void {
  sendJson(res, err.status, { message: err.message }, { 'x-amzn-ErrorType': err.code, 'x-amzn-RequestId': newRequestId() });
}

async function readJson(req: IncomingMessage): Promise<Json> {
  let body: Buffer;
  try {
    body = await readBody(req, 6 * 1024 * 1024);
  } catch (err) {
    if (err instanceof BodyTooLargeError) throw new AwsError(413, 'LimitExceededException', 'Request too large');
    throw err;
  }
  if (!body.length) return {};
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Json;
  } catch {
    // fall through
  }
  throw badRequest('Invalid JSON in request body');
}

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

/** The API Gateway control plane. */
export class ApiGatewayControlPlane {
  /** @param store the API Gateway data */
  constructor(private readonly store: ApiGatewayStore) {}

  /**
   * Answers one control-plane request; every error becomes API Gateway's shape.
   * @param req the request
   * @param res the response
   * @param region the request's region (for ARNs)
   */
  async handle(req: IncomingMessage, res: ServerResponse, region: string): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const segments = url.pathname.split('/').filter(Boolean).map((s) => decodePart(s));
      const [status, value] = await this.route(req, req.method ?? 'GET', segments, url.searchParams, region);
      if (value === undefined) send(res, status, { 'x-amzn-RequestId': newRequestId() });
      else sendJson(res, status, value, { 'x-amzn-RequestId': newRequestId() });
    } catch (err) {
      if (err instanceof AwsError) sendApiGatewayError(res, err);
      else throw err;
    }
  }

  private async route(
    req: IncomingMessage, method: string, seg: string[], query: URLSearchParams, region: string,
  ): Promise<[number, unknown]> {
    const s = this.store;
    const [top, id, kind, sub, ...rest] = seg;
    if (top === 'restapis') {
      if (id === undefined) {
        if (method === 'POST') return [201, renderApi(this.createApi(await readJson(req)))];
        if (method === 'GET') return [200, { item: [...s.apis.values()].map(renderApi) }];
      } else {
        const api = s.api(id);
        if (kind === undefined) {
          if (method === 'GET') return [200, renderApi(api)];
          if (method === 'DELETE') {
            s.apis.delete(id);
            return [202, undefined];
          }
          if (method === 'PATCH') {
            const body = await readJson(req);
            applyPatch(api as unknown as Record<string, unknown>, body.patchOperations);
            return [200, renderApi(api)];
          }
        }
        if (kind === 'resources') return this.resources(req, method, api, sub, rest, query);
        if (kind === 'deployments') return this.deployments(req, method, api, sub);
        if (kind === 'stages') return this.stages(req, method, api, sub);
      }
    }
    if (top === 'apikeys') return this.apiKeys(req, method, id, query);
    if (top === 'usageplans') return this.usagePlans(req, method, id, kind, sub);
    if (top === 'tags' && id !== undefined) {
      const arn = seg.slice(1).join('/');
      const tags = this.tagsOf(arn, region);
      if (method === 'GET') return [200, { tags }];
      if (method === 'PUT') {
        Object.assign(tags, ((await readJson(req)).tags ?? {}) as Record<string, string>);
        return [204, undefined];
      }
      if (method === 'DELETE') {
        for (const key of query.getAll('tagKeys')) delete tags[key];
        return [204, undefined];
      }
    }
    throw notFound(`Unknown operation ${method} /${seg.join('/')}`);
  }

  private tagsOf(arn: string, _region: string): Record<string, string> {
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

  private createApi(body: Json): RestApi {
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
    return api;
  }

  private resource(api: RestApi, id: string): Resource {
    const r = api.resources.get(id);
    if (!r) throw notFound('Invalid Resource identifier specified');
    return r;
  }

  private async resources(
    req: IncomingMessage, method: string, api: RestApi, rid: string | undefined, rest: string[], query: URLSearchParams,
  ): Promise<[number, unknown]> {
    if (rid === undefined) {
      if (method !== 'GET') throw notFound('Unknown operation');
      const embed = query.getAll('embed').includes('methods');
      return [200, { item: [...api.resources.values()].map((r) => renderResource(r, embed)) }];
    }
    const resource = this.resource(api, rid);
    const [kind, httpMethodRaw, part, responses, code] = rest;
    if (kind === undefined) {
      if (method === 'GET') return [200, renderResource(resource, query.getAll('embed').includes('methods'))];
      if (method === 'POST') return [201, renderResource(this.createResource(api, resource, await readJson(req)), false)];
      if (method === 'DELETE') {
        if (resource.parentId === undefined) throw badRequest('Cannot delete root resource');
        const doomed = new Set([resource.id]);
        let grew = true;
        while (grew) {
          grew = false;
          for (const r of api.resources.values()) {
            if (r.parentId && doomed.has(r.parentId) && !doomed.has(r.id)) {
              doomed.add(r.id);
              grew = true;
            }
          }
        }
        for (const d of doomed) api.resources.delete(d);
        return [202, undefined];
      }
      throw notFound('Unknown operation');
    }
    if (kind !== 'methods' || httpMethodRaw === undefined) throw notFound('Unknown operation');
    const httpMethod = httpMethodRaw.toUpperCase();
    if (!HTTP_METHODS.has(httpMethod)) throw badRequest(`Invalid HttpMethod specified. Valid options are ${[...HTTP_METHODS].join(',')}`);
    if (part === undefined) {
      if (method === 'PUT') {
        const body = await readJson(req);
        if (typeof body.authorizationType !== 'string') throw badRequest('Invalid authorization type specified.');
        const m: Method = {
          ...body,
          httpMethod,
          authorizationType: body.authorizationType,
          apiKeyRequired: body.apiKeyRequired === true,
        };
        resource.resourceMethods[httpMethod] = m;
        return [201, m];
      }
      const m = resource.resourceMethods[httpMethod];
      if (!m) throw notFound('Invalid Method identifier specified');
      if (method === 'GET') return [200, m];
      if (method === 'DELETE') {
        delete resource.resourceMethods[httpMethod];
        return [204, undefined];
      }
      if (method === 'PATCH') {
        applyPatch(m, (await readJson(req)).patchOperations);
        return [200, m];
      }
      throw notFound('Unknown operation');
    }
    const m = resource.resourceMethods[httpMethod];
    if (!m) throw notFound('Invalid Method identifier specified');
    if (part === 'integration') {
      if (responses === undefined) {
        if (method === 'PUT') return [201, this.putIntegration(resource, m, await readJson(req))];
        if (!m.methodIntegration) throw notFound('No integration defined for method');
        if (method === 'GET') return [200, m.methodIntegration];
        if (method === 'DELETE') {
          delete m.methodIntegration;
          return [204, undefined];
        }
        if (method === 'PATCH') {
          applyPatch(m.methodIntegration, (await readJson(req)).patchOperations);
          return [200, m.methodIntegration];
        }
      } else if (responses === 'responses' && code !== undefined) {
        if (!m.methodIntegration) throw notFound('No integration defined for method');
        const all = ((m.methodIntegration.integrationResponses ??= {}) as Record<string, Json>);
        if (method === 'PUT') {
          all[code] = { ...(await readJson(req)), statusCode: code };
          return [201, all[code]];
        }
        if (!all[code]) throw notFound('Invalid Response status code specified');
        if (method === 'GET') return [200, all[code]];
        if (method === 'DELETE') {
          delete all[code];
          return [204, undefined];
        }
      }
      throw notFound('Unknown operation');
    }
    if (part === 'responses' && responses !== undefined) {
      const statusCode = responses;
      const all = (m.methodResponses ??= {});
      if (method === 'PUT') {
        all[statusCode] = { ...(await readJson(req)), statusCode };
        return [201, all[statusCode]];
      }
      if (!all[statusCode]) throw notFound('Invalid Response status code specified');
      if (method === 'GET') return [200, all[statusCode]];
      if (method === 'DELETE') {
        delete all[statusCode];
        return [204, undefined];
      }
    }
    throw notFound('Unknown operation');
  }

  private createResource(api: RestApi, parent: Resource, body: Json): Resource {
    const pathPart = body.pathPart;
    if (typeof pathPart !== 'string' || !PATH_PART.test(pathPart)) {
      throw badRequest(`Resource's path part only allow a-zA-Z0-9._- and curly braces at the beginning and the end and an optional plus sign before the closing brace.`);
    }
    const siblings = [...api.resources.values()].filter((r) => r.parentId === parent.id);
    if (siblings.some((r) => r.pathPart === pathPart)) {
      throw conflict(`Another resource with the same parent already has this name: ${pathPart}`);
    }
    if (pathPart.startsWith('{')) {
      const other = siblings.find((r) => r.pathPart?.startsWith('{'));
      if (other) throw badRequest(`A sibling (${other.pathPart}) of this resource already has a variable path part -- only one is allowed`);
    }
    if (/\+\}$/.test(parent.pathPart ?? '')) throw badRequest('A greedy path variable must be the last part of a path');
    const r: Resource = {
      id: newId(6),
      parentId: parent.id,
      pathPart,
      path: parent.path === '/' ? `/${pathPart}` : `${parent.path}/${pathPart}`,
      resourceMethods: {},
    };
    api.resources.set(r.id, r);
    return r;
  }

  private putIntegration(resource: Resource, m: Method, body: Json): Integration {
    const type = body.type;
    if (typeof type !== 'string' || !['AWS', 'AWS_PROXY', 'HTTP', 'HTTP_PROXY', 'MOCK'].includes(type)) {
      throw badRequest('Enumeration value for IntegrationType must be non-empty');
    }
    if ((type === 'AWS_PROXY' || type === 'AWS') && (typeof body.uri !== 'string' || !body.uri)) {
      throw badRequest('Integrations of type \'AWS_PROXY\' currently only supports Lambda function and Firehose stream invocations.');
    }
    if (type === 'AWS_PROXY' && !LAMBDA_URI.test(String(body.uri))) throw badRequest('Invalid ARN specified in the request');
    if ((type === 'AWS_PROXY' || type === 'AWS') && !body.httpMethod) throw badRequest('Enumeration value for HttpMethod must be non-empty');
    const timeout = body.timeoutInMillis;
    if (timeout !== undefined && (typeof timeout !== 'number' || timeout < 50)) {
      throw badRequest('Timeout should be between 50 ms and 29000 ms');
    }
    const integration: Integration = {
      passthroughBehavior: 'WHEN_NO_MATCH',
      timeoutInMillis: 29000,
      cacheNamespace: resource.id,
      cacheKeyParameters: [],
      connectionType: 'INTERNET',
      ...body,
      type,
    };
    m.methodIntegration = integration;
    return integration;
  }

  private async deployments(req: IncomingMessage, method: string, api: RestApi, did: string | undefined): Promise<[number, unknown]> {
    if (did === undefined) {
      if (method === 'GET') return [200, { item: [...api.deployments.values()].map(renderDeployment) }];
      if (method === 'POST') {
        const body = await readJson(req);
        const methods = [...api.resources.values()].flatMap((r) => Object.values(r.resourceMethods));
        if (methods.length === 0) throw badRequest("The REST API doesn't contain any methods");
        if (methods.some((m) => !m.methodIntegration)) throw badRequest('No integration defined for method');
        const d: Deployment = {
          id: newId(6),
          ...(typeof body.description === 'string' ? { description: body.description } : {}),
          createdDate: nowSeconds(),
          snapshot: structuredClone([...api.resources.values()]),
        };
        api.deployments.set(d.id, d);
        if (typeof body.stageName === 'string' && body.stageName) {
          this.checkStageName(body.stageName);
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
        return [201, renderDeployment(d)];
      }
      throw notFound('Unknown operation');
    }
    const d = api.deployments.get(did);
    if (!d) throw notFound('Invalid Deployment identifier specified');
    if (method === 'GET') return [200, renderDeployment(d)];
    if (method === 'DELETE') {
      if ([...api.stages.values()].some((st) => st.deploymentId === did)) {
        throw badRequest('Active stages pointing to this deployment must be moved or deleted');
      }
      api.deployments.delete(did);
      return [202, undefined];
    }
    throw notFound('Unknown operation');
  }

  private checkStageName(name: string): void {
    if (!/^[a-zA-Z0-9_-]+$/.test(name) || name.length > 128) {
      throw badRequest('Stage name only allows a-zA-Z0-9_');
    }
  }

  private async stages(req: IncomingMessage, method: string, api: RestApi, name: string | undefined): Promise<[number, unknown]> {
    if (name === undefined) {
      if (method === 'GET') return [200, { item: [...api.stages.values()].map(renderStage) }];
      if (method === 'POST') {
        const body = await readJson(req);
        const stageName = String(body.stageName ?? '');
        this.checkStageName(stageName);
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
        return [201, renderStage(stage)];
      }
      throw notFound('Unknown operation');
    }
    const stage = api.stages.get(name);
    if (!stage) throw notFound('Invalid Stage identifier specified');
    if (method === 'GET') return [200, renderStage(stage)];
    if (method === 'DELETE') {
      api.stages.delete(name);
      return [202, undefined];
    }
    if (method === 'PATCH') {
      applyPatch(stage, (await readJson(req)).patchOperations);
      if (!api.deployments.has(stage.deploymentId)) throw badRequest('Invalid deployment id specified');
      stage.lastUpdatedDate = nowSeconds();
      return [200, renderStage(stage)];
    }
    throw notFound('Unknown operation');
  }

  private async apiKeys(req: IncomingMessage, method: string, id: string | undefined, query: URLSearchParams): Promise<[number, unknown]> {
    const s = this.store;
    if (id === undefined) {
      if (method === 'GET') {
        const withValues = query.get('includeValues') === 'true';
        const nameQuery = query.get('name');
        const keys = [...s.apiKeys.values()].filter((k) => !nameQuery || k.name?.startsWith(nameQuery));
        return [200, { item: keys.map((k) => renderKey(k, withValues)) }];
      }
      if (method === 'POST') {
        const body = await readJson(req);
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
        return [201, renderKey(key, true)];
      }
      throw notFound('Unknown operation');
    }
    const key = s.apiKeys.get(id);
    if (!key) throw notFound('Invalid API Key identifier specified');
    if (method === 'GET') return [200, renderKey(key, query.get('includeValue') === 'true')];
    if (method === 'DELETE') {
      s.apiKeys.delete(id);
      for (const plan of s.usagePlans.values()) plan.keyIds.delete(id);
      return [202, undefined];
    }
    if (method === 'PATCH') {
      applyPatch(key as unknown as Record<string, unknown>, (await readJson(req)).patchOperations);
      key.lastUpdatedDate = nowSeconds();
      return [200, renderKey(key, false)];
    }
    throw notFound('Unknown operation');
  }

  private async usagePlans(
    req: IncomingMessage, method: string, id: string | undefined, kind: string | undefined, keyId: string | undefined,
  ): Promise<[number, unknown]> {
    const s = this.store;
    if (id === undefined) {
      if (method === 'GET') return [200, { item: [...s.usagePlans.values()].map(renderPlan) }];
      if (method === 'POST') {
        const body = await readJson(req);
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
        return [201, renderPlan(plan)];
      }
      throw notFound('Unknown operation');
    }
    const plan = s.usagePlans.get(id);
    if (!plan) throw notFound('Invalid Usage Plan ID specified');
    if (kind === undefined) {
      if (method === 'GET') return [200, renderPlan(plan)];
      if (method === 'DELETE') {
        s.usagePlans.delete(id);
        return [202, undefined];
      }
      if (method === 'PATCH') {
        const body = await readJson(req);
        for (const op of (Array.isArray(body.patchOperations) ? body.patchOperations : []) as Json[]) {
          if (op.path === '/apiStages' && typeof op.value === 'string') {
            const [apiId, stage] = op.value.split(':');
            if (op.op === 'add') plan.apiStages.push({ apiId: apiId ?? '', stage: stage ?? '' });
            if (op.op === 'remove') plan.apiStages = plan.apiStages.filter((x) => !(x.apiId === apiId && x.stage === stage));
          }
        }
        applyPatch(plan as unknown as Record<string, unknown>,
          ((Array.isArray(body.patchOperations) ? body.patchOperations : []) as Json[]).filter((op) => op.path !== '/apiStages'));
        return [200, renderPlan(plan)];
      }
      throw notFound('Unknown operation');
    }
    if (kind !== 'keys') throw notFound('Unknown operation');
    const renderPlanKey = (kid: string): Json => {
      const k = s.apiKeys.get(kid);
      return { id: kid, type: 'API_KEY', ...(k?.name ? { name: k.name } : {}), ...(k ? { value: k.value } : {}) };
    };
    if (keyId === undefined) {
      if (method === 'GET') return [200, { item: [...plan.keyIds].map(renderPlanKey) }];
      if (method === 'POST') {
        const body = await readJson(req);
        const kid = String(body.keyId ?? '');
        if (body.keyType !== 'API_KEY') throw badRequest('Invalid key type specified');
        if (!s.apiKeys.has(kid)) throw notFound('Invalid API Key identifier specified');
        if (plan.keyIds.has(kid)) throw conflict(`Usage Plan ${plan.id} already contains API Key ${kid}`);
        plan.keyIds.add(kid);
        return [201, renderPlanKey(kid)];
      }
      throw notFound('Unknown operation');
    }
    if (!plan.keyIds.has(keyId)) throw notFound('Invalid API Key identifier specified');
    if (method === 'GET') return [200, renderPlanKey(keyId)];
    if (method === 'DELETE') {
      plan.keyIds.delete(keyId);
      return [202, undefined];
    }
    throw notFound('Unknown operation');
  }
}

