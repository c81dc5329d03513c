import { describe, expect, it } from 'vitest';
import { ConfigError, describeLinkProtection, loadProxyConfig, loadTalkerConfig } from '../../core/config';

const base = { DYNAMODB_TABLE_NAME: 'tasks', LAMBDA_TALKER_NAME: 'talker' };

describe('loadProxyConfig', () => {
  it('reads the original kit\'s variable names and fills safe defaults', () => {
    const config = loadProxyConfig({ ...base, STAGE_NAME: 'prod' });
    expect(config).toMatchObject({
      tableName: 'tasks',
      talkerFunctionName: 'talker',
      stageName: 'prod',
      waitMs: 25_000,
      safetyMarginMs: 2000,
      gatewayTimeoutMs: 29_000,
      poll: { initialDelayMs: 25, maxDelayMs: 220, factor: 1.5 },
      taskTtlSeconds: 3600,
      resultGraceSeconds: 60,
      showErrorDetails: false,
      browserHopsBeforePage: 15,
      maxAsyncPayloadBytes: 1_048_576,
      talkerInvocationType: 'RequestResponse',
    });
    expect(loadProxyConfig({ ...base, TALKER_INVOCATION_TYPE: 'event' }).talkerInvocationType).toBe('Event');
    expect(loadProxyConfig({ ...base, TALKER_INVOCATION_TYPE: 'REQUESTRESPONSE' }).talkerInvocationType).toBe('RequestResponse');
    expect(config.apiKey).toBeUndefined();
    expect(config.signingKey).toBeUndefined();
    expect(config.corsAllowOrigin).toBeUndefined();
  });

  it.each([
    [{ LAMBDA_TALKER_NAME: 't' }, 'DYNAMODB_TABLE_NAME is required but not set'],
    [{ DYNAMODB_TABLE_NAME: 't' }, 'LAMBDA_TALKER_NAME is required but not set'],
    [{ ...base, WAIT_SECONDS: '28' }, 'WAIT_SECONDS must be a number from 0 to 27 (GATEWAY_TIMEOUT_MS less SAFETY_MARGIN_MS), got "28"'],
    [{ ...base, GATEWAY_TIMEOUT_MS: '60000', WAIT_SECONDS: '59' }, 'WAIT_SECONDS must be a number from 0 to 58 (GATEWAY_TIMEOUT_MS less SAFETY_MARGIN_MS), got "59"'],
    [{ ...base, GATEWAY_TIMEOUT_MS: '900000' }, 'GATEWAY_TIMEOUT_MS must be a whole number from 1000 to 300000, got 900000'],
    [{ ...base, GATEWAY_TIMEOUT_MS: '5000', SAFETY_MARGIN_MS: '5000' }, 'SAFETY_MARGIN_MS must be below the time the Proxy may take to answer (5000 ms), got 5000'],
    [{ ...base, ENDPOINT_TYPE: 'global' }, 'ENDPOINT_TYPE must be one of REGIONAL, EDGE, PRIVATE, got "global"'],
    [{ ...base, WAIT_SECONDS: 'soon' }, 'WAIT_SECONDS must be a number'],
    [{ ...base, POLL_MAX_MS: '10', POLL_INITIAL_MS: '50' }, 'POLL_MAX_MS must not be below POLL_INITIAL_MS'],
    [{ ...base, SIGNING_SECRET: 'short' }, 'SIGNING_SECRET must be at least 32 characters long'],
    [{ ...base, CORS_ALLOW_ORIGIN: 'example.com/path' }, 'CORS_ALLOW_ORIGIN must be "*" or an origin'],
    [{ ...base, SHOW_ERROR_DETAILS: 'maybe' }, 'SHOW_ERROR_DETAILS must be true or false'],
    [{ ...base, BROWSER_HOPS_BEFORE_PAGE: '20' }, 'BROWSER_HOPS_BEFORE_PAGE must be a whole number from 0 to 19'],
    [{ ...base, TALKER_INVOCATION_TYPE: 'sync' }, 'TALKER_INVOCATION_TYPE must be one of RequestResponse, Event, got "sync"'],
    [{ ...base, IDEMPOTENCY_CALLER_HEADERS: 'x-tenant, bad header' }, 'IDEMPOTENCY_CALLER_HEADERS must be a comma-separated list of header names, got "bad header"'],
  ])('fails at cold start with a message naming the variable (%j)', (env, message) => {
    expect(() => loadProxyConfig(env)).toThrow(ConfigError);
    expect(() => loadProxyConfig(env)).toThrow(message);
  });

  it('lets the window follow a raised buffered integration timeout: at most the timeout less the margin, by default 2 s less', () => {
    expect(loadProxyConfig({ ...base, GATEWAY_TIMEOUT_MS: '300000' })).toMatchObject({ gatewayTimeoutMs: 300_000, waitMs: 296_000, transferMode: 'buffered' });
    expect(loadProxyConfig({ ...base, GATEWAY_TIMEOUT_MS: '300000', WAIT_SECONDS: '298' }).waitMs).toBe(298_000);
    // The stream's idle timeout does not bound a buffered answer.
    expect(loadProxyConfig({ ...base, GATEWAY_TIMEOUT_MS: '60000', STREAM_IDLE_TIMEOUT_MS: '10000' }).waitMs).toBe(56_000);
  });

  it('in stream mode, bounds the window by the integration timeout and by the idle timeout of the endpoint type', () => {
    const stream = { transferMode: 'stream' } as const;
    expect(loadProxyConfig(base, stream)).toMatchObject({ gatewayTimeoutMs: 29_000, streamIdleTimeoutMs: 300_000, endpointType: 'REGIONAL', waitMs: 25_000 });
    expect(loadProxyConfig({ ...base, GATEWAY_TIMEOUT_MS: '900000' }, stream)).toMatchObject({ waitMs: 296_000, streamIdleTimeoutMs: 300_000 });
    expect(loadProxyConfig({ ...base, GATEWAY_TIMEOUT_MS: '900000', ENDPOINT_TYPE: 'edge' }, stream)).toMatchObject({ endpointType: 'EDGE', streamIdleTimeoutMs: 30_000, waitMs: 26_000 });
    expect(loadProxyConfig({ ...base, GATEWAY_TIMEOUT_MS: '900000', ENDPOINT_TYPE: 'PRIVATE' }, stream).streamIdleTimeoutMs).toBe(300_000);
    expect(loadProxyConfig({ ...base, GATEWAY_TIMEOUT_MS: '900000', STREAM_IDLE_TIMEOUT_MS: '6000', SAFETY_MARGIN_MS: '1000' }, stream)).toMatchObject({ waitMs: 4500 });
    expect(() => loadProxyConfig({ ...base, GATEWAY_TIMEOUT_MS: '900000', WAIT_SECONDS: '299' }, stream))
      .toThrow('WAIT_SECONDS must be a number from 0 to 298 (the answer limit 300000 ms less SAFETY_MARGIN_MS), got "299"');
    expect(() => loadProxyConfig({ ...base, GATEWAY_TIMEOUT_MS: '900001' }, stream)).toThrow('GATEWAY_TIMEOUT_MS must be a whole number from 1000 to 900000');
  });

  it('derives nothing from API_KEY: links are signed only with SIGNING_SECRET', () => {
    expect(loadProxyConfig({ ...base, API_KEY: 'my-api-key' }).signingKey).toBeUndefined();
    const secret = 's'.repeat(40);
    expect(loadProxyConfig({ ...base, API_KEY: 'k', SIGNING_SECRET: secret }).signingKey).toEqual(Buffer.from(secret));
  });

  it('reads IDEMPOTENCY_CALLER_HEADERS as lower-case header names', () => {
    expect(loadProxyConfig(base).idempotencyCallerHeaders).toEqual([]);
    expect(loadProxyConfig({ ...base, IDEMPOTENCY_CALLER_HEADERS: 'X-Tenant, x-user-id,' }).idempotencyCallerHeaders).toEqual(['x-tenant', 'x-user-id']);
  });

  it('says at cold start how links are protected', () => {
    expect(describeLinkProtection(loadProxyConfig(base))).toBe(
      'continuation links carry a per-task 256-bit token (only its hash is stored), not signed (SIGNING_SECRET is not set); API_KEY is not set',
    );
    expect(describeLinkProtection(loadProxyConfig({ ...base, API_KEY: 'k', SIGNING_SECRET: 's'.repeat(32) }))).toBe(
      'continuation links carry a per-task 256-bit token (only its hash is stored), signed with SIGNING_SECRET and expiring; API_KEY is required on new GET requests; it is in no link and no signature',
    );
  });
});

