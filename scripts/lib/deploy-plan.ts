// What deploy creates, computed from the options alone (pure): names, ARNs, policies, settings.
// The real deploy and the dry run both read this plan, so they cannot drift apart.
import { PROXY_ENV, TALKER_ENV } from '../../core/config';
import { MAIN_EXAMPLE_ENV } from '../../main-example/main';
import type { EndpointType, TransferMode } from '../../core/config';
import { HANDLER, HTTP_DEFAULT_STAGE, ROLES, RUNTIME, SOURCE_FOLDER, STREAM_HANDLER, type ApiType, type DeployOptions, type FunctionKey } from './deploy-options';

/** Where resources live. */
export interface Where {
  /** `aws`, `aws-cn` or `aws-us-gov`. */
  partition: string;
  /** The region. */
  region: string;
  /** The account id. */
  account: string;
}

/** An IAM policy document. */
export interface PolicyDocument {
  /** Always 2012-10-17. */
  Version: string;
  /** Its statements. */
  Statement: Array<Record<string, unknown>>;
}

/** An execution role in the plan. */
export interface RolePlan {
  /** The function it is for. */
  key: FunctionKey;
  /** Whether deploy creates it (false: given with `--*-role`). */
  managed: boolean;
  /** Its name. */
  name: string;
  /** Its ARN. */
  arn: string;
  /** Who may assume it. */
  trustPolicy: PolicyDocument;
  /** Its inline policy, if any. */
  inlinePolicy: { name: string; document: PolicyDocument } | null;
  /** The managed policies attached to it. */
  managedPolicyArns: string[];
}

/** A function in the plan. */
export interface FunctionPlan {
  /** Which of the kit's functions. */
  key: FunctionKey;
  /** Its name. */
  name: string;
  /** Its ARN. */
  arn: string;
  /** Its source folder. */
  source: string;
  /** Its zip, relative to the repository. */
  zipPath: string;
  /** Its execution role. */
  roleArn: string;
  /** Its runtime. */
  runtime: string;
  /** Its handler. */
  handler: string;
  /** Its timeout, seconds. */
  timeout: number;
  /** Its memory, MB. */
  memory: number;
  /** Its architecture. */
  architecture: 'x86_64' | 'arm64';
  /** Its environment variables, sorted. */
  environment: Record<string, string>;
  /** Its asynchronous invocation settings, if any (the Talker: no retries). */
  eventInvokeConfig: { MaximumRetryAttempts: number } | null;
}

/** Everything deploy creates or updates. */
export interface DeployPlan {
  /** The region. */
  region: string;
  /** The partition. */
  partition: string;
  /** The account. */
  account: string;
  /** The tasks table. */
  table: { name: string; arn: string; key: string; ttlAttribute: string };
  /** The execution roles. */
  roles: RolePlan[];
  /** The functions deploy creates (Main too, unless `--main-name`). */
  functions: FunctionPlan[];
  /** Main, deployed or given. */
  main: { name: string; arn: string; deployed: boolean };
  /** The API (REST or HTTP). */
  api: ApiPlan;
}

/** The API in the plan. */
export interface ApiPlan {
  /** Its type: a REST API or an HTTP API. */
  type: ApiType;
  /** Its name. */
  name: string;
  /** Its stage (`$default` for an HTTP API unless `--stage` is given). */
  stage: string;
  /** Whether Main gets a route of its own, under /direct. */
  directRoute: boolean;
  /** The results route, if any. */
  resultsPath: string | undefined;
  /** Its endpoint type (when deploy creates a REST API; an HTTP API is always regional). */
  endpointType: EndpointType;
  /** How the Proxy's integrations pass its answer on (the direct route stays buffered; always buffered on an HTTP API). */
  transferMode: TransferMode;
  /** The Proxy's integrations' `timeoutInMillis`. */
  integrationTimeoutMs: number;
  /** A REST API's binary media types (none for an HTTP API). */
  binaryMediaTypes: string[];
}

