// The HTTP API (apigatewayv2): its integrations, routes and auto-deploy stage, the permissions
// that let it invoke the functions, and its deletion.
import type { ApiGatewayV2Client } from '@aws-sdk/client-apigatewayv2';
import { CreateApiCommand, CreateIntegrationCommand, CreateRouteCommand, CreateStageCommand, DeleteApiCommand, DeleteIntegrationCommand, DeleteRouteCommand, DeleteStageCommand,
  GetApisCommand, GetIntegrationsCommand, GetRoutesCommand, GetStageCommand, UpdateIntegrationCommand, UpdateRouteCommand,
  UpdateStageCommand,
} from '@aws-sdk/client-apigatewayv2';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { setTimeout as delay } from 'node:timers/promises';
import { ExpectedError } from '../cli';
import { HTTP_API_TIMEOUT_MS } from '../deploy-options';
import type { Where } from '../deploy-plan';
import { permissionStatementId } from '../deploy-plan';
import { ensureApiPermission, removePermission } from './api';
import { DESCRIPTION, deleteIfPresent, isAwsError, isNotFound, type Log } from './clients';

/** The payload format of every integration deploy writes on an HTTP API. */
export const HTTP_PAYLOAD_FORMAT_VERSION = '2.0';

/** What {@link ensureHttpApi} sets up. */
export interface HttpApiSpec {
  /** The API's name. */
  name: string;
  /** The stage: `$default` (the base URL) or a name (under `/name/`); auto-deployed either way. */
  stage: string;
  /** Whether Main gets routes of its own, `ANY /direct` and `ANY /direct/{proxy+}`. */
  directRoute: boolean;
  /** The results route's path, if any (route `GET <path>/{id}`). */
  resultsPath?: string | undefined;
  /** The results path of the previous deploy, whose route is removed when it changed. */
  previousResultsPath?: string | undefined;
  /** The API's id from the state file. */
  knownId?: string | undefined;
  /** The stage of the previous deploy, removed when it changed. */
  previousStage?: string | undefined;
  /** The Proxy. */
  proxy: { name: string; arn: string };
  /** Main. */
  main: { name: string; arn: string };
  /** The account, region and partition. */
  where: Where;
  /** The Proxy's integration's timeoutInMillis (at most {@link HTTP_API_TIMEOUT_MS}). */
  integrationTimeoutMs: number;
  /** How long to wait for the auto-deployment of the changes (AWS makes it shortly after), ms; default 60000. */
  deployWaitMs?: number | undefined;
}

/** The routes of the direct route, to Main without the kit. */
const DIRECT_ROUTE_KEYS = ['ANY /direct', 'ANY /direct/{proxy+}'] as const;

/** An HTTP API as deploy finds it. */
export interface HttpApiSummary {
  /** Its id. */
  id: string;
  /** Its name. */
  name: string;
}

/** An integration of an HTTP API, as deploy reads it. */
export interface HttpIntegrationSummary {
  /** Its id. */
  id: string;
  /** Its type (AWS_PROXY for the kit's). */
  type: string | undefined;
  /** Its URI: a function's ARN for the kit's. */
  uri: string | undefined;
  /** Its payload format version. */
  payloadFormatVersion: string | undefined;
  /** Its timeout, ms. */
  timeoutMs: number | undefined;
}

/** A route of an HTTP API, as deploy reads it. */
export interface HttpRouteSummary {
  /** Its id. */
  id: string;
  /** Its route key, e.g. `ANY /{proxy+}`. */
  routeKey: string;
  /** Its target, e.g. `integrations/abc1234`. */
  target: string | undefined;
}

/**
 * Every HTTP API (protocol HTTP, not WebSocket) with this name.
 */
export async function findHttpApis(apigw2: ApiGatewayV2Client, name: string): Promise<HttpApiSummary[]> {
  const found: HttpApiSummary[] = [];
  let token: string | undefined;
  do {
    const page = await apigw2.send(new GetApisCommand({ MaxResults: '500', NextToken: token }));
    for (const item of page.Items ?? []) {
      if (item.Name === name && item.ProtocolType === 'HTTP' && item.ApiId) found.push({ id: item.ApiId, name });
    }
    token = page.NextToken;
  } while (token);
  return found;
}

/**
 * Finds the HTTP API by name (the state file's id first when there are several), or creates it.
 *
 * @param knownId - the id from the state file, if any
 */
