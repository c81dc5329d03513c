/**
 * API Gateway HTTP APIs (apigatewayv2) as the local stack keeps them: APIs with their
 * integrations, routes, deployments and stages, and the route matching of invoke URLs.
 */
import { notFound } from '../apigateway/errors';
import { ACCOUNT_ID } from '../http';

/** An integration of an HTTP API. */
export interface HttpIntegration {
  /** Its id (7 lowercase alphanumerics). */
  integrationId: string;
  /** AWS_PROXY (a Lambda function) or HTTP_PROXY. */
  integrationType: string;
  /** The function's ARN (or its `apigateway:lambda:path` URI), or the HTTP endpoint. */
  integrationUri?: string;
  /** The method used to call the integration (POST for Lambda). */
  integrationMethod?: string;
  /** `1.0` or `2.0`: the event and answer format of a Lambda integration. */
  payloadFormatVersion?: string;
  /** How long the integration may take, 50 to 30000 ms (default 30000). */
  timeoutInMillis: number;
  /** INTERNET or VPC_LINK. */
  connectionType: string;
  /** Description. */
  description?: string;
  /** Whether quick create made it. */
  apiGatewayManaged?: boolean;
  /** Other recorded fields. */
  [key: string]: unknown;
}

/** A route: a route key and the integration it targets. */
export interface HttpRoute {
  /** Its id (7 lowercase alphanumerics). */
  routeId: string;
  /** `$default`, or `METHOD /path` with `{name}` and a greedy last `{name+}`. */
  routeKey: string;
  /** `integrations/<integrationId>`, if any. */
  target?: string;
  /** NONE, JWT, AWS_IAM or CUSTOM (recorded, not enforced). */
  authorizationType: string;
  /** Always false on HTTP APIs. */
  apiKeyRequired: boolean;
  /** Whether quick create made it. */
  apiGatewayManaged?: boolean;
  /** Other recorded fields. */
  [key: string]: unknown;
}

/** A deployment: the routes and integrations as they were when it was made. */
export interface HttpDeployment {
  /** Its id (6 lowercase alphanumerics). */
  deploymentId: string;
  /** Description. */
  description?: string;
  /** Whether an auto-deploy stage made it. */
  autoDeployed: boolean;
  /** When it was made. */
  createdDate: Date;
  /** The routes then. */
  routes: HttpRoute[];
  /** The integrations then, by id. */
  integrations: Map<string, HttpIntegration>;
}

/** A stage of an HTTP API. */
export interface HttpStage {
  /** `$default` (served at the API's base URL) or a name (served under `/name/`). */
  stageName: string;
  /** Whether every change to the API is deployed to it at once. */
  autoDeploy: boolean;
  /** The deployment it serves, if any. */
  deploymentId?: string;
  /** Description. */
  description?: string;
  /** Stage variables. */
  stageVariables: Record<string, string>;
  /** The last auto-deployment's outcome. */
  lastDeploymentStatusMessage?: string;
  /** When it was made. */
  createdDate: Date;
  /** When it last changed. */
  lastUpdatedDate: Date;
  /** Tags. */
  tags: Record<string, string>;
  /** Other recorded fields (route settings, ...). */
  [key: string]: unknown;
}

/** An HTTP API. */
export interface HttpApi {
  /** Its id (10 lowercase alphanumerics). */
  apiId: string;
  /** Its name. */
  name: string;
  /** Always HTTP here (WebSocket APIs are not emulated). */
  protocolType: 'HTTP';
  /** Description. */
  description?: string;
  /** When it was made. */
  createdDate: Date;
  /** `$request.method $request.path`. */
  routeSelectionExpression: string;
  /** `$request.header.x-api-key`. */
  apiKeySelectionExpression: string;
  /** Whether the default endpoint is turned off. */
  disableExecuteApiEndpoint: boolean;
  /** CORS settings (recorded, not applied). */
  corsConfiguration?: Record<string, unknown>;
  /** Version label. */
  version?: string;
  /** Tags. */
  tags: Record<string, string>;
  /** Integrations by id. */
  integrations: Map<string, HttpIntegration>;
  /** Routes by id. */
  routes: Map<string, HttpRoute>;
  /** Deployments by id. */
  deployments: Map<string, HttpDeployment>;
  /** Stages by name. */
  stages: Map<string, HttpStage>;
}

