// Lambda's function states, as recorded on AWS (LocalStack's parity snapshot
// tests/aws/services/lambda_/test_lambda_api.snapshot.json): TestLambdaFunction::test_function_lifecycle
// (CreateFunction answers State Pending, "The function is being created.", Creating; the updates
// answer LastUpdateStatus InProgress; GetFunction later says Active and Successful) and
// TestLambdaFunction::test_lambda_concurrent_code_updates / test_lambda_concurrent_config_updates
// (a second update meanwhile: 409 ResourceConflictException, "An update is in progress for resource").
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CreateFunctionCommand, GetFunctionCommand, InvokeCommand, LambdaClient, UpdateFunctionCodeCommand, UpdateFunctionConfigurationCommand,
  waitUntilFunctionActiveV2, waitUntilFunctionUpdatedV2,
} from '@aws-sdk/client-lambda';
import type { LocalStack } from '../../local/server';
import { clientConfig, nextEvent, ROLE, startQuietStack, zipOf } from './helpers';

let stack: LocalStack;
let lambda: LambdaClient;
const code = (answer: string): Uint8Array => zipOf({ 'index.js': `exports.handler = async () => (${answer});` });
const settled = (name: string): Promise<unknown> => nextEvent<{ functionName: string }>(stack.events, 'function-settled', (e) => e.functionName === name);

beforeAll(async () => {
  ({ stack } = await startQuietStack({ lambdaStateDelayMs: 300 }));
  lambda = new LambdaClient(clientConfig(stack));
});

afterAll(async () => {
  lambda?.destroy();
  await stack?.stop();
});

describe('Lambda function states', () => {
  it('creates a function Pending, refuses to invoke or update it meanwhile, then makes it Active', async () => {
    const done = settled('states-a');
    const created = await lambda.send(new CreateFunctionCommand({
      FunctionName: 'states-a', Runtime: 'nodejs20.x', Role: ROLE, Handler: 'index.handler', Code: { ZipFile: code('1') },
    }));
    expect(created).toMatchObject({ State: 'Pending', StateReason: 'The function is being created.', StateReasonCode: 'Creating' });
    expect(created.LastUpdateStatus).toBeUndefined();
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'states-a' }))).rejects.toMatchObject({
      name: 'ResourceConflictException', $metadata: { httpStatusCode: 409 },
      message: 'The operation cannot be performed at this time. The function is currently in the following state: Pending',
    });
    await expect(lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'states-a', Timeout: 5 }))).rejects.toMatchObject({
      name: 'ResourceConflictException',
      message: `The operation cannot be performed at this time. An update is in progress for resource: ${created.FunctionArn}`,
    });
    await done;
    const fn = await lambda.send(new GetFunctionCommand({ FunctionName: 'states-a' }));
    expect(fn.Configuration).toMatchObject({ State: 'Active', LastUpdateStatus: 'Successful' });
    expect(fn.Configuration?.StateReason).toBeUndefined();
    const invoked = await lambda.send(new InvokeCommand({ FunctionName: 'states-a' }));
    expect(Buffer.from(invoked.Payload ?? new Uint8Array()).toString()).toBe('1');
  });

  it('answers an update InProgress, refuses a second one meanwhile, keeps invoking, then says Successful', async () => {
    const first = settled('states-b');
    await lambda.send(new CreateFunctionCommand({ FunctionName: 'states-b', Runtime: 'nodejs20.x', Role: ROLE, Handler: 'index.handler', Code: { ZipFile: code('1') } }));
    await first;
    const done = settled('states-b');
    const updated = await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'states-b', ZipFile: code('2') }));
    expect(updated).toMatchObject({
      State: 'Active', LastUpdateStatus: 'InProgress', LastUpdateStatusReason: 'The function is being created.', LastUpdateStatusReasonCode: 'Creating',
    });
    await expect(lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'states-b', ZipFile: code('3') }))).rejects.toMatchObject({
      name: 'ResourceConflictException', $metadata: { httpStatusCode: 409 },
    });
    // An update in progress does not stop invocations.
    expect((await lambda.send(new InvokeCommand({ FunctionName: 'states-b' }))).StatusCode).toBe(200);
    await done;
    const fn = await lambda.send(new GetFunctionCommand({ FunctionName: 'states-b' }));
    expect(fn.Configuration).toMatchObject({ State: 'Active', LastUpdateStatus: 'Successful' });
    expect(fn.Configuration?.LastUpdateStatusReason).toBeUndefined();
    expect(Buffer.from((await lambda.send(new InvokeCommand({ FunctionName: 'states-b' }))).Payload ?? new Uint8Array()).toString()).toBe('2');
  });

  it('lets the SDK\'s waiters wait for a creation and an update, as the deploy script does', async () => {
    await lambda.send(new CreateFunctionCommand({ FunctionName: 'states-c', Runtime: 'nodejs20.x', Role: ROLE, Handler: 'index.handler', Code: { ZipFile: code('1') } }));
    const active = await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 20, minDelay: 1, maxDelay: 1 }, { FunctionName: 'states-c' });
    expect(active.state).toBe('SUCCESS');
    await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'states-c', Timeout: 7 }));
    const updated = await waitUntilFunctionUpdatedV2({ client: lambda, maxWaitTime: 20, minDelay: 1, maxDelay: 1 }, { FunctionName: 'states-c' });
    expect(updated.state).toBe('SUCCESS');
    expect((await lambda.send(new GetFunctionCommand({ FunctionName: 'states-c' }))).Configuration?.Timeout).toBe(7);
  });

  it('settles nothing after the stack stopped', async () => {
    const { stack: short } = await startQuietStack({ lambdaStateDelayMs: 150 });
    const client = new LambdaClient(clientConfig(short));
    const seen: unknown[] = [];
    short.events.on('function-settled', (e) => seen.push(e));
    await client.send(new CreateFunctionCommand({ FunctionName: 'states-d', Runtime: 'nodejs20.x', Role: ROLE, Handler: 'index.handler', Code: { ZipFile: code('1') } }));
    client.destroy();
    await short.stop();
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(seen).toEqual([]);
  });
});
