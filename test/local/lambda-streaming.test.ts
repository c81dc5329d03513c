// Response streaming in the local Lambda: the `awslambda` global of Node.js's runtime
// (streamifyResponse, HttpResponseStream.from) and InvokeWithResponseStream's event stream,
// read by the AWS SDK and, as an independent decoder, by botocore's (the AWS CLI's own copy).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  InvokeCommand, InvokeWithResponseStreamCommand, LambdaClient, type InvokeWithResponseStreamCompleteEvent,
  type InvokeWithResponseStreamResponseEvent,
} from '@aws-sdk/client-lambda';
import type { LocalStack } from '../../local/server';
import { clientConfig, createFunction, startGate, startQuietStack, type Gate } from './helpers';

let stack: LocalStack;
let lambda: LambdaClient;
let gate: Gate;

beforeAll(async () => {
  ({ stack } = await startQuietStack());
  lambda = new LambdaClient(clientConfig(stack));
  gate = await startGate();
  await createFunction(lambda, 'streamer', STREAMER, { Variables: { GATE: gate.url } });
  await createFunction(lambda, 'buffered', 'exports.handler = async (event) => ({ statusCode: 200, body: JSON.stringify(event) });');
  await createFunction(lambda, 'sync-streamer', 'exports.handler = awslambda.streamifyResponse((event, stream) => { stream.end("x"); });');
  await createFunction(lambda, 'unfinished', 'exports.handler = awslambda.streamifyResponse(async (event, stream) => { stream.write("half"); });');
});

afterAll(async () => {
  lambda?.destroy();
  gate?.close();
  await stack?.stop();
});

// Writes the metadata and a first chunk, waits at the gate (which the test opens only once it
// has read that chunk), then writes the rest; `fail` throws after the first chunk instead.
const STREAMER = `
exports.handler = awslambda.streamifyResponse(async (event, responseStream) => {
  const stream = awslambda.HttpResponseStream.from(responseStream, { statusCode: 201, headers: { 'x-kind': 'stream' }, cookies: ['a=1'] });
  stream.write('first;');
  if (event.fail) throw new Error('broke after the first chunk');
  if (event.gate) await fetch(process.env.GATE);
  stream.write(Buffer.from([0xff, 0x00, 0x01]));
  stream.end();
});`;

interface Streamed {
  chunks: Buffer[];
  complete: InvokeWithResponseStreamCompleteEvent | undefined;
}

async function readStream(
  events: AsyncIterable<InvokeWithResponseStreamResponseEvent> | undefined, onChunk: (n: number) => void = () => undefined,
  out: Streamed = { chunks: [], complete: undefined },
): Promise<Streamed> {
  for await (const event of events ?? []) {
    if (event.PayloadChunk?.Payload) {
      out.chunks.push(Buffer.from(event.PayloadChunk.Payload));
      onChunk(out.chunks.length);
    }
    if (event.InvokeComplete) out.complete = event.InvokeComplete;
  }
  return out;
}

const PRELUDE = JSON.stringify({ statusCode: 201, headers: { 'x-kind': 'stream' }, cookies: ['a=1'] });

