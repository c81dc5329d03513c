import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { ConditionalCheckFailedException, CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { FaultEvent, LocalStack, StackStats } from '../../local/index';
import type { AsyncAttemptEvent } from '../../local/lambda/async-queue';
import { clientConfig, createFunction, nextEvent, startQuietStack } from './helpers';

// The fault hooks of the local stack (local/faults.ts): a hung DynamoDB endpoint, DynamoDB
// answers lost after the write was applied, and the same two for Lambda's Invoke API.
let stack: LocalStack;
let lines: string[];
let lambda: LambdaClient;
let dynamodb: DynamoDBClient;

const ECHO = `exports.handler = async (event) => ({ echoed: event.n ?? null });`;

beforeAll(async () => {
  ({ stack, lines } = await startQuietStack());
  lambda = new LambdaClient(clientConfig(stack));
  dynamodb = new DynamoDBClient(clientConfig(stack));
  await createFunction(lambda, 'echo', ECHO, { Timeout: 10 });
  for (const name of ['faulty', 'healthy']) {
    await dynamodb.send(new CreateTableCommand({
      TableName: name, KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], BillingMode: 'PAY_PER_REQUEST',
    }));
  }
});

afterEach(async () => {
  await post('/_local/ops/dynamodb/faults', { clear: true });
  await post('/_local/ops/lambda/echo/faults', { clear: true });
  stack.ops.startDynamoDb();
});

afterAll(async () => {
  lambda?.destroy();
  dynamodb?.destroy();
  await stack?.stop();
});

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${stack.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
}

async function stats(): Promise<StackStats> {
  return (await (await fetch(`${stack.url}/_local/ops/stats`)).json()) as StackStats;
}

const fault = (test: (e: FaultEvent) => boolean) => nextEvent<FaultEvent>(stack.events, 'fault', test);
const put = (client: DynamoDBClient, id: string, extra: Partial<ConstructorParameters<typeof PutItemCommand>[0]> = {}) =>
  client.send(new PutItemCommand({ TableName: 'faulty', Item: { id: { S: id } }, ...extra }));
const get = async (id: string) => (await dynamodb.send(new GetItemCommand({ TableName: 'faulty', Key: { id: { S: id } }, ConsistentRead: true }))).Item;

describe('DynamoDB hang (POST /_local/ops/dynamodb/stop {"mode":"hang"})', () => {
  it('reads requests and never answers them, applies nothing, and closes them when started again', async () => {
    const stopped = await post('/_local/ops/dynamodb/stop', { mode: 'hang', tables: ['faulty'] });
    expect(await stopped.json()).toMatchObject({ outages: { faulty: 'hang' } });
    const held = fault((e) => e.action === 'held' && e.target === 'faulty');
    const pending = put(dynamodb, 'during-hang').catch((e: Error) => e);
    expect(await held).toEqual({ service: 'dynamodb', action: 'held', target: 'faulty', operation: 'PutItem' });
    expect((await stats()).dynamodb.held).toBe(1);
    // Another table still answers.
    await dynamodb.send(new GetItemCommand({ TableName: 'healthy', Key: { id: { S: 'x' } } }));
    await post('/_local/ops/dynamodb/start', {});
    // Started again: the held request is closed without an answer, and was never applied.
    const outcome = await pending;
    expect(outcome).toBeInstanceOf(Error);
    expect(String((outcome as Error).message)).toMatch(/socket hang up|ECONNRESET|other side closed/i);
    expect(await get('during-hang')).toBeUndefined();
    expect((await stats()).dynamodb).toMatchObject({ held: 0, outages: {} });
  });

  it('lets a client with an abort signal give up: the held connection is forgotten', async () => {
    stack.ops.stopDynamoDb({ mode: 'hang', tables: ['faulty'] });
    const controller = new AbortController();
    const held = fault((e) => e.action === 'held');
    const pending = dynamodb.send(new GetItemCommand({ TableName: 'faulty', Key: { id: { S: 'a' } } }), { abortSignal: controller.signal }).catch((e: Error) => e);
    await held;
    controller.abort();
    expect(await pending).toMatchObject({ name: 'AbortError' });
    await expect.poll(async () => (await stats()).dynamodb.held).toBe(0);
  });
});

