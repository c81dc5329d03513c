import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FunctionConfiguration } from '@aws-sdk/client-lambda';
import { describeError, ExpectedError, scriptArgs, UsageError } from '../../scripts/lib/cli';
import { DEFAULTS, parseDeployArgs as parseDeployOrHelp, parseDestroyArgs as parseDestroyOrHelp, type DeployOptions, type DestroyOptions } from '../../scripts/lib/deploy-options';

/** The options of a call that is not --help. */
function parseDeployArgs(...args: Parameters<typeof parseDeployOrHelp>): DeployOptions {
  const options = parseDeployOrHelp(...args);
  if (options.help) throw new Error('unexpected --help');
  return options;
}

/** The options of a destroy that is not --help. */
function parseDestroyArgs(...args: Parameters<typeof parseDestroyOrHelp>): DestroyOptions {
  const options = parseDestroyOrHelp(...args);
  if (options.help) throw new Error('unexpected --help');
  return options;
}
import { invokeUrl, managedPolicyArns, partitionOf, planDeploy } from '../../scripts/lib/deploy-plan';
import { shellArg, shellVar } from '../../scripts/lib/dry-run';
import { clientConfig, resolveIdentity } from '../../scripts/lib/aws/clients';
import { configurationDiff } from '../../scripts/lib/aws/functions';
import { withRolePropagation } from '../../scripts/lib/aws/roles';
import { ensureTtl } from '../../scripts/lib/aws/table';
import { checkApiType, loadZips, readState, stateMatches } from '../../scripts/lib/deploy-run';
import { destroyApiType } from '../../scripts/lib/dry-run';
import { ensureHttpApiResource, ensureHttpIntegration, ensureHttpRoute, ensureHttpStage, findHttpApis, waitForAutoDeploy } from '../../scripts/lib/aws/http-api';

