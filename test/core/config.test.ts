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
    });
    expect(config.apiKey).toBeUndefined();
    expect(config.signingKey).toBeUndefined();
    expect(config.corsAllowOrigin).toBeUndefined();
  });

  it.each([
    [{ LAMBDA_TALKER_NAME: 't' }, 'DYNAMODB_TABLE_NAME is required but not set'],
    [{ DYNAMODB_TABLE_NAME: 't' }, 'LAMBDA_TALKER_NAME is required but not set'],
    [{ ...base, WAIT_SECONDS: '29' }, 'WAIT_SECONDS must be a number from 0 to 28, got "29"'],
    [{ ...base, WAIT_SECONDS: 'soon' }, 'WAIT_SECONDS must be a number'],
    [{ ...base, POLL_MAX_MS: '10', POLL_INITIAL_MS: '50' }, 'POLL_MAX_MS must not be below POLL_INITIAL_MS'],
    [{ ...base, SIGNING_SECRET: 'short' }, 'SIGNING_SECRET must be at least 32 characters long'],
    [{ ...base, CORS_ALLOW_ORIGIN: 'example.com/path' }, 'CORS_ALLOW_ORIGIN must be "*" or an origin'],
    [{ ...base, SHOW_ERROR_DETAILS: 'maybe' }, 'SHOW_ERROR_DETAILS must be true or false'],
    [{ ...base, BROWSER_HOPS_BEFORE_PAGE: '20' }, 'BROWSER_HOPS_BEFORE_PAGE must be a whole number from 0 to 19'],
    [{ ...base, IDEMPOTENCY_CALLER_HEADERS: 'x-tenant, bad header' }, 'IDEMPOTENCY_CALLER_HEADERS must be a comma-separated list of header names, got "bad header"'],
  ])('fails at cold start with a message naming the variable (%j)', (env, message) => {
    expect(() => loadProxyConfig(env)).toThrow(ConfigError);
    expect(() => loadProxyConfig(env)).toThrow(message);
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
});