describe('DynamoDB lost answers (POST /_local/ops/dynamodb/faults)', () => {
  it('applies the next matching write, then closes the connection without an answer', async () => {
    const added = await post('/_local/ops/dynamodb/faults', { drop: 'after-apply', operations: ['PutItem'], count: 1, tables: ['faulty'] });
    expect(added.status).toBe(200);
    expect((await added.json()) as StackStats['dynamodb']).toMatchObject({
      faults: [{ drop: 'after-apply', operations: ['PutItem'], count: 1, tables: ['faulty'], remaining: 1 }],
    });
    const lost = fault((e) => e.action === 'answer-lost');
    const outcome = await put(dynamodb, 'applied').catch((e: Error) => e);
    expect(outcome).toBeInstanceOf(Error);
    expect(await lost).toEqual({ service: 'dynamodb', action: 'answer-lost', target: 'faulty', operation: 'PutItem' });
    // Applied although the client saw an error.
    expect(await get('applied')).toEqual({ id: { S: 'applied' } });
    // Used up: the next write answers.
    await put(dynamodb, 'after');
    expect((await stats()).dynamodb).toMatchObject({ faults: [], answersLost: 1 });
  });

  it('shows what a retrying client meets: its own applied conditional write fails its condition', async () => {
    stack.ops.dynamoDbFault({ drop: 'after-apply', operations: ['PutItem'], count: 1, tables: ['faulty'] });
    const retrying = new DynamoDBClient({ ...clientConfig(stack), maxAttempts: 2 });
    try {
      const outcome = await put(retrying, 'once', { ConditionExpression: 'attribute_not_exists(id)' }).catch((e: Error) => e);
      // The first attempt was applied and its answer lost; the SDK's retry finds the item there.
      expect(outcome).toBeInstanceOf(ConditionalCheckFailedException);
      expect(await get('once')).toEqual({ id: { S: 'once' } });
    } finally {
      retrying.destroy();
    }
  });

  it('matches only requests whose body contains the match text', async () => {
    stack.ops.dynamoDbFault({ drop: 'after-apply', operations: ['PutItem'], count: 1, tables: ['faulty'], match: 'second' });
    await put(dynamodb, 'first');
    const outcome = await put(dynamodb, 'second').catch((e: Error) => e);
    expect(outcome).toBeInstanceOf(Error);
    expect(await get('second')).toEqual({ id: { S: 'second' } });
    expect((await stats()).dynamodb.faults).toEqual([]);
  });

  it('matches only the named operations and tables, and clears pending faults', async () => {
    stack.ops.dynamoDbFault({ drop: 'after-apply', operations: ['DeleteItem'], count: 5, tables: ['faulty'] });
    await put(dynamodb, 'kept');
    await dynamodb.send(new PutItemCommand({ TableName: 'healthy', Item: { id: { S: 'h' } } }));
    expect((await stats()).dynamodb.faults).toMatchObject([{ operations: ['DeleteItem'], remaining: 5 }]);
    const cleared = await post('/_local/ops/dynamodb/faults', { clear: true });
    expect(((await cleared.json()) as StackStats['dynamodb']).faults).toEqual([]);
    expect(lines).toContain('[ops] DynamoDB faults cleared');
  });

  it.each([
    [{ drop: 'before-apply', operations: ['PutItem'], count: 1 }, /expected \{"drop":"after-apply"/],
    [{ drop: 'after-apply', operations: [], count: 1 }, /operations must be a non-empty list/],
    [{ drop: 'after-apply', operations: ['PutItem'], count: 0 }, /count must be an integer from 1/],
    [{ drop: 'after-apply', operations: ['PutItem'], count: 1, tables: 'faulty' }, /tables must be a list/],
    [{ drop: 'after-apply', operations: ['PutItem'], count: 1, match: '' }, /match must be a non-empty string/],
  ])('refuses a malformed fault with 400: %j', async (body, message) => {
    const answer = await post('/_local/ops/dynamodb/faults', body);
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { message: string }).message).toMatch(message);
  });
});