const scratch = mkdtempSync(path.join(tmpdir(), 'deploy-lib-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function awsError(name: string, message = name, status = 400): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

describe('deploy options', () => {
  it('default to the original timeouts, 256 MB, x86_64, stage dev and the long-request-kit names', () => {
    const o = parseDeployArgs([], {}, scratch);
    expect(o.timeouts).toEqual({ proxy: 35, talker: 180, main: 150 });
    expect(o).toMatchObject({ memory: 256, architecture: 'x86_64', stage: 'dev', mainDelay: 60, local: false, endpoint: undefined, region: undefined });
    expect(o.names).toMatchObject({
      table: 'long-request-kit-tasks',
      api: 'long-request-kit-api',
      functions: { proxy: 'long-request-kit-proxy', talker: 'long-request-kit-talker', main: 'long-request-kit-main' },
      roles: { proxy: 'long-request-kit-proxy-role', talker: 'long-request-kit-talker-role', main: 'long-request-kit-main-role' },
    });
    expect(o.stateFile).toBe(path.join(scratch, DEFAULTS.stateFile));
  });

  it('read --binary-media-types as a list, refuse what is not a media type, and refuse it on an HTTP API', () => {
    expect(parseDeployArgs([], {}, scratch)).toMatchObject({ binaryMediaTypes: [] });
    expect(parseDeployArgs(['--binary-media-types', 'image/png, application/*,image/png'], {}, scratch)).toMatchObject({ binaryMediaTypes: ['image/png', 'application/*'] });
    expect(() => parseDeployArgs(['--binary-media-types', 'image'], {}, scratch)).toThrow('--binary-media-types takes media types separated by commas, such as image/png,application/*, got "image"');
    expect(() => parseDeployArgs(['--binary-media-types', ','], {}, scratch)).toThrow(/--binary-media-types takes media types/);
    expect(() => parseDeployArgs(['--api-type', 'http', '--binary-media-types', 'image/png'], {}, scratch)).toThrow(/--binary-media-types is a REST API setting/);
  });

  it('take the endpoint from AWS_ENDPOINT_URL and default its region to us-east-1', () => {
    const o = parseDeployArgs([], { AWS_ENDPOINT_URL: 'http://localhost:4566/' });
    expect(o).toMatchObject({ endpoint: 'http://localhost:4566', region: 'us-east-1', local: true });
    expect(parseDeployArgs(['--endpoint', 'http://127.0.0.1:1234'], { AWS_REGION: 'eu-west-1' })).toMatchObject({ region: 'eu-west-1', local: true });
  });

  it('keep string values as strings (an API key of digits keeps its leading zero)', () => {
    expect(parseDeployArgs(['--api-key', '0123']).env.proxy.API_KEY).toBe('0123');
  });

  it('collect repeated --proxy-env pairs, values with = included', () => {
    const o = parseDeployArgs(['--proxy-env', 'A=1', '--proxy-env', 'B=x=y', '--talker-env', 'C=']);
    expect(o.env.proxy).toEqual({ A: '1', B: 'x=y' });
    expect(o.env.talker).toEqual({ C: '' });
  });

  it('refuse a wait window at or past the Proxy timeout', () => {
    expect(() => parseDeployArgs(['--wait-seconds', '20', '--proxy-timeout', '15'])).toThrow(UsageError);
  });

  it('default to a REST API, and with --api-type http to the $default stage and a 30 s integration timeout', () => {
    expect(parseDeployArgs([], {})).toMatchObject({ apiType: 'rest', stage: 'dev', integrationTimeoutMs: 29_000, endpointType: 'REGIONAL' });
    const http = parseDeployArgs(['--api-type', 'http'], {});
    expect(http).toMatchObject({ apiType: 'http', stage: '$default', integrationTimeoutMs: 30_000, endpointType: 'REGIONAL', transferMode: 'buffered' });
    expect(http.env.proxy).toEqual({ GATEWAY_TIMEOUT_MS: '30000' });
    expect(http.timeouts.proxy).toBe(36);
    expect(parseDeployArgs(['--api-type', 'http', '--stage', 'prod'], {}).stage).toBe('prod');
    expect(parseDeployArgs(['--api-type', 'http', '--stage', '$default'], {}).stage).toBe('$default');
    expect(parseDeployArgs(['--api-type', 'http', '--integration-timeout-ms', '29000'], {}).env.proxy).toEqual({});
    expect(parseDeployArgs(['--api-type', 'http', '--endpoint-type', 'REGIONAL'], {}).endpointType).toBe('REGIONAL');
  });

  it('refuse what an HTTP API cannot do, naming its limits', () => {
    expect(() => parseDeployArgs(['--api-type', 'http', '--transfer-mode', 'stream'])).toThrow(/HTTP APIs have no response streaming/);
    expect(() => parseDeployArgs(['--api-type', 'http', '--endpoint-type', 'EDGE'])).toThrow(/HTTP APIs are regional/);
    expect(() => parseDeployArgs(['--api-type', 'http', '--integration-timeout-ms', '31000'])).toThrow(/after 30000 ms at most, and that cannot be raised/);
    expect(() => parseDeployArgs(['--api-type', 'http', '--set-stage-name'])).toThrow(UsageError);
    expect(() => parseDeployArgs(['--api-type', 'rest', '--stage', '$default'])).toThrow(/--stage must hold only/);
    expect(() => parseDeployArgs(['--api-type', 'HTTP'])).toThrow(/--api-type must be one of rest, http/);
  });

  it('for destroy, accept --keep-table and refuse deploy-only flags', () => {
    expect(parseDestroyArgs(['--keep-table']).keepTable).toBe(true);
    expect(() => parseDestroyArgs(['--memory', '512'])).toThrow(/unknown flag --memory/);
  });
});

describe('the deploy plan', () => {
  const options = parseDeployArgs(['--region', 'eu-central-1'], {});
  const plan = planDeploy(options, { account: '123456789012' });

  it('gives the Proxy DynamoDB item access on the table and invoke on Talker only', () => {
    const proxy = plan.roles.find((r) => r.key === 'proxy')!;
    expect(proxy.inlinePolicy?.document).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'TasksTable', Effect: 'Allow',
          Action: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
          Resource: 'arn:aws:dynamodb:eu-central-1:123456789012:table/long-request-kit-tasks',
        },
        {
          Sid: 'InvokeTalker', Effect: 'Allow', Action: 'lambda:InvokeFunction',
          Resource: [
            'arn:aws:lambda:eu-central-1:123456789012:function:long-request-kit-talker',
            'arn:aws:lambda:eu-central-1:123456789012:function:long-request-kit-talker:*',
          ],
        },
      ],
    });
  });

  it('gives Talker invoke on Main, and Main no inline policy at all', () => {
    const talker = JSON.stringify(plan.roles.find((r) => r.key === 'talker')!.inlinePolicy);
    expect(talker).toContain('function:long-request-kit-main');
    expect(talker).not.toContain('long-request-kit-proxy');
    expect(plan.roles.find((r) => r.key === 'main')!.inlinePolicy).toBeNull();
    for (const role of plan.roles) expect(role.managedPolicyArns).toEqual(managedPolicyArns('aws'));
  });

  it('uses the partition of the region', () => {
    expect(partitionOf('cn-north-1')).toBe('aws-cn');
    expect(partitionOf('us-gov-west-1')).toBe('aws-us-gov');
    const cn = planDeploy(parseDeployArgs(['--region', 'cn-north-1'], {}), { account: '123456789012' });
    expect(cn.table.arn).toMatch(/^arn:aws-cn:dynamodb:/);
    expect(invokeUrl({ region: 'cn-north-1', apiId: 'abc', stage: 'dev' })).toBe('https://abc.execute-api.cn-north-1.amazonaws.com.cn/dev/');
  });

  it('plans the API type and stage', () => {
    const http = planDeploy(parseDeployArgs(['--region', 'eu-west-1', '--api-type', 'http', '--direct-route'], {}), { account: '123456789012' });
    expect(http.api).toMatchObject({ type: 'http', stage: '$default', integrationTimeoutMs: 30_000, transferMode: 'buffered', directRoute: true });
    expect(http.functions.find((f) => f.key === 'proxy')).toMatchObject({ handler: 'index.handler', timeout: 36, environment: { GATEWAY_TIMEOUT_MS: '30000' } });
    expect(plan.api.type).toBe('rest');
  });

  it('builds HTTP API invoke URLs: the $default stage at the base URL, a named stage under /NAME/', () => {
    expect(invokeUrl({ region: 'eu-west-1', apiId: 'a1', stage: '$default' })).toBe('https://a1.execute-api.eu-west-1.amazonaws.com/');
    expect(invokeUrl({ region: 'cn-north-1', apiId: 'a1', stage: '$default' })).toBe('https://a1.execute-api.cn-north-1.amazonaws.com.cn/');
    expect(invokeUrl({ endpoint: 'http://localhost:4566', region: 'us-east-1', apiId: 'a1', stage: '$default' })).toBe('http://localhost:4566/_aws/execute-api/a1/');
    expect(invokeUrl({ endpoint: 'http://localhost:4566', region: 'us-east-1', apiId: 'a1', stage: 'live' })).toBe('http://localhost:4566/_aws/execute-api/a1/live/');
  });

  it('builds invoke URLs for AWS and for a local endpoint', () => {
    expect(invokeUrl({ region: 'eu-west-1', apiId: 'a1', stage: 'prod' })).toBe('https://a1.execute-api.eu-west-1.amazonaws.com/prod/');
    expect(invokeUrl({ endpoint: 'http://localhost:4566/', region: 'us-east-1', apiId: 'a1', stage: 'dev' })).toBe('http://localhost:4566/_aws/execute-api/a1/dev/');
  });
});

