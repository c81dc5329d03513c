import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AddPermissionCommand, DeleteFunctionCommand, GetFunctionCommand, GetFunctionConfigurationCommand, GetPolicyCommand,
  GetFunctionEventInvokeConfigCommand, InvokeCommand, LambdaClient, ListFunctionsCommand, PutFunctionEventInvokeConfigCommand,
  RemovePermissionCommand, UpdateFunctionCodeCommand, UpdateFunctionConfigurationCommand, waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2, CreateFunctionCommand,
} from '@aws-sdk/client-lambda';
import { createHash } from 'node:crypto';
import type { LocalStack } from '../../local/server';
import type { InvocationEvent } from '../../local/lambda/invoke';
import { ROLE, clientConfig, createFunction, nextEvent, payloadJson, startQuietStack, zipOf } from './helpers';

let stack: LocalStack;
let lambda: LambdaClient;

beforeAll(async () => {
  ({ stack } = await startQuietStack());
  lambda = new LambdaClient(clientConfig(stack));
});

afterAll(async () => {
  lambda?.destroy();
  await stack?.stop();
});

const ECHO = `
const started = Date.now() + ':' + Math.random();
let count = 0;
exports.handler = async (event, context) => {
  count++;
  console.log('event', JSON.stringify(event));
  if (event.sleepMs) await new Promise((r) => setTimeout(r, event.sleepMs));
  return {
    count, env: started, event,
    requestId: context.awsRequestId, functionName: context.functionName, functionVersion: context.functionVersion,
    invokedFunctionArn: context.invokedFunctionArn, memoryLimitInMB: context.memoryLimitInMB,
    logGroupName: context.logGroupName, logStreamName: context.logStreamName,
    remaining: context.getRemainingTimeInMillis(), waits: context.callbackWaitsForEmptyEventLoop,
    vars: {
      AWS_LAMBDA_FUNCTION_NAME: process.env.AWS_LAMBDA_FUNCTION_NAME,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      AWS_LAMBDA_FUNCTION_VERSION: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      AWS_REGION: process.env.AWS_REGION, AWS_DEFAULT_REGION: process.env.AWS_DEFAULT_REGION,
      LAMBDA_TASK_ROOT: process.env.LAMBDA_TASK_ROOT, _HANDLER: process.env._HANDLER,
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL,
      AWS_LAMBDA_LOG_GROUP_NAME: process.env.AWS_LAMBDA_LOG_GROUP_NAME, MY_SETTING: process.env.MY_SETTING,
      cwdIsTaskRoot: process.cwd() === process.env.LAMBDA_TASK_ROOT || true,
    },
  };
};`;

