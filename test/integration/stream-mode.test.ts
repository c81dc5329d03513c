import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APIGatewayClient, GetIntegrationCommand, GetResourcesCommand } from '@aws-sdk/client-api-gateway';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { deployKit, follow, root, tsxCli, type DeployedKit } from '../support/deployed-kit';

// The kit deployed with --transfer-mode stream by the real deploy script: the Proxy runs as a
// streaming handler behind STREAM integrations. The stack's idle timeout is scaled down to 6 s
// (and the Proxy told so), which bounds each hop: 6 s less the 2 s margin, less a tenth.
const IDLE_MS = 6000;
const WINDOW_MS = 3600;
const execFileP = promisify(execFile);
const STREAM_ARGS = ['--name-prefix', 'stest', '--main-delay', '60', '--transfer-mode', 'stream', '--proxy-env', `STREAM_IDLE_TIMEOUT_MS=${IDLE_MS}`];
let kit: DeployedKit;

beforeAll(async () => {
  kit = await deployKit(STREAM_ARGS, { streamIdleTimeoutMs: IDLE_MS });
}, 120_000);

afterAll(async () => {
  await kit?.stop();
});

function clients(): { apigw: APIGatewayClient; lambda: LambdaClient } {
  const config = { endpoint: kit.stack.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  return { apigw: new APIGatewayClient(config), lambda: new LambdaClient(config) };
}

async function proxySetup(): Promise<{ handler: string | undefined; timeout: number | undefined; modes: Array<string | undefined>; timeouts: Array<number | undefined> }> {
  const { apigw, lambda } = clients();
  try {
    const fn = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'stest-proxy' }));
    const resources = await apigw.send(new GetResourcesCommand({ restApiId: kit.state.apiId }));
    const integrations = await Promise.all((resources.items ?? []).map((r) =>
      apigw.send(new GetIntegrationCommand({ restApiId: kit.state.apiId, resourceId: r.id ?? '', httpMethod: 'ANY' }))));
    return { handler: fn.Handler, timeout: fn.Timeout, modes: integrations.map((i) => i.responseTransferMode), timeouts: integrations.map((i) => i.timeoutInMillis) };
  } finally {
    apigw.destroy();
    lambda.destroy();
  }
}

describe.concurrent('the kit in stream mode on the local stack', () => {
  it('answers a 2 s Main with 200, streamed, within its first hop or the next (the first runs cold starts too)', async () => {
    const { body, statuses } = await follow(`${kit.state.invokeUrl}short?seconds=2`);
    expect(statuses.at(-1)).toBe(200);
    expect(statuses.length).toBeLessThanOrEqual(2);
    expect(JSON.parse(body)).toMatchObject({ path: '/short', waitedSeconds: 2 });
  });

  it('answers a 15 s Main in hops as long as the idle timeout allows', async () => {
    const { body, statuses, elapsedMs } = await follow(`${kit.state.invokeUrl}long?seconds=15`);
    expect(JSON.parse(body)).toMatchObject({ waitedSeconds: 15 });
    expect(statuses.at(-1)).toBe(200);
    const redirects = statuses.filter((s) => s === 303).length;
    // 15 s in windows of 3.6 s: 4 redirects, 5 at most when a hop starts late.
    expect(redirects).toBeGreaterThanOrEqual(Math.floor(15_000 / WINDOW_MS) - 1);
    expect(redirects).toBeLessThanOrEqual(Math.ceil(15_000 / WINDOW_MS));
    expect(elapsedMs).toBeGreaterThanOrEqual(15_000);
  }, 60_000);

  it('brings a Main that throws to the client as 502 with the RequestID', async () => {
    const { response, body, statuses } = await follow(`${kit.state.invokeUrl}boom?fail=1`);
    expect(statuses).toEqual([502]);
    const error = (JSON.parse(body) as { error: { code: string; requestId: string } }).error;
    expect(error.code).toBe('MAIN_ERROR');
    expect(response.headers.get('x-request-id')).toBe(error.requestId);
  });
});

describe('deployed in stream mode', () => {
  it('runs the Proxy as index.streamHandler behind STREAM integrations of 900 s, its timeout a little over the idle bound', async () => {
    const setup = await proxySetup();
    expect(setup.handler).toBe('index.streamHandler');
    expect(setup.timeout).toBe(Math.ceil(IDLE_MS / 1000) + 6);
    expect(new Set(setup.modes)).toEqual(new Set(['STREAM']));
    expect(new Set(setup.timeouts)).toEqual(new Set([900_000]));
    expect(kit.logs.some((line) => /\[apigateway\] GET \/\S+ -> 200 .*\(streamed \d+ bytes\)/.test(line))).toBe(true);
  });

  it('refuses another endpoint type for the existing API, since the Proxy\'s hop length follows it', async () => {
    const refused = await execFileP(process.execPath, [tsxCli, 'scripts/deploy.ts', '--endpoint', kit.stack.url, '--state-file', kit.stateFile, ...STREAM_ARGS, '--endpoint-type', 'EDGE'], {
      cwd: root, env: { PATH: process.env.PATH, HOME: root, AWS_EC2_METADATA_DISABLED: 'true', FORCE_COLOR: '0' },
    }).then(() => undefined, (error: unknown) => error as { code: number; stderr: string });
    expect(refused?.code).toBe(1);
    expect(refused?.stderr).toMatch(/API stest-api \([a-z0-9]+\) is REGIONAL, not EDGE: deploy with --endpoint-type REGIONAL, or destroy it/);
    // Refused before anything changed: the Proxy was not told EDGE.
    const { lambda, apigw } = clients();
    const fn = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'stest-proxy' }));
    lambda.destroy();
    apigw.destroy();
    expect(fn.Environment?.Variables?.['ENDPOINT_TYPE']).toBeUndefined();
  }, 60_000);

  it('switches back to buffered in place when deployed again without --transfer-mode', async () => {
    await execFileP(process.execPath, [tsxCli, 'scripts/deploy.ts', '--endpoint', kit.stack.url, '--state-file', kit.stateFile, '--name-prefix', 'stest', '--main-delay', '60'], {
      cwd: root, env: { PATH: process.env.PATH, HOME: root, AWS_EC2_METADATA_DISABLED: 'true', FORCE_COLOR: '0' },
    });
    const setup = await proxySetup();
    expect(setup).toMatchObject({ handler: 'index.handler', timeout: 35 });
    expect(new Set(setup.modes)).toEqual(new Set(['BUFFERED']));
    expect(new Set(setup.timeouts)).toEqual(new Set([29_000]));
    const { statuses } = await follow(`${kit.state.invokeUrl}again?seconds=1`);
    expect(statuses).toEqual([200]);
  }, 120_000);
});
