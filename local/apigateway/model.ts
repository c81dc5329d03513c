/**
 * API Gateway (REST, v1) resources as the local stack keeps them, and the
 * route matching of invoke URLs against a deployment's resources.
 */
import { randomInt } from 'node:crypto';
import { notFound } from './errors';

/** An integration of a method. */
export interface Integration {
  /** AWS_PROXY, MOCK, ... */
  type: string;
  /** Integration HTTP method (POST for Lambda). */
  httpMethod?: string;
  /** Integration URI. */
  uri?: string;
  /** Other recorded fields. */
  [key: string]: unknown;
}

/** A method of a resource. */
export interface Method {
  /** GET, POST, ..., ANY. */
  httpMethod: string;
  /** NONE, AWS_IAM, CUSTOM, COGNITO_USER_POOLS (recorded, not enforced). */
  authorizationType: string;
  /** Whether `x-api-key` must name a key of a usage plan of the stage. */
  apiKeyRequired: boolean;
  /** The integration, if put. */
  methodIntegration?: Integration;
  /** Method responses by status code (recorded). */
  methodResponses?: Record<string, Record<string, unknown>>;
  /** Other recorded fields. */
  [key: string]: unknown;
}

/** A resource (a path). */
export interface Resource {
  /** Resource id. */
  id: string;
  /** Parent id (absent for the root). */
  parentId?: string;
  /** Last path part (absent for the root). */
  pathPart?: string;
  /** Full path, e.g. `/{proxy+}`. */
  path: string;
  /** Methods by HTTP method. */
  resourceMethods: Record<string, Method>;
}

/** A deployment: a snapshot of the API's resources. */
export interface Deployment {
  /** Deployment id. */
  id: string;
  /** Description. */
  description?: string;
  /** Epoch seconds. */
  createdDate: number;
  /** Resources as they were when deployed. */
  snapshot: Resource[];
  /** The API's binary media types when deployed (they take effect with a deployment). */
  binaryMediaTypes?: string[];
}

/** A stage. */
export interface Stage {
  /** Stage name. */
  stageName: string;
  /** Deployment served. */
  deploymentId: string;
  /** Description. */
  description?: string;
  /** Stage variables. */
  variables?: Record<string, string>;
  /** Epoch seconds. */
  createdDate: number;
  /** Epoch seconds. */
  lastUpdatedDate: number;
  /** Other recorded fields. */
  [key: string]: unknown;
}

/** A REST API. */
export interface RestApi {
  /** API id (10 lowercase alphanumerics). */
  id: string;
  /** Name. */
  name: string;
  /** Description. */
  description?: string;
  /** Epoch seconds. */
  createdDate: number;
  /** Media types passed to the integration as base64. */
  binaryMediaTypes: string[];
  /** HEADER (x-api-key) or AUTHORIZER. */
  apiKeySource: string;
  /** Endpoint configuration. */
  endpointConfiguration: { types: string[] };
  /** Root resource id. */
  rootResourceId: string;
  /** Tags. */
  tags: Record<string, string>;
  /** Resources by id. */
  resources: Map<string, Resource>;
  /** Deployments by id. */
  deployments: Map<string, Deployment>;
  /** Stages by name. */
  stages: Map<string, Stage>;
}

/** An API key. */
export interface ApiKey {
  /** Key id. */
  id: string;
  /** Name. */
  name?: string;
  /** Description. */
  description?: string;
  /** Whether it is enabled. */
  enabled: boolean;
  /** The key value. */
  value: string;
  /** Epoch seconds. */
  createdDate: number;
  /** Epoch seconds. */
  lastUpdatedDate: number;
  /** Stage keys. */
  stageKeys: string[];
  /** Tags. */
  tags: Record<string, string>;
}

/** A usage plan. */
export interface UsagePlan {
  /** Plan id. */
  id: string;
  /** Name. */
  name: string;
  /** Description. */
  description?: string;
  /** API stages it covers. */
  apiStages: { apiId: string; stage: string }[];
  /** Recorded only. */
  throttle?: unknown;
  /** Recorded only. */
  quota?: unknown;
  /** Ids of API keys in the plan. */
  keyIds: Set<string>;
  /** Tags. */
  tags: Record<string, string>;
}

