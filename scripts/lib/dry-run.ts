// --dry-run: the aws CLI commands equivalent to a deploy or a destroy, as a bash script.
// Values only known at run time (account, API and resource ids) are shell variables.
import { existsSync, readFileSync } from 'node:fs';
import { HTTP_API_TIMEOUT_MS, type ApiType, type DeployOptions, type DestroyOptions } from './deploy-options';
import { apiSourceArn, integrationUri, invokeUrl, permissionStatementId, planDeploy, responseTransferMode, type DeployPlan, type Where } from './deploy-plan';

/** Settings whose values a dry run never prints. */
export const SECRET_ENV = /^(API_KEY|SIGNING_SECRET)$|SECRET|PASSWORD|TOKEN/;

/**
 * A placeholder for a shell variable inside a value; {@link shellArg} turns it into `${NAME}`.
 */
export function shellVar(name: string): string {
  return `@@${name}@@`;
}

const VAR = /@@([A-Z_]+)@@/g;

/**
 * Quotes one argument for bash: bare when safe, single quotes when literal, double quotes (with
 * escapes) when it holds {@link shellVar} placeholders.
 */
export function shellArg(value: string | number): string {
  const s = String(value);
  if (VAR.test(s)) {
    VAR.lastIndex = 0;
    const escaped = s.replace(/[\\"`$]/g, (c) => `\\${c}`).replace(VAR, (_m, name) => `\${${name}}`);
    return `"${escaped}"`;
  }
  if (/^[A-Za-z0-9_\-.,:/=@%+]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * One command line from its words.
 */
function cmd(...words: Array<string | number>): string {
  return words.map(shellArg).join(' ');
}

/**
 * A command whose output (`--query ... --output text`) is kept in a shell variable.
 */
function capture(name: string, ...words: Array<string | number>): string {
  return `${name}=$(${cmd(...words)})`;
}

function masked(vars: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, SECRET_ENV.test(k) ? '***' : v]));
}

/**
 * The script's first lines: what it is and where it points.
 *
 * @param what - "deploy" or "destroy"
 */
function header(target: { endpoint?: string | undefined; region?: string | undefined }, what: string): string[] {
  const lines = [
    `# Dry run: the aws CLI commands equivalent to this ${what}. Nothing was called.`,
    `# Target: ${target.endpoint ? `endpoint ${target.endpoint}` : 'AWS (usual credential chain)'}, region ${target.region ?? '(from your profile)'}`,
    'set -euo pipefail',
  ];
  if (target.region) lines.push(cmd('export', `AWS_REGION=${target.region}`, `AWS_DEFAULT_REGION=${target.region}`));
  if (target.endpoint) lines.push(cmd('export', `AWS_ENDPOINT_URL=${target.endpoint}`));
  return lines;
}

/**
 * The aws CLI commands equivalent to a deploy with these options.
 *
 * @returns lines of a bash script
 */
export function deployCommands(options: DeployOptions): string[] {
  const region = options.region ?? shellVar('REGION');
  const plan = planDeploy({ ...options, region }, { account: shellVar('ACCOUNT_ID') });
  const where = { partition: plan.partition, region: plan.region, account: plan.account };
  const lines = header(options, 'deploy');
  if (!options.region) lines.push('REGION="${AWS_REGION:-$(aws configure get region)}"');
  lines.push(capture('ACCOUNT_ID', 'aws', 'sts', 'get-caller-identity', '--query', 'Account', '--output', 'text'));

  lines.push('', '# 1. The tasks table (key RequestID, on demand), with TTL on ExpiresAt');
  lines.push(cmd('aws', 'dynamodb', 'create-table', '--table-name', plan.table.name,
    '--attribute-definitions', `AttributeName=${plan.table.key},AttributeType=S`,
    '--key-schema', `AttributeName=${plan.table.key},KeyType=HASH`, '--billing-mode', 'PAY_PER_REQUEST'));
  lines.push(cmd('aws', 'dynamodb', 'wait', 'table-exists', '--table-name', plan.table.name));
  lines.push(cmd('aws', 'dynamodb', 'update-time-to-live', '--table-name', plan.table.name,
    '--time-to-live-specification', `Enabled=true,AttributeName=${plan.table.ttlAttribute}`));

  lines.push('', '# 2. One execution role per function, least privilege');
  for (const role of plan.roles) {
    if (!role.managed) {
      lines.push(`# ${role.key}: using the given role ${role.arn}`);
      continue;
    }
    lines.push(cmd('aws', 'iam', 'create-role', '--role-name', role.name, '--assume-role-policy-document', JSON.stringify(role.trustPolicy)));
    for (const arn of role.managedPolicyArns) lines.push(cmd('aws', 'iam', 'attach-role-policy', '--role-name', role.name, '--policy-arn', arn));
    if (role.inlinePolicy) {
      lines.push(cmd('aws', 'iam', 'put-role-policy', '--role-name', role.name, '--policy-name', role.inlinePolicy.name,
        '--policy-document', JSON.stringify(role.inlinePolicy.document)));
    }
  }

  lines.push('', '# 3. The functions (build first: npm run build)');
  const secrets = plan.functions.some((fn) => Object.keys(fn.environment).some((k) => SECRET_ENV.test(k)));
  if (secrets) lines.push('# secret values are shown as *** here');
  if (!plan.main.deployed) lines.push(`# Main: the existing function ${plan.main.name}`);
  // Main first and Proxy last, as deploy does: each function exists before the one that invokes it
  for (const fn of [...plan.functions].reverse()) {
    lines.push(cmd('aws', 'lambda', 'create-function', '--function-name', fn.name,
      '--handler', fn.handler, '--runtime', fn.runtime, '--role', fn.roleArn,
      '--zip-file', `fileb://./${fn.zipPath}`, '--tracing-config', 'Mode=Active', '--timeout', fn.timeout,
      '--memory-size', fn.memory, '--architectures', fn.architecture,
      '--environment', JSON.stringify({ Variables: masked(fn.environment) })));
    lines.push(cmd('aws', 'lambda', 'wait', 'function-active-v2', '--function-name', fn.name));
    if (fn.eventInvokeConfig) {
      lines.push(cmd('aws', 'lambda', 'put-function-event-invoke-config', '--function-name', fn.name,
        '--maximum-retry-attempts', fn.eventInvokeConfig.MaximumRetryAttempts));
    }
  }

  if (plan.api.type === 'http') {
    lines.push(...httpApiCommands(options, plan, where));
    return lines;
  }
  lines.push('', '# 4. The REST API: / and /{proxy+} ANY -> Proxy (AWS_PROXY)');
  const api = shellVar('API_ID');
  lines.push(capture('API_ID', 'aws', 'apigateway', 'create-rest-api', '--name', plan.api.name,
    '--endpoint-configuration', `types=${plan.api.endpointType}`,
    ...(plan.api.binaryMediaTypes.length > 0 ? ['--binary-media-types', ...plan.api.binaryMediaTypes] : []),
    '--query', 'id', '--output', 'text'));
  lines.push(capture('ROOT_ID', 'aws', 'apigateway', 'get-resources', '--rest-api-id', api, '--query', 'items[?path==`/`].id', '--output', 'text'));
  lines.push(capture('PROXY_RESOURCE_ID', 'aws', 'apigateway', 'create-resource', '--rest-api-id', api,
    '--parent-id', shellVar('ROOT_ID'), '--path-part', '{proxy+}', '--query', 'id', '--output', 'text'));
  const proxy = plan.functions[0];
  if (!proxy) throw new Error('the plan has no Proxy');
  // resource variable, function ARN
  const routes: Array<[string, string]> = [[shellVar('ROOT_ID'), proxy.arn], [shellVar('PROXY_RESOURCE_ID'), proxy.arn]];
  if (plan.api.directRoute) {
    lines.push('# --direct-route: /direct and /direct/{proxy+} ANY -> Main itself, without the kit');
    lines.push(capture('DIRECT_ID', 'aws', 'apigateway', 'create-resource', '--rest-api-id', api,
      '--parent-id', shellVar('ROOT_ID'), '--path-part', 'direct', '--query', 'id', '--output', 'text'));
    lines.push(capture('DIRECT_PROXY_ID', 'aws', 'apigateway', 'create-resource', '--rest-api-id', api,
      '--parent-id', shellVar('DIRECT_ID'), '--path-part', '{proxy+}', '--query', 'id', '--output', 'text'));
    routes.push([shellVar('DIRECT_ID'), plan.main.arn], [shellVar('DIRECT_PROXY_ID'), plan.main.arn]);
  }
  // The Proxy's integrations carry the transfer mode and timeout; the direct route stays as API
  // Gateway makes it (buffered, 29 s), since it shows the problem the kit solves.
  const proxyIntegration = (fnArn: string): Array<string | number> => [
    '--uri', integrationUri(where, fnArn, plan.api.transferMode),
    ...(plan.api.transferMode === 'stream' ? ['--response-transfer-mode', responseTransferMode(plan.api.transferMode)] : []),
    ...(plan.api.integrationTimeoutMs !== 29_000 ? ['--timeout-in-millis', plan.api.integrationTimeoutMs] : []),
  ];
  if (plan.api.transferMode === 'stream') {
    lines.push(`# --transfer-mode stream: the Proxy's integrations call InvokeWithResponseStream (handler ${proxy.handler}); AWS CLI 2.32.0 or later`);
  }
  for (const [resource, fnArn] of routes) {
    lines.push(cmd('aws', 'apigateway', 'put-method', '--rest-api-id', api, '--resource-id', resource,
      '--http-method', 'ANY', '--authorization-type', 'NONE'));
    lines.push(cmd('aws', 'apigateway', 'put-integration', '--rest-api-id', api, '--resource-id', resource,
      '--http-method', 'ANY', '--type', 'AWS_PROXY', '--integration-http-method', 'POST',
      ...(fnArn === proxy.arn ? proxyIntegration(fnArn) : ['--uri', integrationUri(where, fnArn)])));
  }
  if (plan.api.resultsPath) {
    lines.push(`# --results-path: GET ${plan.api.resultsPath}/{id} -> Proxy, with no API key required`);
    let parent = shellVar('ROOT_ID');
    const parts = [...plan.api.resultsPath.slice(1).split('/'), '{id}'];
    parts.forEach((part, i) => {
      const name = i === parts.length - 1 ? 'RESULTS_ID' : `RESULTS_${'PARENT_'.repeat(parts.length - 1 - i)}ID`;
      lines.push(capture(name, 'aws', 'apigateway', 'create-resource', '--rest-api-id', api,
        '--parent-id', parent, '--path-part', part, '--query', 'id', '--output', 'text'));
      parent = shellVar(name);
    });
    lines.push(cmd('aws', 'apigateway', 'put-method', '--rest-api-id', api, '--resource-id', shellVar('RESULTS_ID'),
      '--http-method', 'GET', '--authorization-type', 'NONE', '--no-api-key-required'));
    lines.push(cmd('aws', 'apigateway', 'put-integration', '--rest-api-id', api, '--resource-id', shellVar('RESULTS_ID'),
      '--http-method', 'GET', '--type', 'AWS_PROXY', '--integration-http-method', 'POST', ...proxyIntegration(proxy.arn)));
  }
  const invokers = [proxy.name];
  if (plan.api.directRoute) invokers.push(plan.main.name);
  for (const name of invokers) {
    lines.push(cmd('aws', 'lambda', 'add-permission', '--function-name', name, '--statement-id', permissionStatementId(api),
      '--action', 'lambda:InvokeFunction', '--principal', 'apigateway.amazonaws.com', '--source-arn', apiSourceArn(where, api)));
  }
  lines.push(cmd('aws', 'apigateway', 'create-deployment', '--rest-api-id', api, '--stage-name', plan.api.stage));
  const url = invokeUrl({ endpoint: options.endpoint, region: plan.region, apiId: api, stage: plan.api.stage });
  lines.push('', cmd('echo', `Invoke URL: ${url}`));
  if (plan.api.directRoute) lines.push(cmd('echo', `Direct URL (no kit): ${url}direct`));
  if (plan.api.resultsPath) lines.push(cmd('echo', `Results route: ${url}${plan.api.resultsPath.slice(1)}/{id}`));
  return lines;
}

/**
 * Step 4 of a deploy behind an HTTP API: the API, its AWS_PROXY integrations (payload 2.0),
 * routes, the permissions, and the `$default` (or named) stage with auto-deploy.
 *
 * @returns lines of a bash script
 */
function httpApiCommands(options: DeployOptions, plan: DeployPlan, where: Where): string[] {
  const proxy = plan.functions[0];
  if (!proxy) throw new Error('the plan has no Proxy');
  const api = shellVar('API_ID');
  const lines = ['', `# 4. The HTTP API: ANY / and ANY /{proxy+} -> Proxy (AWS_PROXY, payload 2.0), stage ${plan.api.stage} with auto-deploy`];
  lines.push(capture('API_ID', 'aws', 'apigatewayv2', 'create-api', '--name', plan.api.name, '--protocol-type', 'HTTP', '--query', 'ApiId', '--output', 'text'));
  const integration = (name: string, fnArn: string, timeoutMs: number): string => capture(name, 'aws', 'apigatewayv2', 'create-integration',
    '--api-id', api, '--integration-type', 'AWS_PROXY', '--integration-uri', fnArn, '--payload-format-version', '2.0',
    '--timeout-in-millis', timeoutMs, '--query', 'IntegrationId', '--output', 'text');
  const route = (routeKey: string, integrationVar: string): string => cmd('aws', 'apigatewayv2', 'create-route', '--api-id', api,
    '--route-key', routeKey, '--target', `integrations/${shellVar(integrationVar)}`);
  lines.push(integration('PROXY_INTEGRATION_ID', proxy.arn, plan.api.integrationTimeoutMs));
  lines.push(route('ANY /', 'PROXY_INTEGRATION_ID'), route('ANY /{proxy+}', 'PROXY_INTEGRATION_ID'));
  if (plan.api.directRoute) {
    lines.push(`# --direct-route: ANY /direct and ANY /direct/{proxy+} -> Main itself, without the kit (${HTTP_API_TIMEOUT_MS} ms, the most an HTTP API allows)`);
    lines.push(integration('MAIN_INTEGRATION_ID', plan.main.arn, HTTP_API_TIMEOUT_MS));
    lines.push(route('ANY /direct', 'MAIN_INTEGRATION_ID'), route('ANY /direct/{proxy+}', 'MAIN_INTEGRATION_ID'));
  }
  if (plan.api.resultsPath) {
    lines.push(`# --results-path: GET ${plan.api.resultsPath}/{id} -> Proxy`);
    lines.push(route(`GET ${plan.api.resultsPath}/{id}`, 'PROXY_INTEGRATION_ID'));
  }
  const invokers = [proxy.name];
  if (plan.api.directRoute) invokers.push(plan.main.name);
  for (const name of invokers) {
    lines.push(cmd('aws', 'lambda', 'add-permission', '--function-name', name, '--statement-id', permissionStatementId(api),
      '--action', 'lambda:InvokeFunction', '--principal', 'apigateway.amazonaws.com', '--source-arn', apiSourceArn(where, api)));
  }
  lines.push(cmd('aws', 'apigatewayv2', 'create-stage', '--api-id', api, '--stage-name', plan.api.stage, '--auto-deploy'));
  const url = invokeUrl({ endpoint: options.endpoint, region: plan.region, apiId: api, stage: plan.api.stage });
  lines.push('', cmd('echo', `Invoke URL: ${url}`));
  if (plan.api.directRoute) lines.push(cmd('echo', `Direct URL (no kit): ${url}direct`));
  if (plan.api.resultsPath) lines.push(cmd('echo', `Results route: ${url}${plan.api.resultsPath.slice(1)}/{id}`));
  return lines;
}

/**
 * The API type a destroy's dry run deletes: `--api-type`, else the state file's when it
 * describes the same deployment (name prefix and endpoint), else rest.
 */
export function destroyApiType(options: Pick<DestroyOptions, 'apiType' | 'stateFile' | 'namePrefix' | 'endpoint'>): ApiType {
  if (options.apiType) return options.apiType;
  if (!existsSync(options.stateFile)) return 'rest';
  try {
    const state = JSON.parse(readFileSync(options.stateFile, 'utf8')) as { namePrefix?: unknown; endpoint?: unknown; apiType?: unknown };
    const same = state.namePrefix === options.namePrefix && (state.endpoint ?? null) === (options.endpoint ?? null);
    return same && state.apiType === 'http' ? 'http' : 'rest';
  } catch {
    return 'rest';
  }
}

/**
 * The aws CLI commands equivalent to a destroy with these options (by name: the API id is looked
 * up by the API's name).
 *
 * @param apiType - the API to delete (default {@link destroyApiType})
 * @returns lines of a bash script
 */
export function destroyCommands(options: DestroyOptions, apiType: ApiType = destroyApiType(options)): string[] {
  const { names } = options;
  const lines = header(options, 'destroy');
  if (apiType === 'http') {
    lines.push('', '# 1. The HTTP API (its integrations, routes and stages go with it)');
    lines.push(capture('API_ID', 'aws', 'apigatewayv2', 'get-apis', '--query', `Items[?Name=='${names.api}' && ProtocolType=='HTTP'].ApiId | [0]`, '--output', 'text'));
    lines.push(cmd('aws', 'apigatewayv2', 'delete-api', '--api-id', shellVar('API_ID')));
  } else {
    lines.push('', '# 1. The REST API');
    lines.push(capture('API_ID', 'aws', 'apigateway', 'get-rest-apis', '--query', `items[?name=='${names.api}'].id | [0]`, '--output', 'text'));
    lines.push(cmd('aws', 'apigateway', 'delete-rest-api', '--rest-api-id', shellVar('API_ID')));
  }
  lines.push('', '# 2. The functions');
  if (options.mainName) {
    lines.push(`# Main is the existing function ${options.mainName}: only the direct route's permission is removed, if any`);
    lines.push(`${cmd('aws', 'lambda', 'remove-permission', '--function-name', options.mainName, '--statement-id', permissionStatementId(shellVar('API_ID')))} || true`);
  }
  lines.push(cmd('aws', 'lambda', 'delete-function-event-invoke-config', '--function-name', names.functions.talker));
  for (const key of (['proxy', 'talker', 'main'] as const)) {
    if (key === 'main' && options.mainName) continue;
    lines.push(cmd('aws', 'lambda', 'delete-function', '--function-name', names.functions[key]));
  }
  lines.push('', '# 3. The execution roles');
  for (const key of (['proxy', 'talker', 'main'] as const)) {
    if (key === 'main' && options.mainName) continue;
    if (options.givenRoles[key]) {
      lines.push(`# ${key}: the given role ${options.givenRoles[key]} is kept`);
      continue;
    }
    const role = names.roles[key];
    if (key !== 'main') lines.push(cmd('aws', 'iam', 'delete-role-policy', '--role-name', role, '--policy-name', names.policies[key]));
    for (const arn of ['arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole', 'arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess']) {
      lines.push(cmd('aws', 'iam', 'detach-role-policy', '--role-name', role, '--policy-arn', arn));
    }
    lines.push(cmd('aws', 'iam', 'delete-role', '--role-name', role));
  }
  if (options.keepTable) {
    lines.push('', `# 4. The table ${names.table} is kept (--keep-table)`);
  } else {
    lines.push('', '# 4. The tasks table');
    lines.push(cmd('aws', 'dynamodb', 'delete-table', '--table-name', names.table));
    lines.push(cmd('aws', 'dynamodb', 'wait', 'table-not-exists', '--table-name', names.table));
  }
  return lines;
}
