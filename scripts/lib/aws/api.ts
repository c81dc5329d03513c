// The REST API: its resources, methods and integrations, the permissions that let it invoke the
// functions, and its deletion.
import type { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { CreateDeploymentCommand, CreateResourceCommand, CreateRestApiCommand, DeleteResourceCommand, DeleteRestApiCommand,
  GetResourcesCommand, GetRestApiCommand, GetRestApisCommand, PutIntegrationCommand, PutMethodCommand, UpdateRestApiCommand,
} from '@aws-sdk/client-api-gateway';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { AddPermissionCommand, RemovePermissionCommand } from '@aws-sdk/client-lambda';
import { setTimeout as delay } from 'node:timers/promises';
import { ExpectedError } from '../cli';
import type { EndpointType, TransferMode } from '../../../core/config';
import { apiSourceArn, integrationUri, permissionStatementId, responseTransferMode, type Where } from '../deploy-plan';
import { DESCRIPTION, deleteIfPresent, isAwsError, type Log } from './clients';

/** What {@link ensureApi} sets up. */
export interface ApiSpec {
  /** The API's name. */
  name: string;
  /** The stage. */
  stage: string;
  /** Whether Main gets a route of its own, under /direct. */
  directRoute: boolean;
  /** The results route, if any. */
  resultsPath?: string | undefined;
  /** The results route of the previous deploy, removed when it changed. */
  previousResultsPath?: string | undefined;
  /** The API's id from the state file. */
  knownId?: string | undefined;
  /** The Proxy. */
  proxy: { name: string; arn: string };
  /** Main. */
  main: { name: string; arn: string };
  /** The account, region and partition. */
  where: Where;
  /** The endpoint type of an API deploy creates. */
  endpointType: EndpointType;
  /** How the Proxy's integrations pass its answer on. */
  transferMode: TransferMode;
  /** The Proxy's integrations' timeoutInMillis. */
  integrationTimeoutMs: number;
  /** The API's binary media types, exactly. */
  binaryMediaTypes?: readonly string[] | undefined;
}

/** How one integration is written: its URI, transfer mode and timeout. */
export interface IntegrationSpec {
  /** The integration URI (Invoke, or InvokeWithResponseStream for STREAM). */
  uri: string;
  /** Its transfer mode. */
  transferMode: TransferMode;
  /** Its timeout, ms. */
  timeoutMs: number;
}

/** A REST API resource as deploy uses it. */
export interface ApiResource {
  /** Its id. */
  id: string;
  /** Its full path. */
  path: string;
  /** Its parent's id. */
  parentId?: string | undefined;
  /** Its last path part. */
  pathPart?: string | undefined;
  /** Its methods. */
  resourceMethods?: Record<string, unknown> | undefined;
}

/**
 * Every REST API with this name.
 */
export async function findRestApis(apigw: APIGatewayClient, name: string): Promise<Array<{ id: string; name: string; endpointTypes: string[] }>> {
  const found: Array<{ id: string; name: string; endpointTypes: string[] }> = [];
  let position: string | undefined;
  do {
    const page = await apigw.send(new GetRestApisCommand({ limit: 500, position }));
    for (const item of page.items ?? []) {
      if (item.name === name && item.id) found.push({ id: item.id, name, endpointTypes: item.endpointConfiguration?.types ?? [] });
    }
    position = page.position;
  } while (position);
  return found;
}

/** The Proxy's ENDPOINT_TYPE decides how long a streamed hop may be: it must be the API's. */
function refuseOtherEndpointType(api: { id: string; name: string; endpointTypes: string[] }, endpointType: EndpointType): void {
  if (api.endpointTypes.length > 0 && !api.endpointTypes.includes(endpointType)) {
    throw new ExpectedError(`API ${api.name} (${api.id}) is ${api.endpointTypes.join(', ')}, not ${endpointType}: deploy with --endpoint-type ${api.endpointTypes[0] ?? ''}, or destroy it to change its endpoint type`);
  }
}

/**
 * Refuses a deploy whose endpoint type differs from the existing API's, before anything is changed.
 *
 * @param knownId - the id from the state file, if any
 */
export async function checkApiEndpointType(apigw: APIGatewayClient, name: string, knownId: string | undefined, endpointType: EndpointType): Promise<void> {
  const found = await findRestApis(apigw, name);
  const pick = found.find((a) => a.id === knownId) ?? (found.length === 1 ? found[0] : undefined);
  if (pick) refuseOtherEndpointType(pick, endpointType);
}

/**
 * Finds the REST API by name (the state file's id first when there are several), or creates it.
 *
 * @param knownId - the id from the state file, if any
 */
export async function ensureRestApi(apigw: APIGatewayClient, name: string, knownId: string | undefined, log: Log, endpointType: EndpointType = 'REGIONAL'): Promise<{ id: string; created: boolean }> {
  const found = await findRestApis(apigw, name);
  const pick = found.find((a) => a.id === knownId) ?? (found.length === 1 ? found[0] : undefined);
  if (pick) {
    refuseOtherEndpointType(pick, endpointType);
    log(`API ${name}: exists (${pick.id})`);
    return { id: pick.id, created: false };
  }
  if (found.length > 1) {
    throw new ExpectedError(`several REST APIs are named ${name} (${found.map((a) => a.id).join(', ')}); delete the extra ones or use another --name-prefix`);
  }
  const out = await apigw.send(new CreateRestApiCommand({ name, description: DESCRIPTION, endpointConfiguration: { types: [endpointType] } }));
  if (!out.id) throw new Error('CreateRestApi returned no id');
  log(`API ${name}: created (${out.id})`);
  return { id: out.id, created: true };
}

/**
 * Makes the API's binary media types exactly these (they take effect with the next deployment).
 *
 * @returns the types added and removed
 */
export async function syncBinaryMediaTypes(apigw: APIGatewayClient, apiId: string, wanted: readonly string[]): Promise<{ added: string[]; removed: string[] }> {
  const current = (await apigw.send(new GetRestApiCommand({ restApiId: apiId }))).binaryMediaTypes ?? [];
  const added = wanted.filter((t) => !current.includes(t));
  const removed = current.filter((t) => !wanted.includes(t));
  // A patch path names a media type with its slash escaped as ~1 (JSON Pointer).
  const path = (t: string): string => `/binaryMediaTypes/${t.replace(/~/g, '~0').replace(/\//g, '~1')}`;
  const ops = [...added.map((t) => ({ op: 'add' as const, path: path(t) })), ...removed.map((t) => ({ op: 'remove' as const, path: path(t) }))];
  if (ops.length > 0) await apigw.send(new UpdateRestApiCommand({ restApiId: apiId, patchOperations: ops }));
  return { added, removed };
}

/**
 * Every resource of a REST API.
 */
export async function listResources(apigw: APIGatewayClient, apiId: string): Promise<ApiResource[]> {
  const all: ApiResource[] = [];
  let position: string | undefined;
  do {
    const page = await apigw.send(new GetResourcesCommand({ restApiId: apiId, limit: 500, position }));
    for (const item of page.items ?? []) {
      if (item.id !== undefined && item.path !== undefined) all.push({ id: item.id, path: item.path, parentId: item.parentId, pathPart: item.pathPart, resourceMethods: item.resourceMethods });
    }
    position = page.position;
  } while (position);
  return all;
}

/**
 * Finds a resource by its full path, or creates it under its parent.
 *
 * @param resources - the API's resources (a created one is added)
 * @param fullPath - e.g. "/direct/{proxy+}"
 * @returns the resource
 */
export async function ensureResource(apigw: APIGatewayClient, apiId: string, resources: ApiResource[], fullPath: string): Promise<ApiResource> {
  const existing = resources.find((r) => r.path === fullPath);
  if (existing) return existing;
  const cut = fullPath.lastIndexOf('/');
  const parentPath = cut === 0 ? '/' : fullPath.slice(0, cut);
  const parent = await ensureResource(apigw, apiId, resources, parentPath);
  if (!parent?.id) throw new Error(`REST API ${apiId} has no resource ${parentPath}`);
  const out = await apigw.send(new CreateResourceCommand({ restApiId: apiId, parentId: parent.id, pathPart: fullPath.slice(cut + 1) }));
  if (!out.id) throw new Error(`CreateResource returned no id for ${fullPath}`);
  const created: ApiResource = { id: out.id, path: out.path ?? fullPath, parentId: parent.id, pathPart: out.pathPart, resourceMethods: {} };
  resources.push(created);
  return created;
}

/**
 * Routes ANY on a resource to a function: the method is created once, the AWS_PROXY integration
 * written every time (PutIntegration replaces it, so a changed function ARN, transfer mode or
 * timeout is picked up in place).
 *
 * @param integration - the integration's URI, transfer mode and timeout
 * @param httpMethod - `ANY` (default), or `GET` for the results route
 */
export async function ensureProxyMethod(apigw: APIGatewayClient, apiId: string, resource: ApiResource, integration: IntegrationSpec, httpMethod: string = 'ANY'): Promise<void> {
  if (!resource.resourceMethods?.[httpMethod]) {
    try {
      await apigw.send(new PutMethodCommand({ restApiId: apiId, resourceId: resource.id, httpMethod, authorizationType: 'NONE', apiKeyRequired: false }));
    } catch (err) {
      // the listing did not show the method, but it is there
      if (!isAwsError(err, 'ConflictException')) throw err;
    }
    resource.resourceMethods = { ...resource.resourceMethods, [httpMethod]: {} };
  }
  await apigw.send(new PutIntegrationCommand({
    restApiId: apiId,
    resourceId: resource.id,
    httpMethod,
    type: 'AWS_PROXY',
    integrationHttpMethod: 'POST',
    uri: integration.uri,
    // PutIntegration replaces the integration: leaving the mode out makes it BUFFERED again, and
    // keeps the call acceptable to endpoints that predate the field (older LocalStack).
    ...(integration.transferMode === 'stream' && { responseTransferMode: responseTransferMode(integration.transferMode) }),
    timeoutInMillis: integration.timeoutMs,
  }));
}

/**
 * Lets API Gateway (this API only) invoke a function; an existing statement is kept.
 */
export async function ensureApiPermission(lambda: LambdaClient, functionName: string, where: Where, apiId: string): Promise<{ statementId: string; created: boolean }> {
  const statementId = permissionStatementId(apiId);
  try {
    await lambda.send(new AddPermissionCommand({
      FunctionName: functionName,
      StatementId: statementId,
      Action: 'lambda:InvokeFunction',
      Principal: 'apigateway.amazonaws.com',
      SourceArn: apiSourceArn(where, apiId),
    }));
    return { statementId, created: true };
  } catch (err) {
    if (isAwsError(err, 'ResourceConflictException')) return { statementId, created: false };
    throw err;
  }
}

/**
 * Removes one permission statement from a function (one deploy added to a Main it did not create).
 *
 * @returns false when it was already gone
 */
export async function removePermission(lambda: LambdaClient, functionName: string, statementId: string): Promise<boolean> {
  return deleteIfPresent(() => lambda.send(new RemovePermissionCommand({ FunctionName: functionName, StatementId: statementId })));
}

/**
 * Removes the results route an earlier deploy made (`<path>/{id}`), and the parents it created
 * that now hold no method and no other child, so that a stale route cannot reach a Proxy that
 * no longer treats it as one.
 *
 * @param resources - the API's resources (removed ones are dropped)
 * @param resultsPath - the earlier `--results-path`
 * @returns whether a route was removed
 */
export async function removeResultsRoute(apigw: APIGatewayClient, apiId: string, resources: ApiResource[], resultsPath: string): Promise<boolean> {
  const route = resources.find((r) => r.path === `${resultsPath}/{id}`);
  if (!route) return false;
  let doomed: ApiResource = route;
  for (;;) {
    const child: ApiResource = doomed;
    const parent = resources.find((r) => r.id === child.parentId);
    const parentIsEmpty = parent !== undefined && parent.path !== '/' && Object.keys(parent.resourceMethods ?? {}).length === 0
      && resources.every((r) => r.parentId !== parent.id || r.id === child.id);
    if (!parentIsEmpty) break;
    doomed = parent;
  }
  await deleteIfPresent(() => apigw.send(new DeleteResourceCommand({ restApiId: apiId, resourceId: doomed.id })));
  // Drop the removed subtree from the listing.
  const gone = new Set([doomed.id]);
  for (let grew = true; grew;) {
    grew = false;
    for (const r of resources) {
      if (!gone.has(r.id) && r.parentId !== undefined && gone.has(r.parentId)) {
        gone.add(r.id);
        grew = true;
      }
    }
  }
  resources.splice(0, resources.length, ...resources.filter((r) => !gone.has(r.id)));
  return true;
}

/**
 * Sets up the whole REST API: `/` and `/{proxy+}` to the Proxy, optionally `/direct` and
 * `/direct/{proxy+}` to Main, optionally the results route `GET <resultsPath>/{id}` to the Proxy
 * (no API key required), permissions, and a new deployment to the stage.
 */
export async function ensureApi({ apigw, lambda }: { apigw: APIGatewayClient; lambda: LambdaClient }, spec: ApiSpec, log: Log): Promise<{ apiId: string; created: boolean; permissions: Array<{ functionName: string; statementId: string }> }> {
  const { id: apiId, created } = await ensureRestApi(apigw, spec.name, spec.knownId, log, spec.endpointType);
  const binary = await syncBinaryMediaTypes(apigw, apiId, spec.binaryMediaTypes ?? []);
  if (binary.added.length + binary.removed.length > 0) {
    log(`API ${spec.name}: binary media types ${(spec.binaryMediaTypes ?? []).join(', ') || 'none'}${binary.removed.length ? ` (removed ${binary.removed.join(', ')})` : ''}`);
  }
  const resources = await listResources(apigw, apiId);
  const routes: Array<[string, { name: string; arn: string }]> = [['/', spec.proxy], ['/{proxy+}', spec.proxy]];
  if (spec.directRoute) routes.push(['/direct', spec.main], ['/direct/{proxy+}', spec.main]);
  const toProxy: IntegrationSpec = { uri: integrationUri(spec.where, spec.proxy.arn, spec.transferMode), transferMode: spec.transferMode, timeoutMs: spec.integrationTimeoutMs };
  // The direct route stays as API Gateway makes it: buffered, 29 s (it shows the problem).
  const toMain: IntegrationSpec = { uri: integrationUri(spec.where, spec.main.arn), transferMode: 'buffered', timeoutMs: 29_000 };
  for (const [path, fn] of routes) {
    const resource = await ensureResource(apigw, apiId, resources, path);
    await ensureProxyMethod(apigw, apiId, resource, fn === spec.proxy ? toProxy : toMain);
  }
  if (spec.previousResultsPath && spec.previousResultsPath !== spec.resultsPath) {
    if (await removeResultsRoute(apigw, apiId, resources, spec.previousResultsPath)) {
      log(`API ${spec.name}: removed the earlier results route ${spec.previousResultsPath}/{id}`);
    }
  }
  const described = routes.map(([p, fn]) => `${p} -> ${fn.name}`);
  if (spec.resultsPath) {
    const resource = await ensureResource(apigw, apiId, resources, `${spec.resultsPath}/{id}`);
    await ensureProxyMethod(apigw, apiId, resource, toProxy, 'GET');
    described.push(`GET ${spec.resultsPath}/{id} -> ${spec.proxy.name} (no API key)`);
  }
  log(`API ${spec.name}: routes ${described.join(', ')}; the Proxy's integrations ${responseTransferMode(spec.transferMode)}, ${spec.integrationTimeoutMs} ms`);
  const permissions = [];
  for (const fn of spec.directRoute ? [spec.proxy, spec.main] : [spec.proxy]) {
    const { statementId } = await ensureApiPermission(lambda, fn.name, spec.where, apiId);
    permissions.push({ functionName: fn.name, statementId });
  }
  await apigw.send(new CreateDeploymentCommand({ restApiId: apiId, stageName: spec.stage, description: `deployed by ${DESCRIPTION}` }));
  log(`API ${spec.name}: deployed to stage ${spec.stage}`);
  return { apiId, created, permissions };
}

// ---------------------------------------------------------------------------------------------
// destroy

/**
 * Deletes a REST API, waiting out API Gateway's rate limit on deletions.
 *
 * @returns false when it was already gone
 */
export async function deleteRestApi(apigw: APIGatewayClient, apiId: string): Promise<boolean> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await deleteIfPresent(() => apigw.send(new DeleteRestApiCommand({ restApiId: apiId })));
    } catch (err) {
      if (!isAwsError(err, 'TooManyRequestsException') || attempt >= 10) throw err;
      await delay(5000 * attempt);
    }
  }
}
