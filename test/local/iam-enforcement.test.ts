// IAM enforced as AWS enforces it: a function's calls are evaluated against its execution role,
// and API Gateway invokes a function only when its resource policy allows it. The kit's own
// least-privilege roles pass every other suite; here, roles missing one action fail as on AWS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APIGatewayClient, CreateDeploymentCommand, CreateResourceCommand, CreateRestApiCommand, GetResourcesCommand, PutIntegrationCommand, PutMethodCommand } from '@aws-sdk/client-api-gateway';
import { ApiGatewayV2Client, CreateApiCommand, CreateIntegrationCommand, CreateRouteCommand, CreateStageCommand } from '@aws-sdk/client-apigatewayv2';
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { AddPermissionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { LocalStack } from '../../local/server';
import { evaluateIdentityPolicies, evaluateResourcePolicy } from '../../local/iam/evaluate';
import { deployKit, follow, type DeployedKit } from '../support/deployed-kit';
import { clientConfig, createFunction, startQuietStack } from './helpers';

const TRUST = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
const ACCOUNT = '000000000000';
const arn = (kind: string, name: string): string => `arn:aws:${kind}:us-east-1:${ACCOUNT}:${name}`;

describe('the policy evaluator', () => {
  const policy = (statement: Record<string, unknown>): unknown => ({ Version: '2012-10-17', Statement: [statement] });
  const table = arn('dynamodb', 'table/tasks');

  it('allows what a statement grants, with wildcards; an explicit Deny wins; nothing else is allowed', () => {
    const allow = policy({ Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:Put*'], Resource: arn('dynamodb', 'table/task?') });
    expect(evaluateIdentityPolicies([allow], 'dynamodb:GetItem', table)).toBe('allowed');
    expect(evaluateIdentityPolicies([allow], 'DynamoDB:getitem', table)).toBe('allowed');
    expect(evaluateIdentityPolicies([allow], 'dynamodb:PutItem', table)).toBe('allowed');
    expect(evaluateIdentityPolicies([allow], 'dynamodb:DeleteItem', table)).toBe('implicitly-denied');
    expect(evaluateIdentityPolicies([allow], 'dynamodb:GetItem', arn('dynamodb', 'table/other'))).toBe('implicitly-denied');
    const deny = policy({ Effect: 'Deny', Action: 'dynamodb:*', Resource: '*' });
    expect(evaluateIdentityPolicies([allow, deny], 'dynamodb:GetItem', table)).toBe('explicitly-denied');
    expect(evaluateIdentityPolicies([policy({ Effect: 'Allow', NotAction: 'dynamodb:DeleteItem', Resource: '*' })], 'dynamodb:DeleteItem', table)).toBe('implicitly-denied');
    // An Allow with a Condition the stack does not evaluate grants nothing.
    expect(evaluateIdentityPolicies([policy({ Effect: 'Allow', Action: '*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'true' } } })], 'dynamodb:GetItem', table)).toBe('implicitly-denied');
    expect(evaluateIdentityPolicies([], 'dynamodb:GetItem', table)).toBe('implicitly-denied');
  });

  it('lets a service invoke a function only through a statement for it with a matching source ARN', () => {
    const statement = {
      Effect: 'Allow', Principal: { Service: 'apigateway.amazonaws.com' }, Action: 'lambda:InvokeFunction', Resource: arn('lambda', 'function:f'),
      Condition: { ArnLike: { 'AWS:SourceArn': arn('execute-api', 'abc123/*') } },
    };
    const call = { service: 'apigateway.amazonaws.com', action: 'lambda:InvokeFunction', resource: arn('lambda', 'function:f'), sourceAccount: ACCOUNT };
    expect(evaluateResourcePolicy([statement], { ...call, sourceArn: arn('execute-api', 'abc123/dev/GET/x') })).toBe('allowed');
    expect(evaluateResourcePolicy([statement], { ...call, sourceArn: arn('execute-api', 'other99/dev/GET/x') })).toBe('implicitly-denied');
    expect(evaluateResourcePolicy([statement], { ...call, service: 'events.amazonaws.com', sourceArn: arn('execute-api', 'abc123/dev/GET/x') })).toBe('implicitly-denied');
    expect(evaluateResourcePolicy([], { ...call, sourceArn: arn('execute-api', 'abc123/dev/GET/x') })).toBe('implicitly-denied');
  });
});

describe('API Gateway and the function\'s resource policy', () => {
  let stack: LocalStack;
  let lambda: LambdaClient;
  let restUrl: string;
  let httpUrl: string;

  beforeAll(async () => {
    ({ stack } = await startQuietStack());
    lambda = new LambdaClient(clientConfig(stack));
    const apigw = new APIGatewayClient(clientConfig(stack));
    const v2 = new ApiGatewayV2Client(clientConfig(stack));
    await createFunction(lambda, 'guarded', 'exports.handler = async () => ({ statusCode: 200, body: "in" });');
    const api = await apigw.send(new CreateRestApiCommand({ name: 'guarded' }));
    const root = (await apigw.send(new GetResourcesCommand({ restApiId: api.id }))).items?.[0]?.id ?? '';
    await apigw.send(new PutMethodCommand({ restApiId: api.id, resourceId: root, httpMethod: 'ANY', authorizationType: 'NONE' }));
    await apigw.send(new PutIntegrationCommand({
      restApiId: api.id, resourceId: root, httpMethod: 'ANY', type: 'AWS_PROXY', integrationHttpMethod: 'POST',
      uri: `arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${arn('lambda', 'function:guarded')}/invocations`,
    }));
    await apigw.send(new CreateDeploymentCommand({ restApiId: api.id, stageName: 'dev' }));
    restUrl = `${stack.url}/_aws/execute-api/${api.id}/dev/`;
    const http = await v2.send(new CreateApiCommand({ Name: 'guarded', ProtocolType: 'HTTP', Target: arn('lambda', 'function:guarded') }));
    httpUrl = `${stack.url}/_aws/execute-api/${http.ApiId}/`;
    apigw.destroy();
    v2.destroy();
  });

  afterAll(async () => {
    lambda?.destroy();
    await stack?.stop();
  });

  it('answers 500 without a permission, and with one for another API; the right one lets the call through', async () => {
    const rest = await fetch(restUrl);
    expect([rest.status, await rest.json()]).toEqual([500, { message: 'Internal server error' }]);
    const http = await fetch(httpUrl);
    expect([http.status, await http.json()]).toEqual([500, { message: 'Internal Server Error' }]);
    const restId = /execute-api\/([a-z0-9]+)\//.exec(restUrl)?.[1] ?? '';
    const httpId = /execute-api\/([a-z0-9]+)\//.exec(httpUrl)?.[1] ?? '';
    await lambda.send(new AddPermissionCommand({
      FunctionName: 'guarded', StatementId: 'elsewhere', Action: 'lambda:InvokeFunction', Principal: 'apigateway.amazonaws.com', SourceArn: arn('execute-api', 'zzzzzzzzzz/*'),
    }));
    expect((await fetch(restUrl)).status).toBe(500);
    for (const [sid, id, url] of [['rest', restId, restUrl], ['http', httpId, httpUrl]] as const) {
      await lambda.send(new AddPermissionCommand({
        FunctionName: 'guarded', StatementId: sid, Action: 'lambda:InvokeFunction', Principal: 'apigateway.amazonaws.com', SourceArn: arn('execute-api', `${id}/*`),
      }));
      const answer = await fetch(url);
      expect([sid, answer.status, await answer.text()]).toEqual([sid, 200, 'in']);
    }
  });

  // AWS builds the source ARN from the method resource, not the request: API/STAGE/HTTPMETHOD/RESOURCEPATH
  // with the method's own httpMethod (ANY) and the path template (LocalStack's get_source_arn,
  // services/apigateway/next_gen/execute_api/helpers.py); an HTTP API from the route key.
  it('matches a permission against the method resource\'s source ARN (ANY, the path template), not the request\'s path', async () => {
    const apigw = new APIGatewayClient(clientConfig(stack));
    const v2 = new ApiGatewayV2Client(clientConfig(stack));
    try {
      await createFunction(lambda, 'templated', 'exports.handler = async () => ({ statusCode: 200, body: "in" });');
      const api = await apigw.send(new CreateRestApiCommand({ name: 'templated' }));
      const root = (await apigw.send(new GetResourcesCommand({ restApiId: api.id }))).items?.[0]?.id ?? '';
      const items = await apigw.send(new CreateResourceCommand({ restApiId: api.id, parentId: root, pathPart: 'items' }));
      const item = await apigw.send(new CreateResourceCommand({ restApiId: api.id, parentId: items.id, pathPart: '{id}' }));
      await apigw.send(new PutMethodCommand({ restApiId: api.id, resourceId: item.id, httpMethod: 'ANY', authorizationType: 'NONE' }));
      await apigw.send(new PutIntegrationCommand({
        restApiId: api.id, resourceId: item.id, httpMethod: 'ANY', type: 'AWS_PROXY', integrationHttpMethod: 'POST',
        uri: `arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${arn('lambda', 'function:templated')}/invocations`,
      }));
      await apigw.send(new CreateDeploymentCommand({ restApiId: api.id, stageName: 'dev' }));
      const http = await v2.send(new CreateApiCommand({ Name: 'templated', ProtocolType: 'HTTP' }));
      const integration = await v2.send(new CreateIntegrationCommand({ ApiId: http.ApiId, IntegrationType: 'AWS_PROXY', IntegrationUri: arn('lambda', 'function:templated'), PayloadFormatVersion: '2.0' }));
      for (const RouteKey of ['GET /items/{id}', '$default']) await v2.send(new CreateRouteCommand({ ApiId: http.ApiId, RouteKey, Target: `integrations/${integration.IntegrationId}` }));
      await v2.send(new CreateStageCommand({ ApiId: http.ApiId, StageName: '$default', AutoDeploy: true }));
      const permit = (sid: string, source: string): Promise<unknown> => lambda.send(new AddPermissionCommand({
        FunctionName: 'templated', StatementId: sid, Action: 'lambda:InvokeFunction', Principal: 'apigateway.amazonaws.com', SourceArn: arn('execute-api', source),
      }));
      const rest = `${stack.url}/_aws/execute-api/${api.id}/dev/items/123`;
      const httpItem = `${stack.url}/_aws/execute-api/${http.ApiId}/items/123`;
      const httpOther = `${stack.url}/_aws/execute-api/${http.ApiId}/elsewhere`;
      // The request's method and concrete path are not what AWS checks.
      await permit('concrete', `${api.id}/*/GET/items/123`);
      await permit('concrete-http', `${http.ApiId}/*/GET/items/123`);
      await permit('concrete-default', `${http.ApiId}/*/GET/elsewhere`);
      expect([(await fetch(rest)).status, (await fetch(httpItem)).status, (await fetch(httpOther)).status]).toEqual([500, 500, 500]);
      await permit('template', `${api.id}/*/ANY/items/{id}`);
      await permit('template-http', `${http.ApiId}/*/GET/items/{id}`);
      await permit('default-route', `${http.ApiId}/*/$default`);
      for (const url of [rest, httpItem, httpOther]) {
        const answer = await fetch(url);
        expect([url, answer.status, await answer.text()]).toEqual([url, 200, 'in']);
      }
    } finally {
      apigw.destroy();
      v2.destroy();
    }
  });

  // An integration with credentials: API Gateway assumes that role, so the role's trust and
  // policies decide, not the function's resource policy (API Gateway developer guide, "Control
  // access to a REST API with IAM permissions", and the Integration's `credentials` member).
  it('invokes as an integration\'s credentials role: its trust policy and its policies decide, the function\'s resource policy does not', async () => {
    const apigw = new APIGatewayClient(clientConfig(stack));
    const v2 = new ApiGatewayV2Client(clientConfig(stack));
    const iam = new IAMClient(clientConfig(stack));
    try {
      await createFunction(lambda, 'byrole', 'exports.handler = async () => ({ statusCode: 200, body: "in" });');
      const gatewayTrust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'apigateway.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
      const invoke = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: arn('lambda', 'function:byrole') }] });
      for (const [name, trust, policy] of [['gw-invoker', gatewayTrust, invoke], ['gw-untrusted', TRUST, invoke], ['gw-powerless', gatewayTrust, undefined]] as const) {
        await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: trust }));
        if (policy) await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: 'invoke', PolicyDocument: policy }));
      }
      const roleArnOf = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
      const rest = async (role: string): Promise<string> => {
        const api = await apigw.send(new CreateRestApiCommand({ name: `byrole-${role}` }));
        const root = (await apigw.send(new GetResourcesCommand({ restApiId: api.id }))).items?.[0]?.id ?? '';
        await apigw.send(new PutMethodCommand({ restApiId: api.id, resourceId: root, httpMethod: 'GET', authorizationType: 'NONE' }));
        await apigw.send(new PutIntegrationCommand({
          restApiId: api.id, resourceId: root, httpMethod: 'GET', type: 'AWS_PROXY', integrationHttpMethod: 'POST', credentials: roleArnOf(role),
          uri: `arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${arn('lambda', 'function:byrole')}/invocations`,
        }));
        await apigw.send(new CreateDeploymentCommand({ restApiId: api.id, stageName: 'dev' }));
        return `${stack.url}/_aws/execute-api/${api.id}/dev/`;
      };
      const http = async (role: string): Promise<string> => {
        const api = await v2.send(new CreateApiCommand({ Name: `byrole-${role}`, ProtocolType: 'HTTP' }));
        const integration = await v2.send(new CreateIntegrationCommand({
          ApiId: api.ApiId, IntegrationType: 'AWS_PROXY', IntegrationUri: arn('lambda', 'function:byrole'), PayloadFormatVersion: '2.0', CredentialsArn: roleArnOf(role),
        }));
        await v2.send(new CreateRouteCommand({ ApiId: api.ApiId, RouteKey: 'GET /', Target: `integrations/${integration.IntegrationId}` }));
        await v2.send(new CreateStageCommand({ ApiId: api.ApiId, StageName: '$default', AutoDeploy: true }));
        return `${stack.url}/_aws/execute-api/${api.ApiId}/`;
      };
      // No add-permission on byrole at all: only the role can let these calls through.
      const statuses: Record<string, number[]> = {};
      for (const role of ['gw-invoker', 'gw-untrusted', 'gw-powerless', 'gw-missing']) {
        statuses[role] = [(await fetch(await rest(role))).status, (await fetch(await http(role))).status];
      }
      expect(statuses).toEqual({ 'gw-invoker': [200, 200], 'gw-untrusted': [500, 500], 'gw-powerless': [500, 500], 'gw-missing': [500, 500] });
    } finally {
      apigw.destroy();
      v2.destroy();
      iam.destroy();
    }
  });

  it('lets every call through with IAM off (--iam off)', async () => {
    const { stack: open } = await startQuietStack({ iam: false });
    try {
      const client = new LambdaClient(clientConfig(open));
      await createFunction(client, 'open', 'exports.handler = async () => "open";');
      const v2 = new ApiGatewayV2Client(clientConfig(open));
      const api = await v2.send(new CreateApiCommand({ Name: 'open', ProtocolType: 'HTTP', Target: arn('lambda', 'function:open') }));
      const answer = await fetch(`${open.url}/_aws/execute-api/${api.ApiId}/`);
      expect([answer.status, await answer.text()]).toEqual([200, 'open']);
      client.destroy();
      v2.destroy();
    } finally {
      await open.stop();
    }
  });
});

