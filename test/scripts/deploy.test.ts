import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { APIGatewayClient, GetResourcesCommand, GetRestApiCommand, GetRestApisCommand } from '@aws-sdk/client-api-gateway';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetRoleCommand, IAMClient, ListRolesCommand } from '@aws-sdk/client-iam';
import { GetFunctionCommand, GetFunctionEventInvokeConfigCommand, GetPolicyCommand, LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack } from '../../local/index';
import type { LocalStack } from '../../local/index';
import type { DeployState } from '../../scripts/lib/deploy-run';
import { follow } from '../support/deployed-kit';

// the SDK's Node 22 notice would clutter the test output
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const execFileP = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..', '..');
const tsx = path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const scratch = mkdtempSync(path.join(tmpdir(), 'deploy-test-'));
const stateFile = path.join(scratch, 'state.json');
const prefix = `t${Date.now().toString(36)}`;
const config = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };

let stack: LocalStack;
let clients: { lambda: LambdaClient; apigw: APIGatewayClient; ddb: DynamoDBClient; iam: IAMClient };

interface Result { code: number; stdout: string; stderr: string }

async function script(name: 'deploy' | 'destroy', ...args: string[]): Promise<Result> {
  return scriptAs(prefix, stateFile, name, ...args);
}

async function scriptAs(namePrefix: string, state: string, name: 'deploy' | 'destroy', ...args: string[]): Promise<Result> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: scratch,
    AWS_EC2_METADATA_DISABLED: 'true',
    FORCE_COLOR: '0',
  };
  try {
    const { stdout, stderr } = await execFileP(
      process.execPath,
      [tsx, `scripts/${name}.ts`, '--endpoint', stack.url, '--name-prefix', namePrefix, '--state-file', state, ...args],
      { cwd: root, env },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const deployArgs = ['--direct-route', '--main-delay', '0.2'];

function state(): DeployState {
  return JSON.parse(readFileSync(stateFile, 'utf8')) as DeployState;
}

async function ourFunctions(): Promise<string[]> {
  const out = await clients.lambda.send(new ListFunctionsCommand({}));
  return (out.Functions ?? []).map((f) => f.FunctionName ?? '').filter((n) => n.startsWith(`${prefix}-`)).sort();
}

async function ourApis(): Promise<string[]> {
  const out = await clients.apigw.send(new GetRestApisCommand({ limit: 500 }));
  return (out.items ?? []).filter((a) => a.name === `${prefix}-api`).map((a) => a.id ?? '');
}

async function gone(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'present';
  } catch (err) {
    return (err as Error).name;
  }
}

beforeAll(async () => {
  stack = await startLocalStack({ port: 0, log: () => {} });
  const endpoint = stack.url;
  clients = {
    lambda: new LambdaClient({ ...config, endpoint }),
    apigw: new APIGatewayClient({ ...config, endpoint }),
    ddb: new DynamoDBClient({ ...config, endpoint }),
    iam: new IAMClient({ ...config, endpoint }),
  };
  // deploy what the source is now
  await execFileP(process.execPath, [tsx, 'scripts/build.ts'], { cwd: root });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('deploy and destroy against the local stack', () => {
  it('deploys everything once, and prints the invoke and direct URLs', async () => {
    const r = await script('deploy', ...deployArgs);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`table ${prefix}-tasks: created`);
    for (const fn of ['proxy', 'talker', 'main']) {
      expect(r.stdout).toContain(`role ${prefix}-${fn}-role: created`);
      expect(r.stdout).toContain(`function ${prefix}-${fn}: created`);
    }
    const s = state();
    expect(s.invokeUrl).toBe(`${stack.url}/_aws/execute-api/${s.apiId}/dev/`);
    expect(s.directUrl).toBe(`${s.invokeUrl}direct`);
    expect(r.stdout).toContain(`Invoke URL: ${s.invokeUrl}`);
    expect(r.stdout).toContain(`Direct URL (Main without the kit): ${s.directUrl}`);
    expect(s).toMatchObject({
      stage: 'dev',
      region: 'us-east-1',
      endpoint: stack.url,
      table: `${prefix}-tasks`,
      functions: { proxy: { name: `${prefix}-proxy` }, talker: { name: `${prefix}-talker` }, main: { name: `${prefix}-main` } },
      roles: { proxy: `${prefix}-proxy-role`, talker: `${prefix}-talker-role`, main: `${prefix}-main-role` },
    });
  }, 120_000);

  it('configures the functions as the original did', async () => {
    const proxy = (await clients.lambda.send(new GetFunctionCommand({ FunctionName: `${prefix}-proxy` }))).Configuration;
    expect(proxy).toMatchObject({ Runtime: 'nodejs22.x', Handler: 'index.handler', Timeout: 35, MemorySize: 256, TracingConfig: { Mode: 'Active' } });
    expect(proxy?.Environment?.Variables).toMatchObject({ DYNAMODB_TABLE_NAME: `${prefix}-tasks`, LAMBDA_TALKER_NAME: `${prefix}-talker` });
    const talker = (await clients.lambda.send(new GetFunctionCommand({ FunctionName: `${prefix}-talker` }))).Configuration;
    expect(talker).toMatchObject({ Timeout: 180, Environment: { Variables: { DYNAMODB_TABLE_NAME: `${prefix}-tasks`, MAIN_LAMBDA_NAME: `${prefix}-main` } } });
    const retries = await clients.lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: `${prefix}-talker` }));
    expect(retries.MaximumRetryAttempts).toBe(0);
    const main = (await clients.lambda.send(new GetFunctionCommand({ FunctionName: `${prefix}-main` }))).Configuration;
    expect(main).toMatchObject({ Timeout: 150, Environment: { Variables: { DELAY_SECONDS: '0.2' } } });
    const table = await clients.ddb.send(new DescribeTableCommand({ TableName: `${prefix}-tasks` }));
    expect(table.Table?.KeySchema).toEqual([{ AttributeName: 'RequestID', KeyType: 'HASH' }]);
  });

  it('answers through the invoke URL (Proxy, Talker, Main) and through the direct route', async () => {
    const s = state();
    const viaKit = await fetch(`${s.invokeUrl}orders/7?seconds=0.3`);
    expect(viaKit.status).toBe(200);
    expect(await viaKit.json()).toMatchObject({ method: 'GET', path: '/orders/7', payloadVersion: '1.0', waitedSeconds: 0.3 });
    const direct = await fetch(`${s.directUrl}?seconds=0.1`);
    expect(direct.status).toBe(200);
    expect(await direct.json()).toMatchObject({ path: '/direct', waitedSeconds: 0.1 });
  }, 60_000);

  it('creates nothing twice on a second run, and skips the unchanged code', async () => {
    const before = state();
    const r = await script('deploy', ...deployArgs);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/: created/);
    expect(r.stdout.match(/code unchanged, skipped; configuration unchanged/g)).toHaveLength(3);
    expect(state().apiId).toBe(before.apiId);
    expect(await ourFunctions()).toEqual([`${prefix}-main`, `${prefix}-proxy`, `${prefix}-talker`]);
    expect(await ourApis()).toEqual([before.apiId]);
    const resources = await clients.apigw.send(new GetResourcesCommand({ restApiId: before.apiId, limit: 500 }));
    expect((resources.items ?? []).map((i) => i.path).sort()).toEqual(['/', '/direct', '/direct/{proxy+}', '/{proxy+}']);
  }, 120_000);

  it('updates only the configuration that changed', async () => {
    const r = await script('deploy', '--direct-route', '--main-delay', '0.1');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`function ${prefix}-main: code unchanged, skipped; configuration updated (environment)`);
    expect(r.stdout).toContain(`function ${prefix}-proxy: code unchanged, skipped; configuration unchanged`);
  }, 120_000);

  it('sets exactly the binary media types --binary-media-types names, and removes them when it is dropped', async () => {
    const types = async () => (await clients.apigw.send(new GetRestApiCommand({ restApiId: state().apiId }))).binaryMediaTypes ?? [];
    const set = await script('deploy', '--direct-route', '--main-delay', '0.1', '--binary-media-types', 'image/png,application/*');
    expect(set.code).toBe(0);
    expect(set.stdout).toContain(`API ${prefix}-api: binary media types image/png, application/*`);
    expect((await types()).sort()).toEqual(['application/*', 'image/png']);
    const changed = await script('deploy', '--direct-route', '--main-delay', '0.1', '--binary-media-types', 'image/png');
    expect(changed.stdout).toContain('(removed application/*)');
    expect(await types()).toEqual(['image/png']);
    const dropped = await script('deploy', '--direct-route', '--main-delay', '0.1');
    expect(dropped.code).toBe(0);
    expect(await types()).toEqual([]);
  }, 120_000);

  it('puts the kit in front of an existing Main with --main-name, and its destroy leaves that Main alone', async () => {
    const other = `${prefix}x`;
    const otherState = path.join(scratch, 'other.json');
    const mainName = `${prefix}-main`;
    const r = await scriptAs(other, otherState, 'deploy', '--main-name', mainName, '--direct-route');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain(`${other}-main`);
    const talker = (await clients.lambda.send(new GetFunctionCommand({ FunctionName: `${other}-talker` }))).Configuration;
    expect(talker?.Environment?.Variables?.MAIN_LAMBDA_NAME).toBe(mainName);
    const s = JSON.parse(readFileSync(otherState, 'utf8')) as DeployState;
    const viaKit = await fetch(`${s.invokeUrl}?seconds=0.1`);
    expect(viaKit.status).toBe(200);
    const policy = async () => (await clients.lambda.send(new GetPolicyCommand({ FunctionName: mainName }))).Policy ?? '';
    expect(await policy()).toContain(`apigateway-${s.apiId}`);

    const d = await scriptAs(other, otherState, 'destroy');
    expect(d.code).toBe(0);
    expect(await gone(() => clients.lambda.send(new GetFunctionCommand({ FunctionName: mainName })))).toBe('present');
    expect(await policy().catch(() => '')).not.toContain(`apigateway-${s.apiId}`);
    expect(await gone(() => clients.lambda.send(new GetFunctionCommand({ FunctionName: `${other}-proxy` })))).toBe('ResourceNotFoundException');
  }, 120_000);

  it('adds the results route with --results-path, serves continuations there, and removes it when the flag is dropped', async () => {
    const other = `${prefix}r`;
    const otherState = path.join(scratch, 'results.json');
    const r = await scriptAs(other, otherState, 'deploy', '--results-path', '/_results', '--wait-seconds', '0.2', '--main-delay', '0.6');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`GET /_results/{id} -> ${other}-proxy (no API key)`);
    const s = JSON.parse(readFileSync(otherState, 'utf8')) as DeployState;
    expect(s.resultsPath).toBe('/_results');
    expect(r.stdout).toContain(`Results route (open, signed links): ${s.invokeUrl}_results/{id}`);
    const proxyEnv = (await clients.lambda.send(new GetFunctionCommand({ FunctionName: `${other}-proxy` }))).Configuration?.Environment?.Variables;
    expect(proxyEnv?.['RESULTS_PATH']).toBe('/_results');
    const paths = async () => ((await clients.apigw.send(new GetResourcesCommand({ restApiId: s.apiId }))).items ?? []).map((i) => i.path).sort();
    expect(await paths()).toEqual(['/', '/_results', '/_results/{id}', '/{proxy+}']);

    // Main takes 0.6 s, the window is 0.2 s: the continuation goes through the results route.
    const chain = await follow(`${s.invokeUrl}report?seconds=0.6`);
    expect(chain.response.status).toBe(200);
    expect(chain.urls[1]).toMatch(new RegExp(`^${s.invokeUrl.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}_results/[0-9a-f-]{36}\\?`));
    expect(JSON.parse(chain.body)).toMatchObject({ path: '/report' });

    // Deployed again without the flag: the route and RESULTS_PATH are gone.
    const again = await scriptAs(other, otherState, 'deploy', '--wait-seconds', '0.2', '--main-delay', '0.6');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('removed the earlier results route /_results/{id}');
    expect(await paths()).toEqual(['/', '/{proxy+}']);
    const after = (await clients.lambda.send(new GetFunctionCommand({ FunctionName: `${other}-proxy` }))).Configuration?.Environment?.Variables;
    expect(after?.['RESULTS_PATH']).toBeUndefined();
    expect((await scriptAs(other, otherState, 'destroy')).code).toBe(0);
  }, 180_000);

  it('destroys everything it created, leaves nothing behind, and tolerates a second run', async () => {
    const s = state();
    const r = await script('destroy');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await ourFunctions()).toEqual([]);
    expect(await ourApis()).toEqual([]);
    expect(await gone(() => clients.ddb.send(new DescribeTableCommand({ TableName: s.table })))).toBe('ResourceNotFoundException');
    for (const role of Object.values(s.roles)) {
      expect(await gone(() => clients.iam.send(new GetRoleCommand({ RoleName: role })))).toMatch(/NoSuchEntity/);
    }
    const roles = await clients.iam.send(new ListRolesCommand({}));
    expect((roles.Roles ?? []).filter((x) => x.RoleName?.startsWith(`${prefix}-`))).toEqual([]);
    expect(existsSync(stateFile)).toBe(false);

    const again = await script('destroy');
    expect(again.code).toBe(0);
    expect(again.stdout).not.toMatch(/: deleted/);
    expect(again.stdout).toContain('already gone');
  }, 120_000);

  it('keeps the table with --keep-table', async () => {
    expect((await script('deploy')).code).toBe(0);
    const r = await script('destroy', '--keep-table');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`table ${prefix}-tasks: kept (--keep-table)`);
    expect(await gone(() => clients.ddb.send(new DescribeTableCommand({ TableName: `${prefix}-tasks` })))).toBe('present');
    expect(await ourFunctions()).toEqual([]);
    const last = await script('destroy');
    expect(last.stdout).toContain(`table ${prefix}-tasks: deleted`);
  }, 120_000);
});