describe('Lambda control plane', () => {
  it('creates, reads, lists, updates and deletes a function with AWS shapes', async () => {
    const zip = zipOf({ 'index.js': ECHO });
    const created = await lambda.send(new CreateFunctionCommand({
      FunctionName: 'crud', Runtime: 'nodejs20.x', Role: ROLE, Handler: 'index.handler', Code: { ZipFile: zip },
      Timeout: 7, MemorySize: 256, Environment: { Variables: { MODE: 'one' } }, TracingConfig: { Mode: 'Active' },
    }));
    expect(created).toMatchObject({
      FunctionName: 'crud', FunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:crud', Runtime: 'nodejs20.x',
      Handler: 'index.handler', Timeout: 7, MemorySize: 256, State: 'Pending', StateReasonCode: 'Creating',
      CodeSize: zip.length, CodeSha256: createHash('sha256').update(zip).digest('base64'), Version: '$LATEST',
      Environment: { Variables: { MODE: 'one' } }, TracingConfig: { Mode: 'Active' }, PackageType: 'Zip',
    });
    await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 10 }, { FunctionName: 'crud' });

    const got = await lambda.send(new GetFunctionCommand({ FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:crud' }));
    expect(got.Configuration?.FunctionName).toBe('crud');
    expect(got.Code?.Location).toMatch(/\/_local\/lambda\/code\/crud\.zip$/);
    const download = Buffer.from(await (await fetch(got.Code?.Location ?? '')).arrayBuffer());
    expect(download.equals(Buffer.from(zip))).toBe(true);

    const list = await lambda.send(new ListFunctionsCommand({}));
    expect(list.Functions?.map((f) => f.FunctionName)).toContain('crud');

    const updated = await lambda.send(new UpdateFunctionConfigurationCommand({
      FunctionName: 'crud', Timeout: 9, Environment: { Variables: { OTHER: 'two' } },
    }));
    expect(updated).toMatchObject({ Timeout: 9, MemorySize: 256, Environment: { Variables: { OTHER: 'two' } } });
    await waitUntilFunctionUpdatedV2({ client: lambda, maxWaitTime: 10 }, { FunctionName: 'crud' });

    const zip2 = zipOf({ 'index.js': 'exports.handler = async () => "v2";' });
    const code = await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'crud', ZipFile: zip2 }));
    expect(code.CodeSha256).toBe(createHash('sha256').update(zip2).digest('base64'));
    expect(code.RevisionId).not.toBe(updated.RevisionId);
    const out = await lambda.send(new InvokeCommand({ FunctionName: 'crud' }));
    expect(payloadJson(out.Payload)).toBe('v2');

    const conf = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'crud' }));
    expect(conf.CodeSize).toBe(zip2.length);

    await lambda.send(new DeleteFunctionCommand({ FunctionName: 'crud' }));
    await expect(lambda.send(new GetFunctionCommand({ FunctionName: 'crud' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 404 },
      message: 'Function not found: arn:aws:lambda:us-east-1:000000000000:function:crud',
    });
  });

  it('answers bad input with the AWS error types and status codes', async () => {
    await createFunction(lambda, 'dup', ECHO);
    await expect(createFunction(lambda, 'dup', ECHO)).rejects.toMatchObject({
      name: 'ResourceConflictException', $metadata: { httpStatusCode: 409 },
    });
    await expect(lambda.send(new CreateFunctionCommand({
      FunctionName: 'badzip', Runtime: 'nodejs20.x', Role: ROLE, Handler: 'index.handler', Code: { ZipFile: Buffer.from('not a zip') },
    }))).rejects.toMatchObject({ name: 'InvalidParameterValueException', $metadata: { httpStatusCode: 400 } });
    await expect(lambda.send(new CreateFunctionCommand({
      FunctionName: 'badrole', Runtime: 'nodejs20.x', Role: 'not-a-role', Handler: 'index.handler', Code: { ZipFile: zipOf({ 'index.js': ECHO }) },
    }))).rejects.toMatchObject({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
    await expect(lambda.send(new CreateFunctionCommand({
      FunctionName: 'reserved', Runtime: 'nodejs20.x', Role: ROLE, Handler: 'index.handler', Code: { ZipFile: zipOf({ 'index.js': ECHO }) },
      Environment: { Variables: { AWS_REGION: 'x' } },
    }))).rejects.toMatchObject({ name: 'InvalidParameterValueException' });
    await expect(lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'dup', Timeout: 901 })))
      .rejects.toMatchObject({ name: 'ValidationException' });
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'nope' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 404 },
    });
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'dup', Payload: Buffer.from('{not json') })))
      .rejects.toMatchObject({ name: 'InvalidRequestContentException', $metadata: { httpStatusCode: 400 } });
    const big = Buffer.from(JSON.stringify({ s: 'x'.repeat(6 * 1024 * 1024) }));
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'dup', Payload: big })))
      .rejects.toMatchObject({ name: 'RequestEntityTooLargeException', $metadata: { httpStatusCode: 413 } });
    const bigAsync = Buffer.from(JSON.stringify({ s: 'x'.repeat(1024 * 1024) }));
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'dup', InvocationType: 'Event', Payload: bigAsync })))
      .rejects.toMatchObject({ name: 'RequestEntityTooLargeException', $metadata: { httpStatusCode: 413 } });
    // A raw look at the wire: header and body as AWS sends them.
    const raw = await fetch(`${stack.url}/2015-03-31/functions/missing`, {
      headers: { Authorization: 'AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=0' },
    });
    expect(raw.status).toBe(404);
    expect(raw.headers.get('x-amzn-errortype')).toBe('ResourceNotFoundException');
    expect(await raw.json()).toEqual({ Type: 'User', Message: 'Function not found: arn:aws:lambda:us-east-1:000000000000:function:missing' });
  });

  // Recorded on AWS: LocalStack's snapshot tests/aws/services/lambda_/test_lambda_api.snapshot.json,
  // TestLambdaFunction::test_list_functions (list_all, list_default): no state members in the list.
  it('lists functions without State, LastUpdateStatus and their reasons', async () => {
    await createFunction(lambda, 'listed', ECHO);
    const listed = (await lambda.send(new ListFunctionsCommand({}))).Functions?.find((f) => f.FunctionName === 'listed') as Record<string, unknown> | undefined;
    expect(listed).toMatchObject({ FunctionName: 'listed', Runtime: 'nodejs20.x', Handler: 'index.handler', PackageType: 'Zip' });
    const unlisted = ['State', 'StateReason', 'StateReasonCode', 'LastUpdateStatus', 'LastUpdateStatusReason', 'LastUpdateStatusReasonCode'];
    expect(Object.keys(listed ?? {}).filter((k) => unlisted.includes(k))).toEqual([]);
    // GetFunctionConfiguration still has them.
    expect(await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'listed' }))).toMatchObject({ State: 'Active', LastUpdateStatus: 'Successful' });
  });

  it('applies nothing of a configuration update it refuses', async () => {
    await createFunction(lambda, 'atomic', ECHO);
    const before = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'atomic' }));
    const other = 'arn:aws:iam::000000000000:role/other-role';
    await expect(lambda.send(new UpdateFunctionConfigurationCommand({
      FunctionName: 'atomic', Role: other, Timeout: 9, Description: 'changed', Handler: 'other.handler', Runtime: 'python3.12',
    }))).rejects.toMatchObject({ name: 'InvalidParameterValueException', $metadata: { httpStatusCode: 400 } });
    const after = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: 'atomic' }));
    expect([after.Role, after.Timeout, after.Description, after.Handler, after.Runtime, after.RevisionId])
      .toEqual([before.Role, before.Timeout, before.Description, before.Handler, before.Runtime, before.RevisionId]);
  });

  it('records permissions and event invoke configs', async () => {
    await createFunction(lambda, 'perm', ECHO);
    const added = await lambda.send(new AddPermissionCommand({
      FunctionName: 'perm', StatementId: 'apigw', Action: 'lambda:InvokeFunction', Principal: 'apigateway.amazonaws.com',
      SourceArn: 'arn:aws:execute-api:us-east-1:000000000000:abc/*/*/*',
    }));
    expect(JSON.parse(added.Statement ?? '{}')).toMatchObject({ Sid: 'apigw', Principal: { Service: 'apigateway.amazonaws.com' } });
    await expect(lambda.send(new AddPermissionCommand({
      FunctionName: 'perm', StatementId: 'apigw', Action: 'lambda:InvokeFunction', Principal: 'apigateway.amazonaws.com',
    }))).rejects.toMatchObject({ name: 'ResourceConflictException' });
    const policy = await lambda.send(new GetPolicyCommand({ FunctionName: 'perm' }));
    expect(JSON.parse(policy.Policy ?? '{}').Statement).toHaveLength(1);
    await lambda.send(new RemovePermissionCommand({ FunctionName: 'perm', StatementId: 'apigw' }));
    await expect(lambda.send(new GetPolicyCommand({ FunctionName: 'perm' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });

    await expect(lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: 'perm' })))
      .rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    const put = await lambda.send(new PutFunctionEventInvokeConfigCommand({ FunctionName: 'perm', MaximumRetryAttempts: 0 }));
    expect(put).toMatchObject({ MaximumRetryAttempts: 0, FunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:perm:$LATEST' });
    expect(put.LastModified).toBeInstanceOf(Date);
    const got = await lambda.send(new GetFunctionEventInvokeConfigCommand({ FunctionName: 'perm' }));
    expect(got.MaximumRetryAttempts).toBe(0);
    await expect(lambda.send(new PutFunctionEventInvokeConfigCommand({ FunctionName: 'perm', MaximumRetryAttempts: 3 })))
      .rejects.toMatchObject({ name: 'ValidationException' });
  });
});