export async function ensureHttpApiResource(apigw2: ApiGatewayV2Client, name: string, knownId: string | undefined, log: Log): Promise<{ id: string; created: boolean }> {
  const found = await findHttpApis(apigw2, name);
  const pick = found.find((a) => a.id === knownId) ?? (found.length === 1 ? found[0] : undefined);
  if (pick) {
    log(`HTTP API ${name}: exists (${pick.id})`);
    return { id: pick.id, created: false };
  }
  if (found.length > 1) {
    throw new ExpectedError(`several HTTP APIs are named ${name} (${found.map((a) => a.id).join(', ')}); delete the extra ones or use another --name-prefix`);
  }
  const out = await apigw2.send(new CreateApiCommand({ Name: name, ProtocolType: 'HTTP', Description: DESCRIPTION }));
  if (!out.ApiId) throw new Error('CreateApi returned no ApiId');
  log(`HTTP API ${name}: created (${out.ApiId})`);
  return { id: out.ApiId, created: true };
}

/**
 * Every integration of an HTTP API.
 */
export async function listHttpIntegrations(apigw2: ApiGatewayV2Client, apiId: string): Promise<HttpIntegrationSummary[]> {
  const all: HttpIntegrationSummary[] = [];
  let token: string | undefined;
  do {
    const page = await apigw2.send(new GetIntegrationsCommand({ ApiId: apiId, MaxResults: '500', NextToken: token }));
    for (const item of page.Items ?? []) {
      if (!item.IntegrationId) continue;
      all.push({ id: item.IntegrationId, type: item.IntegrationType, uri: item.IntegrationUri, payloadFormatVersion: item.PayloadFormatVersion, timeoutMs: item.TimeoutInMillis });
    }
    token = page.NextToken;
  } while (token);
  return all;
}

/**
 * Every route of an HTTP API.
 */
export async function listHttpRoutes(apigw2: ApiGatewayV2Client, apiId: string): Promise<HttpRouteSummary[]> {
  const all: HttpRouteSummary[] = [];
  let token: string | undefined;
  do {
    const page = await apigw2.send(new GetRoutesCommand({ ApiId: apiId, MaxResults: '500', NextToken: token }));
    for (const item of page.Items ?? []) {
      if (item.RouteId && item.RouteKey) all.push({ id: item.RouteId, routeKey: item.RouteKey, target: item.Target });
    }
    token = page.NextToken;
  } while (token);
  return all;
}

/**
 * The AWS_PROXY integration (payload 2.0) with a function: the existing one whose URI is the
 * function's ARN, updated when its type, payload version or timeout differ, or a new one.
 *
 * @param integrations - the API's integrations (a created one is added)
 * @param fnArn - the function's ARN (an HTTP API's Lambda integration URI)
 * @returns the integration's id
 */
export async function ensureHttpIntegration(apigw2: ApiGatewayV2Client, apiId: string, integrations: HttpIntegrationSummary[], fnArn: string, timeoutMs: number): Promise<string> {
  const wanted = { type: 'AWS_PROXY', payloadFormatVersion: HTTP_PAYLOAD_FORMAT_VERSION, timeoutMs };
  const existing = integrations.find((i) => i.uri === fnArn);
  if (existing) {
    if (existing.type !== wanted.type || existing.payloadFormatVersion !== wanted.payloadFormatVersion || existing.timeoutMs !== wanted.timeoutMs) {
      await apigw2.send(new UpdateIntegrationCommand({
        ApiId: apiId, IntegrationId: existing.id, IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: HTTP_PAYLOAD_FORMAT_VERSION, TimeoutInMillis: timeoutMs,
      }));
      Object.assign(existing, wanted);
    }
    return existing.id;
  }
  const out = await apigw2.send(new CreateIntegrationCommand({
    ApiId: apiId, IntegrationType: 'AWS_PROXY', IntegrationUri: fnArn,
    PayloadFormatVersion: HTTP_PAYLOAD_FORMAT_VERSION, TimeoutInMillis: timeoutMs, Description: DESCRIPTION,
  }));
  if (!out.IntegrationId) throw new Error(`CreateIntegration returned no IntegrationId for ${fnArn}`);
  integrations.push({ id: out.IntegrationId, uri: fnArn, ...wanted });
  return out.IntegrationId;
}

/** The target of a route to an integration, as apigatewayv2 spells it. */
export function integrationTarget(integrationId: string): string {
  return `integrations/${integrationId}`;
}

/**
 * A route to an integration: the existing route with this key is pointed at it when its target
 * differs, or a new route is created.
 *
 * @param routes - the API's routes (a created one is added)
 * @param routeKey - e.g. `ANY /{proxy+}`
 * @returns what was done
 */
export async function ensureHttpRoute(apigw2: ApiGatewayV2Client, apiId: string, routes: HttpRouteSummary[], routeKey: string, integrationId: string): Promise<'created' | 'updated' | 'unchanged'> {
  const target = integrationTarget(integrationId);
  const existing = routes.find((r) => r.routeKey === routeKey);
  if (existing) {
    if (existing.target === target) return 'unchanged';
    await apigw2.send(new UpdateRouteCommand({ ApiId: apiId, RouteId: existing.id, Target: target }));
    existing.target = target;
    return 'updated';
  }
  const out = await apigw2.send(new CreateRouteCommand({ ApiId: apiId, RouteKey: routeKey, Target: target, AuthorizationType: 'NONE' }));
  if (!out.RouteId) throw new Error(`CreateRoute returned no RouteId for ${routeKey}`);
  routes.push({ id: out.RouteId, routeKey, target });
  return 'created';
}