describe('Lambda faults (POST /_local/ops/lambda/{name}/faults)', () => {
  const invoke = (client: LambdaClient, type: 'Event' | 'RequestResponse', n: number, signal?: AbortSignal) =>
    client.send(new InvokeCommand({ FunctionName: 'echo', InvocationType: type, Payload: JSON.stringify({ n }) }), signal ? { abortSignal: signal } : {});

  it('hangs Invoke requests without running anything, until cleared', async () => {
    const before = (await stats()).lambda.functions['echo']?.invocations ?? 0;
    const set = await post('/_local/ops/lambda/echo/faults', { hang: true });
    expect(await set.json()).toEqual({ faults: { hang: true, dropAfterAccept: 0, held: 0 } });
    const held = fault((e) => e.service === 'lambda' && e.action === 'held');
    const pending = invoke(lambda, 'RequestResponse', 1).catch((e: Error) => e);
    expect(await held).toEqual({ service: 'lambda', action: 'held', target: 'echo', operation: 'Invoke:RequestResponse' });
    expect((await stats()).lambda.faults['echo']).toEqual({ hang: true, dropAfterAccept: 0, held: 1 });
    await post('/_local/ops/lambda/echo/faults', { clear: true });
    const outcome = await pending;
    expect(outcome).toBeInstanceOf(Error);
    // Nothing ran, and the function answers again.
    expect((await stats()).lambda.functions['echo']?.invocations ?? 0).toBe(before);
    const answer = await invoke(lambda, 'RequestResponse', 2);
    expect(JSON.parse(Buffer.from(answer.Payload ?? []).toString('utf8'))).toEqual({ echoed: 2 });
    expect((await stats()).lambda.faults).toEqual({});
  });

  it('accepts an Event and loses the answer: the event runs anyway, and a retrying client delivers it twice', async () => {
    await post('/_local/ops/lambda/echo/faults', { drop: 'after-accept', count: 1 });
    const retrying = new LambdaClient({ ...clientConfig(stack), maxAttempts: 2 });
    const attempts: AsyncAttemptEvent[] = [];
    const onAttempt = (e: AsyncAttemptEvent) => {
      if (e.functionName === 'echo') attempts.push(e);
    };
    stack.events.on('async-attempt', onAttempt);
    try {
      const lost = fault((e) => e.action === 'answer-lost' && e.operation === 'Invoke:Event');
      const second = nextEvent<AsyncAttemptEvent>(stack.events, 'async-attempt', () => attempts.length === 2);
      const answer = await invoke(retrying, 'Event', 3);
      expect(answer.StatusCode).toBe(202);
      await lost;
      await second;
      // Two deliveries, two request ids: the duplicate the Talker's claim must absorb.
      expect(attempts.map((a) => a.ok)).toEqual([true, true]);
      expect(new Set(attempts.map((a) => a.requestId)).size).toBe(2);
    } finally {
      stack.events.off('async-attempt', onAttempt);
      retrying.destroy();
    }
  });

  it('lets a RequestResponse run to its end, then loses the answer', async () => {
    await post('/_local/ops/lambda/echo/faults', { drop: 'after-accept', count: 1 });
    const ended = nextEvent<{ functionName: string; ok: boolean }>(stack.events, 'invocation', (e) => e.functionName === 'echo');
    const outcome = await invoke(lambda, 'RequestResponse', 4).catch((e: Error) => e);
    expect(outcome).toBeInstanceOf(Error);
    expect(await ended).toMatchObject({ ok: true });
  });

  it('answers 404 for an unknown function and 400 for a malformed fault', async () => {
    const unknown = await post('/_local/ops/lambda/nobody/faults', { hang: true });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ message: 'Function not found: nobody' });
    for (const body of [{ hang: false }, { drop: 'after-accept' }, { drop: 'after-accept', count: -1 }, {}]) {
      const bad = await post('/_local/ops/lambda/echo/faults', body);
      expect(bad.status, JSON.stringify(body)).toBe(400);
    }
    const notJson = await fetch(`${stack.url}/_local/ops/lambda/echo/faults`, { method: 'POST', body: '{' });
    expect(notJson.status).toBe(400);
  });
});
