import { describe, expect, it } from 'vitest';
import { continuationLocation, readContinuation } from '../../core/continuation';
import { verifyContinuation } from '../../core/secrets';
import { readRequest } from '../../core/events';
import type { ApiGatewayEvent } from '../../core/types';
import { restEvent } from '../support/events';

const id = '3f1c2b9e-8d7a-4c6b-9e5f-1a2b3c4d5e6f';
const token = 'Tq'.repeat(21) + 'x';
const key = Buffer.from('k'.repeat(32));
const parse = (query: string, method = 'GET') => readContinuation(readRequest(restEvent({ url: `https://h/x${query}`, method })));

describe('readContinuation', () => {
  it('sees a new request when there is no requestID, or when the method is not GET or HEAD', () => {
    expect(parse('?a=1').kind).toBe('none');
    expect(parse(`?requestID=${id}`, 'POST').kind).toBe('none');
  });

  it('reads the RequestID, token, hop, mode and signature', () => {
    expect(parse(`?requestID=${id}&token=${token}&hop=3&exp=99&sig=${'a'.repeat(43)}`)).toEqual({
      kind: 'continuation',
      continuation: { requestId: id, token, hop: 3, mode: 'redirect', expires: 99, signature: 'a'.repeat(43) },
    });
    expect(parse(`?requestID=${id}&mode=async`)).toMatchObject({ continuation: { mode: 'async', hop: 0 } });
    // A bare RequestID is a continuation without a token (the Proxy refuses it with 403).
    expect(parse(`?requestID=${id}`)).toEqual({ kind: 'continuation', continuation: { requestId: id, hop: 0, mode: 'redirect' } });
  });

  it.each(['?requestID=', `?requestID=${id.toUpperCase()}`, `?requestID=${id}&hop=-1`, `?requestID=${id}&mode=sync`, `?requestID=${id}&exp=1&exp=2`, `?requestID=${id}&token=short`, `?requestID=${id}&token=${token}&token=${token}`])(
    'calls %s malformed',
    (query) => expect(parse(query).kind).toBe('malformed'),
  );
});

describe('continuationLocation', () => {
  it('build a relative Location that round-trips through readContinuation', () => {
    const location = continuationLocation({ requestId: id, token, hop: 2, mode: 'redirect' }, { key, expires: 5000 });
    expect(location).toMatch(new RegExp(`^\\?requestID=${id}&token=${token}&exp=5000&sig=[A-Za-z0-9_-]{43}&hop=2$`));
    const parsed = parse(location);
    expect(parsed.kind).toBe('continuation');
    if (parsed.kind === 'continuation') {
      expect(parsed.continuation.token).toBe(token);
      expect(verifyContinuation(key, parsed.continuation, 4000)).toBe('valid');
    }
  });
});

describe('continuationLocation on a results path, behind an HTTP API stage', () => {
  const event = (rawPath: string, stage: string, routeKey: string): ApiGatewayEvent => ({
    version: '2.0', routeKey, rawPath, rawQueryString: '', headers: {}, isBase64Encoded: false,
    requestContext: { http: { method: 'GET', path: rawPath }, stage, timeEpoch: 1 },
  } as unknown as ApiGatewayEvent);
  const resolved = (url: string, request: ReturnType<typeof readRequest>): string =>
    new URL(continuationLocation({ requestId: id, token, hop: 1, mode: 'redirect' }, undefined, { resultsPath: '/_results', from: request }), url).pathname;

  it('stays on the named stage when its root is asked for without the trailing slash', () => {
    expect(resolved('https://h/live', readRequest(event('/live', 'live', 'ANY /')))).toBe(`/live/_results/${id}`);
    expect(resolved('https://h/live/', readRequest(event('/live/', 'live', 'ANY /')))).toBe(`/live/_results/${id}`);
    expect(resolved('https://h/live/a/b', readRequest(event('/live/a/b', 'live', 'ANY /{proxy+}')))).toBe(`/live/_results/${id}`);
    expect(resolved('https://h/', readRequest(event('/', '$default', 'ANY /')))).toBe(`/_results/${id}`);
  });
});

