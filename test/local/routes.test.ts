import { describe, expect, it } from 'vitest';
import { API_GATEWAY_ROUTES } from '../../local/apigateway/provider';
import { LAMBDA_ROUTES } from '../../local/lambda/provider';
import { Router } from '../../local/routes';

describe('the route table of an AWS REST API', () => {
  const router = new Router([
    { method: 'GET', path: '/2015-03-31/functions', operation: 'ListFunctions' },
    { method: 'GET', path: '/2015-03-31/functions/{FunctionName}', operation: 'GetFunction' },
    { method: 'DELETE', path: '/2015-03-31/functions/{FunctionName}/policy/{StatementId}', operation: 'RemovePermission' },
    { method: 'GET', path: '/2017-03-31/tags/{ARN+}', operation: 'ListTags' },
  ]);

  it('names the operation of a method and path, with its path parameters decoded', () => {
    expect(router.match('GET', '/2015-03-31/functions')).toEqual({ operation: 'ListFunctions', params: {} });
    expect(router.match('GET', '/2015-03-31/functions/my%2Dfn')).toEqual({ operation: 'GetFunction', params: { FunctionName: 'my-fn' } });
    expect(router.match('DELETE', '/2015-03-31/functions/f/policy/sid.1')).toEqual({ operation: 'RemovePermission', params: { FunctionName: 'f', StatementId: 'sid.1' } });
  });

  it('gives a greedy parameter the rest of the path, encoded slashes or not', () => {
    const arn = 'arn:aws:lambda:us-east-1:000000000000:function:f';
    expect(router.match('GET', `/2017-03-31/tags/${encodeURIComponent(arn)}`)?.params).toEqual({ ARN: arn });
    expect(router.match('GET', '/2017-03-31/tags/a/b/c')?.params).toEqual({ ARN: 'a/b/c' });
    expect(router.match('GET', '/2017-03-31/tags')).toBeUndefined();
  });

  it('matches no operation for another method, a longer or shorter path, or another literal', () => {
    expect(router.match('POST', '/2015-03-31/functions/f')).toBeUndefined();
    expect(router.match('GET', '/2015-03-31/functions/f/extra')).toBeUndefined();
    expect(router.match('DELETE', '/2015-03-31/functions/f/policy')).toBeUndefined();
    expect(router.match('GET', '/2016-08-19/functions/f')).toBeUndefined();
  });

  it('ignores a trailing slash and doubled slashes', () => {
    expect(router.match('GET', '/2015-03-31/functions/')?.operation).toBe('ListFunctions');
    expect(router.match('GET', '//2015-03-31//functions/f')?.operation).toBe('GetFunction');
  });

  it.each([
    ['Lambda', LAMBDA_ROUTES],
    ['API Gateway', API_GATEWAY_ROUTES],
  ] as const)('%s: every operation has one binding, and each binding reaches its own operation', (_service, routes) => {
    const operations = routes.map((route) => route.operation);
    expect(new Set(operations).size).toBe(operations.length);
    const table = new Router<string>(routes);
    for (const route of routes) {
      const path = route.path.replace(/\{[^}]+\}/g, 'x');
      expect(table.match(route.method, path)?.operation).toBe(route.operation);
    }
  });
});
