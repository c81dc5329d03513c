import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvokeCommand, LambdaClient, PutFunctionEventInvokeConfigCommand } from '@aws-sdk/client-lambda';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalStack } from '../../local/server';
import type { AsyncAttemptEvent, AsyncDiscardedEvent } from '../../local/lambda/async-queue';
import { clientConfig, collectEvents, createFunction, nextEvent, startQuietStack } from './helpers';

let stack: LocalStack;
let lambda: LambdaClient;
let dir: string;

// Fails until it has seen the same request id `FAILS` times, recording each attempt in a file named by the request id.
const FLAKY = `
const fs = require('node:fs');
const path = require('node:path');
exports.handler = async (event, context) => {
  const file = path.join(process.env.RECORD_DIR, context.awsRequestId);
  const seen = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\\n').filter(Boolean) : [];
  seen.push(context.awsRequestId);
  fs.writeFileSync(file, seen.join('\\n'));
  if (seen.length <= Number(process.env.FAILS)) throw new Error('attempt ' + seen.length + ' fails');
  return 'ok';
};`;

beforeAll(async () => {
  // Lambda spaces retries ~1 min then ~2 min; scaled to 60 ms and 120 ms here.
  ({ stack } = await startQuietStack({ retryScale: 0.001 }));
  lambda = new LambdaClient(clientConfig(stack));
  dir = mkdtempSync(join(tmpdir(), 'async-test-'));
});

afterAll(async () => {
  lambda?.destroy();
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('asynchronous invocation', () => {
  it('retries a failing event twice with the same request id', async () => {
    await createFunction(lambda, 'flaky', FLAKY, { Variables: { RECORD_DIR: dir, FAILS: '2' } });
    const attempts = collectEvents<AsyncAttemptEvent>(stack.events, 'async-attempt', 3, (e) => e.functionName === 'flaky');
    const out = await lambda.send(new InvokeCommand({ FunctionName: 'flaky', InvocationType: 'Event', Payload: Buffer.from('{"n":1}') }));
    expect(out.StatusCode).toBe(202);
    const requestId = out.$metadata.requestId ?? '';
    const seen = await attempts;
    expect(seen.map((a) => [a.attempt, a.ok, a.requestId])).toEqual([
      [1, false, requestId], [2, false, requestId], [3, true, requestId],
    ]);
    expect(seen[0]?.errorType).toBe('Error');
    expect(readFileSync(join(dir, requestId), 'utf8').split('\n')).toEqual([requestId, requestId, requestId]);
  });

  it('gives up after the retries and honours MaximumRetryAttempts 0', async () => {
    await createFunction(lambda, 'broken', FLAKY, { Variables: { RECORD_DIR: dir, FAILS: '99' } });
    const discarded = nextEvent<AsyncDiscardedEvent>(stack.events, 'async-discarded', (e) => e.functionName === 'broken');
    const first = await lambda.send(new InvokeCommand({ FunctionName: 'broken', InvocationType: 'Event' }));
    expect(await discarded).toEqual({ functionName: 'broken', requestId: first.$metadata.requestId, attempts: 3, reason: 'RetriesExhausted' });

    await lambda.send(new PutFunctionEventInvokeConfigCommand({ FunctionName: 'broken', MaximumRetryAttempts: 0 }));
    const once = nextEvent<AsyncDiscardedEvent>(stack.events, 'async-discarded', (e) => e.functionName === 'broken');
    const second = await lambda.send(new InvokeCommand({ FunctionName: 'broken', InvocationType: 'Event' }));
    expect(await once).toMatchObject({ requestId: second.$metadata.requestId, attempts: 1, reason: 'RetriesExhausted' });
    expect(readFileSync(join(dir, second.$metadata.requestId ?? ''), 'utf8').split('\n')).toHaveLength(1);
  });

  it('does not retry a timed-out event older than MaximumEventAgeInSeconds', async () => {
    await createFunction(lambda, 'sleepy', 'exports.handler = async () => { for (;;) {} };', { Timeout: 1 });
    // 60 s event age, scaled: 60 ms, shorter than the 1 s timeout, so no retry runs.
    await lambda.send(new PutFunctionEventInvokeConfigCommand({ FunctionName: 'sleepy', MaximumEventAgeInSeconds: 60 }));
    const attempt = nextEvent<AsyncAttemptEvent>(stack.events, 'async-attempt', (e) => e.functionName === 'sleepy');
    const dropped = nextEvent<AsyncDiscardedEvent>(stack.events, 'async-discarded', (e) => e.functionName === 'sleepy');
    await lambda.send(new InvokeCommand({ FunctionName: 'sleepy', InvocationType: 'Event' }));
    expect(await attempt).toMatchObject({ attempt: 1, ok: false, errorType: 'Sandbox.Timedout' });
    expect(await dropped).toMatchObject({ attempts: 1, reason: 'EventAgeExceeded' });
  });
});
