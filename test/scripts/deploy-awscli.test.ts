// The deploy script's --dry-run output is a bash script of `aws` commands, the manual path of
// the README. Here it runs for real, with the AWS CLI v2 (Debian's awscli, /usr/bin/aws) as an
// independent client, against the local stack: every operation the deploy script uses goes
// through the CLI, and the API it builds must then answer through the kit.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../local/index';
import { follow, root, tsxCli } from '../support/deployed-kit';

const AWS = '/usr/bin/aws';
const hasAws = existsSync(AWS);
const requireTools = process.env.REQUIRE_TOOLS === '1';
if (!hasAws) {
  console.warn(`[deploy-awscli.test] ${AWS} (AWS CLI v2, Debian package awscli) is absent: ${requireTools ? 'REQUIRE_TOOLS=1 is set, so this fails.' : 'skipping.'}`);
}
const execFileP = promisify(execFile);

let stack: LocalStack;
let scratch: string;
let env: NodeJS.ProcessEnv;

async function runScript(script: string): Promise<{ stdout: string; stderr: string }> {
  const file = path.join(scratch, `script-${Date.now()}.sh`);
  // The CLI 2.9 in Debian predates AWS_ENDPOINT_URL: point every call at the stack explicitly.
  writeFileSync(file, `aws() { ${AWS} --endpoint-url "${stack.url}" "$@"; }\n${script}`);
  return execFileP('bash', [file], { cwd: root, env, timeout: 120_000 });
}

async function aws(...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await execFileP(AWS, ['--endpoint-url', stack.url, '--output', 'json', ...args], { env });
  return stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : {};
}