/** Trust policy of every execution role: Lambda may assume it. */
export const LAMBDA_TRUST_POLICY: Readonly<PolicyDocument> = Object.freeze({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

/** The DynamoDB actions the Proxy and the Talker need on the tasks table, and no more. */
export const TABLE_ACTIONS: Readonly<Record<'proxy' | 'talker', readonly string[]>> = Object.freeze({
  proxy: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
  talker: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
});

/**
 * The AWS partition of a region (aws, aws-cn, aws-us-gov).
 */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/**
 * The AWS managed policies attached to every execution role: CloudWatch Logs and X-Ray.
 */
export function managedPolicyArns(partition: string): string[] {
  return [
    `arn:${partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole`,
    `arn:${partition}:iam::aws:policy/AWSXRayDaemonWriteAccess`,
  ];
}

/**
 * A function's ARN, or the name itself when it already is an ARN.
 */
export function functionArn(where: Where, nameOrArn: string): string {
  if (nameOrArn.startsWith('arn:')) return nameOrArn;
  return `arn:${where.partition}:lambda:${where.region}:${where.account}:function:${nameOrArn}`;
}

/**
 * The source ARN that lets one API, REST or HTTP (any stage, method and path), invoke a function.
 */
export function apiSourceArn(where: Where, apiId: string): string {
  return `arn:${where.partition}:execute-api:${where.region}:${where.account}:${apiId}/*`;
}

/**
 * The integration URI of an AWS_PROXY integration with a function: Lambda's Invoke, or
 * InvokeWithResponseStream for a STREAM integration.
 */
export function integrationUri(where: { partition: string; region: string }, fnArn: string, mode: TransferMode = 'buffered'): string {
  const prefix = `arn:${where.partition}:apigateway:${where.region}:lambda:path`;
  return mode === 'stream'
    ? `${prefix}/2021-11-15/functions/${fnArn}/response-streaming-invocations`
    : `${prefix}/2015-03-31/functions/${fnArn}/invocations`;
}

/** The `responseTransferMode` of a transfer mode, as API Gateway spells it. */
export function responseTransferMode(mode: TransferMode): 'BUFFERED' | 'STREAM' {
  return mode === 'stream' ? 'STREAM' : 'BUFFERED';
}

/**
 * The statement id of the permission that lets an API invoke a function (one per API, so that a
 * re-created API gets its own and destroy can remove it).
 */
export function permissionStatementId(apiId: string): string {
  return `apigateway-${apiId}`;
}

/**
 * The URL clients call: API Gateway's on AWS, LocalStack's shape on a local endpoint. An HTTP
 * API's `$default` stage is served at the API's base URL, with no stage in the path.
 */
export function invokeUrl({ endpoint, region, apiId, stage }: { endpoint?: string | undefined; region: string; apiId: string; stage: string }): string {
  const stagePath = stage === HTTP_DEFAULT_STAGE ? '' : `${stage}/`;
  if (endpoint) return `${endpoint.replace(/\/+$/, '')}/_aws/execute-api/${apiId}/${stagePath}`;
  const suffix = partitionOf(region) === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://${apiId}.execute-api.${region}.${suffix}/${stagePath}`;
}

/**
 * Everything deploy creates or updates, from the options and the account.
 */
export function planDeploy(options: DeployOptions, { account, partition: givenPartition }: { account: string; partition?: string }): DeployPlan {
  const region = options.region ?? 'us-east-1';
  const partition = givenPartition ?? partitionOf(region);
  const where = { partition, region, account };
  const { names } = options;
  const tableArn = `arn:${partition}:dynamodb:${region}:${account}:table/${names.table}`;
  const mainName = options.mainName ?? names.functions.main;
  const arns: Record<FunctionKey, string> = {
    proxy: functionArn(where, names.functions.proxy),
    talker: functionArn(where, names.functions.talker),
    main: functionArn(where, mainName),
  };
  const deployMain = options.mainName === undefined;

  const inline: Record<FunctionKey, PolicyDocument | null> = {
    proxy: {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'TasksTable', Effect: 'Allow', Action: TABLE_ACTIONS.proxy, Resource: tableArn },
        { Sid: 'InvokeTalker', Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: [arns.talker, `${arns.talker}:*`] },
      ],
    },
    talker: {
      Version: '2012-10-17',
      Statement: [
        { Sid: 'TasksTable', Effect: 'Allow', Action: TABLE_ACTIONS.talker, Resource: tableArn },
        { Sid: 'InvokeMain', Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: [arns.main, `${arns.main}:*`] },
      ],
    },
    main: null,
  };

  const deployed = ROLES.filter((key) => key !== 'main' || deployMain);
  const roleArn = (key: FunctionKey): string => options.givenRoles[key] ?? `arn:${partition}:iam::${account}:role/${names.roles[key]}`;
  const roles: RolePlan[] = deployed.map((key) => {
    const given = options.givenRoles[key];
    const document = inline[key];
    return {
      key,
      managed: given === undefined,
      name: given === undefined ? names.roles[key] : given.slice(given.lastIndexOf('/') + 1),
      arn: roleArn(key),
      trustPolicy: LAMBDA_TRUST_POLICY,
      inlinePolicy: document === null ? null : { name: names.policies[key], document },
      managedPolicyArns: managedPolicyArns(partition),
    };
  });

  const environment: Record<FunctionKey, Record<string, string>> = {
    proxy: { ...options.env.proxy, [PROXY_ENV.tableName]: names.table, [PROXY_ENV.talkerName]: names.functions.talker },
    talker: { ...options.env.talker, [TALKER_ENV.tableName]: names.table, [TALKER_ENV.mainName]: mainName },
    main: { ...options.env.main, [MAIN_EXAMPLE_ENV.delaySeconds]: String(options.mainDelay) },
  };
  const functions: FunctionPlan[] = deployed.map((key) => ({
    key,
    name: names.functions[key],
    arn: arns[key],
    source: SOURCE_FOLDER[key],
    zipPath: `${SOURCE_FOLDER[key]}/dist/deploy.zip`,
    roleArn: roleArn(key),
    runtime: RUNTIME,
    handler: key === 'proxy' && options.transferMode === 'stream' ? STREAM_HANDLER : HANDLER,
    timeout: options.timeouts[key],
    memory: options.memory,
    architecture: options.architecture,
    environment: sortKeys(environment[key]),
    eventInvokeConfig: key === 'talker' ? { MaximumRetryAttempts: 0 } : null,
  }));

  return {
    region,
    partition,
    account,
    table: { name: names.table, arn: tableArn, key: 'RequestID', ttlAttribute: 'ExpiresAt' },
    roles,
    functions,
    main: { name: mainName, arn: arns.main, deployed: deployMain },
    api: {
      type: options.apiType, name: names.api, stage: options.stage, directRoute: options.directRoute, resultsPath: options.resultsPath,
      endpointType: options.endpointType, transferMode: options.transferMode, integrationTimeoutMs: options.integrationTimeoutMs,
      binaryMediaTypes: options.binaryMediaTypes,
    },
  };
}

/**
 * A copy of an object with its keys sorted (stable environment blocks, stable comparisons).
 */
export function sortKeys(obj: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