describe('the kit with an execution role missing one action', () => {
  let kit: DeployedKit;
  const roleArn = (name: string): string => `arn:aws:iam::${ACCOUNT}:role/${name}`;

  beforeAll(async () => {
    // The Proxy's role of the deploy script, less dynamodb:GetItem; the Talker's, less lambda:InvokeFunction on Main.
    kit = await deployKit(['--name-prefix', 'iamk', '--wait-seconds', '1', '--proxy-role', roleArn('iamk-weak-proxy'), '--talker-role', roleArn('iamk-weak-talker')], {}, async (stack) => {
      const iam = new IAMClient(clientConfig(stack));
      const table = arn('dynamodb', 'table/iamk-tasks');
      const roles: Array<[string, unknown[]]> = [
        ['iamk-weak-proxy', [
          { Effect: 'Allow', Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'], Resource: table },
          { Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: arn('lambda', 'function:iamk-talker') },
        ]],
        ['iamk-weak-talker', [{ Effect: 'Allow', Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'], Resource: table }]],
      ];
      for (const [name, statements] of roles) {
        await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: TRUST }));
        await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: 'kit', PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: statements }) }));
      }
      iam.destroy();
    });
  }, 120_000);

  afterAll(async () => {
    await kit?.stop();
  });

  it('refuses the Proxy\'s GetItem and the Talker\'s invoke of Main with AWS\'s AccessDeniedException, and the client gets an error', async () => {
    const { statuses } = await follow(`${kit.state.invokeUrl}job?seconds=3`, {}, 3);
    // The Proxy cannot read the task: 503 with Retry-After, as it answers any unreadable table.
    expect(statuses.at(-1)).toBe(503);
    const log = kit.logs.join('\n');
    expect(log).toContain('DynamoDB could not read status (AccessDeniedException)');
    expect(log).toMatch(/"outcome":"FAILED".*"kind":"INVOKE_FAILED"/);
    expect(log).toContain(`User: arn:aws:sts::${ACCOUNT}:assumed-role/iamk-weak-talker/iamk-talker is not authorized to perform: lambda:InvokeFunction on resource: ${arn('lambda', 'function:iamk-main')} because no identity-based policy allows the lambda:InvokeFunction action`);
    expect(kit.logs.some((line) => line.startsWith('[iamk-main] START'))).toBe(false);
  }, 90_000);
});
