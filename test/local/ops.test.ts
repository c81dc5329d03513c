import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { LocalStack, StackStats } from '../../local/index';
import type { InvocationEvent } from '../../local/lambda/invoke';
import { clientConfig, createFunction, nextEvent, startQuietStack } from './helpers';

// The test/ops hooks of the local stack (local/ops.ts): counters, killing environments,
// stopping and starting DynamoDB. They live under /_local/ops/, beside (not on) AWS's paths.
let stack: LocalStack;
let lines: string[];
let lambda: LambdaClient;
let dynamodb: DynamoDBClient;

const SLEEPER = `exports.handler = async (event) => { await new Promise((r) => setTimeout(r, event.ms ?? 0)); return { slept: event.ms ?? 0 }; };`;

beforeAll(async () => {
  ({ stack, lines } = await startQuietStack());
  lambda = new LambdaClient(clientConfig(stack));
  dynamodb = new DynamoDBClient(clientConfig(stack));
  await createFunction(lambda, 'sleeper', SLEEPER, { Timeout: 30 });
  for (const name of ['kept', 'other']) {
    await dynamodb.send(new CreateTableCommand({
      TableName: name, KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST',
    }));
  }
});

afterAll(async () => {
  lambda?.destroy();
  dynamodb?.destroy();
  await stack?.stop();
});

async function stats(): Promise<StackStats> {
  const response = await fetch(`${stack.url}/_local/ops/stats`);
  expect(response.status).toBe(200);
  return (await response.json()) as StackStats;
}

const invoke = (ms: number) => lambda.send(new InvokeCommand({ FunctionName: 'sleeper', Payload: JSON.stringify({ ms }) }));

