import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APIGatewayClient, CreateApiKeyCommand, CreateDeploymentCommand, CreateResourceCommand, CreateRestApiCommand, CreateUsagePlanCommand,
  CreateUsagePlanKeyCommand, GetResourcesCommand, GetRestApisCommand, GetStageCommand, PutIntegrationCommand, PutMethodCommand,
  GetIntegrationCommand, DeleteRestApiCommand, GetRestApiCommand,
} from '@aws-sdk/client-api-gateway';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { LocalStack } from '../../local/server';
import type { InvocationEvent } from '../../local/lambda/invoke';
import { acceptsBinary } from '../../local/apigateway/invoke';
import { clientConfig, allowApiGateway, createFunction, nextEvent, startQuietStack } from './helpers';

let stack: LocalStack;
let apigw: APIGatewayClient;
let lambda: LambdaClient;
let apiId: string;

// One function, behaviour chosen by path: echo the event, answer binary, malformed, throw, be slow.
const APP = `
exports.handler = async (event) => {
  const p = event.path;
  if (p.startsWith('/format/')) return JSON.parse(decodeURIComponent(p.slice('/format/'.length)));
  if (p === '/throw') throw new Error('boom');
  if (p === '/slow') { await new Promise((r) => setTimeout(r, 2500)); return { statusCode: 200, body: 'late' }; }
  if (p === '/binary') return { statusCode: 200, headers: { 'Content-Type': 'application/octet-stream' }, body: event.body, isBase64Encoded: event.isBase64Encoded };
  return {
    statusCode: 201,
    headers: { 'Content-Type': 'application/json', 'X-Single': 'one', 'Set-Cookie': 'c=3' },
    multiValueHeaders: { 'Set-Cookie': ['a=1', 'b=2'] },
    body: JSON.stringify(event),
  };
};`;

const lambdaUri = (name: string): string =>
  `arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:${name}/invocations`;

function rawRequest(url: string, method: string, headers: string[], body: string): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const host = new URL(url).host;
    const req = request(url, { method, headers: ['Host', host, 'Content-Length', String(Buffer.byteLength(body)), ...headers] }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  ({ stack } = await startQuietStack({ integrationTimeoutMs: 1000 }));
  apigw = new APIGatewayClient(clientConfig(stack));
  lambda = new LambdaClient(clientConfig(stack));
  await createFunction(lambda, 'app', APP, { Timeout: 10 });
  await allowApiGateway(lambda, 'app');

  const api = await apigw.send(new CreateRestApiCommand({ name: 'kit', binaryMediaTypes: ['application/octet-stream'] }));
  apiId = api.id ?? '';
  const resources = await apigw.send(new GetResourcesCommand({ restApiId: apiId }));
  const rootId = resources.items?.find((r) => r.path === '/')?.id ?? '';
  const proxy = await apigw.send(new CreateResourceCommand({ restApiId: apiId, parentId: rootId, pathPart: '{proxy+}' }));
  for (const resourceId of [rootId, proxy.id ?? '']) {
    await apigw.send(new PutMethodCommand({ restApiId: apiId, resourceId, httpMethod: 'ANY', authorizationType: 'NONE' }));
    await apigw.send(new PutIntegrationCommand({
      restApiId: apiId, resourceId, httpMethod: 'ANY', type: 'AWS_PROXY', integrationHttpMethod: 'POST', uri: lambdaUri('app'),
    }));
  }
  await apigw.send(new CreateDeploymentCommand({ restApiId: apiId, stageName: 'dev' }));
});

afterAll(async () => {
  apigw?.destroy();
  lambda?.destroy();
  await stack?.stop();
});