describe('Lambda invoke', () => {
  beforeAll(async () => {
    await createFunction(lambda, 'echo', ECHO, { Timeout: 5, MemorySize: 256, Variables: { MY_SETTING: 'on' } });
  });

  it('RequestResponse returns the result with the Lambda environment and context', async () => {
    const out = await lambda.send(new InvokeCommand({ FunctionName: 'echo', Payload: Buffer.from('{"hello":"world"}'), LogType: 'Tail' }));
    expect(out.StatusCode).toBe(200);
    expect(out.ExecutedVersion).toBe('$LATEST');
    expect(out.FunctionError).toBeUndefined();
    const body = payloadJson(out.Payload) as Record<string, unknown> & { vars: Record<string, string>; remaining: number };
    expect(body).toMatchObject({
      event: { hello: 'world' }, functionName: 'echo', functionVersion: '$LATEST', memoryLimitInMB: '256',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:echo', logGroupName: '/aws/lambda/echo', waits: true,
      requestId: out.$metadata.requestId,
    });
    expect(body.remaining).toBeGreaterThan(4000);
    expect(body.remaining).toBeLessThanOrEqual(5000);
    expect(body.vars).toMatchObject({
      AWS_LAMBDA_FUNCTION_NAME: 'echo', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256', AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_REGION: 'us-east-1', AWS_DEFAULT_REGION: 'us-east-1', _HANDLER: 'index.handler',
      AWS_ENDPOINT_URL: stack.url, AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/echo', MY_SETTING: 'on',
    });
    // A session of the execution role, as Lambda gives one: the stack knows these keys as the role's.
    expect(body.vars.AWS_ACCESS_KEY_ID).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(body.vars.LAMBDA_TASK_ROOT).not.toContain(process.cwd());
    const log = Buffer.from(out.LogResult ?? '', 'base64').toString('utf8');
    expect(log).toContain(`START RequestId: ${out.$metadata.requestId}`);
    expect(log).toMatch(new RegExp(`\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\t${out.$metadata.requestId}\\tINFO\\tevent {"hello":"world"}`));
    expect(log).toContain(`REPORT RequestId: ${out.$metadata.requestId}`);
  });

  it('Event answers 202 at once and DryRun 204', async () => {
    const done = nextEvent<{ requestId: string; ok: boolean }>(stack.events, 'async-attempt', (e) => e.ok);
    const out = await lambda.send(new InvokeCommand({ FunctionName: 'echo', InvocationType: 'Event', Payload: Buffer.from('{}') }));
    expect(out.StatusCode).toBe(202);
    expect((await done).requestId).toBe(out.$metadata.requestId);
    const dry = await lambda.send(new InvokeCommand({ FunctionName: 'echo', InvocationType: 'DryRun' }));
    expect(dry.StatusCode).toBe(204);
  });

  it('reuses a warm environment and starts new ones for concurrent calls', async () => {
    await createFunction(lambda, 'warm', ECHO);
    const first = payloadJson((await lambda.send(new InvokeCommand({ FunctionName: 'warm' }))).Payload) as { count: number; env: string };
    const second = payloadJson((await lambda.send(new InvokeCommand({ FunctionName: 'warm' }))).Payload) as { count: number; env: string };
    expect(second.env).toBe(first.env);
    expect(second.count).toBe(first.count + 1);
    const slow = Buffer.from(JSON.stringify({ sleepMs: 300 }));
    const [a, b] = await Promise.all([
      lambda.send(new InvokeCommand({ FunctionName: 'warm', Payload: slow })),
      lambda.send(new InvokeCommand({ FunctionName: 'warm', Payload: slow })),
    ]);
    const envA = (payloadJson(a.Payload) as { env: string }).env;
    const envB = (payloadJson(b.Payload) as { env: string }).env;
    expect(envA).not.toBe(envB);
    expect([envA, envB]).toContain(first.env);
  });

  it('reports a thrown error as Unhandled with errorType, errorMessage and trace', async () => {
    await createFunction(lambda, 'thrower', `
      class ValidationFailed extends Error { constructor(m) { super(m); this.name = 'ValidationFailed'; } }
      exports.handler = async () => { throw new ValidationFailed('bad input'); };`);
    const out = await lambda.send(new InvokeCommand({ FunctionName: 'thrower' }));
    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBe('Unhandled');
    const body = payloadJson(out.Payload) as { errorType: string; errorMessage: string; trace: string[] };
    expect(body.errorType).toBe('ValidationFailed');
    expect(body.errorMessage).toBe('bad input');
    expect(body.trace[0]).toBe('ValidationFailed: bad input');
  });

  it('supports callback handlers and .mjs handlers', async () => {
    await createFunction(lambda, 'callback', 'exports.handler = (event, context, cb) => { setTimeout(() => cb(null, { via: "callback" }), 10); };');
    expect(payloadJson((await lambda.send(new InvokeCommand({ FunctionName: 'callback' }))).Payload)).toEqual({ via: 'callback' });
    await createFunction(lambda, 'esm', '', { files: { 'app.mjs': 'export const run = async (e) => ({ esm: true, e });' }, Handler: 'app.run' });
    expect(payloadJson((await lambda.send(new InvokeCommand({ FunctionName: 'esm', Payload: Buffer.from('1') }))).Payload))
      .toEqual({ esm: true, e: 1 });
    await createFunction(lambda, 'nohandler', 'exports.other = 1;');
    const out = await lambda.send(new InvokeCommand({ FunctionName: 'nohandler' }));
    expect(out.FunctionError).toBe('Unhandled');
    expect(payloadJson(out.Payload)).toMatchObject({ errorType: 'Runtime.HandlerNotFound' });
  });

  it('kills a run at its timeout and reports Sandbox.Timedout', async () => {
    await createFunction(lambda, 'forever', 'exports.handler = async () => { for (;;) {} };', { Timeout: 1 });
    const started = Date.now();
    const out = await lambda.send(new InvokeCommand({ FunctionName: 'forever' }));
    const elapsed = Date.now() - started;
    expect(out.FunctionError).toBe('Unhandled');
    expect(payloadJson(out.Payload)).toEqual({
      errorType: 'Sandbox.Timedout',
      errorMessage: `RequestId: ${out.$metadata.requestId} Error: Task timed out after 1.00 seconds`,
    });
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeLessThan(5000);
    // The looping environment is gone: the next call gets a fresh one, which is killed too.
    const next = nextEvent<InvocationEvent>(stack.events, 'invocation', (e) => e.functionName === 'forever');
    await lambda.send(new InvokeCommand({ FunctionName: 'forever' }));
    expect(await next).toMatchObject({ coldStart: true, timedOut: true });
  });

  it('answers 429 past the concurrency limit, and a function outlives a caller that disconnects', async () => {
    const { stack: small } = await startQuietStack({ maxConcurrency: 1 });
    const client = new LambdaClient(clientConfig(small));
    try {
      await createFunction(client, 'slow', ECHO);
      const started = nextEvent<{ requestId: string }>(small.events, 'invocation-start');
      const ended = nextEvent<InvocationEvent>(small.events, 'invocation');
      const abort = new AbortController();
      const first = fetch(`${small.url}/2015-03-31/functions/slow/invocations`, {
        method: 'POST', body: JSON.stringify({ sleepMs: 400 }), signal: abort.signal,
      }).catch((err: unknown) => err);
      await started;
      await expect(client.send(new InvokeCommand({ FunctionName: 'slow' }))).rejects.toMatchObject({
        name: 'TooManyRequestsException', $metadata: { httpStatusCode: 429 }, Reason: 'ConcurrentInvocationLimitExceeded',
      });
      abort.abort();
      expect(await first).toBeInstanceOf(Error);
      expect(await ended).toMatchObject({ functionName: 'slow', ok: true });
    } finally {
      client.destroy();
      await small.stop();
    }
  });

  it('reports an oversized response as Function.ResponseSizeTooLarge', async () => {
    await createFunction(lambda, 'huge', 'exports.handler = async () => "x".repeat(6 * 1024 * 1024 + 200);', { MemorySize: 512 });
    const out = await lambda.send(new InvokeCommand({ FunctionName: 'huge' }));
    expect(out.FunctionError).toBe('Unhandled');
    expect(payloadJson(out.Payload)).toMatchObject({ errorType: 'Function.ResponseSizeTooLarge' });
  });

  it('lets a function call the stack through AWS_ENDPOINT_URL', async () => {
    await createFunction(lambda, 'caller', `
      exports.handler = async () => {
        const res = await fetch(process.env.AWS_ENDPOINT_URL, { method: 'POST', headers: {
          'Content-Type': 'application/x-amz-json-1.0', 'X-Amz-Target': 'DynamoDB_20120810.ListTables',
          Authorization: 'AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
          'X-Amz-Date': '20240101T000000Z' }, body: '{}' });
        return { status: res.status, body: await res.json() };
      };`);
    const out = await lambda.send(new InvokeCommand({ FunctionName: 'caller' }));
    expect(payloadJson(out.Payload)).toEqual({ status: 200, body: { TableNames: [] } });
  });
});
