import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiGatewayV2Client, CreateApiCommand, CreateDeploymentCommand, CreateIntegrationCommand, CreateRouteCommand, CreateStageCommand,
  DeleteApiCommand, DeleteIntegrationCommand, DeleteRouteCommand, GetApiCommand, GetApisCommand, GetIntegrationCommand, GetRoutesCommand,
  GetStageCommand, GetStagesCommand, UpdateApiCommand, UpdateIntegrationCommand, UpdateRouteCommand,
} from '@aws-sdk/client-apigatewayv2';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { LocalStack } from '../../local/server';
import { matchHttpRoute, parseRouteKey, type HttpRoute } from '../../local/apigatewayv2/model';
import { clientConfig, allowApiGateway, createFunction, startQuietStack } from './helpers';

let stack: LocalStack;
let v2: ApiGatewayV2Client;
let lambda: LambdaClient;
let apiId: string;
let integrationId: string;

const fnArn = (name: string): string => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;

// One function, its behaviour chosen by the last path segment: echo the event, answer in each of
// payload 2.0's shapes, be malformed, throw, be slow.
const APP = `
exports.handler = async (event) => {
  const p = (event.rawPath || event.path || '').split('/').pop();
  if (p === 'string') return 'plain words';
  if (p === 'object') return { hello: 'world' };
  if (p === 'cookies') return { statusCode: 201, headers: { 'x-one': '1' }, cookies: ['a=1; Path=/', 'b=2'], body: 'with cookies' };
  if (p === 'binary') return { statusCode: 200, headers: { 'content-type': 'application/octet-stream' }, body: event.body, isBase64Encoded: event.isBase64Encoded };
  if (p === 'badstatus') return { statusCode: 'abc', body: 'x' };
  if (p === 'interim') return { statusCode: 100, body: 'x' };
  if (p === 'bothcookies') return { statusCode: 200, headers: { 'set-cookie': 'h=1' }, cookies: ['c=2'], body: 'x' };
  if (p === 'badheaders') return { statusCode: 200, headers: { 'set-cookie': ['a', 'b'] }, body: 'x' };
  if (p === 'throw') throw new Error('boom');
  if (p === 'slow') { await new Promise((r) => setTimeout(r, 2500)); return 'late'; }
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) };
};`;

interface Answer { status: number; headers: IncomingHttpHeaders; body: Buffer }

/** node:http keeps repeated headers apart (fetch would join them) and lets the Host be set. */
function rawRequest(url: string, method: string, headers: string[], body: Buffer | string = '', host?: string): Promise<Answer> {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: ['Host', host ?? new URL(url).host, 'Content-Length', String(bytes.length), ...headers] }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(bytes);
  });
}

const json = (a: Answer): Record<string, unknown> => JSON.parse(a.body.toString('utf8')) as Record<string, unknown>;
const base = (): string => `${stack.url}/_aws/execute-api/${apiId}`;

beforeAll(async () => {
  ({ stack } = await startQuietStack({ integrationTimeoutMs: 1000 }));
  v2 = new ApiGatewayV2Client(clientConfig(stack));
  lambda = new LambdaClient(clientConfig(stack));
  await createFunction(lambda, 'app', APP, { Timeout: 10 });
  await allowApiGateway(lambda, 'app');
  const api = await v2.send(new CreateApiCommand({ Name: 'kit-http', ProtocolType: 'HTTP' }));
  apiId = api.ApiId ?? '';
  const integration = await v2.send(new CreateIntegrationCommand({
    ApiId: apiId, IntegrationType: 'AWS_PROXY', IntegrationUri: fnArn('app'), PayloadFormatVersion: '2.0',
  }));
  integrationId = integration.IntegrationId ?? '';
  for (const RouteKey of ['ANY /', 'ANY /{proxy+}']) {
    await v2.send(new CreateRouteCommand({ ApiId: apiId, RouteKey, Target: `integrations/${integrationId}` }));
  }
  await v2.send(new CreateStageCommand({ ApiId: apiId, StageName: '$default', AutoDeploy: true }));
});