describe('loadTalkerConfig', () => {
  it('needs the table and Main\'s name', () => {
    expect(() => loadTalkerConfig({ DYNAMODB_TABLE_NAME: 't' })).toThrow('MAIN_LAMBDA_NAME is required but not set');
    expect(loadTalkerConfig({ DYNAMODB_TABLE_NAME: 't', MAIN_LAMBDA_NAME: 'm' })).toMatchObject({ maxResultBytes: 380_000, compressAboveBytes: 4096 });
  });

  it('keeps results of up to 3000 bytes with the status by default; 0 keeps every result apart; a bad value names the variable', () => {
    const talker = { DYNAMODB_TABLE_NAME: 't', MAIN_LAMBDA_NAME: 'm' };
    expect(loadTalkerConfig(talker).inlineResultMaxBytes).toBe(3000);
    expect(loadTalkerConfig({ ...talker, INLINE_RESULT_MAX_BYTES: '0' }).inlineResultMaxBytes).toBe(0);
    expect(() => loadTalkerConfig({ ...talker, INLINE_RESULT_MAX_BYTES: '400000' })).toThrow(/INLINE_RESULT_MAX_BYTES/);
    expect(() => loadTalkerConfig({ ...talker, INLINE_RESULT_MAX_BYTES: 'small' })).toThrow(/INLINE_RESULT_MAX_BYTES/);
  });
});