describe('shell quoting of the dry run', () => {
  function echoed(arg: string): string {
    return execFileSync('bash', ['-c', `X=abc; printf %s ${arg}`]).toString();
  }

  it('keeps any literal text literal, quotes included', () => {
    for (const text of [`it's "quoted" $HOME \`x\``, '{"a":[1,2]}', 'plain-word', '{proxy+}', 'items[?path==`/`].id']) {
      expect(echoed(shellArg(text))).toBe(text);
    }
  });

  it('expands only the placeholders it was given', () => {
    expect(echoed(shellArg(`"${shellVar('X')}" costs $5`))).toBe('"abc" costs $5');
  });
});

describe('AWS helpers', () => {
  it('use dummy credentials on a local endpoint only when none are set', () => {
    expect(clientConfig({ endpoint: 'http://l', region: 'us-east-1', local: true }, {}).credentials).toEqual({ accessKeyId: 'test', secretAccessKey: 'test' });
    expect(clientConfig({ endpoint: 'http://l', region: 'us-east-1', local: true }, { AWS_ACCESS_KEY_ID: 'x' }).credentials).toBeUndefined();
    expect(clientConfig({ region: 'us-east-1', local: false }, {}).credentials).toBeUndefined();
  });

  it('retry a function call while a new role propagates on AWS, but not on a local endpoint', async () => {
    let calls = 0;
    const flaky = async () => {
      calls += 1;
      if (calls < 3) throw awsError('InvalidParameterValueException', 'The role defined for the function cannot be assumed by Lambda.');
      return 'ok';
    };
    const lines: string[] = [];
    await expect(withRolePropagation(flaky, { local: false, log: (l) => lines.push(l), delayMs: 1 })).resolves.toBe('ok');
    expect(calls).toBe(3);
    expect(lines).toHaveLength(1);
    calls = 0;
    await expect(withRolePropagation(flaky, { local: true, log: () => {}, delayMs: 1 })).rejects.toThrow(/cannot be assumed/);
    expect(calls).toBe(1);
  });

  it('tell which configuration settings differ', () => {
    const plan = planDeploy(parseDeployArgs(['--region', 'us-east-1'], {}), { account: '123456789012' });
    const fn = plan.functions.find((f) => f.key === 'proxy')!;
    const same: FunctionConfiguration = {
      Role: fn.roleArn, Runtime: 'nodejs22.x', Handler: 'index.handler', Timeout: 35, MemorySize: 256,
      TracingConfig: { Mode: 'Active' }, Environment: { Variables: { LAMBDA_TALKER_NAME: 'long-request-kit-talker', DYNAMODB_TABLE_NAME: 'long-request-kit-tasks' } },
    };
    expect(configurationDiff(same, fn)).toEqual([]);
    expect(configurationDiff({ ...same, Timeout: 30, TracingConfig: { Mode: 'PassThrough' }, Environment: {} }, fn)).toEqual(['timeout', 'tracing', 'environment']);
  });

  it('warn instead of failing when the service cannot turn TTL on', async () => {
    const ddb = { send: async () => { throw awsError('UnknownOperationException', 'not supported'); } };
    const lines: string[] = [];
    await ensureTtl(ddb as never, { name: 't', ttlAttribute: 'ExpiresAt' }, (l) => lines.push(l));
    expect(lines.join('\n')).toMatch(/warning: TTL on ExpiresAt not set \(UnknownOperationException: not supported\)/);
  });

  it('assume the local account when a local endpoint has no STS, but report one that does not answer', async () => {
    const noSts = { send: async () => { throw awsError('UnknownOperation', 'no', 404); } };
    await expect(resolveIdentity(noSts as never, { local: true, region: 'us-east-1' })).resolves.toEqual({ account: '000000000000', partition: 'aws' });
    const down = { send: async () => { throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }); } };
    await expect(resolveIdentity(down as never, { local: true, region: 'us-east-1' })).rejects.toThrow(/ECONNREFUSED/);
    await expect(resolveIdentity(noSts as never, { local: false, region: 'us-east-1' })).rejects.toThrow();
  });

  it('say in one line that a zip is missing and cannot be built', async () => {
    await expect(loadZips(scratch, ['proxy'], () => {})).rejects.toThrow(ExpectedError);
    await expect(loadZips(scratch, ['proxy'], () => {})).rejects.toThrow('proxy/dist/deploy.zip is missing and could not be built: proxy/index.ts not found');
  });

  it('read a state file without apiType as a REST deployment', () => {
    const file = path.join(scratch, 'old-state.json');
    writeFileSync(file, JSON.stringify({ namePrefix: 'a', endpoint: null, apiId: 'r1' }));
    expect(readState(file)?.apiType).toBe('rest');
    writeFileSync(file, JSON.stringify({ namePrefix: 'a', endpoint: null, apiId: 'h1', apiType: 'http' }));
    expect(readState(file)?.apiType).toBe('http');
  });

  it('pick the API type of a destroy dry run: the flag, the matching state file, or rest', () => {
    const file = path.join(scratch, 'dry-state.json');
    writeFileSync(file, JSON.stringify({ namePrefix: 'a', endpoint: null, apiType: 'http' }));
    expect(destroyApiType({ apiType: undefined, stateFile: file, namePrefix: 'a', endpoint: undefined })).toBe('http');
    expect(destroyApiType({ apiType: 'rest', stateFile: file, namePrefix: 'a', endpoint: undefined })).toBe('rest');
    expect(destroyApiType({ apiType: undefined, stateFile: file, namePrefix: 'b', endpoint: undefined })).toBe('rest');
    expect(destroyApiType({ apiType: undefined, stateFile: path.join(scratch, 'none.json'), namePrefix: 'a', endpoint: undefined })).toBe('rest');
    expect(parseDestroyArgs(['--api-type', 'http']).apiType).toBe('http');
    expect(parseDestroyArgs([]).apiType).toBeUndefined();
  });

  it('read a state file only when it describes the same prefix and endpoint', () => {
    expect(stateMatches({ namePrefix: 'a', endpoint: null }, { namePrefix: 'a' })).toBe(true);
    expect(stateMatches({ namePrefix: 'a', endpoint: 'http://x' }, { namePrefix: 'a' })).toBe(false);
    expect(stateMatches(null, { namePrefix: 'a' })).toBe(false);
  });
});