afterAll(async () => {
  v2?.destroy();
  lambda?.destroy();
  await stack?.stop();
});

describe('HTTP API control plane (apigatewayv2)', () => {
  it('answers the calls in AWS shapes, $default stage included', async () => {
    expect(apiId).toMatch(/^[a-z0-9]{10}$/);
    const api = await v2.send(new GetApiCommand({ ApiId: apiId }));
    expect(api).toMatchObject({
      Name: 'kit-http', ProtocolType: 'HTTP', RouteSelectionExpression: '$request.method $request.path',
      ApiKeySelectionExpression: '$request.header.x-api-key', DisableExecuteApiEndpoint: false,
    });
    expect(api.ApiEndpoint).toMatch(new RegExp(`^http://${apiId}\\.execute-api\\.localhost\\.localstack\\.cloud:\\d+$`));
    expect(api.CreatedDate).toBeInstanceOf(Date);
    const apis = await v2.send(new GetApisCommand({}));
    expect(apis.Items?.map((a) => a.ApiId)).toContain(apiId);
    const integration = await v2.send(new GetIntegrationCommand({ ApiId: apiId, IntegrationId: integrationId }));
    expect(integration).toMatchObject({
      IntegrationType: 'AWS_PROXY', IntegrationUri: fnArn('app'), IntegrationMethod: 'POST', PayloadFormatVersion: '2.0',
      TimeoutInMillis: 30000, ConnectionType: 'INTERNET',
    });
    const routes = await v2.send(new GetRoutesCommand({ ApiId: apiId }));
    expect(routes.Items?.map((r) => [r.RouteKey, r.Target, r.AuthorizationType]).sort()).toEqual([
      ['ANY /', `integrations/${integrationId}`, 'NONE'], ['ANY /{proxy+}', `integrations/${integrationId}`, 'NONE'],
    ]);
    // The SDK sends $default as %24default in the path.
    const stage = await v2.send(new GetStageCommand({ ApiId: apiId, StageName: '$default' }));
    expect(stage).toMatchObject({ StageName: '$default', AutoDeploy: true });
    expect(stage.DeploymentId).toMatch(/^[a-z0-9]{6}$/);
    expect(stage.LastDeploymentStatusMessage).toContain(stage.DeploymentId);
  });

  it('refuses what AWS refuses, with its exception types', async () => {
    await expect(v2.send(new GetApiCommand({ ApiId: 'nosuchapi0' })))
      .rejects.toMatchObject({ name: 'NotFoundException', message: 'Invalid API identifier specified 000000000000:nosuchapi0', $metadata: { httpStatusCode: 404 } });
    await expect(v2.send(new CreateApiCommand({ Name: 'x', ProtocolType: undefined as unknown as 'HTTP' })))
      .rejects.toMatchObject({ name: 'BadRequestException', $metadata: { httpStatusCode: 400 } });
    await expect(v2.send(new CreateIntegrationCommand({ ApiId: apiId, IntegrationType: 'AWS_PROXY', IntegrationUri: fnArn('app') })))
      .rejects.toMatchObject({ name: 'BadRequestException', message: 'PayloadFormatVersion is a required parameter for integration' });
    await expect(v2.send(new CreateIntegrationCommand({ ApiId: apiId, IntegrationType: 'AWS_PROXY', IntegrationUri: fnArn('app'), PayloadFormatVersion: '2.0', TimeoutInMillis: 30001 })))
      .rejects.toMatchObject({ name: 'BadRequestException', message: 'Timeout must be between 50 ms and 30000 ms' });
    await expect(v2.send(new CreateIntegrationCommand({ ApiId: apiId, IntegrationType: 'AWS_PROXY', IntegrationUri: 'not-an-arn', PayloadFormatVersion: '2.0' })))
      .rejects.toMatchObject({ name: 'BadRequestException' });
    await expect(v2.send(new CreateRouteCommand({ ApiId: apiId, RouteKey: 'ANY /{proxy+}', Target: `integrations/${integrationId}` })))
      .rejects.toMatchObject({ name: 'ConflictException', message: 'Route with key ANY /{proxy+} already exists for this API', $metadata: { httpStatusCode: 409 } });
    await expect(v2.send(new CreateRouteCommand({ ApiId: apiId, RouteKey: 'FETCH /x' })))
      .rejects.toMatchObject({ name: 'BadRequestException' });
    await expect(v2.send(new CreateRouteCommand({ ApiId: apiId, RouteKey: 'GET /{a+}/b' })))
      .rejects.toMatchObject({ name: 'BadRequestException' });
    await expect(v2.send(new CreateRouteCommand({ ApiId: apiId, RouteKey: 'GET /x', Target: 'integrations/nope000' })))
      .rejects.toMatchObject({ name: 'BadRequestException' });
    await expect(v2.send(new CreateStageCommand({ ApiId: apiId, StageName: '$default' })))
      .rejects.toMatchObject({ name: 'ConflictException' });
    await expect(v2.send(new DeleteIntegrationCommand({ ApiId: apiId, IntegrationId: integrationId })))
      .rejects.toMatchObject({ name: 'ConflictException' });
    await expect(v2.send(new GetStageCommand({ ApiId: apiId, StageName: 'nope' })))
      .rejects.toMatchObject({ name: 'NotFoundException' });
    // JWT and CUSTOM need an authorizer (AWS requires one; the stack has none to offer).
    for (const AuthorizationType of ['JWT', 'CUSTOM'] as const) {
      await expect(v2.send(new CreateRouteCommand({ ApiId: apiId, RouteKey: `GET /auth-${AuthorizationType}`, AuthorizationType })))
        .rejects.toMatchObject({ name: 'BadRequestException', message: `An authorizerId is required for authorization type ${AuthorizationType}` });
    }
    await expect(v2.send(new CreateRouteCommand({ ApiId: apiId, RouteKey: 'GET /auth-bogus', AuthorizationType: 'BOGUS' as 'NONE' })))
      .rejects.toMatchObject({ name: 'BadRequestException' });
    const iam = await v2.send(new CreateRouteCommand({ ApiId: apiId, RouteKey: 'GET /auth-iam', AuthorizationType: 'AWS_IAM', Target: `integrations/${integrationId}` }));
    expect(iam.AuthorizationType).toBe('AWS_IAM');
    await v2.send(new DeleteRouteCommand({ ApiId: apiId, RouteId: iam.RouteId }));
  });

  it('updates in place and auto-deploys every change; a stage without auto-deploy serves its deployment', async () => {
    const api = await v2.send(new CreateApiCommand({ Name: 'staged', ProtocolType: 'HTTP' }));
    const id = api.ApiId ?? '';
    const integration = await v2.send(new CreateIntegrationCommand({ ApiId: id, IntegrationType: 'AWS_PROXY', IntegrationUri: fnArn('app'), PayloadFormatVersion: '2.0', TimeoutInMillis: 5000 }));
    const route = await v2.send(new CreateRouteCommand({ ApiId: id, RouteKey: 'GET /one', Target: `integrations/${integration.IntegrationId}` }));
    await v2.send(new CreateStageCommand({ ApiId: id, StageName: 'manual' }));
    const url = (path: string): string => `${stack.url}/_aws/execute-api/${id}/manual${path}`;
    // No deployment yet: nothing is served.
    expect((await fetch(url('/one'))).status).toBe(404);
    const deployment = await v2.send(new CreateDeploymentCommand({ ApiId: id, StageName: 'manual' }));
    expect(deployment).toMatchObject({ DeploymentStatus: 'DEPLOYED', AutoDeployed: false });
    expect((await fetch(url('/one'))).status).toBe(200);
    const moved = await v2.send(new UpdateRouteCommand({ ApiId: id, RouteId: route.RouteId, RouteKey: 'GET /two' }));
    expect(moved.RouteKey).toBe('GET /two');
    // Not deployed: the stage still serves /one.
    expect((await fetch(url('/one'))).status).toBe(200);
    expect((await fetch(url('/two'))).status).toBe(404);
    await v2.send(new CreateDeploymentCommand({ ApiId: id, StageName: 'manual' }));
    expect((await fetch(url('/one'))).status).toBe(404);
    expect((await fetch(url('/two'))).status).toBe(200);
    const updated = await v2.send(new UpdateIntegrationCommand({ ApiId: id, IntegrationId: integration.IntegrationId, TimeoutInMillis: 12000 }));
    expect(updated).toMatchObject({ TimeoutInMillis: 12000, PayloadFormatVersion: '2.0', IntegrationUri: fnArn('app') });
    await expect(v2.send(new UpdateIntegrationCommand({ ApiId: id, IntegrationId: integration.IntegrationId, TimeoutInMillis: 40000 })))
      .rejects.toMatchObject({ name: 'BadRequestException' });
    expect((await v2.send(new GetIntegrationCommand({ ApiId: id, IntegrationId: integration.IntegrationId }))).TimeoutInMillis).toBe(12000);
    await v2.send(new DeleteRouteCommand({ ApiId: id, RouteId: route.RouteId }));
    await v2.send(new DeleteApiCommand({ ApiId: id }));
    await expect(v2.send(new GetApiCommand({ ApiId: id }))).rejects.toMatchObject({ name: 'NotFoundException' });
    expect((await fetch(url('/two'))).status).toBe(403);
  });

  it('quick create: a target makes the integration, a $default route and an auto-deploy $default stage', async () => {
    const api = await v2.send(new CreateApiCommand({ Name: 'quick', ProtocolType: 'HTTP', Target: fnArn('app') }));
    const stages = await v2.send(new GetStagesCommand({ ApiId: api.ApiId }));
    expect(stages.Items?.map((s) => [s.StageName, s.AutoDeploy, s.ApiGatewayManaged])).toEqual([['$default', true, true]]);
    const res = await fetch(`${stack.url}/_aws/execute-api/${api.ApiId}/any/path/object`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ hello: 'world' });
  });
});

