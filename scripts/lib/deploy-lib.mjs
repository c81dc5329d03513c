// The AWS calls of deploy and destroy, as small functions that take their clients as arguments.
// Every "ensure" function finds what exists by name first, so that running deploy again updates
// instead of creating twice.
import { setTimeout as delay } from 'node:timers/promises';
import {
  AddPermissionCommand, CreateFunctionCommand, DeleteFunctionCommand, DeleteFunctionEventInvokeConfigCommand,
  GetFunctionCommand, LambdaClient, PutFunctionEventInvokeConfigCommand, RemovePermissionCommand,
  UpdateFunctionCodeCommand, UpdateFunctionConfigurationCommand, waitUntilFunctionActiveV2, waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import {
  CreateTableCommand, DeleteTableCommand, DescribeTableCommand, DescribeTimeToLiveCommand, DynamoDBClient,
  UpdateTimeToLiveCommand, waitUntilTableExists, waitUntilTableNotExists,
} from '@aws-sdk/client-dynamodb';
import {
  AttachRolePolicyCommand, CreateRoleCommand, DeleteRoleCommand, DeleteRolePolicyCommand, DetachRolePolicyCommand,
  GetRoleCommand, IAMClient, ListAttachedRolePoliciesCommand, ListRolePoliciesCommand, PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import {
  APIGatewayClient, CreateDeploymentCommand, CreateResourceCommand, CreateRestApiCommand, DeleteResourceCommand, DeleteRestApiCommand,
  GetResourcesCommand, GetRestApisCommand, PutIntegrationCommand, PutMethodCommand,
} from '@aws-sdk/client-api-gateway';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { ExpectedError } from './cli.mjs';
import { apiSourceArn, integrationUri, partitionOf, permissionStatementId, sortKeys } from './deploy-plan.mjs';

// The scripts run on Node 20 too (the project's floor); the SDK's notice that future versions
// will need Node 22 would precede every one-line error, so it is silenced here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** The account id LocalStack and the local stack use. */
export const LOCAL_ACCOUNT = '000000000000';

/** Description given to what deploy creates, so that people can tell where it came from. */
const DESCRIPTION = 'lambda-long-request-kit';

/**
 * @param {unknown} err
 * @param {...string} names
 * @returns {boolean} whether err is an AWS error of one of these names
 */
export function isAwsError(err, ...names) {
  const e = /** @type {{ name?: string, Code?: string, code?: string }} */ (err);
  return names.some((n) => e?.name === n || e?.Code === n || e?.code === n);
}

/**
 * @param {unknown} err
 * @returns {boolean} whether the error says the thing is not there
 */
export function isNotFound(err) {
  return isAwsError(err, 'ResourceNotFoundException', 'NoSuchEntityException', 'NoSuchEntity', 'NotFoundException');
}

/**
 * The SDK client configuration for a target: its region, its endpoint, and dummy credentials
 * (test/test) on a local endpoint when none are configured.
 *
 * @param {{ endpoint?: string, region?: string, local: boolean }} target
 * @param {Record<string, string | undefined>} [env]
 * @returns {Record<string, unknown>}
 */
export function clientConfig(target, env = process.env) {
  /** @type {Record<string, unknown>} */
  const config = { maxAttempts: 5 };
  if (target.region) config.region = target.region;
  if (target.endpoint) config.endpoint = target.endpoint;
  if (target.local && !env.AWS_ACCESS_KEY_ID && !env.AWS_PROFILE) {
    config.credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  }
  return config;
}

/**
 * One client per service, all on the same target.
 *
 * @param {{ endpoint?: string, region?: string, local: boolean }} target
 * @returns {{ ddb: DynamoDBClient, iam: IAMClient, lambda: LambdaClient, apigw: APIGatewayClient, sts: STSClient }}
 */
export function makeClients(target) {
  const config = clientConfig(target);
  return {
    ddb: new DynamoDBClient(config),
    iam: new IAMClient(config),
    lambda: new LambdaClient(config),
    apigw: new APIGatewayClient(config),
    sts: new STSClient(config),
  };
}

/**
 * The region the clients will use; a clear error when none is configured anywhere.
 *
 * @param {STSClient} sts
 * @returns {Promise<string>}
 */
export async function resolveRegion(sts) {
  try {
    const region = await sts.config.region();
    if (region) return region;
  } catch {
    // reported below
  }
  throw new ExpectedError('no AWS region: pass --region, or set AWS_REGION, or set one in your AWS profile');
}

/**
 * The account and partition deploy works in; checks the credentials on the way. On a local
 * endpoint that does not answer STS, LocalStack's account is assumed.
 *
 * @param {STSClient} sts
 * @param {{ local: boolean, region: string }} target
 * @returns {Promise<{ account: string, partition: string }>}
 */
export async function resolveIdentity(sts, { local, region }) {
  try {
    const id = await sts.send(new GetCallerIdentityCommand({}));
    const partition = id.Arn?.split(':')[1] || partitionOf(region);
    return { account: id.Account ?? LOCAL_ACCOUNT, partition };
  } catch (err) {
    // a local endpoint that answers but has no STS: assume LocalStack's account; one that does
    // not answer at all is reported
    const answered = /** @type {{ $metadata?: { httpStatusCode?: number } }} */ (err).$metadata?.httpStatusCode !== undefined;
    if (!local || !answered) throw err;
    return { account: LOCAL_ACCOUNT, partition: partitionOf(region) };
  }
}

/**
 * Creates the tasks table unless it exists, waits until it is ACTIVE, and turns TTL on (a warning,
 * not a failure, when the service refuses).
 *
 * @param {DynamoDBClient} ddb
 * @param {{ name: string, key: string, ttlAttribute: string }} table
 * @param {(line: string) => void} log
 * @returns {Promise<{ arn: string | undefined, created: boolean }>}
 */
export async function ensureTable(ddb, table, log) {
  let description;
  try {
    description = (await ddb.send(new DescribeTableCommand({ TableName: table.name }))).Table;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  let created = false;
  if (description) {
    const key = description.KeySchema ?? [];
    const type = description.AttributeDefinitions?.find((a) => a.AttributeName === table.key)?.AttributeType;
    if (key.length !== 1 || key[0]?.AttributeName !== table.key || type !== 'S') {
      throw new ExpectedError(`table ${table.name} exists but its key is not ${table.key} (string); choose another --name-prefix`);
    }
  } else {
    await ddb.send(new CreateTableCommand({
      TableName: table.name,
      AttributeDefinitions: [{ AttributeName: table.key, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: table.key, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }));
    created = true;
  }
  if (description?.TableStatus !== 'ACTIVE') {
    await waitUntilTableExists({ client: ddb, maxWaitTime: 300, minDelay: 1, maxDelay: 5 }, { TableName: table.name });
    description = (await ddb.send(new DescribeTableCommand({ TableName: table.name }))).Table;
  }
  log(`table ${table.name}: ${created ? 'created' : 'exists'} (${description?.TableStatus ?? 'ACTIVE'})`);
  await ensureTtl(ddb, table, log);
  return { arn: description?.TableArn, created };
}

/**
 * Turns TTL on for the table's expiry attribute; only warns when the service cannot.
 *
 * @param {DynamoDBClient} ddb
 * @param {{ name: string, ttlAttribute: string }} table
 * @param {(line: string) => void} log
 * @returns {Promise<void>}
 */
export async function ensureTtl(ddb, table, log) {
  try {
    const ttl = (await ddb.send(new DescribeTimeToLiveCommand({ TableName: table.name }))).TimeToLiveDescription;
    const on = ttl?.TimeToLiveStatus === 'ENABLED' || ttl?.TimeToLiveStatus === 'ENABLING';
    if (on && ttl?.AttributeName === table.ttlAttribute) {
      log(`  TTL on ${table.ttlAttribute}: already on`);
      return;
    }
    if (on) {
      log(`  warning: TTL of ${table.name} is on for ${ttl?.AttributeName}, not ${table.ttlAttribute}; left as it is`);
      return;
    }
  } catch {
    // some services cannot describe TTL; try to set it anyway
  }
  try {
    await ddb.send(new UpdateTimeToLiveCommand({
      TableName: table.name,
      TimeToLiveSpecification: { Enabled: true, AttributeName: table.ttlAttribute },
    }));
    log(`  TTL on ${table.ttlAttribute}: turned on`);
  } catch (err) {
    const e = /** @type {Error} */ (err);
    log(`  warning: TTL on ${table.ttlAttribute} not set (${e.name}: ${String(e.message).split('\n')[0]}); expired tasks are still ignored by reads, only not deleted`);
  }
}

/**
 * Creates an execution role unless it exists, then attaches the managed policies and writes the
 * inline policy (both idempotent, so a changed policy is updated).
 *
 * @param {IAMClient} iam
 * @param {import('./deploy-plan.d.mts').RolePlan} role
 * @param {(line: string) => void} log
 * @returns {Promise<{ arn: string, created: boolean }>}
 */
export async function ensureRole(iam, role, log) {
  let arn;
  let created = false;
  try {
    arn = (await iam.send(new GetRoleCommand({ RoleName: role.name }))).Role?.Arn;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (!arn) {
    const out = await iam.send(new CreateRoleCommand({
      RoleName: role.name,
      AssumeRolePolicyDocument: JSON.stringify(role.trustPolicy),
      Description: `${DESCRIPTION}: execution role of the ${role.key} function`,
    }));
    arn = out.Role?.Arn ?? role.arn;
    created = true;
  }
  for (const policyArn of role.managedPolicyArns) {
    await iam.send(new AttachRolePolicyCommand({ RoleName: role.name, PolicyArn: policyArn }));
  }
  if (role.inlinePolicy) {
    await iam.send(new PutRolePolicyCommand({
      RoleName: role.name,
      PolicyName: role.inlinePolicy.name,
      PolicyDocument: JSON.stringify(role.inlinePolicy.document),
    }));
  }
  log(`role ${role.name}: ${created ? 'created' : 'exists'}, policies set`);
  return { arn, created };
}

/**
 * Runs a Lambda call that names a role, retrying while IAM has not yet propagated a new role
 * (Lambda answers InvalidParameterValueException "cannot be assumed"); no retry on a local endpoint.
 *
 * @template T
 * @param {() => Promise<T>} call
 * @param {{ local: boolean, log: (line: string) => void, attempts?: number, delayMs?: number }} options
 * @returns {Promise<T>}
 */
export async function withRolePropagation(call, { local, log, attempts = 15, delayMs = 4000 }) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (err) {
      const e = /** @type {Error} */ (err);
      const propagating = isAwsError(err, 'InvalidParameterValueException') && /assume|role/i.test(String(e.message));
      if (local || !propagating || attempt >= attempts) throw err;
      if (attempt === 1) log('  waiting for the new role to reach Lambda (IAM propagation)...');
      await delay(delayMs);
    }
  }
}

/** Waiter settings for functions: first check at once, then every 1 to 5 s, for up to 5 minutes. */
const FUNCTION_WAIT = { maxWaitTime: 300, minDelay: 1, maxDelay: 5 };

/**
 * @param {Record<string, string> | undefined} a
 * @param {Record<string, string>} b
 * @returns {boolean}
 */
function sameEnv(a, b) {
  return JSON.stringify(sortKeys(a ?? {})) === JSON.stringify(sortKeys(b));
}

/**
 * What differs between a deployed function's configuration and the plan.
 *
 * @param {Record<string, any>} current GetFunction's Configuration
 * @param {import('./deploy-plan.d.mts').FunctionPlan} fn
 * @returns {string[]} names of the settings that differ
 */
export function configurationDiff(current, fn) {
  const diff = [];
  if (current.Role !== fn.roleArn) diff.push('role');
  if (current.Runtime !== fn.runtime) diff.push('runtime');
  if (current.Handler !== fn.handler) diff.push('handler');
  if (current.Timeout !== fn.timeout) diff.push('timeout');
  if (current.MemorySize !== fn.memory) diff.push('memory');
  if (current.TracingConfig?.Mode !== 'Active') diff.push('tracing');
  if (!sameEnv(current.Environment?.Variables, fn.environment)) diff.push('environment');
  return diff;
}

/**
 * Creates a function from its zip, or updates an existing one: the code only when the zip's
 * sha256 differs from the deployed CodeSha256 (or the architecture changed), the configuration
 * only when it differs. Waits until the function is Active and its last update Successful.
 *
 * @param {LambdaClient} lambda
 * @param {import('./deploy-plan.d.mts').FunctionPlan} fn
 * @param {{ bytes: Uint8Array, codeSha256: string }} zip
 * @param {{ local: boolean, log: (line: string) => void }} options
 * @returns {Promise<{ arn: string, created: boolean, codeUpdated: boolean, configUpdated: boolean }>}
 */
export async function ensureFunction(lambda, fn, zip, { local, log }) {
  let current;
  try {
    current = (await lambda.send(new GetFunctionCommand({ FunctionName: fn.name }))).Configuration;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const settings = {
    Role: fn.roleArn,
    Runtime: /** @type {any} */ (fn.runtime),
    Handler: fn.handler,
    Timeout: fn.timeout,
    MemorySize: fn.memory,
    TracingConfig: { Mode: /** @type {const} */ ('Active') },
    Environment: { Variables: fn.environment },
  };
  if (!current) {
    const out = await withRolePropagation(() => lambda.send(new CreateFunctionCommand({
      FunctionName: fn.name,
      ...settings,
      Code: { ZipFile: zip.bytes },
      Architectures: [/** @type {any} */ (fn.architecture)],
      PackageType: 'Zip',
      Description: `${DESCRIPTION}: ${fn.key}`,
    })), { local, log });
    await waitUntilFunctionActiveV2({ client: lambda, ...FUNCTION_WAIT }, { FunctionName: fn.name });
    log(`function ${fn.name}: created`);
    return { arn: out.FunctionArn ?? fn.arn, created: true, codeUpdated: true, configUpdated: true };
  }

  const waitUpdated = () => waitUntilFunctionUpdatedV2({ client: lambda, ...FUNCTION_WAIT }, { FunctionName: fn.name });
  if (current.State === 'Pending' || current.LastUpdateStatus === 'InProgress') await waitUpdated();

  const deployedArch = current.Architectures?.[0] ?? 'x86_64';
  const codeUpdated = current.CodeSha256 !== zip.codeSha256 || deployedArch !== fn.architecture;
  if (codeUpdated) {
    await lambda.send(new UpdateFunctionCodeCommand({
      FunctionName: fn.name,
      ZipFile: zip.bytes,
      Architectures: [/** @type {any} */ (fn.architecture)],
    }));
    await waitUpdated();
  }
  const diff = configurationDiff(current, fn);
  if (diff.length > 0) {
    await withRolePropagation(() => lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: fn.name, ...settings })), { local, log });
    await waitUpdated();
  }
  log(`function ${fn.name}: code ${codeUpdated ? 'updated' : 'unchanged, skipped'}; configuration ${diff.length > 0 ? `updated (${diff.join(', ')})` : 'unchanged'}`);
  return { arn: current.FunctionArn ?? fn.arn, created: false, codeUpdated, configUpdated: diff.length > 0 };
}

/**
 * The ARN of an existing function (the `--main-name` Main); a clear error when it is not there.
 *
 * @param {LambdaClient} lambda
 * @param {string} name
 * @returns {Promise<string>}
 */
export async function existingFunctionArn(lambda, name) {
  try {
    const out = await lambda.send(new GetFunctionCommand({ FunctionName: name }));
    return out.Configuration?.FunctionArn ?? name;
  } catch (err) {
    if (isNotFound(err)) throw new ExpectedError(`--main-name: no function named ${name} in this account and region`);
    throw err;
  }
}

/**
 * Sets a function's asynchronous invocation settings (Talker: 0 retries, so Main never runs twice).
 *
 * @param {LambdaClient} lambda
 * @param {string} name
 * @param {{ MaximumRetryAttempts: number }} config
 * @param {(line: string) => void} log
 * @returns {Promise<void>}
 */
export async function putEventInvokeConfig(lambda, name, config, log) {
  await lambda.send(new PutFunctionEventInvokeConfigCommand({ FunctionName: name, ...config }));
  log(`function ${name}: async retries ${config.MaximumRetryAttempts}`);
}

/**
 * Every REST API with this name.
 *
 * @param {APIGatewayClient} apigw
 * @param {string} name
 * @returns {Promise<Array<{ id: string, name: string }>>}
 */
export async function findRestApis(apigw, name) {
  /** @type {Array<{ id: string, name: string }>} */
  const found = [];
  let position;
  do {
    const page = await apigw.send(new GetRestApisCommand({ limit: 500, position }));
    for (const item of page.items ?? []) if (item.name === name && item.id) found.push({ id: item.id, name });
    position = page.position;
  } while (position);
  return found;
}

/**
 * Finds the REST API by name (the state file's id first when there are several), or creates it.
 *
 * @param {APIGatewayClient} apigw
 * @param {string} name
 * @param {string | undefined} knownId the id from the state file, if any
 * @param {(line: string) => void} log
 * @returns {Promise<{ id: string, created: boolean }>}
 */
export async function ensureRestApi(apigw, name, knownId, log) {
  const found = await findRestApis(apigw, name);
  const pick = found.find((a) => a.id === knownId) ?? (found.length === 1 ? found[0] : undefined);
  if (pick) {
    log(`API ${name}: exists (${pick.id})`);
    return { id: pick.id, created: false };
  }
  if (found.length > 1) {
    throw new ExpectedError(`several REST APIs are named ${name} (${found.map((a) => a.id).join(', ')}); delete the extra ones or use another --name-prefix`);
  }
  const out = await apigw.send(new CreateRestApiCommand({ name, description: DESCRIPTION, endpointConfiguration: { types: ['REGIONAL'] } }));
  if (!out.id) throw new Error('CreateRestApi returned no id');
  log(`API ${name}: created (${out.id})`);
  return { id: out.id, created: true };
}

/**
 * Every resource of a REST API.
 *
 * @param {APIGatewayClient} apigw
 * @param {string} apiId
 * @returns {Promise<Array<{ id: string, path: string, parentId?: string, pathPart?: string, resourceMethods?: Record<string, unknown> }>>}
 */
export async function listResources(apigw, apiId) {
  /** @type {Array<any>} */
  const all = [];
  let position;
  do {
    const page = await apigw.send(new GetResourcesCommand({ restApiId: apiId, limit: 500, position }));
    all.push(...(page.items ?? []));
    position = page.position;
  } while (position);
  return all;
}

/**
 * Finds a resource by its full path, or creates it under its parent.
 *
 * @param {APIGatewayClient} apigw
 * @param {string} apiId
 * @param {Array<any>} resources the API's resources (a created one is added)
 * @param {string} fullPath e.g. "/direct/{proxy+}"
 * @returns {Promise<any>} the resource
 */
export async function ensureResource(apigw, apiId, resources, fullPath) {
  const existing = resources.find((r) => r.path === fullPath);
  if (existing) return existing;
  const cut = fullPath.lastIndexOf('/');
  const parentPath = cut === 0 ? '/' : fullPath.slice(0, cut);
  const parent = await ensureResource(apigw, apiId, resources, parentPath);
  if (!parent?.id) throw new Error(`REST API ${apiId} has no resource ${parentPath}`);
  const out = await apigw.send(new CreateResourceCommand({ restApiId: apiId, parentId: parent.id, pathPart: fullPath.slice(cut + 1) }));
  const created = { id: out.id, path: out.path ?? fullPath, parentId: parent.id, pathPart: out.pathPart, resourceMethods: {} };
  resources.push(created);
  return created;
}

/**
 * Routes ANY on a resource to a function: the method is created once, the AWS_PROXY integration
 * written every time (PutIntegration replaces it, so a changed function ARN is picked up).
 *
 * @param {APIGatewayClient} apigw
 * @param {string} apiId
 * @param {{ id: string, resourceMethods?: Record<string, unknown> }} resource
 * @param {string} uri the integration URI
 * @param {string} [httpMethod] `ANY` (default), or `GET` for the results route
 * @returns {Promise<void>}
 */
export async function ensureProxyMethod(apigw, apiId, resource, uri, httpMethod = 'ANY') {
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
    uri,
  }));
}

