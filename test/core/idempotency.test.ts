import { describe, expect, it } from 'vitest';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { identifyCaller } from '../../core/caller';
import { readRequest } from '../../core/events';
import { hashIdempotencyKey, readIdempotencyKey, requestFingerprint } from '../../core/idempotency';
import { httpApiEvent, restEvent } from '../support/events';

const keyOf = (value?: string | string[]) => readIdempotencyKey(readRequest(restEvent({ url: 'https://h/x', headers: value === undefined ? {} : { 'Idempotency-Key': value } })));

describe('readIdempotencyKey', () => {
  it('reads a Structured Field string or a bare token', () => {
    expect(keyOf()).toEqual({ kind: 'absent' });
    expect(keyOf('"8e03978e-40d5"')).toEqual({ kind: 'valid', key: '8e03978e-40d5' });
    expect(keyOf('order-77')).toEqual({ kind: 'valid', key: 'order-77' });
    expect(keyOf('  spaced  ')).toEqual({ kind: 'valid', key: 'spaced' });
  });

  it.each([
    ['given twice', ['a', 'b'], 'given more than once'],
    ['empty', '""', '1 to 255 visible ASCII characters'],
    ['too long', 'x'.repeat(256), '1 to 255 visible ASCII characters'],
    ['with a space inside', 'a b', '1 to 255 visible ASCII characters'],
    ['not ASCII', 'clé', '1 to 255 visible ASCII characters'],
  ])('refuses a key %s', (_name, value, reason) => {
    const header = keyOf(value);
    expect(header.kind).toBe('invalid');
    expect(header.reason).toContain(reason);
  });
});

describe('requestFingerprint', () => {
  const fingerprint = (spec: Parameters<typeof restEvent>[0]) => {
    const event = restEvent(spec);
    return requestFingerprint(event, readRequest(event));
  };

  it('is the same for the same method, path, query and body, whatever the credentials and the api-key', () => {
    const base = { url: 'https://h/dev/pay?b=2&a=1', prefix: '/dev', method: 'POST', body: '{"x":1}' };
    const same = fingerprint(base);
    expect(fingerprint({ ...base, url: 'https://h/dev/pay?a=1&b=2&api-key=k', headers: { Authorization: 'Bearer other' } })).toBe(same);
    expect(fingerprint({ ...base, body: '{"x":2}' })).not.toBe(same);
    expect(fingerprint({ ...base, method: 'PUT' })).not.toBe(same);
    expect(fingerprint({ ...base, url: 'https://h/dev/refund?b=2&a=1' })).not.toBe(same);
    expect(fingerprint({ ...base, url: 'https://h/dev/pay?b=3&a=1' })).not.toBe(same);
  });

  it('compares the decoded bytes of a base64 body', () => {
    const text = fingerprint({ url: 'https://h/x', method: 'POST', body: 'hello' });
    expect(fingerprint({ url: 'https://h/x', method: 'POST', body: Buffer.from('hello').toString('base64'), isBase64Encoded: true })).toBe(text);
  });
});