describe('API Gateway control plane', () => {
  it('answers the REST API calls in AWS shapes', async () => {
    expect(apiId).toMatch(/^[a-z0-9]{10}$/);
    const apis = await apigw.send(new GetRestApisCommand({}));
    expect(apis.items?.map((a) => a.id)).toContain(apiId);
    const api = await apigw.send(new GetRestApiCommand({ restApiId: apiId }));
    expect(api).toMatchObject({ name: 'kit', binaryMediaTypes: ['application/octet-stream'], apiKeySource: 'HEADER' });
    expect(api.createdDate).toBeInstanceOf(Date);
    const resources = await apigw.send(new GetResourcesCommand({ restApiId: apiId, embed: ['methods'] }));
    const proxy = resources.items?.find((r) => r.path === '/{proxy+}');
    expect(proxy?.pathPart).toBe('{proxy+}');
    expect(Object.keys(proxy?.resourceMethods ?? {})).toEqual(['ANY']);
    const integration = await apigw.send(new GetIntegrationCommand({ restApiId: apiId, resourceId: proxy?.id ?? '', httpMethod: 'ANY' }));
    expect(integration).toMatchObject({ type: 'AWS_PROXY', httpMethod: 'POST', uri: lambdaUri('app'), timeoutInMillis: 29000 });
    const stage = await apigw.send(new GetStageCommand({ restApiId: apiId, stageName: 'dev' }));
    expect(stage.deploymentId).toMatch(/^[a-z0-9]+$/);
    await expect(apigw.send(new CreateResourceCommand({ restApiId: apiId, parentId: proxy?.parentId ?? '', pathPart: '{proxy+}' })))
      .rejects.toMatchObject({ name: 'ConflictException', $metadata: { httpStatusCode: 409 } });
    await expect(apigw.send(new GetRestApiCommand({ restApiId: 'nosuchapi0' })))
      .rejects.toMatchObject({ name: 'NotFoundException', $metadata: { httpStatusCode: 404 } });
  });
});