describe('script plumbing', () => {
  it('finds the raw arguments after the script, run through zx or node', () => {
    const url = 'file:///repo/scripts/deploy.ts';
    expect(scriptArgs(url, ['node', '/x/tsx/dist/cli.mjs', '/repo/scripts/deploy.ts', '--api-key', '0123'])).toEqual(['--api-key', '0123']);
    expect(scriptArgs(url, ['node', '/repo/scripts/deploy.ts', '--dry-run'])).toEqual(['--dry-run']);
  });

  it('turns a missing-credentials error into advice', () => {
    const e = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    expect(describeError(e)).toMatch(/^no usable AWS credentials .* --endpoint URL/);
  });
});

/** A fake SDK client: answers each command by its class name, and records the calls. */
function fakeClient(answers: Record<string, (input: Record<string, unknown>) => unknown>): { send: (command: object) => Promise<unknown>; calls: Array<[string, Record<string, unknown>]> } {
  const calls: Array<[string, Record<string, unknown>]> = [];
  return {
    calls,
    send: async (command: object) => {
      const name = command.constructor.name;
      const input = (command as { input: Record<string, unknown> }).input;
      calls.push([name, input]);
      const answer = answers[name];
      if (!answer) throw new Error(`unexpected ${name}`);
      return answer(input);
    },
  };
}

