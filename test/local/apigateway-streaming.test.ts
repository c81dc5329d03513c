// API Gateway's STREAM transfer mode in the local stack: the integration's control plane
// (responseTransferMode, the streaming URI, timeouts up to 15 minutes), and invoke URLs that
// forward a streaming function's metadata and body as they are written, within the idle and
// integration timeouts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  APIGatewayClient, CreateDeploymentCommand, CreateResourceCommand, CreateRestApiCommand, GetIntegrationCommand, GetResourcesCommand,
  PutIntegrationCommand, PutMethodCommand, UpdateIntegrationCommand,
} from '@aws-sdk/client-api-gateway';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { request, type IncomingHttpHeaders } from 'node:http';
import type { LocalStack } from '../../local/server';
import { clientConfig, allowApiGateway, createFunction, startGate, startQuietStack, type Gate } from './helpers';

// Long enough for a cold start before the first byte on a loaded machine.
const IDLE_MS = 3000;

let stack: LocalStack;
let apigw: APIGatewayClient;
let lambda: LambdaClient;
let gate: Gate;
let apiId = '';

// One streaming function, its behaviour chosen by path.
const STREAMER = `
const wait = (ms) => new Promise((r) => setTimeout(r, ms));
exports.handler = awslambda.streamifyResponse(async (event, responseStream) => {
  const p = event.path;
  if (p === '/throw') throw new Error('before any byte');
  if (p === '/bad-header') { const s = awslambda.HttpResponseStream.from(responseStream, { statusCode: 200, headers: { 'x-bad': 'a\\nb' } }); s.write('x'); s.end(); return; }
  if (p === '/late-delimiter') { responseStream.write(JSON.stringify({ statusCode: 200, headers: { 'x-pad': 'p'.repeat(17000) } }) + '\\0'.repeat(8) + 'body'); responseStream.end(); return; }
  if (p === '/plain') { responseStream.write('no metadata'); responseStream.end(); return; }
  if (p === '/late') await wait(${IDLE_MS + 1000});
  const stream = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 207, headers: { 'Content-Type': 'text/plain', 'X-One': 'a', 'X-Both': 'single' },
    multiValueHeaders: { 'X-Many': ['1', '2'], 'X-Both': ['multi'] }, cookies: ['a=1', 'b=2'],
  });
  if (p === '/big') { for (let i = 0; i < 18; i++) stream.write(Buffer.alloc(1024 * 1024, 97 + i)); stream.end(); return; }
  if (p === '/binary') { stream.write(Buffer.from([0, 1, 2, 255, 0, 0, 0, 0, 0, 0, 0, 0, 9])); stream.end(); return; }
  stream.write('part1;');
  if (p === '/gate') await fetch(process.env.GATE);
  if (p === '/stall') await wait(${IDLE_MS + 1000});
  if (p === '/steady' || p === '/capped') { for (let i = 0; i < 15; i++) { await wait(300); stream.write('tick;'); } }
  stream.write('part2');
  stream.end();
});`;

const BUFFERED = 'exports.handler = async () => ({ statusCode: 200, body: "buffered" });';

const arn = (name: string): string => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;
const streamingUri = (name: string): string => `arn:aws:apigateway:us-east-1:lambda:path/2021-11-15/functions/${arn(name)}/response-streaming-invocations`;
const bufferedUri = (name: string): string => `arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${arn(name)}/invocations`;

interface Received {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** False when the connection was cut before the response ended. */
  complete: boolean;
  /** Milliseconds from the request to the status line. */
  headersAfterMs: number;
}

/** A plain HTTP request; `onData` sees how much of the body has arrived, and can read it. */
function get(path: string, onData: (length: number, sofar: () => Buffer) => void = () => undefined): Promise<Received> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = request(`${stack.url}/_aws/execute-api/${apiId}/dev${path}`, (res) => {
      const headersAfterMs = Date.now() - started;
      const chunks: Buffer[] = [];
      let settled = false;
      const finish = (complete: boolean): void => {
        if (settled) return;
        settled = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), complete, headersAfterMs });
      };
      let length = 0;
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        length += c.length;
        onData(length, () => Buffer.concat(chunks));
      });
      res.on('end', () => finish(res.complete));
      res.on('aborted', () => finish(false));
      res.on('error', () => finish(false));
      res.on('close', () => finish(res.complete));
    });
    req.on('error', reject);
    req.end();
  });
}

async function putIntegration(resourceId: string, input: Record<string, unknown>): Promise<void> {
  await apigw.send(new PutMethodCommand({ restApiId: apiId, resourceId, httpMethod: 'ANY', authorizationType: 'NONE' }));
  await apigw.send(new PutIntegrationCommand({ restApiId: apiId, resourceId, httpMethod: 'ANY', type: 'AWS_PROXY', integrationHttpMethod: 'POST', ...input }));
}