describe('HTTP API invoke URLs: payload format 2.0', () => {
  it('sends the event as AWS does: lower-cased, comma-joined headers, cookies apart, joined query values', async () => {
    const res = await rawRequest(`${base()}/hello/w%20orld?x=1&x=2&y=z`, 'GET',
      ['X-Multi', 'one', 'X-Multi', 'two', 'User-Agent', 'test-agent', 'Cookie', 'a=1; b=2', 'Cookie', 'c=3']);
    expect(res.status).toBe(200);
    expect(res.headers['apigw-requestid']).toMatch(/^[A-Za-z0-9+/]{15}=$/);
    const event = json(res) as Record<string, unknown> & { headers: Record<string, string>; requestContext: Record<string, unknown> & { http: Record<string, unknown> } };
    expect(event).toMatchObject({
      version: '2.0', routeKey: 'ANY /{proxy+}', rawPath: '/hello/w%20orld', rawQueryString: 'x=1&x=2&y=z',
      cookies: ['a=1', 'b=2', 'c=3'], queryStringParameters: { x: '1,2', y: 'z' }, pathParameters: { proxy: 'hello/w orld' },
      isBase64Encoded: false,
    });
    expect(event).not.toHaveProperty('body');
    expect(event).not.toHaveProperty('stageVariables');
    expect(event).not.toHaveProperty('multiValueHeaders');
    expect(event.headers['x-multi']).toBe('one,two');
    expect(event.headers).not.toHaveProperty('cookie');
    expect(event.headers['user-agent']).toBe('test-agent');
    expect(event.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(event.headers['x-amzn-trace-id']).toMatch(/^Root=1-/);
    expect(Object.keys(event.headers).every((k) => k === k.toLowerCase())).toBe(true);
    expect(event.requestContext).toMatchObject({
      accountId: '000000000000', apiId, stage: '$default', routeKey: 'ANY /{proxy+}',
      http: { method: 'GET', path: '/hello/w%20orld', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test-agent' },
    });
    expect(event.requestContext.requestId).toBe(res.headers['apigw-requestid']);
    expect(typeof event.requestContext.timeEpoch).toBe('number');
    expect(event.requestContext.time).toMatch(/^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000$/);
  });

  it('routes / to ANY / (a greedy route needs a segment), with an empty query and no path parameters', async () => {
    for (const url of [base(), `${base()}/`]) {
      const event = json(await rawRequest(url, 'GET', []));
      expect(event).toMatchObject({ routeKey: 'ANY /', rawPath: '/', rawQueryString: '' });
      expect(event).not.toHaveProperty('queryStringParameters');
      expect(event).not.toHaveProperty('pathParameters');
    }
  });

  it('passes text bodies as text and every other body as base64 (no content type included)', async () => {
    const textual = json(await rawRequest(`${base()}/echo`, 'POST', ['Content-Type', 'application/json; charset=utf-8'], '{"a":1}'));
    expect(textual).toMatchObject({ body: '{"a":1}', isBase64Encoded: false });
    const form = json(await rawRequest(`${base()}/echo`, 'POST', ['Content-Type', 'application/x-www-form-urlencoded'], 'a=1'));
    expect(form).toMatchObject({ body: Buffer.from('a=1').toString('base64'), isBase64Encoded: true });
    const untyped = json(await rawRequest(`${base()}/echo`, 'POST', [], 'plain'));
    expect(untyped).toMatchObject({ body: Buffer.from('plain').toString('base64'), isBase64Encoded: true });
  });

  it('round-trips a binary body', async () => {
    const bytes = randomBytes(8192);
    const res = await rawRequest(`${base()}/binary`, 'PUT', ['Content-Type', 'application/octet-stream'], bytes);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(res.body.equals(bytes)).toBe(true);
  });

  it('serves a named stage under its name, which stays in rawPath', async () => {
    await v2.send(new CreateStageCommand({ ApiId: apiId, StageName: 'dev', AutoDeploy: true, StageVariables: { color: 'blue' } }));
    const event = json(await rawRequest(`${base()}/dev/items/7`, 'GET', [])) as Record<string, unknown> & { requestContext: Record<string, unknown> };
    expect(event).toMatchObject({ rawPath: '/dev/items/7', pathParameters: { proxy: 'items/7' }, stageVariables: { color: 'blue' } });
    expect(event.requestContext).toMatchObject({ stage: 'dev', http: { path: '/dev/items/7' } });
    // A first segment that names no stage belongs to $default.
    const other = json(await rawRequest(`${base()}/prod/items/7`, 'GET', [])) as { rawPath: string; requestContext: { stage: string } };
    expect(other).toMatchObject({ rawPath: '/prod/items/7', requestContext: { stage: '$default' } });
  });

  it('answers the host-style URL LocalStack gives HTTP APIs', async () => {
    const host = `${apiId}.execute-api.localhost.localstack.cloud:${stack.port}`;
    const event = json(await rawRequest(`${stack.url}/by/host`, 'GET', [], '', host)) as { rawPath: string; requestContext: { domainName: string; domainPrefix: string } };
    expect(event).toMatchObject({ rawPath: '/by/host', requestContext: { domainName: host, domainPrefix: apiId } });
  });
});

describe('HTTP API invoke URLs: answers and limits', () => {
  it('maps a string, or JSON without statusCode, to a 200 JSON answer', async () => {
    const text = await rawRequest(`${base()}/string`, 'GET', []);
    expect([text.status, text.headers['content-type'], text.body.toString()]).toEqual([200, 'application/json', 'plain words']);
    const object = await rawRequest(`${base()}/object`, 'GET', []);
    expect([object.status, object.headers['content-type'], JSON.parse(object.body.toString())]).toEqual([200, 'application/json', { hello: 'world' }]);
  });

  it('turns cookies into Set-Cookie headers', async () => {
    const res = await rawRequest(`${base()}/cookies`, 'GET', []);
    expect(res.status).toBe(201);
    expect(res.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2']);
    expect(res.headers['x-one']).toBe('1');
    expect(res.body.toString()).toBe('with cookies');
  });

  it('sends a Set-Cookie of the headers and the cookies together, each once', async () => {
    const res = await rawRequest(`${base()}/bothcookies`, 'GET', []);
    expect(res.headers['set-cookie']).toEqual(['h=1', 'c=2']);
  });

  it('answers 500 Internal Server Error for a malformed answer or a function error', async () => {
    for (const path of ['badstatus', 'interim', 'badheaders', 'throw']) {
      const res = await rawRequest(`${base()}/${path}`, 'GET', []);
      expect([path, res.status, json(res)]).toEqual([path, 500, { message: 'Internal Server Error' }]);
      expect(res.headers['apigw-requestid']).toBeTruthy();
    }
  });

  it('answers 503 Service Unavailable when the integration times out (scaled to 1 s here)', async () => {
    const started = Date.now();
    const res = await rawRequest(`${base()}/slow`, 'GET', []);
    expect([res.status, json(res)]).toEqual([503, { message: 'Service Unavailable' }]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('answers 404 Not Found when no route matches, and 413 over 10 MB', async () => {
    const api = await v2.send(new CreateApiCommand({ Name: 'narrow', ProtocolType: 'HTTP' }));
    const integration = await v2.send(new CreateIntegrationCommand({ ApiId: api.ApiId, IntegrationType: 'AWS_PROXY', IntegrationUri: fnArn('app'), PayloadFormatVersion: '2.0' }));
    await v2.send(new CreateRouteCommand({ ApiId: api.ApiId, RouteKey: 'GET /only', Target: `integrations/${integration.IntegrationId}` }));
    await v2.send(new CreateStageCommand({ ApiId: api.ApiId, StageName: '$default', AutoDeploy: true }));
    const url = `${stack.url}/_aws/execute-api/${api.ApiId}`;
    expect((await rawRequest(`${url}/only`, 'GET', [])).status).toBe(200);
    for (const [method, path] of [['POST', '/only'], ['GET', '/other'], ['GET', '/']]) {
      const res = await rawRequest(`${url}${path}`, method ?? 'GET', []);
      expect([method, path, res.status, json(res)]).toEqual([method, path, 404, { message: 'Not Found' }]);
    }
    const big = await rawRequest(`${base()}/echo`, 'POST', ['Content-Type', 'application/octet-stream'], Buffer.alloc(10 * 1024 * 1024 + 1));
    expect([big.status, json(big)]).toEqual([413, { message: 'Request Entity Too Large' }]);
  });

  it('answers 403 Forbidden while the default endpoint is disabled', async () => {
    const api = await v2.send(new CreateApiCommand({ Name: 'closable', ProtocolType: 'HTTP', Target: fnArn('app') }));
    const url = `${stack.url}/_aws/execute-api/${api.ApiId}/object`;
    expect((await rawRequest(url, 'GET', [])).status).toBe(200);
    await v2.send(new UpdateApiCommand({ ApiId: api.ApiId, DisableExecuteApiEndpoint: true }));
    const closed = await rawRequest(url, 'GET', []);
    expect([closed.status, json(closed)]).toEqual([403, { message: 'Forbidden' }]);
    await v2.send(new UpdateApiCommand({ ApiId: api.ApiId, DisableExecuteApiEndpoint: false }));
    expect((await rawRequest(url, 'GET', [])).status).toBe(200);
  });

  it('answers 404 for a request whose API is deleted while its body arrives', async () => {
    const api = await v2.send(new CreateApiCommand({ Name: 'doomed', ProtocolType: 'HTTP', Target: fnArn('app') }));
    const answer = new Promise<Answer>((resolve, reject) => {
      const req = request(`${stack.url}/_aws/execute-api/${api.ApiId}/object`, { method: 'POST', headers: { 'Content-Length': '4', 'Content-Type': 'text/plain' } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      });
      req.on('error', reject);
      req.write('ab', () => {
        void v2.send(new DeleteApiCommand({ ApiId: api.ApiId })).then(() => req.end('cd'), reject);
      });
    });
    const res = await answer;
    expect([res.status, json(res)]).toEqual([404, { message: 'Not Found' }]);
  });

  it('sends payload format 1.0 events when the integration asks for them', async () => {
    const api = await v2.send(new CreateApiCommand({ Name: 'v1-format', ProtocolType: 'HTTP' }));
    const integration = await v2.send(new CreateIntegrationCommand({ ApiId: api.ApiId, IntegrationType: 'AWS_PROXY', IntegrationUri: fnArn('app'), PayloadFormatVersion: '1.0' }));
    await v2.send(new CreateRouteCommand({ ApiId: api.ApiId, RouteKey: 'ANY /{proxy+}', Target: `integrations/${integration.IntegrationId}` }));
    await v2.send(new CreateStageCommand({ ApiId: api.ApiId, StageName: '$default', AutoDeploy: true }));
    const event = json(await rawRequest(`${stack.url}/_aws/execute-api/${api.ApiId}/a/b?q=1`, 'GET', ['authorization', 'secret', 'user-agent', 'ua/1', 'Connection', 'keep-alive']));
    expect(event).toMatchObject({ version: '1.0', httpMethod: 'GET', path: '/a/b', resource: '/{proxy+}', queryStringParameters: { q: '1' }, pathParameters: { proxy: 'a/b' } });
    // REST APIs' own rules (respelt Authorization and User-Agent, no Content-Length or Connection,
    // deploymentId) are not HTTP API's: headers arrive as received (AWS's HTTP API guide, payload format 1.0).
    expect(event.headers).toMatchObject({ authorization: 'secret', 'user-agent': 'ua/1', 'Content-Length': '0', Connection: 'keep-alive' });
    expect(Object.keys(event.headers as object)).not.toContain('Authorization');
    expect((event.multiValueHeaders as Record<string, string[]>)['authorization']).toEqual(['secret']);
    expect(event.requestContext).not.toHaveProperty('deploymentId');
  });
});

describe('HTTP API route selection', () => {
  const route = (routeKey: string): HttpRoute => ({ routeId: routeKey, routeKey, authorizationType: 'NONE', apiKeyRequired: false });
  const routes = ['$default', 'ANY /{proxy+}', 'GET /items/{id}', 'ANY /items/{id}', 'GET /items/special', 'ANY /items/{rest+}', 'ANY /'].map(route);
  const pick = (method: string, path: string): [string | undefined, Record<string, string> | undefined] => {
    const m = matchHttpRoute(routes, path, method);
    return [m?.route.routeKey, m?.pathParameters];
  };

  it('prefers literal segments, then parameters, then greedy ones, the method before ANY, and $default last', () => {
    expect(pick('GET', '/items/special')).toEqual(['GET /items/special', undefined]);
    expect(pick('GET', '/items/7')).toEqual(['GET /items/{id}', { id: '7' }]);
    expect(pick('POST', '/items/7')).toEqual(['ANY /items/{id}', { id: '7' }]);
    expect(pick('GET', '/items/7/parts')).toEqual(['ANY /items/{rest+}', { rest: '7/parts' }]);
    expect(pick('GET', '/other/x')).toEqual(['ANY /{proxy+}', { proxy: 'other/x' }]);
    expect(pick('GET', '/')).toEqual(['ANY /', undefined]);
    expect(matchHttpRoute([route('GET /a')], '/b', 'GET')).toBeUndefined();
    expect(matchHttpRoute([route('GET /a'), route('$default')], '/b', 'GET')?.route.routeKey).toBe('$default');
  });

  it('accepts the route keys AWS accepts and no others', () => {
    for (const key of ['$default', 'ANY /', 'GET /a/{b}', 'POST /a/{proxy+}', 'DELETE /a.b/c-d']) expect([key, parseRouteKey(key) !== undefined]).toEqual([key, true]);
    for (const key of ['', 'ANY', 'ANY a', 'get /a', 'FETCH /a', 'GET /a/', 'GET /{a+}/b', 'GET  /a', 'GET /a b']) expect([key, parseRouteKey(key)]).toEqual([key, undefined]);
  });
});