describe('ops hooks', () => {
  it('counts invocations and cold starts per function, and reports the memory of the stack', async () => {
    await invoke(0);
    await invoke(0);
    const s = await stats();
    expect(s.lambda.functions['sleeper']).toMatchObject({ invocations: 2, coldStarts: 1 });
    expect(s.lambda.environments.idle).toBeGreaterThanOrEqual(1);
    expect(s.process.rssBytes).toBeGreaterThan(10_000_000);
    expect(s.process.maxRssBytes).toBeGreaterThanOrEqual(s.process.rssBytes * 0.5);
    expect(s.process.cpuMicros).toBeGreaterThan(0);
    expect(s.process.eventLoop.activeMs).toBeGreaterThan(0);
    expect(s.process.eventLoop.idleMs).toBeGreaterThan(0);
  });

  it.runIf(process.platform === 'linux')('names the operating system\'s thread of each environment, whose CPU time /proc gives', async () => {
    await invoke(0);
    const ids = (await stats()).lambda.threadIds['sleeper'] ?? [];
    expect(ids.length).toBeGreaterThanOrEqual(1);
    for (const tid of ids) {
      // The stack runs in this process: each id is one of its threads, and not the main one.
      expect(tid).not.toBe(process.pid);
      expect(existsSync(`/proc/${process.pid}/task/${tid}/stat`)).toBe(true);
    }
  });

  it('kills a busy environment: the running invocation ends with Runtime.ExitError', async () => {
    const started = nextEvent<{ functionName: string }>(stack.events, 'invocation-start', (e) => e.functionName === 'sleeper');
    const ended = nextEvent<InvocationEvent>(stack.events, 'invocation', (e) => e.functionName === 'sleeper');
    const running = invoke(20_000);
    await started;
    const killed = await fetch(`${stack.url}/_local/ops/lambda/sleeper/kill?which=busy`, { method: 'POST' });
    expect(await killed.json()).toEqual({ killed: 1 });
    const result = await running;
    expect(result.FunctionError).toBe('Unhandled');
    const payload = JSON.parse(Buffer.from(result.Payload ?? []).toString('utf8')) as { errorType: string; errorMessage: string };
    expect(payload.errorType).toBe('Runtime.ExitError');
    expect(payload.errorMessage).toContain('signal: killed');
    expect((await ended).errorType).toBe('Runtime.ExitError');
    // The next invocation gets a new environment.
    const before = (await stats()).lambda.functions['sleeper']?.coldStarts ?? 0;
    await invoke(0);
    expect((await stats()).lambda.functions['sleeper']?.coldStarts).toBe(before + 1);
  });

  it('kills idle environments to free memory, and refuses an unknown selector', async () => {
    await invoke(0);
    expect(stack.ops.killEnvironments('sleeper', 'idle')).toBeGreaterThanOrEqual(1);
    expect(stack.environments().idle).toBe(0);
    const bad = await fetch(`${stack.url}/_local/ops/lambda/sleeper/kill?which=some`, { method: 'POST' });
    expect(bad.status).toBe(400);
  });

  it('starts environments ahead of traffic: the next concurrent invocations are all warm', async () => {
    stack.ops.killEnvironments('sleeper', 'idle');
    const warmed = await fetch(`${stack.url}/_local/ops/lambda/sleeper/warm?count=3`, { method: 'POST' });
    expect(warmed.status).toBe(200);
    expect(await warmed.json()).toEqual({ started: 3, failed: 0 });
    expect(stack.environments()).toEqual({ idle: 3, busy: 0 });
    expect(lines).toContain('[ops] sleeper: 3 environments started ahead of traffic');
    // Asking again for as many starts none; asking for more starts only the difference.
    expect(await stack.ops.prewarm('sleeper', 3)).toEqual({ started: 0, failed: 0 });
    expect(await stack.ops.prewarm('sleeper', 4)).toEqual({ started: 1, failed: 0 });
    const before = (await stats()).lambda.functions['sleeper']?.coldStarts ?? 0;
    const results = await Promise.all([1, 2, 3, 4].map(() => invoke(300)));
    expect(results.every((r) => r.FunctionError === undefined)).toBe(true);
    expect((await stats()).lambda.functions['sleeper']?.coldStarts).toBe(before);
  });

  it('refuses to warm an unknown function, a bad count, and reports a handler that fails to load', async () => {
    const unknown = await fetch(`${stack.url}/_local/ops/lambda/nobody/warm?count=1`, { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ message: 'Function not found: nobody' });
    for (const count of ['0', '-1', '1.5', 'x', '']) {
      const bad = await fetch(`${stack.url}/_local/ops/lambda/sleeper/warm?count=${count}`, { method: 'POST' });
      expect(bad.status, `count=${count}`).toBe(400);
      expect(((await bad.json()) as { message: string }).message).toMatch(/count must be an integer from 1/);
    }
    await createFunction(lambda, 'broken', 'throw new Error("cannot load");');
    const broken = await fetch(`${stack.url}/_local/ops/lambda/broken/warm?count=2`, { method: 'POST' });
    expect(broken.status).toBe(500);
    const body = (await broken.json()) as { started: number; failed: number; firstError: string };
    expect(body).toMatchObject({ started: 0, failed: 2 });
    expect(body.firstError).toContain('cannot load');
  });

  it('stops DynamoDB for one table with connection errors, keeps the data, and starts it again', async () => {
    await dynamodb.send(new PutItemCommand({ TableName: 'kept', Item: { id: { S: 'a' }, v: { N: '1' } } }));
    const stop = await fetch(`${stack.url}/_local/ops/dynamodb/stop`, { method: 'POST', body: JSON.stringify({ tables: ['kept'] }) });
    expect(await stop.json()).toMatchObject({ outages: { kept: 'reset' } });
    const refused = await dynamodb.send(new GetItemCommand({ TableName: 'kept', Key: { id: { S: 'a' } } })).catch((e: Error) => e);
    expect(refused).toBeInstanceOf(Error);
    expect(String((refused as Error).message)).toMatch(/socket hang up|ECONNRESET|other side closed/i);
    // Other tables still answer.
    await dynamodb.send(new GetItemCommand({ TableName: 'other', Key: { id: { S: 'a' } } }));
    await fetch(`${stack.url}/_local/ops/dynamodb/start`, { method: 'POST' });
    const item = await dynamodb.send(new GetItemCommand({ TableName: 'kept', Key: { id: { S: 'a' } } }));
    expect(item.Item?.['v']).toEqual({ N: '1' });
    const s = await stats();
    expect(s.dynamodb.outages).toEqual({});
    expect(s.dynamodb.refused).toBeGreaterThanOrEqual(1);
    expect(s.dynamodb.operations['kept']).toMatchObject({ PutItem: 1, GetItem: 1 });
    expect(lines).toContain('[ops] DynamoDB started');
  });

  it('stops DynamoDB with 503 ServiceUnavailable answers', async () => {
    stack.ops.stopDynamoDb({ mode: 'unavailable', tables: ['other'] });
    stack.ops.stopDynamoDb({ mode: 'reset', tables: ['kept'] });
    try {
      // Starting one table leaves the other stopped.
      stack.ops.startDynamoDb(['kept']);
      expect(stack.ops.stats().dynamodb.outages).toEqual({ other: 'unavailable' });
      const refused = await dynamodb.send(new GetItemCommand({ TableName: 'other', Key: { id: { S: 'a' } } })).catch((e: Error & { $metadata?: { httpStatusCode?: number } }) => e);
      expect((refused as Error).name).toBe('ServiceUnavailable');
      expect((refused as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode).toBe(503);
    } finally {
      stack.ops.startDynamoDb();
    }
  });

  it('writes a mark to the log, and answers 404 for an unknown hook', async () => {
    await fetch(`${stack.url}/_local/ops/mark?text=here`, { method: 'POST' });
    expect(lines).toContain('[ops] mark here');
    expect((await fetch(`${stack.url}/_local/ops/nothing`)).status).toBe(404);
  });
});
