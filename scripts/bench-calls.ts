#!/usr/bin/env -S npx tsx
// npm run bench:calls: what ONE call of each kind costs on the local stack, in wall time and CPU.
//
// Starts the local AWS stack in this process (its main thread, the worker threads that run
// functions and the SDK clients all live here, so process.cpuUsage() is the whole cost), sets up
// a table, a no-op function and a REST API in front of it, and a bare node:http server that
// answers a fixed GetItem response (the SDK's own cost, without the stack); then runs each kind
// of call N times one after the other, after warm-up calls, and prints a Markdown table.
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { strToU8, zipSync } from 'fflate';
import {
  CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand, type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { AddPermissionCommand, CreateFunctionCommand, InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  APIGatewayClient, CreateDeploymentCommand, CreateResourceCommand, CreateRestApiCommand, GetResourcesCommand, PutIntegrationCommand,
  PutMethodCommand,
} from '@aws-sdk/client-api-gateway';
import { startLocalStack, type LocalStack } from '../local/server';
import type { AsyncAttemptEvent } from '../local/lambda/async-queue';
import { parseFlags, runMain, scriptArgs, UsageError } from './lib/cli';
import { callsTable, measureCalls, parseCount, summariseCalls, type CallRow, type CallSample, type MeasuredCall } from './lib/bench-calls-lib';

const KIND_KEYS = ['fetch-bare', 'sdk-bare', 'get', 'put-task', 'update-claim', 'put-result', 'invoke', 'invoke-event', 'apigw-rest'];

/** Measured calls of each kind in a round (see the loop at the end). */
const BATCH = 25;

const USAGE = `Usage: npm run bench:calls -- [flags]

Measures what one call of each kind costs on the local AWS stack (started in this process):
wall time per call (p50, mean, p95) and process CPU per call (every thread: the stack's main
thread, the worker threads that run functions, the SDK client), for the calls the kit's short
request is made of, the direct route (API Gateway -> function) and two baselines without the
stack (the same SDK GetItem against a bare node:http server, and a bare fetch).

  --n N          measured calls of each kind, one after the other, in rounds of ${BATCH}
                 calls of each kind in turn (default 200)
  --warmup N     unmeasured calls of each kind first (default 20)
  --kinds K,...  only these kinds, in this order (default all):
                 ${KIND_KEYS.join(',')}
  --out FILE     also write the figures as JSON to FILE
  --help         this text`;

const TABLE = 'bench-calls-tasks';
const FUNCTION = 'bench-calls-noop';
const ROLE = 'arn:aws:iam::000000000000:role/bench-calls';
const NOOP = "exports.handler = async () => ({ statusCode: 200, body: 'ok' });\n";

type Item = Record<string, AttributeValue>;
const str = (s: string): AttributeValue => ({ S: s });
const num = (n: number): AttributeValue => ({ N: String(n) });

/** A task item as the Proxy writes it (core/dynamodb-task-store.ts createTask), with an idempotency key hash. */
function taskItem(requestId: string, now: number): Item {
  return {
    RequestID: str(requestId),
    Status: str('PENDING'),
    CreatedAt: num(now),
    UpdatedAt: num(now),
    PendingDeadline: num(now + 60_000),
    ExpiresAt: num(Math.floor(now / 1000) + 86_400),
    TokenHashes: { SS: [randomBytes(32).toString('base64url')] },
    KeyHash: str(randomBytes(32).toString('base64url')),
  };
}

/** One kind of call: its key (for --kinds), its rows' names, its setup and the call. */
interface Kind {
  key: string;
  label: string;
  /** Name of the row of the call's lap, when it marks one. */
  lapLabel?: string;
  /** Runs before the warm-up, unmeasured; given how many calls will be made in all. */
  prepare?: (calls: number) => Promise<void>;
  call: MeasuredCall;
}

/** A bare HTTP server: a fixed DynamoDB GetItem answer on POST, an empty 200 otherwise. */
async function startBareServer(getItemBody: string): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST') {
        res.writeHead(200, {
          'Content-Type': 'application/x-amz-json-1.0', 'Content-Length': Buffer.byteLength(getItemBody), 'x-amzn-RequestId': randomUUID(),
        });
        res.end(getItemBody);
      } else {
        res.writeHead(200, { 'Content-Length': 0 });
        res.end();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Resolves with the next `async-attempt` of the function (listening starts at once). */
function nextAttempt(stack: LocalStack, functionName: string): Promise<AsyncAttemptEvent> {
  return new Promise((resolve) => {
    const listener = (e: AsyncAttemptEvent): void => {
      if (e.functionName !== functionName) return;
      stack.events.off('async-attempt', listener);
      resolve(e);
    };
    stack.events.on('async-attempt', listener);
  });
}

/** Resolves once no environment is busy (checked on each turn of the event loop). */
async function idle(stack: LocalStack): Promise<void> {
  while (stack.environments().busy > 0) await new Promise((resolve) => setImmediate(resolve));
}

// The SDK warns once about Node 20; the figures are the point here (bench.ts does the same for the stack).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

await runMain('bench:calls', async () => {
  const flags = parseFlags(scriptArgs(import.meta.url), { string: ['n', 'warmup', 'kinds', 'out'], boolean: ['help'], alias: { h: 'help' } });
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  const n = parseCount(flags.n, 'n', 200, 1);
  const warmup = parseCount(flags.warmup, 'warmup', 20, 0);
  const wanted = flags.kinds === undefined ? KIND_KEYS : flags.kinds.split(',').map((k) => k.trim()).filter(Boolean);
  for (const k of wanted) if (!KIND_KEYS.includes(k)) throw new UsageError(`unknown kind ${k}: ${KIND_KEYS.join(', ')}`);
  const outFile = flags.out === undefined ? undefined : path.resolve(flags.out);

  const load0 = os.loadavg();
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${os.type()} ${os.release()}; load average ${load0.map((l) => l.toFixed(2)).join(' ')}`;
  console.log(`Machine: ${machine}`);

  const lines: string[] = [];
  const stack = await startLocalStack({ port: 0, host: '127.0.0.1', log: (l) => lines.push(l), lambdaStateDelayMs: 0 });
  const config = { endpoint: stack.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 };
  const ddb = new DynamoDBClient(config);
  const lambda = new LambdaClient(config);
  const apigw = new APIGatewayClient(config);
  let bare: { server: Server; url: string } | undefined;
  let bareDdb: DynamoDBClient | undefined;
  const started = Date.now();
  try {
    // The table, and the small item GetItem reads (the bare server answers the same item).
    await ddb.send(new CreateTableCommand({
      TableName: TABLE, BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'RequestID', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'RequestID', KeyType: 'HASH' }],
    }));
    const readItem = taskItem('read-me', Date.now());
    await ddb.send(new PutItemCommand({ TableName: TABLE, Item: readItem }));
    const stackAnswer = await ddb.send(new GetItemCommand({ TableName: TABLE, Key: { RequestID: str('read-me') }, ConsistentRead: true }));
    bare = await startBareServer(JSON.stringify({ Item: stackAnswer.Item }));
    bareDdb = new DynamoDBClient({ ...config, endpoint: bare.url });

    // The no-op function, as the kit's are: nodejs22.x; API Gateway may invoke it.
    await lambda.send(new CreateFunctionCommand({
      FunctionName: FUNCTION, Runtime: 'nodejs22.x', Role: ROLE, Handler: 'index.handler', Timeout: 10, MemorySize: 128,
      Code: { ZipFile: zipSync({ 'index.js': strToU8(NOOP) }) },
    }));
    await lambda.send(new AddPermissionCommand({
      FunctionName: FUNCTION, StatementId: 'apigateway-any', Action: 'lambda:InvokeFunction', Principal: 'apigateway.amazonaws.com',
      SourceArn: 'arn:aws:execute-api:us-east-1:000000000000:*',
    }));
    await stack.ops.prewarm(FUNCTION, 1);

    // A REST API: ANY / and ANY /{proxy+}, Lambda proxy integrations of the function, stage dev.
    const api = await apigw.send(new CreateRestApiCommand({ name: 'bench-calls' }));
    const apiId = api.id ?? '';
    const rootId = (await apigw.send(new GetResourcesCommand({ restApiId: apiId }))).items?.find((r) => r.path === '/')?.id ?? '';
    const proxyResource = await apigw.send(new CreateResourceCommand({ restApiId: apiId, parentId: rootId, pathPart: '{proxy+}' }));
    const uri = `arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:${FUNCTION}/invocations`;
    for (const resourceId of [rootId, proxyResource.id ?? '']) {
      await apigw.send(new PutMethodCommand({ restApiId: apiId, resourceId, httpMethod: 'ANY', authorizationType: 'NONE' }));
      await apigw.send(new PutIntegrationCommand({ restApiId: apiId, resourceId, httpMethod: 'ANY', type: 'AWS_PROXY', integrationHttpMethod: 'POST', uri }));
    }
    await apigw.send(new CreateDeploymentCommand({ restApiId: apiId, stageName: 'dev' }));
    const invokeUrl = `${stack.url}/_aws/execute-api/${apiId}/dev/job?seconds=0`;

    const bareUrl = bare.url;
    const bareClient = bareDdb;
    let putCount = 0;
    let resultCount = 0;
    let claimIds: string[] = [];
    const resultBody = randomBytes(100);
    const kinds: Kind[] = [
      {
        key: 'fetch-bare', label: 'baseline: fetch GET → bare node:http server (HTTP alone)',
        call: async () => {
          const res = await fetch(`${bareUrl}/`);
          await res.arrayBuffer();
          if (res.status !== 200) throw new Error(`bare server answered ${res.status}`);
        },
      },
      {
        key: 'sdk-bare', label: 'baseline: SDK GetItem → bare node:http server (fixed answer)',
        call: async () => {
          const out = await bareClient.send(new GetItemCommand({ TableName: TABLE, Key: { RequestID: str('read-me') }, ConsistentRead: true }));
          if (!out.Item) throw new Error('the bare server\'s GetItem answer had no Item');
        },
      },
      {
        key: 'get', label: 'DynamoDB GetItem, consistent, small item',
        call: async () => {
          const out = await ddb.send(new GetItemCommand({ TableName: TABLE, Key: { RequestID: str('read-me') }, ConsistentRead: true }));
          if (!out.Item) throw new Error('GetItem found no item');
        },
      },
      {
        key: 'put-task', label: 'DynamoDB PutItem, task item, attribute_not_exists',
        call: async () => {
          putCount += 1;
          await ddb.send(new PutItemCommand({
            TableName: TABLE, Item: taskItem(`put-${putCount}`, Date.now()), ConditionExpression: 'attribute_not_exists(RequestID)',
          }));
        },
      },
      {
        key: 'update-claim', label: 'DynamoDB UpdateItem, conditional claim, ALL_NEW',
        prepare: async (calls) => {
          claimIds = Array.from({ length: calls }, (_, i) => `claim-${i}`);
          for (const id of claimIds) await ddb.send(new PutItemCommand({ TableName: TABLE, Item: taskItem(id, Date.now()) }));
        },
        call: async () => {
          const id = claimIds.shift();
          if (id === undefined) throw new Error('no task left to claim');
          const now = Date.now();
          // As the Talker claims a task (core/dynamodb-task-store.ts claimTask).
          await ddb.send(new UpdateItemCommand({
            TableName: TABLE, Key: { RequestID: str(id) },
            UpdateExpression: 'SET #s = :running, Deadline = :deadline, UpdatedAt = :now, StartedAt = :now, ClaimedBy = :by',
            ConditionExpression: '#s = :pending AND PendingDeadline > :now AND ExpiresAt > :nowSeconds',
            ExpressionAttributeNames: { '#s': 'Status' },
            ExpressionAttributeValues: {
              ':running': str('RUNNING'), ':pending': str('PENDING'), ':deadline': num(now + 900_000), ':now': num(now),
              ':nowSeconds': num(Math.floor(now / 1000)), ':by': str(randomUUID()),
            },
            ReturnValues: 'ALL_NEW',
          }));
        },
      },
      {
        key: 'put-result', label: 'DynamoDB PutItem, 100-byte binary result item',
        call: async () => {
          resultCount += 1;
          await ddb.send(new PutItemCommand({
            TableName: TABLE,
            Item: { RequestID: str(`result-${resultCount}#result`), Result: { B: resultBody }, Encoding: str('identity'), ExpiresAt: num(Math.floor(Date.now() / 1000) + 86_400) },
          }));
        },
      },
      {
        key: 'invoke', label: 'Lambda Invoke RequestResponse, no-op function',
        call: async () => {
          const out = await lambda.send(new InvokeCommand({ FunctionName: FUNCTION, InvocationType: 'RequestResponse', Payload: strToU8('{"a":1}') }));
          if (out.StatusCode !== 200 || out.FunctionError) throw new Error(`Invoke answered ${out.StatusCode} ${out.FunctionError ?? ''}`);
        },
      },
      {
        key: 'invoke-event', label: 'Lambda Invoke Event, no-op: until its run ended', lapLabel: 'Lambda Invoke Event, no-op: accept (202) only',
        call: async (lap) => {
          await idle(stack);
          const ran = nextAttempt(stack, FUNCTION);
          const out = await lambda.send(new InvokeCommand({ FunctionName: FUNCTION, InvocationType: 'Event', Payload: strToU8('{"a":1}') }));
          lap();
          if (out.StatusCode !== 202) throw new Error(`Invoke Event answered ${out.StatusCode}`);
          const attempt = await ran;
          if (!attempt.ok) throw new Error(`the Event invocation failed: ${attempt.errorType ?? ''}`);
        },
      },
      {
        key: 'apigw-rest', label: 'API Gateway REST proxy → no-op function (fetch)',
        call: async () => {
          const res = await fetch(invokeUrl);
          const text = await res.text();
          if (res.status !== 200 || text !== 'ok') throw new Error(`the invoke URL answered ${res.status}: ${text.slice(0, 200)}`);
        },
      },
    ];

    // Every kind's set-up and warm-up first, so that the first kind measured does not pay for
    // the process's own warm-up (JIT compilation, first allocations); then the measured calls in
    // rounds of BATCH calls of each kind, so that a busy moment of the machine or a major
    // garbage collection does not fall on one kind alone.
    const selected = wanted.flatMap((k) => kinds.find((kind) => kind.key === k) ?? []);
    for (const kind of selected) await kind.prepare?.(warmup + n);
    for (const kind of selected) {
      await idle(stack);
      await measureCalls(kind.call, { n: 0, warmup });
    }
    console.log(`Measuring ${n} calls of each of ${selected.length} kinds, in rounds of ${Math.min(BATCH, n)}...`);
    const samples = new Map<string, CallSample[]>(selected.map((k) => [k.key, []]));
    for (let done = 0; done < n; done += BATCH) {
      for (const kind of selected) {
        await idle(stack);
        samples.get(kind.key)?.push(...await measureCalls(kind.call, { n: Math.min(BATCH, n - done), warmup: 0 }));
      }
    }
    const rows: CallRow[] = selected.flatMap((kind) => {
      const taken = samples.get(kind.key) ?? [];
      return [summariseCalls(kind.label, taken), ...(kind.lapLabel ? [summariseCalls(kind.lapLabel, taken, 'lap')] : [])];
    });
    const coldStarts = stack.ops.stats().lambda.functions[FUNCTION]?.coldStarts ?? null;
    const load1 = os.loadavg();
    const cpuNote = 'CPU/call: process.cpuUsage() (user + system, every thread) over each call: the stack\'s main thread (HTTP, API Gateway, Lambda service, dynalite), the worker thread that runs the function, the SDK client and fetch, all in this process; garbage collection included. Baselines include the bare server\'s own HTTP work too. Event invoke: "accept" stops at the 202 (the run may already have begun on the worker thread); "until its run ended" waits for the attempt\'s end event.';
    console.log(`\n${callsTable(rows)}\n`);
    console.log(`Machine: ${machine}; at end ${load1.map((l) => l.toFixed(2)).join(' ')}`);
    console.log(`n = ${n} calls of each kind after ${warmup} warm-up calls of each, one after the other; cold starts counted for the function: ${coldStarts ?? '—'} (its environment was started ahead by ops.prewarm).`);
    console.log(cpuNote);
    if (outFile) {
      const command = `npm run bench:calls --${scriptArgs(import.meta.url).map((a) => ` ${a}`).join('')}`;
      writeFileSync(outFile, JSON.stringify({
        command, startedAt: new Date(started).toISOString(), durationSeconds: Math.round((Date.now() - started) / 1000),
        machine: {
          cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? null, node: process.version, platform: `${os.type()} ${os.release()}`,
          loadAverageAtStart: load0, loadAverageAtEnd: load1,
        },
        options: { n, warmup, kinds: wanted },
        cpuIncludes: cpuNote,
        functionColdStarts: coldStarts,
        rows,
      }, null, 2) + '\n');
      console.log(`Figures: ${path.relative(process.cwd(), outFile) || outFile}`);
    }
  } finally {
    ddb.destroy();
    lambda.destroy();
    apigw.destroy();
    bareDdb?.destroy();
    const server = bare?.server;
    if (server) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    await stack.stop();
  }
});