describe('the HTTP API steps', () => {
  it('find HTTP APIs by name across pages, leaving WebSocket APIs and other names out', async () => {
    const pages: Record<string, unknown> = {
      first: { Items: [{ ApiId: 'w1', Name: 'kit-api', ProtocolType: 'WEBSOCKET' }, { ApiId: 'h1', Name: 'kit-api', ProtocolType: 'HTTP' }], NextToken: 'p2' },
      p2: { Items: [{ ApiId: 'o1', Name: 'other', ProtocolType: 'HTTP' }, { ApiId: 'h2', Name: 'kit-api', ProtocolType: 'HTTP' }] },
    };
    const apigw2 = fakeClient({ GetApisCommand: (input) => pages[(input.NextToken as string | undefined) ?? 'first'] });
    expect(await findHttpApis(apigw2 as never, 'kit-api')).toEqual([{ id: 'h1', name: 'kit-api' }, { id: 'h2', name: 'kit-api' }]);
    expect(apigw2.calls.map(([, input]) => input.NextToken)).toEqual([undefined, 'p2']);
    // several: the state file's id wins; without one, deploy refuses to guess
    await expect(ensureHttpApiResource(apigw2 as never, 'kit-api', 'h2', () => {})).resolves.toEqual({ id: 'h2', created: false });
    await expect(ensureHttpApiResource(apigw2 as never, 'kit-api', undefined, () => {})).rejects.toThrow(/several HTTP APIs are named kit-api \(h1, h2\)/);
  });

  it('create the API when there is none, with protocol HTTP', async () => {
    const apigw2 = fakeClient({ GetApisCommand: () => ({ Items: [] }), CreateApiCommand: () => ({ ApiId: 'new1' }) });
    await expect(ensureHttpApiResource(apigw2 as never, 'kit-api', undefined, () => {})).resolves.toEqual({ id: 'new1', created: true });
    expect(apigw2.calls[1]).toEqual(['CreateApiCommand', { Name: 'kit-api', ProtocolType: 'HTTP', Description: 'lambda-long-request-kit' }]);
  });

  it('reuse an integration by its URI, updating its timeout and payload version, or create one', async () => {
    const apigw2 = fakeClient({ UpdateIntegrationCommand: () => ({}), CreateIntegrationCommand: () => ({ IntegrationId: 'i2' }) });
    const integrations = [{ id: 'i1', type: 'AWS_PROXY', uri: 'arn:proxy', payloadFormatVersion: '1.0', timeoutMs: 30_000 }];
    expect(await ensureHttpIntegration(apigw2 as never, 'a', integrations, 'arn:proxy', 20_000)).toBe('i1');
    expect(apigw2.calls[0]).toEqual(['UpdateIntegrationCommand', { ApiId: 'a', IntegrationId: 'i1', IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0', TimeoutInMillis: 20_000 }]);
    // now as wanted: no call
    expect(await ensureHttpIntegration(apigw2 as never, 'a', integrations, 'arn:proxy', 20_000)).toBe('i1');
    expect(apigw2.calls).toHaveLength(1);
    expect(await ensureHttpIntegration(apigw2 as never, 'a', integrations, 'arn:main', 30_000)).toBe('i2');
    expect(apigw2.calls[1]).toEqual(['CreateIntegrationCommand', {
      ApiId: 'a', IntegrationType: 'AWS_PROXY', IntegrationUri: 'arn:main', PayloadFormatVersion: '2.0', TimeoutInMillis: 30_000, Description: 'lambda-long-request-kit',
    }]);
  });

  it('point an existing route at the integration in place, or create it', async () => {
    const apigw2 = fakeClient({ UpdateRouteCommand: () => ({}), CreateRouteCommand: () => ({ RouteId: 'r2' }) });
    const routes = [{ id: 'r1', routeKey: 'ANY /', target: 'integrations/old' }];
    expect(await ensureHttpRoute(apigw2 as never, 'a', routes, 'ANY /', 'i1')).toBe('updated');
    expect(apigw2.calls[0]).toEqual(['UpdateRouteCommand', { ApiId: 'a', RouteId: 'r1', Target: 'integrations/i1' }]);
    expect(await ensureHttpRoute(apigw2 as never, 'a', routes, 'ANY /', 'i1')).toBe('unchanged');
    expect(await ensureHttpRoute(apigw2 as never, 'a', routes, 'ANY /{proxy+}', 'i1')).toBe('created');
    expect(apigw2.calls[1]).toEqual(['CreateRouteCommand', { ApiId: 'a', RouteKey: 'ANY /{proxy+}', Target: 'integrations/i1', AuthorizationType: 'NONE' }]);
  });

  it('wait for the auto-deployment of the changes: a stage serving a new deployment, or give up after the timeout; a failed one stops', async () => {
    const answers = [{ DeploymentId: 'd1' }, { DeploymentId: 'd1' }, { DeploymentId: 'd2' }];
    const later = fakeClient({ GetStageCommand: () => answers.shift() ?? { DeploymentId: 'd2' } });
    expect(await waitForAutoDeploy(later as never, 'a', '$default', 'd1', 5000, 1)).toBe(true);
    expect(later.calls.length).toBe(3);
    const fresh = fakeClient({ GetStageCommand: () => ({ DeploymentId: 'd1' }) });
    expect(await waitForAutoDeploy(fresh as never, 'a', '$default', undefined, 5000, 1)).toBe(true);
    const stuck = fakeClient({ GetStageCommand: () => ({ DeploymentId: 'd1' }) });
    expect(await waitForAutoDeploy(stuck as never, 'a', '$default', 'd1', 20, 5)).toBe(false);
    const failed = fakeClient({ GetStageCommand: () => ({ DeploymentId: 'd1', LastDeploymentStatusMessage: 'Failed to deploy stage: bad integration' }) });
    await expect(waitForAutoDeploy(failed as never, 'a', 'live', 'd1', 5000, 1)).rejects.toThrow('HTTP API a: the auto-deployment of stage live failed: Failed to deploy stage: bad integration');
  });

  it('create the stage with auto-deploy when GetStage says NotFound, and turn auto-deploy on when it is off', async () => {
    const missing = fakeClient({ GetStageCommand: () => { throw awsError('NotFoundException'); }, CreateStageCommand: () => ({}) });
    expect(await ensureHttpStage(missing as never, 'a', '$default')).toBe('created');
    expect(missing.calls[1]?.[1]).toMatchObject({ ApiId: 'a', StageName: '$default', AutoDeploy: true });
    const off = fakeClient({ GetStageCommand: () => ({ AutoDeploy: false }), UpdateStageCommand: () => ({}) });
    expect(await ensureHttpStage(off as never, 'a', 'prod')).toBe('updated');
    expect(off.calls[1]).toEqual(['UpdateStageCommand', { ApiId: 'a', StageName: 'prod', AutoDeploy: true }]);
    const on = fakeClient({ GetStageCommand: () => ({ AutoDeploy: true }) });
    expect(await ensureHttpStage(on as never, 'a', '$default')).toBe('unchanged');
  });

  it('refuse a deploy of the other API type, by the state file or by name, before anything changes', async () => {
    const names = { api: 'kit-api' } as never;
    const none = { apigw: fakeClient({ GetRestApisCommand: () => ({ items: [] }) }), apigw2: fakeClient({ GetApisCommand: () => ({ Items: [] }) }) };
    const base = { names, namePrefix: 'kit', local: false, stateFile: path.join(scratch, 'state.json') };
    await expect(checkApiType(none as never, { ...base, apiType: 'http' }, { apiType: 'rest', apiId: 'r1' }))
      .rejects.toThrow(/^kit is deployed behind a REST API \(r1, says .*state\.json\): --api-type http cannot replace it in place; run npm run destroy first, or use another --name-prefix$/);
    await expect(checkApiType(none as never, { ...base, apiType: 'rest' }, { apiType: 'http', apiId: 'h1' })).rejects.toThrow(/behind an HTTP API \(h1/);
    await expect(checkApiType(none as never, { ...base, apiType: 'http' }, { apiType: 'http', apiId: 'h1' })).resolves.toBeUndefined();
    const restByName = { ...none, apigw: fakeClient({ GetRestApisCommand: () => ({ items: [{ id: 'r9', name: 'kit-api' }] }) }) };
    await expect(checkApiType(restByName as never, { ...base, apiType: 'http' }, null)).rejects.toThrow(/behind a REST API \(kit-api, r9\)/);
    const httpByName = { ...none, apigw2: fakeClient({ GetApisCommand: () => ({ Items: [{ ApiId: 'h9', Name: 'kit-api', ProtocolType: 'HTTP' }] }) }) };
    await expect(checkApiType(httpByName as never, { ...base, apiType: 'rest' }, null)).rejects.toThrow(/behind an HTTP API \(kit-api, h9\)/);
    // a local endpoint without apigatewayv2 (LocalStack's free edition) has no HTTP APIs; AWS's errors stand
    const unserved = { ...none, apigw2: fakeClient({ GetApisCommand: () => { throw awsError('InternalFailure', 'not included in your license', 501); } }) };
    await expect(checkApiType(unserved as never, { ...base, local: true, apiType: 'rest' }, null)).resolves.toBeUndefined();
    await expect(checkApiType(unserved as never, { ...base, apiType: 'rest' }, null)).rejects.toThrow(/license/);
    // a REST deploy whose credentials may not list HTTP APIs: the check is skipped with a note
    const denied = { ...none, apigw2: fakeClient({ GetApisCommand: () => { throw awsError('AccessDeniedException', 'not authorized', 403); } }) };
    const notes: string[] = [];
    await expect(checkApiType(denied as never, { ...base, apiType: 'rest' }, null, (line) => notes.push(line))).resolves.toBeUndefined();
    expect(notes).toEqual(['note: cannot list HTTP APIs (AccessDeniedException): not checking for an HTTP API named kit-api']);
  });
});