// Skipped (with the reason printed above) only where /usr/bin/aws is missing; with
// REQUIRE_TOOLS=1, as in CI, which installs awscli, a missing CLI fails the suite instead.
describe.skipIf(!hasAws && !requireTools)('the manual deploy, with the AWS CLI v2', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    if (!hasAws) throw new Error(`${AWS} is missing: install the Debian package awscli (REQUIRE_TOOLS=1)`);
    stack = await startLocalStack({ port: 0, log: () => undefined });
    scratch = mkdtempSync(path.join(tmpdir(), 'awscli-deploy-'));
    env = {
      PATH: process.env.PATH,
      HOME: scratch,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_PAGER: '',
      AWS_CONFIG_FILE: path.join(scratch, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(scratch, 'none'),
    };
    if (!['proxy', 'talker', 'main-example'].every((fn) => existsSync(path.join(root, fn, 'dist', 'deploy.zip')))) {
      await execFileP(process.execPath, [tsxCli, 'scripts/build.ts'], { cwd: root });
    }
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('creates the table, roles, functions and API, and the API answers through the kit', async () => {
    const { stdout: plan } = await execFileP(process.execPath, [tsxCli, 'scripts/deploy.ts', '--dry-run', '--name-prefix', 'cli', '--direct-route', '--main-delay', '0.5', '--wait-seconds', '0.2', '--results-path', '/_results', '--binary-media-types', 'image/png,application/*'], { cwd: root, env });
    const { stdout } = await runScript(plan);
    const apiId = /Invoke URL: https:\/\/([a-z0-9]{10})\.execute-api/.exec(stdout)?.[1];
    expect(apiId).toBeDefined();

    // The same resources, read back with the CLI.
    const table = (await aws('dynamodb', 'describe-table', '--table-name', 'cli-tasks')) as { Table: { KeySchema: unknown; TableStatus: string } };
    expect(table.Table.KeySchema).toEqual([{ AttributeName: 'RequestID', KeyType: 'HASH' }]);
    const ttl = (await aws('dynamodb', 'describe-time-to-live', '--table-name', 'cli-tasks')) as { TimeToLiveDescription: { AttributeName: string } };
    expect(ttl.TimeToLiveDescription.AttributeName).toBe('ExpiresAt');
    const proxy = (await aws('lambda', 'get-function-configuration', '--function-name', 'cli-proxy')) as { Timeout: number; Runtime: string; Handler: string; TracingConfig: { Mode: string } };
    expect(proxy).toMatchObject({ Timeout: 35, Runtime: 'nodejs22.x', Handler: 'index.handler', TracingConfig: { Mode: 'Active' } });
    const retries = (await aws('lambda', 'get-function-event-invoke-config', '--function-name', 'cli-talker')) as { MaximumRetryAttempts: number };
    expect(retries.MaximumRetryAttempts).toBe(0);
    const resources = (await aws('apigateway', 'get-resources', '--rest-api-id', apiId as string)) as { items: Array<{ path: string }> };
    expect(resources.items.map((r) => r.path).sort()).toEqual(['/', '/_results', '/_results/{id}', '/direct', '/direct/{proxy+}', '/{proxy+}']);
    const api = (await aws('apigateway', 'get-rest-api', '--rest-api-id', apiId as string)) as { binaryMediaTypes: string[] };
    expect(api.binaryMediaTypes).toEqual(['image/png', 'application/*']);
    const resultsId = (resources.items as Array<{ path: string; id: string }>).find((r) => r.path === '/_results/{id}')?.id as string;
    const method = (await aws('apigateway', 'get-method', '--rest-api-id', apiId as string, '--resource-id', resultsId, '--http-method', 'GET')) as { apiKeyRequired: boolean; authorizationType: string };
    expect(method).toMatchObject({ apiKeyRequired: false, authorizationType: 'NONE' });

    // Both invocation types of Lambda's Invoke, through the CLI.
    const out = path.join(scratch, 'out.json');
    const event = JSON.stringify({ httpMethod: 'GET', path: '/cli', queryStringParameters: { seconds: '0' }, headers: {} });
    const sync = (await aws('lambda', 'invoke', '--function-name', 'cli-main', '--cli-binary-format', 'raw-in-base64-out', '--payload', event, out)) as { StatusCode: number };
    expect(sync.StatusCode).toBe(200);
    const queued = (await aws('lambda', 'invoke', '--function-name', 'cli-main', '--invocation-type', 'Event', '--cli-binary-format', 'raw-in-base64-out', '--payload', event, out)) as { StatusCode: number };
    expect(queued.StatusCode).toBe(202);

    // And the API works through the kit: main-example takes 0.5 s, past the 0.2 s window, so the
    // answer comes through the results route.
    const url = `${stack.url}/_aws/execute-api/${apiId}/dev/cli-check`;
    const { response, body, statuses, urls } = await follow(url);
    expect(response.status).toBe(200);
    expect(statuses[0]).toBe(303);
    expect(urls[1]).toMatch(new RegExp(`/_aws/execute-api/${apiId}/dev/_results/[0-9a-f-]{36}\\?`));
    expect(JSON.parse(body)).toMatchObject({ path: '/cli-check' });
    // The delivered task stays readable for RESULT_GRACE_SECONDS: read it back with the CLI.
    const scan = (await aws('dynamodb', 'scan', '--table-name', 'cli-tasks')) as { Items: Array<Record<string, { S?: string }>> };
    const delivered = scan.Items.find((item) => item['Status']?.S === 'CREATED');
    expect(delivered).toBeDefined();
    const key = JSON.stringify({ RequestID: { S: delivered?.['RequestID']?.S } });
    const item = (await aws('dynamodb', 'get-item', '--table-name', 'cli-tasks', '--key', key, '--consistent-read')) as { Item: Record<string, { S?: string; N?: string }> };
    expect(item.Item['Status']?.S).toBe('CREATED');
    expect(Number(item.Item['ExpiresAt']?.N)).toBeGreaterThan(Date.now() / 1000);
  });

  it('builds an HTTP API with apigatewayv2 (--api-type http), answers through the kit, and the destroy script removes it', async () => {
    const { stdout: plan } = await execFileP(process.execPath, [tsxCli, 'scripts/deploy.ts', '--dry-run', '--name-prefix', 'clih', '--api-type', 'http', '--direct-route', '--main-delay', '0.5', '--wait-seconds', '0.2', '--results-path', '/_results'], { cwd: root, env });
    const { stdout } = await runScript(plan);
    const apiId = /Invoke URL: https:\/\/([a-z0-9]{10})\.execute-api\.us-east-1\.amazonaws\.com\/$/m.exec(stdout)?.[1] as string;
    expect(apiId).toBeDefined();

    // The API, read back with the CLI.
    const apis = (await aws('apigatewayv2', 'get-apis')) as { Items: Array<{ ApiId: string; Name: string; ProtocolType: string }> };
    expect(apis.Items.filter((a) => a.Name === 'clih-api')).toMatchObject([{ ApiId: apiId, ProtocolType: 'HTTP' }]);
    const integrations = (await aws('apigatewayv2', 'get-integrations', '--api-id', apiId)) as { Items: Array<{ IntegrationId: string; IntegrationType: string; IntegrationUri: string; PayloadFormatVersion: string; TimeoutInMillis: number }> };
    expect(integrations.Items.map((i) => [i.IntegrationUri, i.IntegrationType, i.PayloadFormatVersion, i.TimeoutInMillis]).sort()).toEqual([
      ['arn:aws:lambda:us-east-1:000000000000:function:clih-main', 'AWS_PROXY', '2.0', 30000],
      ['arn:aws:lambda:us-east-1:000000000000:function:clih-proxy', 'AWS_PROXY', '2.0', 30000],
    ]);
    const proxyIntegration = integrations.Items.find((i) => i.IntegrationUri.endsWith(':clih-proxy'))?.IntegrationId;
    const mainIntegration = integrations.Items.find((i) => i.IntegrationUri.endsWith(':clih-main'))?.IntegrationId;
    const routes = (await aws('apigatewayv2', 'get-routes', '--api-id', apiId)) as { Items: Array<{ RouteKey: string; Target: string }> };
    expect(Object.fromEntries(routes.Items.map((r) => [r.RouteKey, r.Target]))).toEqual({
      'ANY /': `integrations/${proxyIntegration}`,
      'ANY /{proxy+}': `integrations/${proxyIntegration}`,
      'ANY /direct': `integrations/${mainIntegration}`,
      'ANY /direct/{proxy+}': `integrations/${mainIntegration}`,
      'GET /_results/{id}': `integrations/${proxyIntegration}`,
    });
    const stage = (await aws('apigatewayv2', 'get-stage', '--api-id', apiId, '--stage-name', '$default')) as { AutoDeploy: boolean };
    expect(stage.AutoDeploy).toBe(true);
    const proxy = (await aws('lambda', 'get-function-configuration', '--function-name', 'clih-proxy')) as { Timeout: number; Environment: { Variables: Record<string, string> } };
    expect(proxy).toMatchObject({ Timeout: 36, Environment: { Variables: { GATEWAY_TIMEOUT_MS: '30000', RESULTS_PATH: '/_results' } } });

    // Through the kit, at the $default stage's base URL: 0.5 s past the 0.2 s window, so the
    // answer comes through the results route.
    const base = `${stack.url}/_aws/execute-api/${apiId}/`;
    const { response, body, statuses, urls } = await follow(`${base}cli-check`);
    expect(response.status).toBe(200);
    expect(statuses[0]).toBe(303);
    expect(urls[1]).toMatch(new RegExp(`/_aws/execute-api/${apiId}/_results/[0-9a-f-]{36}\\?`));
    expect(JSON.parse(body)).toMatchObject({ path: '/cli-check', payloadVersion: '2.0' });
    const direct = await fetch(`${base}direct?seconds=0`);
    expect(direct.status).toBe(200);

    // The destroy's dry run, through the CLI too: get-apis and delete-api.
    const { stdout: teardown } = await execFileP(process.execPath, [tsxCli, 'scripts/destroy.ts', '--dry-run', '--name-prefix', 'clih', '--api-type', 'http'], { cwd: root, env });
    expect(teardown).toContain('aws apigatewayv2 delete-api');
    await runScript(teardown);
    const after = (await aws('apigatewayv2', 'get-apis')) as { Items: Array<{ Name: string }> };
    expect(after.Items.filter((a) => a.Name === 'clih-api')).toEqual([]);
    await expect(aws('lambda', 'get-function-configuration', '--function-name', 'clih-proxy')).rejects.toThrow(/ResourceNotFoundException/);
  });
});
