import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkMainResponse, classifyMainAnswer, createTalker, failureFromFunctionError } from '../../talker/talker';
import { loadTalkerConfig } from '../../core/config';
import { StoreUnavailableError, type TaskStore } from '../../core/task-store';
import { silentLogger } from '../../core/logger';
import { InProcessLambda } from '../support/in-process-lambda';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('classifyMainAnswer', () => {
  const limits = { compressAboveBytes: 100, maxResultBytes: 1000 };

  it('passes a refused invoke on as the failure it is, and sorts a function error', () => {
    expect(classifyMainAnswer({ kind: 'THROTTLED', message: 'Rate Exceeded' }, '1.0', limits)).toEqual({ kind: 'failure', failure: { kind: 'THROTTLED', message: 'Rate Exceeded' } });
    const timedOut = classifyMainAnswer({ payload: json({ errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 3.00 seconds' }), functionError: 'Unhandled' }, '1.0', limits);
    expect(timedOut).toMatchObject({ kind: 'failure', failure: { kind: 'MAIN_TIMEOUT' } });
  });

  it('refuses an answer API Gateway cannot use, by payload format', () => {
    expect(classifyMainAnswer({ payload: json({ hello: 1 }) }, '1.0', limits)).toMatchObject({ kind: 'failure', failure: { kind: 'MALFORMED_RESPONSE', message: expect.stringContaining('statusCode') as unknown } });
    expect(classifyMainAnswer({ payload: json({ hello: 1 }) }, '2.0', limits).kind).toBe('result');
  });

  it('encodes a result, compressed above the threshold, and refuses one too large even compressed', () => {
    const small = classifyMainAnswer({ payload: json({ statusCode: 200, body: 'ok' }) }, '1.0', limits);
    expect(small).toMatchObject({ kind: 'result', result: { encoding: 'identity' } });
    const large = classifyMainAnswer({ payload: json({ statusCode: 200, body: 'a'.repeat(500) }) }, '1.0', limits);
    expect(large).toMatchObject({ kind: 'result', result: { encoding: 'gzip' } });
    const tooLarge = classifyMainAnswer({ payload: json({ statusCode: 200, body: randomBytes(3000).toString('base64') }) }, '1.0', limits);
    expect(tooLarge).toMatchObject({ kind: 'failure', failure: { kind: 'RESULT_TOO_LARGE', message: expect.stringContaining('a task row holds at most 1000') as unknown } });
  });
});

describe('checkMainResponse', () => {
  it('accepts a REST proxy response with a numeric statusCode', () => {
    expect(checkMainResponse(JSON.stringify({ statusCode: 200, body: 'x', headers: {} }), '1.0')).toBeUndefined();
  });

  it.each([
    ['"just a string"', 'the response is not an object'],
    ['{"body":"x"}', 'statusCode is missing or not an HTTP status'],
    ['{"statusCode":"200"}', 'statusCode is missing or not an HTTP status'],
    ['{"statusCode":200,"body":{"a":1}}', 'body is not a string'],
    ['{"statusCode":200,"headers":[1]}', 'headers is not an object'],
    ['not json', 'the response is not JSON'],
  ])('refuses %s for a REST API', (text, reason) => {
    expect(checkMainResponse(text, '1.0')).toBe(reason);
  });

  it('accepts any JSON for an HTTP API, which infers the response itself', () => {
    expect(checkMainResponse('"hello"', '2.0')).toBeUndefined();
    expect(checkMainResponse('{"a":1}', '2.0')).toBeUndefined();
  });
});

describe('failureFromFunctionError', () => {
  it('tells a timeout from an error', () => {
    expect(failureFromFunctionError(json({ errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 3.00 seconds' })).kind).toBe('MAIN_TIMEOUT');
    expect(failureFromFunctionError(json({ errorMessage: '2026-01-01T00:00:00Z abc Task timed out after 3.00 seconds' })).kind).toBe('MAIN_TIMEOUT');
    expect(failureFromFunctionError(json({ errorType: 'TypeError', errorMessage: 'x is undefined' }))).toEqual({ kind: 'MAIN_ERROR', errorType: 'TypeError', message: 'x is undefined' });
    expect(failureFromFunctionError(Buffer.from('garbage')).kind).toBe('MAIN_ERROR');
  });
});

describe('the Talker', () => {
  const config = loadTalkerConfig({ DYNAMODB_TABLE_NAME: 't', MAIN_LAMBDA_NAME: 'main' });
  const context = { awsRequestId: 'a', getRemainingTimeInMillis: () => 10_000 };

  it('never throws, even when the store fails in every call, and does not run Main without a claim', async () => {
    const failing = new Proxy({}, { get: () => async () => { throw new StoreUnavailableError('down'); } }) as TaskStore;
    const lambda = new InProcessLambda().register('main', () => ({ statusCode: 200 }));
    const talker = createTalker({ config: { ...config }, store: failing, invoker: lambda, logger: silentLogger, clock: { now: () => 0, sleep: async () => undefined } });
    const outcome = await talker({ requestId: '3f1c2b9e-8d7a-4c6b-9e5f-1a2b3c4d5e6f', event: {} }, { ...context, getRemainingTimeInMillis: () => 0 });
    expect(outcome.outcome).toBe('SKIPPED');
    expect(lambda.countCalls('main')).toBe(0);
  });

  it('skips a payload that is not {requestId, event}', async () => {
    const lambda = new InProcessLambda();
    const talker = createTalker({ config, store: {} as TaskStore, invoker: lambda, logger: silentLogger });
    for (const payload of [null, 'x', { requestId: 'nope', event: {} }, { requestId: '3f1c2b9e-8d7a-4c6b-9e5f-1a2b3c4d5e6f' }]) {
      expect((await talker(payload, context)).outcome).toBe('SKIPPED');
    }
  });
});