beforeAll(async () => {
  ({ stack } = await startQuietStack({ streamIdleTimeoutMs: IDLE_MS }));
  apigw = new APIGatewayClient(clientConfig(stack));
  lambda = new LambdaClient(clientConfig(stack));
  gate = await startGate();
  await createFunction(lambda, 'streamer', STREAMER, { Timeout: 30, Variables: { GATE: gate.url } });
  await allowApiGateway(lambda, 'streamer');
  await createFunction(lambda, 'buffered', BUFFERED);
  await allowApiGateway(lambda, 'buffered');

  apiId = (await apigw.send(new CreateRestApiCommand({ name: 'streams' }))).id ?? '';
  const rootId = (await apigw.send(new GetResourcesCommand({ restApiId: apiId }))).items?.[0]?.id ?? '';
  const proxy = await apigw.send(new CreateResourceCommand({ restApiId: apiId, parentId: rootId, pathPart: '{proxy+}' }));
  await putIntegration(proxy.id ?? '', { uri: streamingUri('streamer'), responseTransferMode: 'STREAM', timeoutInMillis: 900_000 });
  // /capped streams for longer than its integration timeout; /buffered does not stream at all.
  const capped = await apigw.send(new CreateResourceCommand({ restApiId: apiId, parentId: rootId, pathPart: 'capped' }));
  await putIntegration(capped.id ?? '', { uri: streamingUri('streamer'), responseTransferMode: 'STREAM', timeoutInMillis: 2000 });
  const buffered = await apigw.send(new CreateResourceCommand({ restApiId: apiId, parentId: rootId, pathPart: 'buffered' }));
  await putIntegration(buffered.id ?? '', { uri: streamingUri('buffered'), responseTransferMode: 'STREAM' });
  await apigw.send(new CreateDeploymentCommand({ restApiId: apiId, stageName: 'dev' }));
});

afterAll(async () => {
  apigw?.destroy();
  lambda?.destroy();
  gate?.close();
  await stack?.stop();
});

describe('a STREAM integration\'s control plane', () => {
  it('records responseTransferMode and checks the mode, the URI and the timeout together', async () => {
    const resources = await apigw.send(new GetResourcesCommand({ restApiId: apiId }));
    const proxyId = resources.items?.find((r) => r.path === '/{proxy+}')?.id ?? '';
    const rootId = resources.items?.find((r) => r.path === '/')?.id ?? '';
    expect(await apigw.send(new GetIntegrationCommand({ restApiId: apiId, resourceId: proxyId, httpMethod: 'ANY' })))
      .toMatchObject({ responseTransferMode: 'STREAM', timeoutInMillis: 900_000, uri: streamingUri('streamer') });

    await apigw.send(new PutMethodCommand({ restApiId: apiId, resourceId: rootId, httpMethod: 'GET', authorizationType: 'NONE' }));
    const put = (input: Record<string, unknown>): Promise<unknown> => apigw.send(new PutIntegrationCommand({
      restApiId: apiId, resourceId: rootId, httpMethod: 'GET', type: 'AWS_PROXY', integrationHttpMethod: 'POST', ...input,
    }));
    const refused = { name: 'BadRequestException', $metadata: { httpStatusCode: 400 } };
    await expect(put({ uri: bufferedUri('streamer'), responseTransferMode: 'STREAM' })).rejects.toMatchObject(refused);
    await expect(put({ uri: streamingUri('streamer') })).rejects.toMatchObject(refused);
    await expect(put({ uri: streamingUri('streamer'), responseTransferMode: 'STREAM', timeoutInMillis: 900_001 }))
      .rejects.toMatchObject({ ...refused, message: 'Timeout should be between 50 ms and 900000 ms' });
    await expect(put({ uri: bufferedUri('streamer'), timeoutInMillis: 29_001 }))
      .rejects.toMatchObject({ ...refused, message: 'Timeout should be between 50 ms and 29000 ms' });

    // A buffered integration, switched to STREAM in place: the mode, the URI and the timeout in one call.
    await put({ uri: bufferedUri('streamer') });
    const switched = await apigw.send(new UpdateIntegrationCommand({
      restApiId: apiId, resourceId: rootId, httpMethod: 'GET', patchOperations: [
        { op: 'replace', path: '/uri', value: streamingUri('streamer') },
        { op: 'replace', path: '/responseTransferMode', value: 'STREAM' },
        { op: 'replace', path: '/timeoutInMillis', value: '300000' },
      ],
    }));
    expect(switched).toMatchObject({ responseTransferMode: 'STREAM', timeoutInMillis: 300_000, uri: streamingUri('streamer') });
    // Half a switch changes nothing.
    await expect(apigw.send(new UpdateIntegrationCommand({
      restApiId: apiId, resourceId: rootId, httpMethod: 'GET', patchOperations: [{ op: 'replace', path: '/responseTransferMode', value: 'BUFFERED' }],
    }))).rejects.toMatchObject(refused);
    expect(await apigw.send(new GetIntegrationCommand({ restApiId: apiId, resourceId: rootId, httpMethod: 'GET' })))
      .toMatchObject({ responseTransferMode: 'STREAM' });
  });
});

