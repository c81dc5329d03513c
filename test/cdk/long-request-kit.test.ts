// The synthesized template against the deploy script's plan: the same IAM actions and resources,
// no Talker retries, the same timeouts, environment and routes, for both API types.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { App, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { LongRequestKit, type LongRequestKitProps } from '../../cdk/index';
import { PROXY_ENV, TALKER_ENV } from '../../core/config';
import { parseDeployArgs, type DeployOptions } from '../../scripts/lib/deploy-options';
import { planDeploy, type DeployPlan } from '../../scripts/lib/deploy-plan';

/** Inline code: these tests read the template, so they need not bundle (one test below does). */
const INLINE = { proxy: lambda.Code.fromInline('exports.handler=1'), talker: lambda.Code.fromInline('exports.handler=1'), mainExample: lambda.Code.fromInline('exports.handler=1') };

function synth(props: LongRequestKitProps = {}, build?: (stack: Stack) => Partial<LongRequestKitProps>): { template: Template; kit: LongRequestKit; stack: Stack } {
  const app = new App();
  const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
  const kit = new LongRequestKit(stack, 'Kit', { code: INLINE, ...props, ...build?.(stack) });
  return { template: Template.fromStack(stack), kit, stack };
}

function plan(args: string[]): DeployPlan {
  const options = parseDeployArgs(args, {}, '/tmp') as DeployOptions;
  return planDeploy(options, { account: '123456789012' });
}

/** A resource of a type whose logical id starts with the prefix. */
function resource(template: Template, type: string, prefix: string): { id: string; props: Record<string, unknown> } {
  const found = Object.entries(template.findResources(type)).filter(([id]) => id.startsWith(prefix));
  expect(found.map(([id]) => id), `one ${type} named ${prefix}*`).toHaveLength(1);
  const [id, body] = found[0]!;
  return { id, props: (body as { Properties: Record<string, unknown> }).Properties };
}

/** The statements of a role's inline policy, with the template's references kept. */
function statements(template: Template, rolePrefix: string): Array<Record<string, unknown>> {
  const role = resource(template, 'AWS::IAM::Role', rolePrefix);
  const policies = role.props.Policies as Array<{ PolicyDocument: { Statement: Array<Record<string, unknown>> } }>;
  expect(policies).toHaveLength(1);
  return policies[0]!.PolicyDocument.Statement;
}

