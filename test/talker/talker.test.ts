import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkMainResponse, classifyMainAnswer, createTalker, failureFromFunctionError, MAX_RETURNED_RESPONSE_BYTES } from '../../talker/talker';
import { loadTalkerConfig } from '../../core/config';
import { StoreUnavailableError, type TaskStore } from '../../core/task-store';
import { silentLogger, type KitLogger } from '../../core/logger';
import { MemoryTaskStore } from '../../core/memory-task-store';
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
    expect(classifyMainAnswer({ payload: json({ hello: 1 }) }, '1.0', limits)).toMatchObject({ kind: 'failure', failure: { kind: 'MALFORMED_RESPONSE', message: expect.stringContaining('"hello"') as unknown } });
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
  // REST (1.0) facts recorded on AWS: LocalStack's parity snapshot
  // tests/aws/services/apigateway/test_apigateway_lambda.snapshot.json,
  // test_aws_proxy_response_payload_format_validation (invoke-api-wrong-format: an extra member
  // gives 502; invoke-api-status-code-str: "201" works; invoke-api-only-headers: no statusCode
  // gives 200; invoke-api-invalid-status-code, invoke-api-multi-headers-invalid,
  // invoke-api-just-string: 502).
  it.each([
    ['{"statusCode":200,"body":"x","headers":{}}'],
    ['{"statusCode":"201"}'],
    ['{"headers":{"test-header":"value"}}'],
    ['{"statusCode":200,"headers":null,"multiValueHeaders":{"a":["1","2"]},"isBase64Encoded":false}'],
    ['{"statusCode":200,"headers":{"header-bool":true}}'],
  ])('accepts %s for a REST API, as AWS does', (text) => {
    expect(checkMainResponse(text, '1.0')).toBeUndefined();
  });

  it.each([
    ['"justAString"', 'the response is not an object'],
    ['{"statusCode":200,"wrongValue":"value"}', 'it has the member "wrongValue", which a REST API does not accept (only statusCode, headers, multiValueHeaders, body, isBase64Encoded; API Gateway answers 502)'],
    ['{"statusCode":200,"cookies":["a=1"]}', 'it has the member "cookies", which a REST API does not accept (only statusCode, headers, multiValueHeaders, body, isBase64Encoded; API Gateway answers 502)'],
    ['{"statusCode":"test"}', 'statusCode "test" is not an HTTP status from 200 to 599'],
    ['{"statusCode":100}', 'statusCode 100 is not an HTTP status from 200 to 599'],
    ['{"statusCode":200,"multiValueHeaders":{"test-multi-invalid":"value1"}}', 'multiValueHeaders.test-multi-invalid is not a list of values'],
    ['{"statusCode":200,"body":{"a":1}}', 'body is not a string'],
    ['{"statusCode":200,"headers":[1]}', 'headers is not an object'],
    ['{"statusCode":200,"headers":{"set-cookie":["a","b"]}}', 'headers.set-cookie is not a single value (use multiValueHeaders for several)'],
    ['{"statusCode":200,"isBase64Encoded":"yes"}', 'isBase64Encoded is not a boolean'],
    ['not json', 'the response is not JSON'],
  ])('refuses %s for a REST API, naming what is wrong', (text, reason) => {
    expect(checkMainResponse(text, '1.0')).toBe(reason);
  });

  it('accepts any JSON short form for an HTTP API, which infers the response itself', () => {
    expect(checkMainResponse('"hello"', '2.0')).toBeUndefined();
    expect(checkMainResponse('{"a":1}', '2.0')).toBeUndefined();
    expect(checkMainResponse('{"statusCode":201,"cookies":["a=1"],"body":"x","extra":1}', '2.0')).toBeUndefined();
  });

  it.each([
    ['{"statusCode":"abc"}', 'statusCode "abc" is not an HTTP status from 200 to 599'],
    ['{"statusCode":200,"headers":{"set-cookie":["a","b"]}}', 'headers.set-cookie is not a single value (use cookies for several Set-Cookie)'],
    ['{"statusCode":200,"cookies":"a=1"}', 'cookies is not a list of strings'],
    ['{"statusCode":200,"body":{"a":1}}', 'body is not a string'],
    ['not json', 'the response is not JSON'],
  ])('refuses %s for an HTTP API, as its answer would be 500', (text, reason) => {
    expect(checkMainResponse(text, '2.0')).toBe(reason);
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

  it('returns Main\'s response only to a Proxy that asked (returnResult), after storing it, and never logs it', async () => {
    const secret = 'the-callers-own-data-7f3a';
    const lines: Array<Record<string, unknown>> = [];
    const capture = (message: string, fields?: Record<string, unknown>) => lines.push({ message, ...fields });
    const logger: KitLogger = { info: capture, warn: capture, error: capture };
    const lambda = new InProcessLambda().register('main', () => ({ statusCode: 200, body: secret }));
    const store = new MemoryTaskStore();
    const talker = createTalker({ config, store, invoker: lambda, logger });
    const run = async (requestId: string, returnResult: boolean) => {
      const now = Date.now();
      await store.createTask({ requestId, createdAt: now, pendingDeadline: now + 60_000, expiresAt: Math.floor(now / 1000) + 600, tokenHash: 'h' });
      return talker({ requestId, event: {}, inlineResult: true, ...(returnResult && { returnResult: true }) }, context);
    };
    const asked = await run('3f1c2b9e-8d7a-4c6b-9e5f-1a2b3c4d5e60', true);
    expect(asked).toMatchObject({ outcome: 'CREATED', response: JSON.stringify({ statusCode: 200, body: secret }), resultInline: true });
    // Stored with the status (a small result), before the answer.
    expect((await store.readStatus('3f1c2b9e-8d7a-4c6b-9e5f-1a2b3c4d5e60', Date.now()))?.result).toBeDefined();
    const queued = await run('3f1c2b9e-8d7a-4c6b-9e5f-1a2b3c4d5e61', false);
    expect(queued.outcome).toBe('CREATED');
    expect(queued).not.toHaveProperty('response');
    expect(lines.filter((line) => line['message'] === 'talker finished')).toHaveLength(2);
    expect(JSON.stringify(lines)).not.toContain(secret);
  });

  it('keeps a small result with the status only for a Proxy that reads it there (inlineResult), and only up to INLINE_RESULT_MAX_BYTES', async () => {
    const lambda = new InProcessLambda().register('main', () => ({ statusCode: 200, body: 'small' }));
    const store = new MemoryTaskStore();
    const run = async (requestId: string, payload: Record<string, unknown>, env: Record<string, string> = {}) => {
      const talker = createTalker({ config: loadTalkerConfig({ DYNAMODB_TABLE_NAME: 't', MAIN_LAMBDA_NAME: 'main', ...env }), store, invoker: lambda, logger: silentLogger });
      const now = Date.now();
      await store.createTask({ requestId, createdAt: now, pendingDeadline: now + 60_000, expiresAt: Math.floor(now / 1000) + 600, tokenHash: 'h' });
      const outcome = await talker({ requestId, event: {}, ...payload }, context);
      const view = await store.readStatus(requestId, Date.now());
      return { outcome, inStatus: view?.result !== undefined, apart: (await store.readResult(requestId)) !== undefined };
    };
    expect(await run('3f1c2b9e-8d7a-4c6b-9e5f-1a2b3c4d5e70', { inlineResult: true })).toMatchObject({ outcome: { resultInline: true }, inStatus: true, apart: false });
    // A payload from an older Proxy, which reads only a result stored apart.
    expect(await run('3f1c2b9e-8d7a-4c6b-9e5f-1a2b3c4d5e71', {})).toMatchObject({ outcome: { resultInline: false }, inStatus: false, apart: true });
    expect(await run('3f1c2b9e-8d7a-4c6b-9e5f-1a2b3c4d5e72', { inlineResult: true }, { INLINE_RESULT_MAX_BYTES: '0' })).toMatchObject({ outcome: { resultInline: false }, inStatus: false, apart: true });
    expect(await run('3f1c2b9e-8d7a-4c6b-9e5f-1a2b3c4d5e73', { inlineResult: true }, { INLINE_RESULT_MAX_BYTES: '10' })).toMatchObject({ outcome: { resultInline: false }, inStatus: false, apart: true });
  });

  it('leaves out a response too large for Lambda\'s synchronous answer: the Proxy reads it from the table', async () => {
    // 6.1 MB of one letter: Main may return it, a row holds it compressed, the Talker's answer cannot carry it.
    const body = 'a'.repeat(6_100_000);
    const lambda = new InProcessLambda().register('main', () => ({ statusCode: 200, body }));
    const store = new MemoryTaskStore();
    const talker = createTalker({ config, store, invoker: lambda, logger: silentLogger });
    const requestId = '3f1c2b9e-8d7a-4c6b-9e5f-1a2b3c4d5e62';
    const now = Date.now();
    await store.createTask({ requestId, createdAt: now, pendingDeadline: now + 60_000, expiresAt: Math.floor(now / 1000) + 600, tokenHash: 'h' });
    const outcome = await talker({ requestId, event: {}, returnResult: true }, context);
    expect(outcome).toMatchObject({ outcome: 'CREATED', resultBytes: 6_100_028, encoding: 'gzip', resultInline: false });
    expect(outcome).not.toHaveProperty('response');
    expect(await store.readResult(requestId)).toBeDefined();
    expect(MAX_RETURNED_RESPONSE_BYTES).toBeLessThan(6_291_556);
  });
});