describe('identifyCaller and hashIdempotencyKey', () => {
  const rest = (headers: Record<string, string> = {}, context: Partial<APIGatewayProxyEvent['requestContext']> = {}) => {
    const event = restEvent({ url: 'https://h/x', method: 'POST', headers });
    Object.assign(event.requestContext, context);
    return identifyCaller(event, readRequest(event));
  };

  it('uses the verified identity when the event has one, and ignores the per-request parts', () => {
    const first = rest({ Authorization: 'Bearer one', Cookie: 'a=1' }, { authorizer: { claims: { iss: 'i', sub: 'alice', iat: '1', exp: '2' }, integrationLatency: 5 } });
    const refreshed = rest({ Authorization: 'Bearer two', Cookie: 'a=2' }, { authorizer: { claims: { iss: 'i', sub: 'alice', iat: '3', exp: '4' }, integrationLatency: 9 } });
    expect(first.kind).toBe('verified');
    expect(first.parts).toEqual(['authorizer.claims.iss', 'authorizer.claims.sub']);
    expect(refreshed.scope).toBe(first.scope);
    expect(rest({}, { authorizer: { claims: { iss: 'i', sub: 'bob' } } }).scope).not.toBe(first.scope);
    // The same subject of another issuer is someone else.
    expect(rest({}, { authorizer: { claims: { iss: 'other', sub: 'alice' } } }).scope).not.toBe(first.scope);
  });

  it('reads an IAM identity and a Lambda authorizer\'s principal and context', () => {
    const iam = rest({}, { identity: { userArn: 'arn:aws:iam::1:user/alice', accessKey: 'AKIA1', sourceIp: '1.2.3.4' } as never });
    const iamAgain = rest({}, { identity: { userArn: 'arn:aws:iam::1:user/alice', accessKey: 'AKIA2', sourceIp: '5.6.7.8' } as never });
    expect(iam).toMatchObject({ kind: 'verified', parts: ['identity.userArn'] });
    expect(iamAgain.scope).toBe(iam.scope);
    const lambda = rest({}, { authorizer: { principalId: 'alice', tenant: 't1' } });
    expect(lambda.parts).toEqual(['authorizer.principalId', 'authorizer.tenant']);
    expect(rest({}, { authorizer: { principalId: 'alice', tenant: 't2' } }).scope).not.toBe(lambda.scope);
  });

  it('reads an HTTP API\'s JWT and IAM authorizers', () => {
    const jwt = (sub: string) => {
      const event = httpApiEvent({ url: 'https://h/x' });
      Object.assign(event.requestContext, { authorizer: { jwt: { claims: { iss: 'i', sub }, scopes: ['a'] } } });
      return identifyCaller(event, readRequest(event));
    };
    expect(jwt('alice').parts).toEqual(['authorizer.jwt.claims.iss', 'authorizer.jwt.claims.sub']);
    expect(jwt('alice').scope).not.toBe(jwt('bob').scope);
    const event = httpApiEvent({ url: 'https://h/x' });
    Object.assign(event.requestContext, { authorizer: { iam: { userArn: 'arn:aws:iam::1:user/alice', accessKey: 'AKIA9' } } });
    expect(identifyCaller(event, readRequest(event)).parts).toEqual(['authorizer.iam.userArn']);
  });

  it('otherwise uses the credentials byte for byte: a new token, or a new signature, is a new caller', () => {
    const bearer = rest({ Authorization: 'Bearer one' });
    expect(bearer).toMatchObject({ kind: 'credentials', parts: ['header.authorization'] });
    expect(rest({ Authorization: 'Bearer two' }).scope).not.toBe(bearer.scope);
    expect(rest({ Authorization: 'Bearer one' }).scope).toBe(bearer.scope);
    const cookies = rest({ Cookie: 'b=2; a=1' });
    expect(rest({ Cookie: 'a=1;b=2' }).scope).toBe(cookies.scope);
    expect(rest({ Cookie: 'a=1; b=3' }).scope).not.toBe(cookies.scope);
    expect(rest({}, { identity: { apiKeyId: 'k1' } as never }).parts).toEqual(['identity.apiKeyId']);
  });

  it('reads an HTTP API\'s cookies[] as the same cookie set as a Cookie header', () => {
    const v2 = httpApiEvent({ url: 'https://h/x', headers: { Cookie: 'session=s1; theme=dark' } });
    expect(identifyCaller(v2, readRequest(v2)).scope).toBe(rest({ Cookie: 'theme=dark; session=s1' }).scope);
  });

  it('counts IDEMPOTENCY_CALLER_HEADERS in every case, and calls a request with nothing anonymous', () => {
    const anonymous = rest();
    expect(anonymous).toMatchObject({ kind: 'anonymous', parts: [] });
    expect(rest({ 'X-Tenant': 't1' }).kind).toBe('anonymous');
    const event = restEvent({ url: 'https://h/x', headers: { 'X-Tenant': 't1' } });
    const tenant = identifyCaller(event, readRequest(event), { extraHeaders: ['x-tenant'] });
    expect(tenant).toMatchObject({ kind: 'credentials', parts: ['header.x-tenant'] });
    expect(tenant.scope).not.toBe(anonymous.scope);
  });

  it('hashes the same key of two callers to two reservations, and never holds the key itself', () => {
    const alice = rest({ Authorization: 'Bearer alice' });
    const bob = rest({ Authorization: 'Bearer bob' });
    expect(hashIdempotencyKey(alice, 'k')).not.toBe(hashIdempotencyKey(bob, 'k'));
    expect(hashIdempotencyKey(alice, 'k')).toBe(hashIdempotencyKey(alice, 'k'));
    expect(hashIdempotencyKey(alice, 'k')).toMatch(/^[0-9a-f]{64}$/);
  });
});