describe('LongRequestKit: the template matches the deploy script', () => {
  it('one least-privilege role per function, with the deploy plan\'s actions and resources', () => {
    const { template } = synth();
    const deploy = plan([]);
    const table = resource(template, 'AWS::DynamoDB::Table', 'KitTasks');
    const talker = resource(template, 'AWS::Lambda::Function', 'KitTalker');
    const main = resource(template, 'AWS::Lambda::Function', 'KitMainExample');
    const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
    const planned = (key: 'proxy' | 'talker') => deploy.roles.find((r) => r.key === key)!.inlinePolicy!.document.Statement;

    for (const [key, target] of [['proxy', talker.id], ['talker', main.id]] as const) {
      const got = statements(template, key === 'proxy' ? 'KitProxyRole' : 'KitTalkerRole');
      const want = planned(key);
      expect(got.map((s) => s.Sid)).toEqual(want.map((s) => s.Sid));
      expect(got[0]).toEqual({ Sid: 'TasksTable', Effect: 'Allow', Action: want[0]!.Action, Resource: arnOf(table.id) });
      expect(got[1]).toEqual({
        Sid: want[1]!.Sid, Effect: 'Allow', Action: 'lambda:InvokeFunction',
        Resource: [arnOf(target), { 'Fn::Join': ['', [arnOf(target), ':*']] }],
      });
    }
    // Main gets no inline policy; every role gets the same managed policies and trust.
    const mainRole = resource(template, 'AWS::IAM::Role', 'KitMainExampleRole');
    expect(mainRole.props.Policies).toBeUndefined();
    const managed = deploy.roles[0]!.managedPolicyArns.map((arn) => arn.replace('arn:aws:', ''));
    for (const prefix of ['KitProxyRole', 'KitTalkerRole', 'KitMainExampleRole']) {
      const role = resource(template, 'AWS::IAM::Role', prefix);
      expect(role.props.AssumeRolePolicyDocument).toEqual(deploy.roles[0]!.trustPolicy);
      expect(role.props.ManagedPolicyArns).toEqual(managed.map((tail) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:${tail}`]] })));
    }
    // Nothing else grants anything: no AWS::IAM::Policy the L2s might add.
    expect(template.findResources('AWS::IAM::Policy')).toEqual({});
  });

  it('the table: the key, TTL and on-demand billing', () => {
    const { template } = synth();
    const deploy = plan([]);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: deploy.table.key, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: deploy.table.key, AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: deploy.table.ttlAttribute, Enabled: true },
    });
  });

  it('functions: the plan\'s runtime, handler, timeouts, memory, tracing and environment; the Talker never retried', () => {
    const args = ['--results-path', '/_results', '--wait-seconds', '20', '--memory', '512', '--architecture', 'arm64'];
    const { template } = synth({ resultsPath: '/_results', waitSeconds: 20, memorySize: 512, architecture: lambda.Architecture.ARM_64 });
    const deploy = plan(args);
    const ids = {
      proxy: resource(template, 'AWS::Lambda::Function', 'KitProxy').id,
      talker: resource(template, 'AWS::Lambda::Function', 'KitTalker').id,
      main: resource(template, 'AWS::Lambda::Function', 'KitMainExample').id,
    };
    const table = resource(template, 'AWS::DynamoDB::Table', 'KitTasks').id;
    for (const fn of deploy.functions) {
      const got = resource(template, 'AWS::Lambda::Function', { proxy: 'KitProxy', talker: 'KitTalker', main: 'KitMainExample' }[fn.key]).props;
      expect(got.Runtime).toBe(fn.runtime);
      expect(got.Handler).toBe(fn.handler);
      expect(got.Timeout).toBe(fn.timeout);
      expect(got.MemorySize).toBe(fn.memory);
      expect(got.Architectures).toEqual([fn.architecture]);
      expect(got.TracingConfig).toEqual({ Mode: 'Active' });
      const env = (got.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(Object.keys(env).sort(), fn.key).toEqual(Object.keys(fn.environment).sort());
      // The names deploy writes are references here (Main by its ARN); everything else is the same text.
      const references: Record<string, unknown> = {
        [PROXY_ENV.tableName]: { Ref: table }, [PROXY_ENV.talkerName]: { Ref: ids.talker }, [TALKER_ENV.mainName]: { 'Fn::GetAtt': [ids.main, 'Arn'] },
      };
      for (const [name, value] of Object.entries(fn.environment)) expect(env[name], `${fn.key} ${name}`).toEqual(references[name] ?? value);
    }
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { FunctionName: { Ref: ids.talker }, MaximumRetryAttempts: 0, Qualifier: '$LATEST' });
  });

  it('a REST API: ANY / and ANY /{proxy+} to the Proxy, the results and direct routes, the stage, one permission per function', () => {
    const { template } = synth({ resultsPath: '/_results', directRoute: true, integrationTimeout: Duration.seconds(60), binaryMediaTypes: ['image/png'] });
    const api = resource(template, 'AWS::ApiGateway::RestApi', 'KitApi');
    expect(api.props).toMatchObject({ EndpointConfiguration: { Types: ['REGIONAL'] }, BinaryMediaTypes: ['image/png'] });
    template.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'dev' });
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
    const proxy = resource(template, 'AWS::Lambda::Function', 'KitProxy').id;
    const main = resource(template, 'AWS::Lambda::Function', 'KitMainExample').id;
    const uriOf = (fn: string) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':apigateway:', { Ref: 'AWS::Region' }, ':lambda:path/2015-03-31/functions/', { 'Fn::GetAtt': [fn, 'Arn'] }, '/invocations']],
    });
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method')).map((m) => (m as { Properties: Record<string, unknown> }).Properties);
    const byPath = (ref: unknown) => methods.filter((m) => JSON.stringify(m.ResourceId) === JSON.stringify(ref));
    const resources = template.findResources('AWS::ApiGateway::Resource');
    const pathOf = (id: string): string => {
      const r = resources[id] as { Properties: { PathPart: string; ParentId: unknown } };
      const parent = r.Properties.ParentId as { Ref?: string };
      return `${parent.Ref ? pathOf(parent.Ref) : ''}/${r.Properties.PathPart}`;
    };
    const routes = methods.map((m) => {
      const ref = m.ResourceId as { Ref?: string };
      const integration = m.Integration as { Uri: unknown; TimeoutInMillis: number; Type: string; IntegrationHttpMethod: string };
      return { route: `${m.HttpMethod} ${ref.Ref ? pathOf(ref.Ref) : '/'}`, to: JSON.stringify(integration.Uri) === JSON.stringify(uriOf(proxy)) ? 'proxy' : JSON.stringify(integration.Uri) === JSON.stringify(uriOf(main)) ? 'main' : 'other', timeout: integration.TimeoutInMillis, type: integration.Type, post: integration.IntegrationHttpMethod, auth: m.AuthorizationType };
    }).sort((a, b) => (a.route < b.route ? -1 : 1));
    expect(routes).toEqual([
      { route: 'ANY /', to: 'proxy', timeout: 60_000, type: 'AWS_PROXY', post: 'POST', auth: 'NONE' },
      { route: 'ANY /direct', to: 'main', timeout: 29_000, type: 'AWS_PROXY', post: 'POST', auth: 'NONE' },
      { route: 'ANY /direct/{proxy+}', to: 'main', timeout: 29_000, type: 'AWS_PROXY', post: 'POST', auth: 'NONE' },
      { route: 'ANY /{proxy+}', to: 'proxy', timeout: 60_000, type: 'AWS_PROXY', post: 'POST', auth: 'NONE' },
      { route: 'GET /_results/{id}', to: 'proxy', timeout: 60_000, type: 'AWS_PROXY', post: 'POST', auth: 'NONE' },
    ]);
    expect(byPath({ 'Fn::GetAtt': [api.id, 'RootResourceId'] })).toHaveLength(1);
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission')).map((p) => (p as { Properties: Record<string, unknown> }).Properties);
    expect(permissions).toHaveLength(2);
    for (const [fn, p] of [[proxy, permissions.find((x) => JSON.stringify(x.FunctionName).includes(proxy))], [main, permissions.find((x) => JSON.stringify(x.FunctionName).includes(main))]] as const) {
      expect(p, fn).toEqual({
        Action: 'lambda:InvokeFunction', FunctionName: { 'Fn::GetAtt': [fn, 'Arn'] }, Principal: 'apigateway.amazonaws.com',
        SourceArn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':execute-api:eu-west-1:123456789012:', { Ref: api.id }, '/*']] },
      });
    }
  });

  it('a REST API in stream mode: the streaming URI, STREAM and the Proxy\'s stream handler', () => {
    const { template } = synth({ transferMode: 'stream' });
    const deploy = plan(['--transfer-mode', 'stream']);
    const proxy = resource(template, 'AWS::Lambda::Function', 'KitProxy');
    expect(proxy.props.Handler).toBe(deploy.functions.find((f) => f.key === 'proxy')!.handler);
    expect(proxy.props.Timeout).toBe(deploy.functions.find((f) => f.key === 'proxy')!.timeout);
    template.allResourcesProperties('AWS::ApiGateway::Method', {
      Integration: Match.objectLike({
        ResponseTransferMode: 'STREAM',
        TimeoutInMillis: deploy.api.integrationTimeoutMs,
        Uri: { 'Fn::Join': ['', Match.arrayWith(['/response-streaming-invocations'])] },
      }),
    });
  });

  it('an HTTP API: payload 2.0 integrations at 30 s, the route keys, the $default stage, one permission', () => {
    const { template } = synth({ apiType: 'http', resultsPath: '/_results', directRoute: true });
    const deploy = plan(['--api-type', 'http', '--results-path', '/_results', '--direct-route']);
    const api = resource(template, 'AWS::ApiGatewayV2::Api', 'KitApi');
    expect(api.props.ProtocolType).toBe('HTTP');
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', { StageName: deploy.api.stage, AutoDeploy: true });
    const proxy = resource(template, 'AWS::Lambda::Function', 'KitProxy');
    expect((proxy.props.Environment as { Variables: Record<string, unknown> }).Variables[PROXY_ENV.gatewayTimeoutMs]).toBe('30000');
    const integrations = template.findResources('AWS::ApiGatewayV2::Integration');
    const target = (id: string) => {
      const props = (integrations[id] as { Properties: { IntegrationUri: { 'Fn::GetAtt': [string, string] }; PayloadFormatVersion: string; TimeoutInMillis: number; IntegrationType: string } }).Properties;
      return { fn: props.IntegrationUri['Fn::GetAtt'][0].replace(/[0-9A-F]{8}$/, ''), format: props.PayloadFormatVersion, timeout: props.TimeoutInMillis, type: props.IntegrationType };
    };
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route')).map((r) => {
      const props = (r as { Properties: { RouteKey: string; Target: { 'Fn::Join': [string, [string, { Ref: string }]] } } }).Properties;
      return { key: props.RouteKey, ...target(props.Target['Fn::Join'][1][1].Ref) };
    }).sort((a, b) => (a.key < b.key ? -1 : 1));
    expect(routes).toEqual([
      { key: 'ANY /', fn: 'KitProxy', format: '2.0', timeout: 30_000, type: 'AWS_PROXY' },
      { key: 'ANY /direct', fn: 'KitMainExample', format: '2.0', timeout: 30_000, type: 'AWS_PROXY' },
      { key: 'ANY /direct/{proxy+}', fn: 'KitMainExample', format: '2.0', timeout: 30_000, type: 'AWS_PROXY' },
      { key: 'ANY /{proxy+}', fn: 'KitProxy', format: '2.0', timeout: 30_000, type: 'AWS_PROXY' },
      { key: 'GET /_results/{id}', fn: 'KitProxy', format: '2.0', timeout: 30_000, type: 'AWS_PROXY' },
    ]);
    template.resourceCountIs('AWS::Lambda::Permission', 2);
    template.resourceCountIs('AWS::ApiGateway::RestApi', 0);
  });

  it('attaches to an existing REST API or HTTP API, and fronts an existing Main', () => {
    const rest = synth({}, (stack) => {
      const api = new apigateway.RestApi(stack, 'Mine', { deployOptions: { stageName: 'live' } });
      api.root.addResource('health').addMethod('GET', new apigateway.MockIntegration());
      const main = lambda.Function.fromFunctionArn(stack, 'Slow', 'arn:aws:lambda:eu-west-1:123456789012:function:slow');
      return { restApi: api as apigateway.IRestApi, main };
    });
    rest.template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
    rest.template.resourceCountIs('AWS::Lambda::Function', 2);
    rest.template.resourceCountIs('AWS::ApiGateway::Method', 3);
    expect(rest.kit.restApi?.node.id).toBe('Mine');
    expect(rest.kit.main.functionArn).toBe('arn:aws:lambda:eu-west-1:123456789012:function:slow');
    const talker = statements(rest.template, 'KitTalkerRole');
    expect(talker[1]!.Resource).toEqual(['arn:aws:lambda:eu-west-1:123456789012:function:slow', 'arn:aws:lambda:eu-west-1:123456789012:function:slow:*']);
    const talkerEnv = (resource(rest.template, 'AWS::Lambda::Function', 'KitTalker').props.Environment as { Variables: Record<string, unknown> }).Variables;
    // By its ARN, as deploy passes an ARN it is given: a Main of another account is invoked there.
    expect(talkerEnv[TALKER_ENV.mainName]).toBe('arn:aws:lambda:eu-west-1:123456789012:function:slow');
    expect(rest.stack.resolve(rest.kit.url)).toEqual({ 'Fn::Join': ['', ['https://', { Ref: expect.stringMatching(/^Mine/) }, '.execute-api.eu-west-1.', { Ref: 'AWS::URLSuffix' }, '/', { Ref: expect.stringMatching(/^MineDeploymentStagelive/) }, '/']] });

    const http = synth({}, (stack) => ({ httpApi: new apigwv2.HttpApi(stack, 'Mine') as apigwv2.IHttpApi }));
    http.template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    http.template.resourceCountIs('AWS::ApiGatewayV2::Route', 2);
    expect(http.kit.apiType).toBe('http');
  });

  it('secrets reach the Proxy as dynamic references, never as text', () => {
    const { template } = synth({}, (stack) => ({
      apiKey: { secret: secretsmanager.Secret.fromSecretNameV2(stack, 'Key', 'kit/api-key') },
      signingSecret: { secret: new secretsmanager.Secret(stack, 'Signing', { generateSecretString: { passwordLength: 48, excludePunctuation: true } }) as secretsmanager.ISecret, jsonField: 'signing' },
    }));
    const env = (resource(template, 'AWS::Lambda::Function', 'KitProxy').props.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env[PROXY_ENV.apiKey]).toEqual({ 'Fn::Join': ['', ['{{resolve:secretsmanager:arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:eu-west-1:123456789012:secret:kit/api-key:SecretString:::}}']] });
    expect(env[PROXY_ENV.signingSecret]).toEqual({ 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: expect.stringMatching(/^Signing/) }, ':SecretString:signing::}}']] });
  });

  it('bundles the kit\'s own functions into assets whose index.js exports the handlers', () => {
    const app = new App();
    const stack = new Stack(app, 'Bundled');
    new LongRequestKit(stack, 'Kit', { transferMode: 'stream' });
    const assembly = app.synth();
    const assets = readdirSync(assembly.directory).filter((f) => f.startsWith('asset.'));
    expect(assets).toHaveLength(3);
    const sources = assets.map((dir) => readFileSync(path.join(assembly.directory, dir, 'index.js'), 'utf8'));
    expect(sources.every((code) => /exports|module\.exports/.test(code))).toBe(true);
    expect(sources.filter((code) => code.includes('streamHandler'))).toHaveLength(1);
  });

  it('deploys an imported REST API itself, to stageName, anew when its routes change; refuses an imported HTTP API without its endpoint', () => {
    const imported = (props: LongRequestKitProps) => synth(props, (stack) => ({
      restApi: apigateway.RestApi.fromRestApiAttributes(stack, 'Theirs', { restApiId: 'abc123', rootResourceId: 'root0' }),
    }));
    const first = imported({ stageName: 'live' });
    const deployments = first.template.findResources('AWS::ApiGateway::Deployment');
    expect(Object.values(deployments).map((d) => (d as { Properties: Record<string, unknown> }).Properties)).toEqual([
      expect.objectContaining({ RestApiId: 'abc123', StageName: 'live' }),
    ]);
    const [deploymentId] = Object.keys(deployments);
    expect((deployments[deploymentId!] as { DependsOn: string[] }).DependsOn.length).toBeGreaterThanOrEqual(2);
    expect(first.stack.resolve(first.kit.url)).toEqual({ 'Fn::Join': ['', ['https://abc123.execute-api.eu-west-1.', { Ref: 'AWS::URLSuffix' }, '/live/']] });
    const changed = imported({ stageName: 'live', resultsPath: '/_results' });
    expect(Object.keys(changed.template.findResources('AWS::ApiGateway::Deployment'))).not.toEqual([deploymentId]);
    // A RestApi of the app deploys itself; stageName would name nothing.
    expect(() => synth({ stageName: 'x' }, (stack) => ({ restApi: new apigateway.RestApi(stack, 'Mine') as apigateway.IRestApi }))).toThrow(/stageName applies to a REST API without a deployment of its own/);
    expect(() => synth({}, (stack) => ({ httpApi: apigwv2.HttpApi.fromHttpApiAttributes(stack, 'Theirs', { httpApiId: 'h1' }) }))).toThrow(/httpApi is imported without its apiEndpoint/);
    expect(() => synth({}, (stack) => ({ httpApi: new apigwv2.HttpApi(stack, 'NoDefault', { createDefaultStage: false }) as apigwv2.IHttpApi }))).toThrow(/httpApi has no \$default stage/);
    const endpoint = synth({}, (stack) => ({ httpApi: apigwv2.HttpApi.fromHttpApiAttributes(stack, 'Theirs', { httpApiId: 'h1', apiEndpoint: 'https://h1.execute-api.eu-west-1.amazonaws.com' }) }));
    expect(endpoint.kit.url).toBe('https://h1.execute-api.eu-west-1.amazonaws.com/');
  });

  it('keeps the HTTP direct route at 30 s whatever the Proxy\'s timeout, and lets two kits front one Main', () => {
    const { template } = synth({ apiType: 'http', directRoute: true, integrationTimeout: Duration.seconds(20) });
    const timeouts = Object.values(template.findResources('AWS::ApiGatewayV2::Integration')).map((i) => (i as { Properties: { TimeoutInMillis: number } }).Properties.TimeoutInMillis).sort();
    expect(timeouts).toEqual([20_000, 30_000]);
    const app = new App();
    const stack = new Stack(app, 'Two');
    const main = new lambda.Function(stack, 'Main', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: INLINE.mainExample });
    new LongRequestKit(stack, 'A', { code: INLINE, main, directRoute: true });
    new LongRequestKit(stack, 'B', { code: INLINE, main, apiType: 'http', directRoute: true });
    Template.fromStack(stack).resourceCountIs('AWS::Lambda::Permission', 4);
  });

  it.each([
    ['a REST API', {} as LongRequestKitProps],
    ['a streaming REST API with every route', { resultsPath: '/_results', directRoute: true, transferMode: 'stream' } as LongRequestKitProps],
    ['an HTTP API', { apiType: 'http', resultsPath: '/_results', directRoute: true } as LongRequestKitProps],
  ])('cdk-nag\'s AwsSolutions pack passes on %s, each acknowledgement with its reason', (_name, props) => {
    const app = new App();
    const stack = new Stack(app, 'Nag');
    new LongRequestKit(stack, 'Kit', { code: INLINE, ...props });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    // Synthesis throws ValidationFailed with the report when any finding is not acknowledged.
    expect(() => app.synth()).not.toThrow();
    // Each acknowledgement is recorded as { "<plugin>::<rule>[finding]": reason }.
    const acknowledged = stack.node.findAll().flatMap((c) => c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>)));
    expect(acknowledged.length).toBeGreaterThan(5);
    for (const [id, reason] of acknowledged) {
      expect(id).toMatch(/^AwsSolutions::AwsSolutions-[A-Z]+\d+/);
      expect(reason.length, id).toBeGreaterThan(30);
    }
  });

  it('cdk-nag passes with an imported Main (its ARN a join of tokens) and with an alias', () => {
    const app = new App();
    const stack = new Stack(app, 'NagMain');
    new LongRequestKit(stack, 'Imported', { code: INLINE, main: lambda.Function.fromFunctionName(stack, 'Slow', 'my-slow-function') });
    const fn = new lambda.Function(stack, 'Fn', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: INLINE.mainExample });
    Validations.of(fn).acknowledge({ id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', reason: 'the test\'s own function, not the kit\'s' });
    Validations.of(fn).acknowledge({ id: 'AwsSolutions::AwsSolutions-L1', reason: 'the test\'s own function, not the kit\'s' });
    new LongRequestKit(stack, 'Aliased', { code: INLINE, main: new lambda.Alias(stack, 'Live', { aliasName: 'live', version: fn.currentVersion as lambda.IVersion }) as lambda.IFunction });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).not.toThrow();
  });

  it('cdk-nag still reports what the kit does not acknowledge', () => {
    const app = new App();
    const stack = new Stack(app, 'Nag');
    new LongRequestKit(stack, 'Kit', { code: INLINE });
    new apigateway.RestApi(stack, 'Other').root.addMethod('GET', new apigateway.MockIntegration());
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    let report = '';
    try {
      app.synth();
    } catch (err) {
      report = String(err);
    }
    expect(report).toMatch(/Nag\/Other\/Resource .*\n\s+Acknowledge with 'AwsSolutions::AwsSolutions-APIG2'/);
    expect(report).not.toMatch(/Nag\/Kit\//);
  });
});
