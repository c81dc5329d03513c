// The kit as a CDK construct: the table, one least-privilege role per function, the Talker (no
// async retries), the Proxy and the routes, with the deploy script's settings.
import { Aws, Duration, Names, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { PROXY_ENV, TALKER_ENV, type TransferMode } from '../core/config';
import { HANDLER, HTTP_API_TIMEOUT_MS, STREAM_HANDLER } from '../scripts/lib/deploy-options';
import { TABLE_ACTIONS, integrationUri } from '../scripts/lib/deploy-plan';
import { kitFunctionCode } from './bundling';
import type { KitApiType, KitSecret, LongRequestKitProps } from './props';
import { kitSettings, type KitSettings } from './settings';
import { KitPropsError } from './errors';

/** The tasks table's key and TTL attribute (as the Proxy and the Talker read them). */
export const KIT_TABLE = {
  /** The partition key, a string: the request's id. */
  partitionKey: 'RequestID',
  /** The TTL attribute: when a task may be deleted, in epoch seconds. */
  ttlAttribute: 'ExpiresAt',
} as const;

/** The execution roles the construct creates. */
export interface KitRoles {
  /** The Proxy's: the table, and invoking the Talker. */
  proxy: iam.Role;
  /** The Talker's: the table, and invoking Main. */
  talker: iam.Role;
  /** main-example's (logs and X-Ray only), when the construct deploys it. */
  mainExample: iam.Role | undefined;
}

/** The AWS managed policies on every execution role, as the deploy script attaches them: CloudWatch Logs and X-Ray. */
export const KIT_MANAGED_POLICIES = ['service-role/AWSLambdaBasicExecutionRole', 'AWSXRayDaemonWriteAccess'] as const;

/** The description of every resource the construct names. */
const DESCRIPTION = 'lambda-long-request-kit';

/** The direct route's integration: as API Gateway makes it (buffered, 29 s) on a REST API. */
const DIRECT_TIMEOUT_MS = 29_000;

/** Why each cdk-nag finding on the API is accepted. */
const NAG_REASONS = {
  requestValidation: 'The kit passes every request to Main unchanged; validating it is Main\'s business.',
  accessLogs: 'Access and execution logs need the account\'s API Gateway CloudWatch role and a log group of the app\'s choosing; the Proxy logs every request with its RequestID.',
  waf: 'A web ACL is the app\'s choice; the kit adds none.',
  authorization: 'Main owns authorization, as it did without the kit; the Proxy checks API_KEY when one is set and signs its links.',
} as const;

/**
 * The long-request kit in front of any Lambda function: clients of the API get Main's answer
 * however long it runs, through 303 redirects, with Main unchanged.
 *
 * ```ts
 * const kit = new LongRequestKit(this, 'Kit', { main: myFunction, apiType: 'http' });
 * new CfnOutput(this, 'Url', { value: kit.url });
 * ```
 */
export class LongRequestKit extends Construct {
  /** The URL clients call (the stage's base URL, ending in `/`). */
  readonly url: string;
  /** REST or HTTP API. */
  readonly apiType: KitApiType;
  /** The tasks table (key `RequestID`, TTL on `ExpiresAt`, on-demand). */
  readonly table: dynamodb.Table;
  /** The Proxy, which API Gateway invokes. */
  readonly proxy: lambda.Function;
  /** The Talker, which runs Main and records its answer. */
  readonly talker: lambda.Function;
  /** Main: the function given, or main-example. */
  readonly main: lambda.IFunction;
  /** main-example, when no Main was given. */
  readonly mainExample: lambda.Function | undefined;
  /** The execution roles the construct creates. */
  readonly roles: KitRoles;
  /** The REST API (created or given), on a REST kit. */
  readonly restApi: apigateway.IRestApi | undefined;
  /** The HTTP API (created or given), on an HTTP kit. */
  readonly httpApi: apigwv2.IHttpApi | undefined;
  /** The settings the kit was built with, every default applied. */
  readonly settings: KitSettings;

  /**
   * @param scope - the parent construct
   * @param id - the construct's id
   * @param props - the kit's options (all optional)
   * @throws KitPropsError - a property the kit cannot deploy as given
   */
  constructor(scope: Construct, id: string, props: LongRequestKitProps = {}) {
    super(scope, id);
    const settings = kitSettings(props);
    this.settings = settings;
    this.apiType = settings.apiType;
    const architecture = props.architecture ?? lambda.Architecture.X86_64;

    this.table = new dynamodb.Table(this, 'Tasks', {
      partitionKey: { name: KIT_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: KIT_TABLE.ttlAttribute,
      removalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    acknowledge(this.table, 'AwsSolutions-DDB3', 'The table holds only tasks that expire within hours (TTL); there is nothing to restore to a point in time.');

    const makeRole = (name: string, statements: iam.PolicyStatement[]): iam.Role => {
      const role = new iam.Role(this, `${name}Role`, {
        assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
        description: `${DESCRIPTION}: execution role of the ${name.toLowerCase()} function`,
        managedPolicies: KIT_MANAGED_POLICIES.map((p) => iam.ManagedPolicy.fromAwsManagedPolicyName(p)),
        ...(statements.length > 0 && { inlinePolicies: { [`${name}Policy`]: new iam.PolicyDocument({ statements }) } }),
      });
      for (const policy of KIT_MANAGED_POLICIES) {
        acknowledge(role, `AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${policy}]`,
          'The AWS managed policies for CloudWatch Logs and X-Ray writes, as the deploy script attaches them.');
      }
      return role;
    };
    const makeFunction = (name: string, role: iam.Role, code: lambda.Code, options: { handler?: string; timeout: number; environment: Record<string, string>; retryAttempts?: number }): lambda.Function => {
      const fn = new lambda.Function(this, name, {
        runtime: lambda.Runtime.NODEJS_22_X,
        handler: options.handler ?? HANDLER,
        code,
        role,
        architecture,
        memorySize: settings.memorySize,
        timeout: Duration.seconds(options.timeout),
        environment: options.environment,
        description: `${DESCRIPTION}: ${name === 'MainExample' ? 'main' : name.toLowerCase()}`,
        ...(options.retryAttempts !== undefined && { retryAttempts: options.retryAttempts }),
      });
      // Active tracing as the deploy script sets it; through the CloudFormation property, because
      // the L2's `tracing` adds an X-Ray policy the managed one already grants.
      (fn.node.defaultChild as lambda.CfnFunction).tracingConfig = { mode: 'Active' };
      acknowledge(fn, 'AwsSolutions-L1', 'The kit targets nodejs22.x, the runtime its code is built and tested for.');
      return fn;
    };

    let mainExample: lambda.Function | undefined;
    let mainExampleRole: iam.Role | undefined;
    if (props.main) {
      this.main = props.main;
    } else {
      mainExampleRole = makeRole('MainExample', []);
      mainExample = makeFunction('MainExample', mainExampleRole, props.code?.mainExample ?? kitFunctionCode('main-example'), {
        timeout: settings.timeouts.mainExample, environment: settings.mainExampleEnvironment,
      });
      this.main = mainExample;
    }
    this.mainExample = mainExample;

    const invoke = (fn: lambda.IFunction, sid: string): iam.PolicyStatement => new iam.PolicyStatement({
      sid, actions: ['lambda:InvokeFunction'], resources: [fn.functionArn, `${fn.functionArn}:*`],
    });
    const tableStatement = (actions: readonly string[]): iam.PolicyStatement => new iam.PolicyStatement({
      sid: 'TasksTable', actions: [...actions], resources: [this.table.tableArn],
    });

    const talkerRole = makeRole('Talker', [tableStatement(TABLE_ACTIONS.talker), invoke(this.main, 'InvokeMain')]);
    this.talker = makeFunction('Talker', talkerRole, props.code?.talker ?? kitFunctionCode('talker'), {
      timeout: settings.timeouts.talker,
      // Main by its ARN: a Main of another account or region is invoked there, not by its name here.
      environment: { ...settings.talkerEnvironment, [TALKER_ENV.tableName]: this.table.tableName, [TALKER_ENV.mainName]: this.main.functionArn },
      // A retried Talker would run Main twice; the Proxy reports a lost task instead.
      retryAttempts: 0,
    });

    const proxyRole = makeRole('Proxy', [tableStatement(TABLE_ACTIONS.proxy), invoke(this.talker, 'InvokeTalker')]);
    for (const [role, fn] of [[talkerRole, this.main], [proxyRole, this.talker]] as const) {
      const arn = this.arnInFindings(fn);
      if (arn !== undefined) {
        acknowledge(role, `AwsSolutions-IAM5[Resource::${arn}:*]`,
          'Invoking the function\'s versions and aliases (<arn>:*), as the deploy script grants: one function, nothing else.');
      }
    }
    this.proxy = makeFunction('Proxy', proxyRole, props.code?.proxy ?? kitFunctionCode('proxy'), {
      handler: settings.transferMode === 'stream' ? STREAM_HANDLER : HANDLER,
      timeout: settings.timeouts.proxy,
      environment: {
        ...settings.proxyEnvironment,
        [PROXY_ENV.tableName]: this.table.tableName,
        [PROXY_ENV.talkerName]: this.talker.functionName,
        ...secretVariable(PROXY_ENV.apiKey, props.apiKey),
        ...secretVariable(PROXY_ENV.signingSecret, props.signingSecret),
      },
    });
    this.roles = { proxy: proxyRole, talker: talkerRole, mainExample: mainExampleRole };

    if (settings.apiType === 'rest') {
      const { api, url } = this.restRoutes(props.restApi, settings);
      this.restApi = api;
      this.httpApi = undefined;
      this.url = url;
    } else {
      const { api, url } = this.httpRoutes(props.httpApi, settings);
      this.httpApi = api;
      this.restApi = undefined;
      this.url = url;
    }
  }

  /**
   * How cdk-nag spells a function's ARN in a finding: a reference as `<LogicalId>`, an attribute as
   * `<LogicalId.Attr>`, a join as its parts joined (`arn:<AWS::Partition>:lambda:...`); undefined
   * for anything else (a cross-stack import), which the app then acknowledges itself.
   */
  private arnInFindings(fn: lambda.IFunction): string | undefined {
    const flatten = (value: unknown): string | undefined => {
      if (typeof value === 'string') return value;
      if (typeof value !== 'object' || value === null) return undefined;
      const v = value as Record<string, unknown>;
      if (typeof v.Ref === 'string') return `<${v.Ref}>`;
      const att = v['Fn::GetAtt'];
      if (Array.isArray(att) && att.length === 2) return `<${String(att[0])}.${String(att[1])}>`;
      const join = v['Fn::Join'];
      if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
        const parts = (join[1] as unknown[]).map(flatten);
        return parts.every((p) => p !== undefined) ? parts.join(join[0]) : undefined;
      }
      return undefined;
    };
    return flatten(Stack.of(this).resolve(fn.functionArn));
  }

  /** Lets one API invoke a function: one statement for the API's every stage, method and path, as deploy adds it. */
  private allowApi(fn: lambda.IFunction, apiId: string, id: string): void {
    // Named after this kit: two kits in front of one Main each add their own.
    fn.addPermission(`${id}${Names.uniqueId(this)}`, {
      principal: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      sourceArn: Stack.of(this).formatArn({ service: 'execute-api', resource: apiId, resourceName: '*' }),
    });
  }

  /** The REST API's routes: `/` and `/{proxy+}` to the Proxy, and the optional direct and results routes. */
  private restRoutes(given: apigateway.IRestApi | undefined, settings: KitSettings): { api: apigateway.IRestApi; url: string } {
    const api = given ?? new apigateway.RestApi(this, 'Api', {
      description: DESCRIPTION,
      endpointConfiguration: { types: [apigateway.EndpointType[settings.endpointType]] },
      ...(settings.binaryMediaTypes.length > 0 && { binaryMediaTypes: settings.binaryMediaTypes }),
      // The account-wide CloudWatch role is the account's business, not the kit's.
      cloudWatchRole: false,
      deployOptions: { stageName: settings.stageName, description: `deployed by ${DESCRIPTION}` },
    });
    const integration = (fn: lambda.IFunction, mode: TransferMode, timeoutMs: number): apigateway.Integration => new apigateway.Integration({
      type: apigateway.IntegrationType.AWS_PROXY,
      integrationHttpMethod: 'POST',
      uri: integrationUri({ partition: Aws.PARTITION, region: Aws.REGION }, fn.functionArn, mode),
      options: {
        timeout: Duration.millis(timeoutMs),
        ...(mode === 'stream' && { responseTransferMode: apigateway.ResponseTransferMode.STREAM }),
      },
    });
    if (!given) {
      acknowledge(api, 'AwsSolutions-APIG2', NAG_REASONS.requestValidation);
      const stage = api.deploymentStage;
      acknowledge(stage, 'AwsSolutions-APIG1', NAG_REASONS.accessLogs);
      acknowledge(stage, 'AwsSolutions-APIG6', NAG_REASONS.accessLogs);
      acknowledge(stage, 'AwsSolutions-APIG3', NAG_REASONS.waf);
    }
    const methods: apigateway.Method[] = [];
    const addMethod = (resource: apigateway.IResource, method: string, target: apigateway.Integration): void => {
      const created = resource.addMethod(method, target);
      methods.push(created);
      acknowledge(created, 'AwsSolutions-APIG4', NAG_REASONS.authorization);
      acknowledge(created, 'AwsSolutions-COG4', NAG_REASONS.authorization);
    };
    const toProxy = integration(this.proxy, settings.transferMode, settings.integrationTimeoutMs);
    addMethod(api.root, 'ANY', toProxy);
    addMethod(api.root.addResource('{proxy+}'), 'ANY', toProxy);
    if (settings.directRoute) {
      const toMain = integration(this.main, 'buffered', DIRECT_TIMEOUT_MS);
      const direct = api.root.addResource('direct');
      addMethod(direct, 'ANY', toMain);
      addMethod(direct.addResource('{proxy+}'), 'ANY', toMain);
      this.allowApi(this.main, api.restApiId, 'AllowKitDirectRoute');
    }
    if (settings.resultsPath) addMethod(api.root.resourceForPath(`${settings.resultsPath}/{id}`), 'GET', toProxy);
    this.allowApi(this.proxy, api.restApiId, 'AllowKitApi');
    // aws-cdk-lib's classes declare optional members that its interfaces require; under
    // exactOptionalPropertyTypes only a cast says that a RestApi is an IRestApi.
    const rest = api as apigateway.IRestApi;
    if (rest.latestDeployment) {
      if (given && settings.stageNameGiven) throw new KitPropsError('stageName', 'applies to a REST API without a deployment of its own (an imported one); the API given deploys to its own stage');
      return { api: rest, url: rest.deploymentStage.urlForPath('/') };
    }
    // An imported API (or one with deploy: false) has no deployment CDK keeps current: the kit
    // deploys it to stageName itself, anew whenever its routes change.
    const deployment = new apigateway.Deployment(this, 'Deployment', { api: rest, description: `deployed by ${DESCRIPTION}`, stageName: settings.stageName });
    for (const method of methods) deployment.node.addDependency(method);
    deployment.addToLogicalId({ methods: methods.map((m) => Stack.of(this).resolve((m.node.defaultChild as apigateway.CfnMethod).integration)) });
    const where = Stack.of(this);
    return { api: rest, url: `https://${rest.restApiId}.execute-api.${where.region}.${where.urlSuffix}/${settings.stageName}/` };
  }

  /** The HTTP API's routes: `ANY /` and `ANY /{proxy+}` to the Proxy, and the optional direct and results routes. */
  private httpRoutes(given: apigwv2.IHttpApi | undefined, settings: KitSettings): { api: apigwv2.IHttpApi; url: string } {
    const api = given ?? new apigwv2.HttpApi(this, 'Api', { description: DESCRIPTION, createDefaultStage: true });
    if (api instanceof apigwv2.HttpApi && !given && api.defaultStage) acknowledge(api.defaultStage, 'AwsSolutions-APIG1', NAG_REASONS.accessLogs);
    // L1 integrations: the L2 refuses a timeout above 29 s, while HTTP APIs allow 30 s.
    const integration = (id: string, fn: lambda.IFunction, timeoutMs: number): apigwv2.CfnIntegration => new apigwv2.CfnIntegration(this, id, {
      apiId: api.apiId,
      integrationType: 'AWS_PROXY',
      integrationUri: fn.functionArn,
      payloadFormatVersion: '2.0',
      timeoutInMillis: timeoutMs,
    });
    const route = (id: string, routeKey: string, target: apigwv2.CfnIntegration): void => {
      const created = new apigwv2.CfnRoute(this, id, { apiId: api.apiId, routeKey, target: `integrations/${target.ref}` });
      acknowledge(created, 'AwsSolutions-APIG4', NAG_REASONS.authorization);
    };
    const toProxy = integration('ProxyIntegration', this.proxy, settings.integrationTimeoutMs);
    route('RouteRoot', 'ANY /', toProxy);
    route('RouteProxy', 'ANY /{proxy+}', toProxy);
    if (settings.directRoute) {
      // The direct route stays as an HTTP API makes it (30 s): it shows the problem.
      const toMain = integration('MainIntegration', this.main, HTTP_API_TIMEOUT_MS);
      route('RouteDirect', 'ANY /direct', toMain);
      route('RouteDirectProxy', 'ANY /direct/{proxy+}', toMain);
      this.allowApi(this.main, api.apiId, 'AllowKitDirectRoute');
    }
    if (settings.resultsPath) route('RouteResults', `GET ${settings.resultsPath}/{id}`, toProxy);
    this.allowApi(this.proxy, api.apiId, 'AllowKitApi');
    // The kit serves at the API's $default stage, whose auto-deploy puts its routes live.
    if (api instanceof apigwv2.HttpApi) {
      if (!api.defaultStage) throw new KitPropsError('httpApi', 'has no $default stage: the kit serves at the $default stage (createDefaultStage: true, with auto-deploy)');
      return { api: api as apigwv2.IHttpApi, url: api.defaultStage.url };
    }
    let endpoint: string;
    try {
      endpoint = api.apiEndpoint;
    } catch {
      throw new KitPropsError('httpApi', 'is imported without its apiEndpoint: use HttpApi.fromHttpApiAttributes(scope, id, { httpApiId, apiEndpoint })');
    }
    return { api, url: `${endpoint}/` };
  }
}

/**
 * Acknowledges a finding of cdk-nag's AwsSolutions pack on a construct, with its reason, through
 * CDK's own mechanism (cdk-nag 3 reads it), so that the construct does not depend on cdk-nag.
 */
function acknowledge(scope: Construct, rule: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions::${rule}`, reason });
}

/**
 * A Proxy variable from a secret: a CloudFormation dynamic reference
 * (`{{resolve:secretsmanager:...}}`), which the template holds instead of the text.
 */
function secretVariable(name: string, given: KitSecret | undefined): Record<string, string> {
  if (!given) return {};
  const value = given.jsonField === undefined ? given.secret.secretValue : given.secret.secretValueFromJson(given.jsonField);
  return { [name]: value.unsafeUnwrap() };
}
