// npm run deploy -- --api-type http against the local stack's apigatewayv2: the HTTP API, its
// integrations (payload 2.0), routes and auto-deploy stage; a second run updates it in place;
// the results route comes and goes with --results-path; destroy removes it.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { APIGatewayClient, GetRestApisCommand } from '@aws-sdk/client-api-gateway';
import { ApiGatewayV2Client, GetApisCommand, GetIntegrationsCommand, GetRoutesCommand, GetStageCommand, UpdateRouteCommand } from '@aws-sdk/client-apigatewayv2';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetFunctionCommand, GetPolicyCommand, LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../local/index';
import type { DeployState } from '../../scripts/lib/deploy-run';
import { follow, root, tsxCli } from '../support/deployed-kit';

// the SDK's Node 22 notice would clutter the test output
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const execFileP = promisify(execFile);
const scratch = mkdtempSync(path.join(tmpdir(), 'deploy-http-test-'));
const stateFile = path.join(scratch, 'state.json');
const prefix = `h${Date.now().toString(36)}`;
const config = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };

let stack: LocalStack;
let clients: { lambda: LambdaClient; apigw: APIGatewayClient; apigw2: ApiGatewayV2Client; ddb: DynamoDBClient };

interface Result { code: number; stdout: string; stderr: string }