describe('InvokeWithResponseStream', () => {
  it('sends each piece the handler writes as it is written, the metadata first, then InvokeComplete', async () => {
    const answer = await lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: 'streamer', Payload: JSON.stringify({ gate: true }), LogType: 'Tail' }));
    expect(answer.StatusCode).toBe(200);
    expect(answer.ExecutedVersion).toBe('$LATEST');
    // The gate opens only once the first piece has arrived: a response buffered until the end
    // would never arrive, and the handler would wait at the gate for ever.
    let beforeGate: Buffer | undefined;
    const sofar: Streamed = { chunks: [], complete: undefined };
    const soFar = (): Buffer[] => sofar.chunks;
    const streamed = await readStream(answer.EventStream, (n) => {
      if (n === 1) {
        void gate.reached().then(() => {
          beforeGate = Buffer.concat(soFar());
          gate.open();
        });
      }
    }, sofar);
    const all = Buffer.concat(streamed.chunks);
    expect(beforeGate !== undefined && beforeGate.length > 0 && beforeGate.length < all.length).toBe(true);
    expect(beforeGate?.toString()).not.toContain('\u00ff');
    expect(all.subarray(0, PRELUDE.length).toString()).toBe(PRELUDE);
    expect(all.subarray(PRELUDE.length, PRELUDE.length + 8).equals(Buffer.alloc(8))).toBe(true);
    expect(all.subarray(PRELUDE.length + 8).equals(Buffer.concat([Buffer.from('first;'), Buffer.from([0xff, 0x00, 0x01])]))).toBe(true);
    expect(streamed.complete?.ErrorCode).toBeUndefined();
    const log = Buffer.from(streamed.complete?.LogResult ?? '', 'base64').toString();
    // The answer's RequestId is the invocation's own.
    expect(log).toContain(`END RequestId: ${answer.$metadata.requestId}`);
  });

  it('reports a handler that throws mid-stream in InvokeComplete, after the chunks it wrote', async () => {
    const answer = await lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: 'streamer', Payload: JSON.stringify({ fail: true }) }));
    expect(answer.StatusCode).toBe(200);
    const streamed = await readStream(answer.EventStream);
    expect(Buffer.concat(streamed.chunks).toString()).toContain('first;');
    expect(streamed.complete?.ErrorCode).toBe('Unhandled');
    expect(JSON.parse(streamed.complete?.ErrorDetails ?? '{}')).toMatchObject({ errorType: 'Error', errorMessage: 'broke after the first chunk' });
    expect(streamed.complete?.LogResult).toBeUndefined();
  });

  it('streams a buffered handler\'s JSON result as its payload', async () => {
    const answer = await lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: 'buffered', Payload: '{"n":1}' }));
    const streamed = await readStream(answer.EventStream);
    expect(JSON.parse(Buffer.concat(streamed.chunks).toString())).toEqual({ statusCode: 200, body: '{"n":1}' });
    expect(streamed.complete?.ErrorCode).toBeUndefined();
  });

  it('applies the runtime\'s rules: an async handler, a stream ended before its promise resolves', async () => {
    const sync = await readStream((await lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: 'sync-streamer' }))).EventStream);
    expect(JSON.parse(sync.complete?.ErrorDetails ?? '{}').errorMessage).toBe('Streaming does not support non-async handlers.');
    const unfinished = await readStream((await lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: 'unfinished' }))).EventStream);
    expect(Buffer.concat(unfinished.chunks).toString()).toBe('half');
    expect(JSON.parse(unfinished.complete?.ErrorDetails ?? '{}').errorMessage).toBe('Response stream is not finished.');
  });

  it('refuses what Lambda refuses before streaming: an unknown function, the Event type, a payload that is not JSON; DryRun is 204', async () => {
    await expect(lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: 'nope' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 404 },
    });
    const url = `${stack.url}/2021-11-15/functions/streamer/response-streaming-invocations`;
    const event = await fetch(url, { method: 'POST', headers: { 'X-Amz-Invocation-Type': 'Event' }, body: '{}' });
    expect(event.status).toBe(400);
    expect(await event.json()).toMatchObject({ message: expect.stringContaining('Member must satisfy enum value set: [RequestResponse, DryRun]') });
    const notJson = await fetch(url, { method: 'POST', body: '{oops' });
    expect(notJson.status).toBe(400);
    expect(notJson.headers.get('x-amzn-errortype')).toBe('InvalidRequestContentException');
    const dry = await lambda.send(new InvokeWithResponseStreamCommand({ FunctionName: 'streamer', InvocationType: 'DryRun' }));
    expect(dry.StatusCode).toBe(204);
  });

  it('answers a plain Invoke of a streaming handler with the bytes it wrote, buffered', async () => {
    void gate.reached().then(() => gate.open());
    const answer = await lambda.send(new InvokeCommand({ FunctionName: 'streamer', Payload: JSON.stringify({ gate: true }) }));
    expect(answer.FunctionError).toBeUndefined();
    const bytes = Buffer.from(answer.Payload ?? new Uint8Array());
    expect(bytes.subarray(0, PRELUDE.length).toString()).toBe(PRELUDE);
    expect(bytes.subarray(-3).equals(Buffer.from([0xff, 0x00, 0x01]))).toBe(true);
  });
});

const PYTHON = '/usr/bin/python3';
const hasBotocore = existsSync(PYTHON) && existsSync('/usr/lib/python3/dist-packages/awscli/botocore/eventstream.py');
const requireTools = process.env.REQUIRE_TOOLS === '1';
if (!hasBotocore) {
  console.warn('[lambda-streaming.test] botocore of the AWS CLI v2 (Debian package awscli) is absent: ' +
    (requireTools ? 'REQUIRE_TOOLS=1 is set, so this fails.' : 'skipping the independent event-stream decoding.'));
}

// botocore's decoder checks both CRCs and the header encoding, independently of the SDK's codec
// that the stack encodes with.
const DECODE = `
import awscli, sys, json, base64
from botocore.eventstream import EventStreamBuffer
buf = EventStreamBuffer()
buf.add_data(sys.stdin.buffer.read())
print(json.dumps([{"headers": m.headers, "payload": base64.b64encode(m.payload).decode()} for m in buf]))
`;

describe.skipIf(!hasBotocore && !requireTools)('InvokeWithResponseStream, read by botocore', () => {
  it('is a valid event stream: PayloadChunk events then InvokeComplete, with their headers', async () => {
    void gate.reached().then(() => gate.open());
    const raw = Buffer.from(await (await fetch(`${stack.url}/2021-11-15/functions/streamer/response-streaming-invocations`, {
      method: 'POST', body: JSON.stringify({ gate: true }),
    })).arrayBuffer());
    const decoded = await new Promise<string>((resolve, reject) => {
      const child = execFile(PYTHON, ['-c', DECODE], { env: { PATH: '/usr/bin:/bin' } }, (err, stdout, stderr) => (err ? reject(new Error(stderr)) : resolve(stdout)));
      child.stdin?.end(raw);
    });
    const messages = JSON.parse(decoded) as Array<{ headers: Record<string, string>; payload: string }>;
    const last = messages.at(-1);
    expect(last?.headers).toEqual({ ':event-type': 'InvokeComplete', ':content-type': 'application/json', ':message-type': 'event' });
    expect(JSON.parse(Buffer.from(last?.payload ?? '', 'base64').toString())).toEqual({});
    const chunks = messages.slice(0, -1);
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    for (const chunk of chunks) expect(chunk.headers).toEqual({ ':event-type': 'PayloadChunk', ':content-type': 'application/octet-stream', ':message-type': 'event' });
    const body = Buffer.concat(chunks.map((c) => Buffer.from(c.payload, 'base64')));
    expect(body.subarray(0, PRELUDE.length).toString()).toBe(PRELUDE);
  });
});