/**
 * Removes a route by its key, if it is there.
 *
 * @param routes - the API's routes (a removed one is dropped)
 * @returns whether a route was removed
 */
export async function removeHttpRoute(apigw2: ApiGatewayV2Client, apiId: string, routes: HttpRouteSummary[], routeKey: string): Promise<boolean> {
  const at = routes.findIndex((r) => r.routeKey === routeKey);
  const route = routes[at];
  if (!route) return false;
  await deleteIfPresent(() => apigw2.send(new DeleteRouteCommand({ ApiId: apiId, RouteId: route.id })));
  routes.splice(at, 1);
  return true;
}

/**
 * The stage, with auto-deploy on (so every change above is live at once): created when it is
 * missing, switched to auto-deploy when it is off.
 *
 * @returns what was done
 */
export async function ensureHttpStage(apigw2: ApiGatewayV2Client, apiId: string, stage: string): Promise<'created' | 'updated' | 'unchanged'> {
  let current;
  try {
    current = await apigw2.send(new GetStageCommand({ ApiId: apiId, StageName: stage }));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (!current) {
    await apigw2.send(new CreateStageCommand({ ApiId: apiId, StageName: stage, AutoDeploy: true, Description: `deployed by ${DESCRIPTION}` }));
    return 'created';
  }
  if (current.AutoDeploy === true) return 'unchanged';
  await apigw2.send(new UpdateStageCommand({ ApiId: apiId, StageName: stage, AutoDeploy: true }));
  return 'updated';
}

/**
 * The deployment a stage serves now, or undefined when the stage or its deployment is missing.
 */
async function stageDeployment(apigw2: ApiGatewayV2Client, apiId: string, stage: string): Promise<{ deploymentId?: string | undefined; message?: string | undefined } | undefined> {
  try {
    const out = await apigw2.send(new GetStageCommand({ ApiId: apiId, StageName: stage }));
    return { deploymentId: out.DeploymentId, message: out.LastDeploymentStatusMessage };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * Waits until an auto-deploy stage serves a deployment other than `before` (AWS deploys the
 * changes shortly after they are made, not at once): the URL printed next then answers with
 * the new routes.
 *
 * @param before - the deployment the stage served before the changes
 * @returns whether the new deployment arrived in time
 */
export async function waitForAutoDeploy(apigw2: ApiGatewayV2Client, apiId: string, stage: string, before: string | undefined, timeoutMs: number, pollMs = 1000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const now = await stageDeployment(apigw2, apiId, stage);
    if (now?.message && /fail/i.test(now.message)) throw new ExpectedError(`HTTP API ${apiId}: the auto-deployment of stage ${stage} failed: ${now.message}`);
    if (now?.deploymentId !== undefined && now.deploymentId !== before) return true;
    if (Date.now() >= until) return false;
    await delay(pollMs);
  }
}

/**
 * Removes the direct route (`ANY /direct`, `ANY /direct/{proxy+}`), Main's integration and the
 * permission it gave this API, so that a deploy without `--direct-route` leaves Main reachable
 * only through the kit.
 *
 * @returns whether anything was removed
 */
async function removeDirectRoute(clients: { apigw2: ApiGatewayV2Client; lambda: LambdaClient }, apiId: string, routes: HttpRouteSummary[], integrations: HttpIntegrationSummary[], main: { name: string; arn: string }): Promise<boolean> {
  let removed = false;
  for (const key of DIRECT_ROUTE_KEYS) removed = (await removeHttpRoute(clients.apigw2, apiId, routes, key)) || removed;
  const toMain = integrations.find((i) => i.uri === main.arn);
  if (toMain && !routes.some((r) => r.target === integrationTarget(toMain.id))) {
    await deleteIfPresent(() => clients.apigw2.send(new DeleteIntegrationCommand({ ApiId: apiId, IntegrationId: toMain.id })));
    integrations.splice(integrations.indexOf(toMain), 1);
    removed = true;
  }
  if (removed) await removePermission(clients.lambda, main.name, permissionStatementId(apiId));
  return removed;
}

/**
 * Sets up the whole HTTP API: `ANY /` and `ANY /{proxy+}` to the Proxy, optionally
 * `ANY /direct` and `ANY /direct/{proxy+}` to Main, optionally the results route
 * `GET <resultsPath>/{id}` to the Proxy, AWS_PROXY integrations with payload 2.0, the
 * permissions, and the auto-deploy stage.
 */
export async function ensureHttpApi({ apigw2, lambda }: { apigw2: ApiGatewayV2Client; lambda: LambdaClient }, spec: HttpApiSpec, log: Log): Promise<{ apiId: string; created: boolean; permissions: Array<{ functionName: string; statementId: string }> }> {
  const { id: apiId, created } = await ensureHttpApiResource(apigw2, spec.name, spec.knownId, log);
  const integrations = await listHttpIntegrations(apigw2, apiId);
  const routes = await listHttpRoutes(apigw2, apiId);
  const before = (await stageDeployment(apigw2, apiId, spec.stage))?.deploymentId;
  const shape = (): string => JSON.stringify([integrations, routes]);
  const initial = shape();
  const toProxy = await ensureHttpIntegration(apigw2, apiId, integrations, spec.proxy.arn, spec.integrationTimeoutMs);
  const wanted: Array<[string, { name: string }, string]> = [['ANY /', spec.proxy, toProxy], ['ANY /{proxy+}', spec.proxy, toProxy]];
  if (spec.directRoute) {
    // The direct route stays as API Gateway makes it: 30 s, the most an HTTP API allows (it shows the problem).
    const toMain = await ensureHttpIntegration(apigw2, apiId, integrations, spec.main.arn, HTTP_API_TIMEOUT_MS);
    wanted.push(['ANY /direct', spec.main, toMain], ['ANY /direct/{proxy+}', spec.main, toMain]);
  } else if (await removeDirectRoute({ apigw2, lambda }, apiId, routes, integrations, spec.main)) {
    log(`HTTP API ${spec.name}: removed the direct route to ${spec.main.name} (deployed without --direct-route)`);
  }
  if (spec.previousResultsPath && spec.previousResultsPath !== spec.resultsPath) {
    if (await removeHttpRoute(apigw2, apiId, routes, `GET ${spec.previousResultsPath}/{id}`)) {
      log(`HTTP API ${spec.name}: removed the earlier results route GET ${spec.previousResultsPath}/{id}`);
    }
  }
  if (spec.resultsPath) wanted.push([`GET ${spec.resultsPath}/{id}`, spec.proxy, toProxy]);
  const updated: string[] = [];
  for (const [routeKey, , integrationId] of wanted) {
    if ((await ensureHttpRoute(apigw2, apiId, routes, routeKey, integrationId)) === 'updated') updated.push(routeKey);
  }
  const described = wanted.map(([routeKey, fn]) => `${routeKey} -> ${fn.name}`);
  log(`HTTP API ${spec.name}: routes ${described.join(', ')}; AWS_PROXY integrations, payload ${HTTP_PAYLOAD_FORMAT_VERSION}, the Proxy's ${spec.integrationTimeoutMs} ms`);
  if (updated.length > 0) log(`HTTP API ${spec.name}: pointed ${updated.join(', ')} at the kit's integrations again`);
  const permissions = [];
  for (const fn of spec.directRoute ? [spec.proxy, spec.main] : [spec.proxy]) {
    const { statementId } = await ensureApiPermission(lambda, fn.name, spec.where, apiId);
    permissions.push({ functionName: fn.name, statementId });
  }
  const stage = await ensureHttpStage(apigw2, apiId, spec.stage);
  log(`HTTP API ${spec.name}: stage ${spec.stage} with auto-deploy${stage === 'unchanged' ? ' (exists)' : `: ${stage}`}`);
  if (spec.previousStage !== undefined && spec.previousStage !== spec.stage) {
    // A stage left behind would keep serving the API (a $default one, every path).
    if (await deleteIfPresent(() => apigw2.send(new DeleteStageCommand({ ApiId: apiId, StageName: spec.previousStage })))) {
      log(`HTTP API ${spec.name}: removed the earlier stage ${spec.previousStage}`);
    }
  }
  if (stage !== 'unchanged' || shape() !== initial || before === undefined) {
    const waitMs = spec.deployWaitMs ?? 60_000;
    if (!(await waitForAutoDeploy(apigw2, apiId, spec.stage, before, waitMs))) {
      log(`HTTP API ${spec.name}: stage ${spec.stage} has not deployed the changes after ${waitMs / 1000} s; it should shortly`);
    }
  }
  return { apiId, created, permissions };
}

// ---------------------------------------------------------------------------------------------
// destroy

/**
 * Deletes an HTTP API, waiting out API Gateway's rate limit on deletions.
 *
 * @returns false when it was already gone
 */
export async function deleteHttpApi(apigw2: ApiGatewayV2Client, apiId: string): Promise<boolean> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await deleteIfPresent(() => apigw2.send(new DeleteApiCommand({ ApiId: apiId })));
    } catch (err) {
      if (!isAwsError(err, 'TooManyRequestsException') || attempt >= 10) throw err;
      await delay(5000 * attempt);
    }
  }
}