async function scriptAs(namePrefix: string, state: string, name: 'deploy' | 'destroy', ...args: string[]): Promise<Result> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: scratch, AWS_EC2_METADATA_DISABLED: 'true', FORCE_COLOR: '0' };
  try {
    const { stdout, stderr } = await execFileP(
      process.execPath,
      [tsxCli, `scripts/${name}.ts`, '--endpoint', stack.url, '--name-prefix', namePrefix, '--state-file', state, ...args],
      { cwd: root, env },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const script = (name: 'deploy' | 'destroy', ...args: string[]): Promise<Result> => scriptAs(prefix, stateFile, name, ...args);
const readStateFile = (file: string = stateFile): DeployState => JSON.parse(readFileSync(file, 'utf8')) as DeployState;
const deployArgs = ['--api-type', 'http', '--direct-route', '--main-delay', '0.2'];

async function httpApis(name: string): Promise<string[]> {
  const out = await clients.apigw2.send(new GetApisCommand({}));
  return (out.Items ?? []).filter((a) => a.Name === name).map((a) => a.ApiId ?? '');
}

async function routes(apiId: string): Promise<Record<string, string>> {
  const out = await clients.apigw2.send(new GetRoutesCommand({ ApiId: apiId }));
  return Object.fromEntries((out.Items ?? []).map((r) => [r.RouteKey ?? '', r.Target ?? '']));
}

async function integrations(apiId: string): Promise<Array<{ id: string; uri: string; type: string; version: string; timeout: number }>> {
  const out = await clients.apigw2.send(new GetIntegrationsCommand({ ApiId: apiId }));
  return (out.Items ?? []).map((i) => ({
    id: i.IntegrationId ?? '', uri: i.IntegrationUri ?? '', type: i.IntegrationType ?? '', version: i.PayloadFormatVersion ?? '', timeout: i.TimeoutInMillis ?? 0,
  }));
}

async function proxyEnv(namePrefix: string): Promise<Record<string, string>> {
  return (await clients.lambda.send(new GetFunctionCommand({ FunctionName: `${namePrefix}-proxy` }))).Configuration?.Environment?.Variables ?? {};
}

async function gone(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'present';
  } catch (err) {
    return (err as Error).name;
  }
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

beforeAll(async () => {
  stack = await startLocalStack({ port: 0, log: () => {} });
  const endpoint = stack.url;
  clients = {
    lambda: new LambdaClient({ ...config, endpoint }),
    apigw: new APIGatewayClient({ ...config, endpoint }),
    apigw2: new ApiGatewayV2Client({ ...config, endpoint }),
    ddb: new DynamoDBClient({ ...config, endpoint }),
  };
  if (!['proxy', 'talker', 'main-example'].every((fn) => existsSync(path.join(root, fn, 'dist', 'deploy.zip')))) {
    await execFileP(process.execPath, [tsxCli, 'scripts/build.ts'], { cwd: root });
  }
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('deploy --api-type http against the local stack', () => {
  it('creates the HTTP API: AWS_PROXY integrations with payload 2.0, the routes, the $default stage with auto-deploy; prints its URLs', async () => {
    const r = await script('deploy', ...deployArgs);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = readStateFile();
    expect(s).toMatchObject({ apiType: 'http', stage: '$default', apiName: `${prefix}-api`, resultsPath: null });
    expect(s.invokeUrl).toBe(`${stack.url}/_aws/execute-api/${s.apiId}/`);
    expect(s.directUrl).toBe(`${s.invokeUrl}direct`);
    expect(r.stdout).toContain(`HTTP API ${prefix}-api: created (${s.apiId})`);
    expect(r.stdout).toContain(`Invoke URL: ${s.invokeUrl}`);
    expect(await httpApis(`${prefix}-api`)).toEqual([s.apiId]);
    // no REST API was made
    const rest = await clients.apigw.send(new GetRestApisCommand({ limit: 500 }));
    expect((rest.items ?? []).filter((a) => a.name === `${prefix}-api`)).toEqual([]);

    const all = await integrations(s.apiId);
    const proxyArn = `arn:aws:lambda:us-east-1:000000000000:function:${prefix}-proxy`;
    const mainArn = `arn:aws:lambda:us-east-1:000000000000:function:${prefix}-main`;
    expect(all.map(({ uri, type, version, timeout }) => ({ uri, type, version, timeout })).sort((a, b) => a.uri.localeCompare(b.uri))).toEqual([
      { uri: mainArn, type: 'AWS_PROXY', version: '2.0', timeout: 30_000 },
      { uri: proxyArn, type: 'AWS_PROXY', version: '2.0', timeout: 30_000 },
    ]);
    const toProxy = `integrations/${all.find((i) => i.uri === proxyArn)?.id}`;
    const toMain = `integrations/${all.find((i) => i.uri === mainArn)?.id}`;
    expect(await routes(s.apiId)).toEqual({ 'ANY /': toProxy, 'ANY /{proxy+}': toProxy, 'ANY /direct': toMain, 'ANY /direct/{proxy+}': toMain });
    const stage = await clients.apigw2.send(new GetStageCommand({ ApiId: s.apiId, StageName: '$default' }));
    expect(stage.AutoDeploy).toBe(true);
    expect(await proxyEnv(prefix)).toMatchObject({ GATEWAY_TIMEOUT_MS: '30000' });
    const policy = (await clients.lambda.send(new GetPolicyCommand({ FunctionName: `${prefix}-proxy` }))).Policy ?? '';
    expect(policy).toContain(`apigateway-${s.apiId}`);
    expect(policy).toContain(`arn:aws:execute-api:us-east-1:000000000000:${s.apiId}/*`);
    expect(s.permissions.map((p) => p.functionName).sort()).toEqual([`${prefix}-main`, `${prefix}-proxy`]);
  }, 120_000);

  it('answers through the invoke URL with payload 2.0 events, and through the direct route', async () => {
    const s = readStateFile();
    const viaKit = await fetch(`${s.invokeUrl}orders/7?seconds=0.3`);
    expect(viaKit.status).toBe(200);
    expect(await viaKit.json()).toMatchObject({ method: 'GET', path: '/orders/7', payloadVersion: '2.0', waitedSeconds: 0.3 });
    const direct = await fetch(`${s.directUrl}?seconds=0.1`);
    expect(direct.status).toBe(200);
    expect(await direct.json()).toMatchObject({ path: '/direct', payloadVersion: '2.0', waitedSeconds: 0.1 });
  }, 60_000);

  it('updates the API in place on a second run: nothing created twice, a stray route target put back, a new timeout written', async () => {
    const before = readStateFile();
    const all = await integrations(before.apiId);
    const mainIntegration = all.find((i) => i.uri.endsWith(`:function:${prefix}-main`))?.id;
    const rootRoute = (await clients.apigw2.send(new GetRoutesCommand({ ApiId: before.apiId }))).Items?.find((x) => x.RouteKey === 'ANY /');
    // someone pointed ANY / at Main by hand
    await clients.apigw2.send(new UpdateRouteCommand({ ApiId: before.apiId, RouteId: rootRoute?.RouteId, Target: `integrations/${mainIntegration}` }));

    const r = await script('deploy', ...deployArgs, '--integration-timeout-ms', '20000');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/: created/);
    expect(r.stdout).toContain(`HTTP API ${prefix}-api: exists (${before.apiId})`);
    expect(r.stdout).toContain('pointed ANY / at the kit\'s integrations again');
    expect(readStateFile().apiId).toBe(before.apiId);
    expect(await httpApis(`${prefix}-api`)).toEqual([before.apiId]);
    const after = await integrations(before.apiId);
    expect(after.map((i) => i.id).sort()).toEqual(all.map((i) => i.id).sort());
    expect(after.find((i) => i.uri.endsWith(`:function:${prefix}-proxy`))?.timeout).toBe(20_000);
    expect(after.find((i) => i.uri.endsWith(`:function:${prefix}-main`))?.timeout).toBe(30_000);
    const proxyTarget = `integrations/${after.find((i) => i.uri.endsWith(`:function:${prefix}-proxy`))?.id}`;
    expect((await routes(before.apiId))['ANY /']).toBe(proxyTarget);
    expect(Object.keys(await routes(before.apiId)).sort()).toEqual(['ANY /', 'ANY /direct', 'ANY /direct/{proxy+}', 'ANY /{proxy+}']);
    expect(await proxyEnv(prefix)).toMatchObject({ GATEWAY_TIMEOUT_MS: '20000' });
    const viaKit = await fetch(`${before.invokeUrl}?seconds=0.1`);
    expect(viaKit.status).toBe(200);
  }, 120_000);

  it('refuses a REST deploy over the HTTP deployment, before anything changes', async () => {
    const s = readStateFile();
    const r = await script('deploy', '--direct-route', '--main-delay', '0.2');
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(new RegExp(`^deploy: ${prefix} is deployed behind an HTTP API \\(${s.apiId}, says .*\\): --api-type rest cannot replace it in place; run npm run destroy first, or use another --name-prefix$`));
    // by name too, with another state file
    const other = await scriptAs(prefix, path.join(scratch, 'elsewhere.json'), 'deploy', '--main-delay', '0.2');
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/is deployed behind an HTTP API/);
    const rest = await clients.apigw.send(new GetRestApisCommand({ limit: 500 }));
    expect((rest.items ?? []).filter((a) => a.name === `${prefix}-api`)).toEqual([]);
    expect(await proxyEnv(prefix)).toMatchObject({ GATEWAY_TIMEOUT_MS: '20000' });
  }, 120_000);

  it('adds GET <path>/{id} with --results-path, serves continuations there, and removes it when the path changes', async () => {
    const other = `${prefix}r`;
    const otherState = path.join(scratch, 'results.json');
    const args = ['--api-type', 'http', '--wait-seconds', '0.2', '--main-delay', '0.6'];
    const r = await scriptAs(other, otherState, 'deploy', ...args, '--results-path', '/_results');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`GET /_results/{id} -> ${other}-proxy`);
    const s = readStateFile(otherState);
    expect(s.resultsPath).toBe('/_results');
    expect(r.stdout).toContain(`Results route (open, signed links): ${s.invokeUrl}_results/{id}`);
    expect(Object.keys(await routes(s.apiId)).sort()).toEqual(['ANY /', 'ANY /{proxy+}', 'GET /_results/{id}']);
    expect((await proxyEnv(other))['RESULTS_PATH']).toBe('/_results');

    // Main takes 0.6 s, the window is 0.2 s: the continuation goes through the results route.
    const chain = await follow(`${s.invokeUrl}report?seconds=0.6`);
    expect(chain.response.status).toBe(200);
    expect(chain.statuses[0]).toBe(303);
    expect(chain.urls[1]).toMatch(new RegExp(`^${escape(s.invokeUrl)}_results/[0-9a-f-]{36}\\?`));
    expect(JSON.parse(chain.body)).toMatchObject({ path: '/report', payloadVersion: '2.0' });

    // Another path: the old route goes, the new one comes.
    const moved = await scriptAs(other, otherState, 'deploy', ...args, '--results-path', '/r2');
    expect(moved.code).toBe(0);
    expect(moved.stdout).toContain('removed the earlier results route GET /_results/{id}');
    expect(Object.keys(await routes(s.apiId)).sort()).toEqual(['ANY /', 'ANY /{proxy+}', 'GET /r2/{id}']);

    // Dropped: the route and RESULTS_PATH are gone.
    const dropped = await scriptAs(other, otherState, 'deploy', ...args);
    expect(dropped.code).toBe(0);
    expect(dropped.stdout).toContain('removed the earlier results route GET /r2/{id}');
    expect(Object.keys(await routes(s.apiId)).sort()).toEqual(['ANY /', 'ANY /{proxy+}']);
    expect((await proxyEnv(other))['RESULTS_PATH']).toBeUndefined();
    expect((await scriptAs(other, otherState, 'destroy')).code).toBe(0);
    expect(await httpApis(`${other}-api`)).toEqual([]);
  }, 180_000);

  it('serves a named stage under /NAME/ with --stage, and puts the kit in front of an existing Main whose permission destroy removes', async () => {
    const other = `${prefix}m`;
    const otherState = path.join(scratch, 'main-name.json');
    const mainName = `${prefix}-main`;
    const r = await scriptAs(other, otherState, 'deploy', '--api-type', 'http', '--stage', 'live', '--main-name', mainName, '--direct-route', '--wait-seconds', '0.2');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const s = readStateFile(otherState);
    expect(s).toMatchObject({ apiType: 'http', stage: 'live' });
    expect(s.invokeUrl).toBe(`${stack.url}/_aws/execute-api/${s.apiId}/live/`);
    const stage = await clients.apigw2.send(new GetStageCommand({ ApiId: s.apiId, StageName: 'live' }));
    expect(stage.AutoDeploy).toBe(true);
    // A named stage's rawPath carries the stage, as on AWS; a continuation stays on the stage.
    const chain = await follow(`${s.invokeUrl}hello?seconds=0.6`);
    expect(chain.statuses[0]).toBe(303);
    expect(chain.response.status).toBe(200);
    expect(chain.urls[1]).toMatch(new RegExp(`^${escape(s.invokeUrl)}`));
    expect(JSON.parse(chain.body)).toMatchObject({ path: '/live/hello', payloadVersion: '2.0' });
    const policy = async () => (await clients.lambda.send(new GetPolicyCommand({ FunctionName: mainName }))).Policy ?? '';
    expect(await policy()).toContain(`apigateway-${s.apiId}`);

    // Deployed again on $default without --direct-route: the stage live, the direct routes, Main's
    // integration and the permission it gave this API all go; nothing reaches Main but the kit.
    const again = await scriptAs(other, otherState, 'deploy', '--api-type', 'http', '--main-name', mainName, '--wait-seconds', '0.2');
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`removed the direct route to ${mainName}`);
    expect(again.stdout).toContain('removed the earlier stage live');
    expect(Object.keys(await routes(s.apiId)).sort()).toEqual(['ANY /', 'ANY /{proxy+}']);
    expect((await integrations(s.apiId)).map((i) => i.uri)).toEqual([`arn:aws:lambda:us-east-1:000000000000:function:${other}-proxy`]);
    expect(await gone(() => clients.apigw2.send(new GetStageCommand({ ApiId: s.apiId, StageName: 'live' })))).toBe('NotFoundException');
    expect(await policy().catch(() => '')).not.toContain(`apigateway-${s.apiId}`);
    const moved = readStateFile(otherState);
    expect(moved).toMatchObject({ stage: '$default', directUrl: null, invokeUrl: `${stack.url}/_aws/execute-api/${s.apiId}/` });
    expect((await follow(`${moved.invokeUrl}hi?seconds=0.1`)).response.status).toBe(200);

    const d = await scriptAs(other, otherState, 'destroy');
    expect(d.code).toBe(0);
    expect(d.stdout).toContain(`HTTP API ${other}-api (${s.apiId}): deleted`);
    expect(await gone(() => clients.lambda.send(new GetFunctionCommand({ FunctionName: mainName })))).toBe('present');
  }, 120_000);

  it('destroys the HTTP API and everything else, and tolerates a second run', async () => {
    const s = readStateFile();
    const r = await script('destroy');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`HTTP API ${prefix}-api (${s.apiId}): deleted`);
    expect(await httpApis(`${prefix}-api`)).toEqual([]);
    const fns = await clients.lambda.send(new ListFunctionsCommand({}));
    expect((fns.Functions ?? []).filter((f) => f.FunctionName?.startsWith(`${prefix}-`))).toEqual([]);
    expect(await gone(() => clients.ddb.send(new DescribeTableCommand({ TableName: s.table })))).toBe('ResourceNotFoundException');
    expect(existsSync(stateFile)).toBe(false);

    // without a state file, by name
    expect((await script('deploy', '--api-type', 'http', '--main-delay', '0.2')).code).toBe(0);
    const id = readStateFile().apiId;
    rmSync(stateFile);
    const byName = await script('destroy');
    expect(byName.code).toBe(0);
    expect(byName.stdout).toContain(`HTTP API ${prefix}-api (${id}): deleted`);

    const again = await script('destroy');
    expect(again.code).toBe(0);
    expect(again.stdout).not.toMatch(/: deleted/);
    expect(again.stdout).toContain('already gone');
  }, 180_000);
});