/** Everything API Gateway keeps. */
export class ApiGatewayStore {
  /** APIs by id. */
  readonly apis = new Map<string, RestApi>();
  /** API keys by id. */
  readonly apiKeys = new Map<string, ApiKey>();
  /** Usage plans by id. */
  readonly usagePlans = new Map<string, UsagePlan>();

  /**
   * An API or NotFoundException.
   * @param id API id
   */
  api(id: string): RestApi {
    const api = this.apis.get(id);
    if (!api) throw notFound(`Invalid API identifier specified 000000000000:${id}`);
    return api;
  }
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A random lowercase alphanumeric id, as API Gateway's.
 * @param length id length
 */
export function newId(length = 10): string {
  let id = '';
  for (let i = 0; i < length; i++) id += ALNUM[randomInt(ALNUM.length)];
  return id;
}

/** Epoch seconds now. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** The result of matching a request path. */
export interface RouteMatch {
  /** The matched resource. */
  resource: Resource;
  /** The method (or ANY). */
  method: Method;
  /** Path parameters, or null when none. */
  pathParameters: Record<string, string> | null;
}

/**
 * Matches a path (without the stage) and method against resources:
 * literal parts first, then `{param}`, then greedy `{proxy+}`; a method of
 * the request's verb first, then ANY. Path parameters keep the path as sent, as
 * recorded on AWS (LocalStack's `test_apigateway_lambda.snapshot.json`,
 * `test_lambda_aws_proxy_integration`): percent-encoding (`%2B`) stays, and a
 * greedy parameter keeps inner double slashes (`proxy-value//double-slash`) but not a
 * trailing slash (`/proxy-value/` gives `proxy-value`, record
 * "invocation-payload-with-trailing-slash"; the event's `path` keeps it).
 * @param resources the deployment's resources
 * @param path request path, e.g. `/a/b`
 * @param httpMethod request method
 */
export function matchRoute(resources: Resource[], path: string, httpMethod: string): RouteMatch | undefined {
  const children = new Map<string, Resource[]>();
  let root: Resource | undefined;
  for (const r of resources) {
    if (r.parentId === undefined) root = r;
    else children.set(r.parentId, [...(children.get(r.parentId) ?? []), r]);
  }
  if (!root) return undefined;
  const raw = path.split('/');
  // Where each non-empty segment is in the raw path, so that a greedy parameter can keep `//`.
  const positions = raw.flatMap((s, i) => (s.length > 0 ? [i] : []));
  const segments = positions.map((i) => raw[i] ?? '');
  const pickMethod = (r: Resource): Method | undefined => r.resourceMethods[httpMethod] ?? r.resourceMethods.ANY;

  const walk = (node: Resource, index: number, params: Record<string, string>): RouteMatch | undefined => {
    if (index === segments.length) {
      const method = pickMethod(node);
      return method ? { resource: node, method, pathParameters: Object.keys(params).length ? params : null } : undefined;
    }
    const kids = children.get(node.id) ?? [];
    const segment = segments[index] ?? '';
    for (const kid of kids) {
      if (kid.pathPart === segment) {
        const m = walk(kid, index + 1, params);
        if (m) return m;
      }
    }
    for (const kid of kids) {
      const p = /^\{([^+}]+)\}$/.exec(kid.pathPart ?? '');
      if (p?.[1]) {
        const m = walk(kid, index + 1, { ...params, [p[1]]: segment });
        if (m) return m;
      }
    }
    for (const kid of kids) {
      const g = /^\{(.+)\+\}$/.exec(kid.pathPart ?? '');
      if (g?.[1]) {
        const method = pickMethod(kid);
        if (method) {
          // From this segment to the last non-empty one: inner `//` kept, trailing slashes dropped.
          const rest = raw.slice(positions[index] ?? raw.length, (positions.at(-1) ?? -1) + 1).join('/');
          return { resource: kid, method, pathParameters: { ...params, [g[1]]: rest } };
        }
      }
    }
    return undefined;
  };
  return walk(root, 0, {});
}