/**
 * Lets API Gateway (this API only) invoke a function; an existing statement is kept.
 *
 * @param {LambdaClient} lambda
 * @param {string} functionName
 * @param {{ partition: string, region: string, account: string }} where
 * @param {string} apiId
 * @returns {Promise<{ statementId: string, created: boolean }>}
 */
export async function ensureApiPermission(lambda, functionName, where, apiId) {
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
 * Removes the results route an earlier deploy made (`<path>/{id}`), and the parents it created
 * that now hold no method and no other child, so that a stale route cannot reach a Proxy that
 * no longer treats it as one.
 *
 * @param {APIGatewayClient} apigw
 * @param {string} apiId
 * @param {Array<any>} resources the API's resources (removed ones are dropped)
 * @param {string} resultsPath the earlier `--results-path`
 * @returns {Promise<boolean>} whether a route was removed
 */
export async function removeResultsRoute(apigw, apiId, resources, resultsPath) {
  let doomed = resources.find((r) => r.path === `${resultsPath}/{id}`);
  if (!doomed) return false;
  for (;;) {
    const parent = resources.find((r) => r.id === doomed.parentId);
    const parentIsEmpty = parent && parent.path !== '/' && Object.keys(parent.resourceMethods ?? {}).length === 0
      && resources.every((r) => r.parentId !== parent.id || r.id === doomed.id);
    if (!parentIsEmpty) break;
    doomed = parent;
  }
  await deleteIfPresent(() => apigw.send(new DeleteResourceCommand({ restApiId: apiId, resourceId: doomed.id })));
  // Drop the removed subtree from the listing.
  const gone = new Set([doomed.id]);
  for (let grew = true; grew;) {
    grew = false;
    for (const r of resources) {
      if (!gone.has(r.id) && gone.has(r.parentId)) {
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
 *
 * @param {{ apigw: APIGatewayClient, lambda: LambdaClient }} clients
 * @param {{ name: string, stage: string, directRoute: boolean, resultsPath?: string, previousResultsPath?: string, knownId?: string, proxy: { name: string, arn: string }, main: { name: string, arn: string }, where: { partition: string, region: string, account: string } }} spec
 * @param {(line: string) => void} log
 * @returns {Promise<{ apiId: string, created: boolean, permissions: Array<{ functionName: string, statementId: string }> }>}
 */
export async function ensureApi({ apigw, lambda }, spec, log) {
  const { id: apiId, created } = await ensureRestApi(apigw, spec.name, spec.knownId, log);
  const resources = await listResources(apigw, apiId);
  /** @type {Array<[string, { name: string, arn: string }]>} */
  const routes = [['/', spec.proxy], ['/{proxy+}', spec.proxy]];
  if (spec.directRoute) routes.push(['/direct', spec.main], ['/direct/{proxy+}', spec.main]);
  for (const [path, fn] of routes) {
    const resource = await ensureResource(apigw, apiId, resources, path);
    await ensureProxyMethod(apigw, apiId, resource, integrationUri(spec.where, fn.arn));
  }
  if (spec.previousResultsPath && spec.previousResultsPath !== spec.resultsPath) {
    if (await removeResultsRoute(apigw, apiId, resources, spec.previousResultsPath)) {
      log(`API ${spec.name}: removed the earlier results route ${spec.previousResultsPath}/{id}`);
    }
  }
  const described = routes.map(([p, fn]) => `${p} -> ${fn.name}`);
  if (spec.resultsPath) {
    const resource = await ensureResource(apigw, apiId, resources, `${spec.resultsPath}/{id}`);
    await ensureProxyMethod(apigw, apiId, resource, integrationUri(spec.where, spec.proxy.arn), 'GET');
    described.push(`GET ${spec.resultsPath}/{id} -> ${spec.proxy.name} (no API key)`);
  }
  log(`API ${spec.name}: routes ${described.join(', ')}`);
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
 * Runs a delete call; "not found" counts as done.
 *
 * @param {() => Promise<unknown>} call
 * @returns {Promise<boolean>} true when something was deleted, false when it was already gone
 */
export async function deleteIfPresent(call) {
  try {
    await call();
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/**
 * Deletes a REST API, waiting out API Gateway's rate limit on deletions.
 *
 * @param {APIGatewayClient} apigw
 * @param {string} apiId
 * @returns {Promise<boolean>} false when it was already gone
 */
export async function deleteRestApi(apigw, apiId) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await deleteIfPresent(() => apigw.send(new DeleteRestApiCommand({ restApiId: apiId })));
    } catch (err) {
      if (!isAwsError(err, 'TooManyRequestsException') || attempt >= 10) throw err;
      await delay(5000 * attempt);
    }
  }
}

/**
 * Deletes a function and its event invoke config.
 *
 * @param {LambdaClient} lambda
 * @param {string} name
 * @returns {Promise<boolean>} false when it was already gone
 */
export async function deleteFunction(lambda, name) {
  await deleteIfPresent(() => lambda.send(new DeleteFunctionEventInvokeConfigCommand({ FunctionName: name })));
  return deleteIfPresent(() => lambda.send(new DeleteFunctionCommand({ FunctionName: name })));
}

/**
 * Removes one permission statement from a function (one deploy added to a Main it did not create).
 *
 * @param {LambdaClient} lambda
 * @param {string} functionName
 * @param {string} statementId
 * @returns {Promise<boolean>} false when it was already gone
 */
export async function removePermission(lambda, functionName, statementId) {
  return deleteIfPresent(() => lambda.send(new RemovePermissionCommand({ FunctionName: functionName, StatementId: statementId })));
}

/**
 * Deletes a role after its inline policies and attached managed policies.
 *
 * @param {IAMClient} iam
 * @param {string} name
 * @returns {Promise<boolean>} false when it was already gone
 */
export async function deleteRole(iam, name) {
  let inline;
  let attached;
  try {
    inline = (await iam.send(new ListRolePoliciesCommand({ RoleName: name }))).PolicyNames ?? [];
    attached = (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: name }))).AttachedPolicies ?? [];
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
  for (const policy of inline) await deleteIfPresent(() => iam.send(new DeleteRolePolicyCommand({ RoleName: name, PolicyName: policy })));
  for (const policy of attached) {
    if (policy.PolicyArn) await deleteIfPresent(() => iam.send(new DetachRolePolicyCommand({ RoleName: name, PolicyArn: policy.PolicyArn })));
  }
  return deleteIfPresent(() => iam.send(new DeleteRoleCommand({ RoleName: name })));
}

/**
 * Deletes the table and waits until it is gone.
 *
 * @param {DynamoDBClient} ddb
 * @param {string} name
 * @returns {Promise<boolean>} false when it was already gone
 */
export async function deleteTable(ddb, name) {
  const deleted = await deleteIfPresent(() => ddb.send(new DeleteTableCommand({ TableName: name })));
  if (deleted) await waitUntilTableNotExists({ client: ddb, maxWaitTime: 300, minDelay: 1, maxDelay: 5 }, { TableName: name });
  return deleted;
}