describe('a STREAM integration\'s invoke URL', () => {
  it('sends the metadata as status and headers, then each piece of the body as the function writes it', async () => {
    let beforeGate = '';
    const got = await get('/gate', (_length, sofar) => {
      // The gate opens only once the first piece arrived: a buffered answer would never come.
      if (!beforeGate) {
        beforeGate = sofar().toString();
        void gate.reached().then(() => gate.open());
      }
    });
    expect(beforeGate).toBe('part1;');
    expect(got.status).toBe(207);
    expect(got.complete).toBe(true);
    expect(got.body.toString()).toBe('part1;part2');
    expect(got.headers['content-type']).toBe('text/plain');
    expect(got.headers['x-one']).toBe('a');
    expect(got.headers['x-many']).toBe('1, 2');
    // For a name in both, the multi-value headers win.
    expect(got.headers['x-both']).toBe('multi');
    expect(got.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(got.headers['transfer-encoding']).toBe('chunked');
    expect(got.headers['x-amzn-requestid']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('passes bytes through untouched, NUL bytes in the body included', async () => {
    const got = await get('/binary');
    expect(got.body.equals(Buffer.from([0, 1, 2, 255, 0, 0, 0, 0, 0, 0, 0, 0, 9]))).toBe(true);
  });

  it('sends the first 10 MB at full speed and the rest at 2 MB/s, without counting the paced bytes as idle', async () => {
    let tenMegabytesAt = 0;
    const started = Date.now();
    const got = await get('/big', (length) => {
      if (!tenMegabytesAt && length >= 10 * 1024 * 1024) tenMegabytesAt = Date.now();
    });
    const done = Date.now();
    expect(got.complete).toBe(true);
    expect(got.body.length).toBe(18 * 1024 * 1024);
    expect(got.body[17 * 1024 * 1024]).toBe(97 + 17);
    // 8 MB past the first 10 at 2 MB/s take 4 s at least (longer than the 3 s idle timeout);
    // unpaced, the whole transfer takes a small part of that.
    expect(done - started).toBeGreaterThanOrEqual(3900);
    // The pace starts past the first 10 MB: the last 8 MB take most of the 4 s.
    expect(done - tenMegabytesAt).toBeGreaterThanOrEqual(3000);
  });

  it('keeps a stream alive past the idle timeout while bytes flow, within the integration timeout', async () => {
    const got = await get('/steady');
    expect(got.complete).toBe(true);
    expect(got.body.toString()).toBe(`part1;${'tick;'.repeat(15)}part2`);
  });

  it('answers 504 when no byte comes within the idle timeout, before the metadata', async () => {
    const got = await get('/late');
    expect(got.status).toBe(504);
    expect(JSON.parse(got.body.toString())).toEqual({ message: 'Endpoint request timed out' });
    expect(got.headersAfterMs).toBeGreaterThanOrEqual(IDLE_MS - 50);
  });

  it('cuts the connection when the stream stays silent after its metadata', async () => {
    const got = await get('/stall');
    expect(got.status).toBe(207);
    expect(got.body.toString()).toBe('part1;');
    expect(got.complete).toBe(false);
  });

  it('cuts the connection at the integration timeout, however busy the stream', async () => {
    const got = await get('/capped');
    expect(got.status).toBe(207);
    expect(got.complete).toBe(false);
    expect(got.body.toString()).not.toContain('part2');
  });

  it('answers 500 for a stream without metadata or a function that does not stream, 502 for a function error', async () => {
    const plain = await get('/plain');
    expect(plain.status).toBe(500);
    expect(JSON.parse(plain.body.toString())).toEqual({ message: 'Internal server error' });
    expect((await get('/buffered')).status).toBe(500);
    // A header HTTP cannot carry, or metadata past the first 16 KB: 500, and the stack lives on.
    expect((await get('/bad-header')).status).toBe(500);
    expect((await get('/late-delimiter')).status).toBe(500);
    const thrown = await get('/throw');
    expect(thrown.status).toBe(502);
    expect(JSON.parse(thrown.body.toString())).toEqual({ message: 'Internal server error' });
  });
});