/** Every HTTP API the stack keeps. */
export class HttpApiStore {
  /** APIs by id. */
  readonly apis = new Map<string, HttpApi>();

  /**
   * An API, or NotFoundException as apigatewayv2 words it.
   * @param id the API's id
   */
  api(id: string): HttpApi {
    const api = this.apis.get(id);
    if (!api) throw notFound(`Invalid API identifier specified ${ACCOUNT_ID}:${id}`);
    return api;
  }
}

/** A route key taken apart. */
export interface ParsedRouteKey {
  /** The method, or ANY; undefined for `$default`. */
  method?: string;
  /** The path's segments (literal, `{name}` or a last `{name+}`); empty for `$default` and `/`. */
  segments: string[];
}

/** The methods a route key may name. */
export const ROUTE_METHODS = ['ANY', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

const SEGMENT = /^([A-Za-z0-9._~!$&'()*,;=:@-]+|\{[A-Za-z0-9._-]+\+?\})$/;

/**
 * Parses a route key, or undefined when it is not one: `$default`, or a method, one space and a
 * path of literal segments and `{name}` parameters with at most a last greedy `{name+}`.
 * @param routeKey the route key
 */
export function parseRouteKey(routeKey: string): ParsedRouteKey | undefined {
  if (routeKey === '$default') return { segments: [] };
  const m = /^([A-Z]+) (\/.*)$/.exec(routeKey);
  if (!m || !(ROUTE_METHODS as readonly string[]).includes(m[1] ?? '')) return undefined;
  const path = m[2] ?? '/';
  if (path !== '/' && path.endsWith('/')) return undefined;
  const segments = path === '/' ? [] : path.slice(1).split('/');
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i] ?? '';
    if (!SEGMENT.test(s)) return undefined;
    if (s.endsWith('+}') && i !== segments.length - 1) return undefined;
  }
  return { method: m[1] ?? 'ANY', segments };
}

/** A matched route: the route and its path parameters. */
export interface HttpRouteMatch {
  /** The route. */
  route: HttpRoute;
  /** Path parameters (percent-decoded), or undefined when the route has none. */
  pathParameters?: Record<string, string>;
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Picks the route for a request as HTTP APIs do: the most specific path first (literal
 * segments before `{param}` before a greedy `{proxy+}`), a route of the request's method before
 * ANY, and `$default` when nothing else matches.
 * @param routes the deployment's routes
 * @param path the request path without the stage (still percent-encoded)
 * @param method the request's method
 */
export function matchHttpRoute(routes: HttpRoute[], path: string, method: string): HttpRouteMatch | undefined {
  const segments = path.split('/').filter((s) => s.length > 0);
  let best: { score: number[]; match: HttpRouteMatch } | undefined;
  let fallback: HttpRoute | undefined;
  for (const route of routes) {
    if (route.routeKey === '$default') {
      fallback = route;
      continue;
    }
    const key = parseRouteKey(route.routeKey);
    if (!key?.method || (key.method !== 'ANY' && key.method !== method)) continue;
    const params: Record<string, string> = {};
    // Per segment: 2 literal, 1 parameter; a greedy tail ranks below any exact-length match.
    const score: number[] = [];
    let ok = true;
    let greedy = false;
    for (let i = 0; i < key.segments.length; i++) {
      const part = key.segments[i] ?? '';
      const g = /^\{(.+)\+\}$/.exec(part);
      if (g?.[1]) {
        if (i >= segments.length) ok = false;
        else params[g[1]] = segments.slice(i).map(decodeSegment).join('/');
        greedy = true;
        score.push(0);
        break;
      }
      const segment = segments[i];
      if (segment === undefined) {
        ok = false;
        break;
      }
      const p = /^\{(.+)\}$/.exec(part);
      if (p?.[1]) {
        params[p[1]] = decodeSegment(segment);
        score.push(1);
      } else if (part === segment) score.push(2);
      else {
        ok = false;
        break;
      }
    }
    if (!ok || (!greedy && key.segments.length !== segments.length)) continue;
    const ranked = [...score, greedy ? 0 : 3, key.method === method ? 1 : 0];
    if (!best || compareScores(ranked, best.score) > 0) {
      best = { score: ranked, match: { route, ...(Object.keys(params).length > 0 && { pathParameters: params }) } };
    }
  }
  if (best) return best.match;
  return fallback ? { route: fallback } : undefined;
}

function compareScores(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? -1) - (b[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}