describe('API Gateway invoke URLs', () => {
  it('turns a request into a v1.0 proxy event and the result into the response', async () => {
    // node:http sends repeated headers as they are (fetch would join them).
    const res = await rawRequest(`${stack.url}/_aws/execute-api/${apiId}/dev/hello/w%20orld?x=1&x=2&y=z`, 'POST',
      ['Content-Type', 'application/json', 'X-Multi', 'one', 'X-Multi', 'two', 'User-Agent', 'test-agent'], '{"a":1}');
    expect(res.status).toBe(201);
    expect(res.headers['x-single']).toBe('one');
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2', 'c=3']);
    expect(res.headers['x-amzn-requestid']).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers['x-amz-apigw-id']).toBeTruthy();
    const event = JSON.parse(res.body) as Record<string, unknown> & { requestContext: Record<string, unknown>; headers: Record<string, string> };
    expect(event).toMatchObject({
      resource: '/{proxy+}',
      path: '/hello/w%20orld',
      httpMethod: 'POST',
      queryStringParameters: { x: '2', y: 'z' },
      multiValueQueryStringParameters: { x: ['1', '2'], y: ['z'] },
      pathParameters: { proxy: 'hello/w%20orld' },
      stageVariables: null,
      body: '{"a":1}',
      isBase64Encoded: false,
    });
    expect(event.headers['X-Multi']).toBe('two');
    expect((event.multiValueHeaders as Record<string, string[]>)['X-Multi']).toEqual(['one', 'two']);
    expect(event.requestContext).toMatchObject({
      accountId: '000000000000', apiId, stage: 'dev', resourcePath: '/{proxy+}', path: '/dev/hello/w%20orld', httpMethod: 'POST',
      protocol: 'HTTP/1.1', identity: { sourceIp: '127.0.0.1', userAgent: 'test-agent' },
    });
    expect(event.requestContext.requestId).toBe(res.headers['x-amzn-requestid']);
    expect(typeof event.requestContext.requestTimeEpoch).toBe('number');
    expect(event.requestContext.requestTime).toMatch(/^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000$/);
  });

  // Parity: LocalStack's snapshot tests/aws/services/apigateway/test_apigateway_lambda.snapshot.json,
  // test_lambda_aws_proxy_integration, recorded on AWS: authorization arrives as Authorization
  // (other names keep their case), Content-Length and Connection are left out, X-Forwarded-*
  // are added, requestContext has deploymentId and the API's host as domainName, path
  // parameters keep %2B and double slashes, and query values are decoded.
  it('sends the event REST APIs send: header names, dropped and added headers, deploymentId, raw path parameters', async () => {
    const res = await rawRequest(`${stack.url}/_aws/execute-api/${apiId}/dev/proxy-value//api/test%2Balias@gmail.com/plus/test+alias@gmail.com?email=test%2Balias%40gmail.com&plus=test+alias`, 'POST',
      ['authorization', 'random-value', 'tEsT-HEADeR', 'aValUE', 'user-agent', 'python/test', 'Connection', 'keep-alive', 'Content-Type', 'application/json'], '{"a":1}');
    const event = JSON.parse(res.body) as { headers: Record<string, string>; multiValueHeaders: Record<string, string[]>; requestContext: Record<string, unknown>; pathParameters: Record<string, string>; path: string; queryStringParameters: Record<string, string> };
    expect(event.headers).toMatchObject({ Authorization: 'random-value', 'tEsT-HEADeR': 'aValUE', 'User-Agent': 'python/test', 'Content-Type': 'application/json' });
    expect(Object.keys(event.headers).map((k) => k.toLowerCase()).filter((k) => k === 'connection' || k === 'content-length')).toEqual([]);
    expect(Object.keys(event.multiValueHeaders).map((k) => k.toLowerCase()).filter((k) => k === 'connection' || k === 'content-length')).toEqual([]);
    expect(event.headers).toMatchObject({ 'X-Forwarded-For': '127.0.0.1', 'X-Forwarded-Proto': 'http' });
    expect(event.pathParameters).toEqual({ proxy: 'proxy-value//api/test%2Balias@gmail.com/plus/test+alias@gmail.com' });
    expect(event.path).toBe('/proxy-value//api/test%2Balias@gmail.com/plus/test+alias@gmail.com');
    expect(event.queryStringParameters).toEqual({ email: 'test+alias@gmail.com', plus: 'test alias' });
    const deployment = await apigw.send(new GetStageCommand({ restApiId: apiId, stageName: 'dev' }));
    expect(event.requestContext).toMatchObject({
      deploymentId: deployment.deploymentId, domainName: `${apiId}.execute-api.localhost.localstack.cloud:${stack.port}`, domainPrefix: apiId,
      path: '/dev/proxy-value//api/test%2Balias@gmail.com/plus/test+alias@gmail.com',
    });
    // Records "invocation-payload-with-trailing-slash" and "-with-double-slash": a trailing slash
    // stays in `path` but not in the greedy parameter; inner double slashes stay in both.
    for (const [sent, proxy] of [['/proxy-value/', 'proxy-value'], ['/proxy-value/?urlparam=test', 'proxy-value'], ['/proxy-value//double-slash', 'proxy-value//double-slash'], ['//proxy-value', 'proxy-value']] as const) {
      const answer = await fetch(`${stack.url}/_aws/execute-api/${apiId}/dev${sent}`);
      const got = await answer.json() as { path: string; resource: string; pathParameters: Record<string, string>; requestContext: { path: string; resourcePath: string } };
      const path = sent.split('?')[0] ?? '';
      expect([sent, got.path, got.resource, got.pathParameters, got.requestContext.path, got.requestContext.resourcePath])
        .toEqual([sent, path.replace(/^\/{2,}/, '/'), '/{proxy+}', { proxy }, `/dev${path}`, '/{proxy+}']);
    }
  });

  it('serves the root and the older LocalStack URL shape, with null query and path parameters', async () => {
    const res = await fetch(`${stack.url}/restapis/${apiId}/dev/_user_request_/`);
    expect(res.status).toBe(201);
    const event = await res.json() as Record<string, unknown>;
    expect(event).toMatchObject({
      resource: '/', path: '/', httpMethod: 'GET', queryStringParameters: null, multiValueQueryStringParameters: null,
      pathParameters: null, body: null, isBase64Encoded: false,
    });
  });

  it('round-trips a binary body as base64 for a client that accepts the binary type, and sends others the base64 text', async () => {
    const bytes = randomBytes(4096);
    const put = (accept?: string) => fetch(`${stack.url}/_aws/execute-api/${apiId}/dev/binary`, {
      method: 'PUT', headers: { 'Content-Type': 'application/octet-stream', ...(accept !== undefined && { Accept: accept }) }, body: bytes,
    });
    const res = await put('application/octet-stream');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    // fetch's default Accept is */*: not a binary media type, so the client gets the text.
    const text = await put();
    expect(await text.text()).toBe(bytes.toString('base64'));
  });

  // Parity: LocalStack's tests/aws/services/apigateway/test_apigateway_lambda.py::test_aws_proxy_binary_response,
  // validated against AWS: only the first Accept range counts, exactly or under a type/* binary
  // media type; a star on the left matches nothing; the function's Content-Type does not matter.
  it.each([
    [['image/png'], 'image/png', true],
    [['image/png'], 'image/jpg', false],
    [['image/png'], 'image/*', false],
    [['image/png'], '*/*', false],
    [['image/png', '*/test'], 'random/test', false],
    [['image/png', '*/test'], '*/test', false],
    [['image/png'], 'image/webp,image/png,*/*;q=0.8', false],
    [['image/png'], 'image/png,image/*,*/*;q=0.8', true],
    [['application/*'], 'application/whatever', true],
    [['application/*'], 'application/*', true],
    [['image/png'], 'application', false],
    [['image/png'], undefined, false],
    [[], 'image/png', false],
  ] as const)('with binary media types %j, decodes a base64 answer for Accept %s: %s', (types, accept, decoded) => {
    expect(acceptsBinary(accept, types)).toBe(decoded);
  });

  it('answers 500 when a base64 answer to be decoded is not base64', async () => {
    const answer = { statusCode: 200, body: 'èé+à)(', isBase64Encoded: true };
    const res = await fetch(`${stack.url}/_aws/execute-api/${apiId}/dev/format/${encodeURIComponent(JSON.stringify(answer))}`, { headers: { Accept: 'application/octet-stream' } });
    expect(res.status).toBe(500);
    const asText = await fetch(`${stack.url}/_aws/execute-api/${apiId}/dev/format/${encodeURIComponent(JSON.stringify(answer))}`, { headers: { Accept: 'text/plain' } });
    expect([asText.status, await asText.text()]).toEqual([200, 'èé+à)(']);
  });

  // Parity: LocalStack's snapshot tests/aws/services/apigateway/test_apigateway_lambda.snapshot.json,
  // test_aws_proxy_response_payload_format_validation, recorded on AWS: invoke-api-wrong-format,
  // invoke-api-invalid-status-code, invoke-api-multi-headers-invalid and invoke-api-just-string
  // are 502 "Internal server error"; invoke-api-status-code-str ("201") is 201;
  // invoke-api-only-headers (no statusCode) is 200; a boolean header value arrives as "true".
  it.each([
    [{ statusCode: 200, wrongValue: 'value' }, 502],
    [{ statusCode: 200, cookies: ['a=1'] }, 502],
    [{ statusCode: 'test' }, 502],
    [{ statusCode: 200, multiValueHeaders: { 'test-multi-invalid': 'value1' } }, 502],
    ['justAString', 502],
    [{ statusCode: '201' }, 201],
    [{ headers: { 'test-header': 'value', 'header-bool': true } }, 200],
  ] as const)('answers the proxy response %j as AWS does: %i', async (answer, status) => {
    const res = await fetch(`${stack.url}/_aws/execute-api/${apiId}/dev/format/${encodeURIComponent(JSON.stringify(answer))}`);
    expect(res.status).toBe(status);
    if (status === 502) expect(await res.json()).toEqual({ message: 'Internal server error' });
    else {
      await res.arrayBuffer();
      if (typeof answer === 'object' && 'headers' in answer) expect([res.headers.get('test-header'), res.headers.get('header-bool')]).toEqual(['value', 'true']);
    }
  });

  it('answers 502 for a function error', async () => {
    const thrown = await fetch(`${stack.url}/_aws/execute-api/${apiId}/dev/throw`);
    expect(thrown.status).toBe(502);
    expect(await thrown.json()).toEqual({ message: 'Internal server error' });
  });

  it('answers 504 at the integration timeout while the function runs on', async () => {
    const finished = nextEvent<InvocationEvent>(stack.events, 'invocation', (e) => e.functionName === 'app' && e.durationMs >= 2000);
    const started = Date.now();
    const res = await fetch(`${stack.url}/_aws/execute-api/${apiId}/dev/slow`);
    const elapsed = Date.now() - started;
    expect(res.status).toBe(504);
    expect(await res.json()).toEqual({ message: 'Endpoint request timed out' });
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeLessThan(2500);
    expect(await finished).toMatchObject({ ok: true });
  });

  it('answers 403 Missing Authentication Token without a route, and Forbidden for an unknown stage', async () => {
    const api = await apigw.send(new CreateRestApiCommand({ name: 'narrow' }));
    const root = (await apigw.send(new GetResourcesCommand({ restApiId: api.id }))).items?.[0]?.id ?? '';
    const items = await apigw.send(new CreateResourceCommand({ restApiId: api.id, parentId: root, pathPart: 'items' }));
    await apigw.send(new PutMethodCommand({ restApiId: api.id, resourceId: items.id, httpMethod: 'GET', authorizationType: 'NONE', apiKeyRequired: true }));
    await apigw.send(new PutIntegrationCommand({
      restApiId: api.id, resourceId: items.id, httpMethod: 'GET', type: 'AWS_PROXY', integrationHttpMethod: 'POST', uri: lambdaUri('app'),
    }));
    await apigw.send(new CreateDeploymentCommand({ restApiId: api.id, stageName: 'prod' }));
    const base = `${stack.url}/_aws/execute-api/${api.id}/prod`;
    const noRoute = await fetch(`${base}/other`);
    expect(noRoute.status).toBe(403);
    expect(await noRoute.json()).toEqual({ message: 'Missing Authentication Token' });
    expect((await fetch(`${base}/items`, { method: 'POST' })).status).toBe(403);
    expect((await fetch(`${stack.url}/_aws/execute-api/${api.id}/nostage/items`)).status).toBe(403);

    // API key required: refused without a key of a usage plan of this stage, served with one.
    expect((await fetch(`${base}/items`)).status).toBe(403);
    const key = await apigw.send(new CreateApiKeyCommand({ name: 'k', enabled: true }));
    const plan = await apigw.send(new CreateUsagePlanCommand({ name: 'p', apiStages: [{ apiId: api.id, stage: 'prod' }] }));
    await apigw.send(new CreateUsagePlanKeyCommand({ usagePlanId: plan.id, keyId: key.id, keyType: 'API_KEY' }));
    expect((await fetch(`${base}/items`, { headers: { 'x-api-key': key.value ?? '' } })).status).toBe(201);
    await apigw.send(new DeleteRestApiCommand({ restApiId: api.id }));
  });

  it('refuses a request body over 10 MB with 413', async () => {
    const res = await fetch(`${stack.url}/_aws/execute-api/${apiId}/dev/big`, { method: 'POST', body: Buffer.alloc(10 * 1024 * 1024 + 1, 97) });
    expect(res.status).toBe(413);
  });
});
