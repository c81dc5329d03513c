// What deploy creates, computed from the options alone (pure): names, ARNs, policies, settings.
// The real deploy and the dry run both read this plan, so they cannot drift apart.
import { HANDLER, ROLES, RUNTIME, SOURCE_FOLDER } from './deploy-options.mjs';

/** Trust policy of every execution role: Lambda may assume it. */
export const LAMBDA_TRUST_POLICY = Object.freeze({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

/** The DynamoDB actions the Proxy and the Talker need on the tasks table, and no more. */
export const TABLE_ACTIONS = Object.freeze({
  proxy: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
  talker: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'],
});

/**
 * The AWS partition of a region (aws, aws-cn, aws-us-gov).
 *
 * @param {string} region
 * @returns {string}
 */
export function partitionOf(region) {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/**
 * The AWS managed policies attached to every execution role: CloudWatch Logs and X-Ray.
 *
 * @param {string} partition
 * @returns {string[]}
 */
export function managedPolicyArns(partition) {
  return [
    `arn:${partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole`,
    `arn:${partition}:iam::aws:policy/AWSXRayDaemonWriteAccess`,
  ];
}

/**
 * A function's ARN, or the name itself when it already is an ARN.
 *
 * @param {{ partition: string, region: string, account: string }} where
 * @param {string} nameOrArn
 * @returns {string}
 */
export function functionArn(where, nameOrArn) {
  if (nameOrArn.startsWith('arn:')) return nameOrArn;
  return `arn:${where.partition}:lambda:${where.region}:${where.account}:function:${nameOrArn}`;
}

/**
 * The source ARN that lets one REST API (any stage, method and path) invoke a function.
 *
 * @param {{ partition: string, region: string, account: string }} where
 * @param {string} apiId
 * @returns {string}
 */
export function apiSourceArn(where, apiId) {
  return `arn:${where.partition}:execute-api:${where.region}:${where.account}:${apiId}/*`;
}

/**
 * The integration URI of an AWS_PROXY integration with a function.
 *
 * @param {{ partition: string, region: string }} where
 * @param {string} fnArn
 * @returns {string}
 */
export function integrationUri(where, fnArn) {
  return `arn:${where.partition}:apigateway:${where.region}:lambda:path/2015-03-31/functions/${fnArn}/invocations`;
}

/**
 * The statement id of the permission that lets an API invoke a function (one per API, so that a
 * re-created API gets its own and destroy can remove it).
 *
 * @param {string} apiId
 * @returns {string}
 */
export function permissionStatementId(apiId) {
  return `apigateway-${apiId}`;
}

/**
 * The URL clients call: API Gateway's on AWS, LocalStack's shape on a local endpoint.
 *
 * @param {{ endpoint?: string, region: string, apiId: string, stage: string }} where
 * @returns {string}
 */
export function invokeUrl({ endpoint, region, apiId, stage }) {
  if (endpoint) return `${endpoint.replace(/\/+$/, '')}/_aws/execute-api/${apiId}/${stage}/`;
  const suffix = partitionOf(region) === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://${apiId}.execute-api.${region}.${suffix}/${stage}/`;
}

/**
 * Everything deploy creates or updates, from the options and the account.
 *
 * @param {import('./deploy-options.d.mts').DeployOptions} options
 * @param {{ account: string, partition?: string }} ids
 * @returns {import('./deploy-plan.d.mts').DeployPlan}
 */
export function planDeploy(options, { account, partition: givenPartition }) {
  const region = options.region ?? 'us-east-1';
  const partition = givenPartition ?? partitionOf(region);
  const where = { partition, region, account };
  const { names } = options;
  const tableArn = `arn:${partition}:dynamodb:${region}:${account}:table/${names.table}`;
  const mainName = options.mainName ?? names.functions.main;
  const arns = {
    proxy: functionArn(where, names.functions.proxy),
    talker: functionArn(where, names.functions.talker),
    main: functionArn(where, mainName),
  };
  const deployMain = options.mainName === undefined;

  /** @type {Record<'proxy' | 'talker' | 'main', object | null>} */
  const inline = {
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

  const roles = ROLES.filter((key) => key !== 'main' || deployMain).map((key) => {
    const given = options.givenRoles[key];
    return {
      key,
      managed: given === undefined,
      name: given === undefined ? names.roles[key] : given.slice(given.lastIndexOf('/') + 1),
      arn: given ?? `arn:${partition}:iam::${account}:role/${names.roles[key]}`,
      trustPolicy: LAMBDA_TRUST_POLICY,
      inlinePolicy: inline[key] === null ? null : { name: names.policies[key], document: inline[key] },
      managedPolicyArns: managedPolicyArns(partition),
    };
  });
  const roleArn = Object.fromEntries(roles.map((r) => [r.key, r.arn]));

  const environment = {
    proxy: { ...options.env.proxy, DYNAMODB_TABLE_NAME: names.table, LAMBDA_TALKER_NAME: names.functions.talker },
    talker: { ...options.env.talker, DYNAMODB_TABLE_NAME: names.table, MAIN_LAMBDA_NAME: mainName },
    main: { ...options.env.main, DELAY_SECONDS: String(options.mainDelay) },
  };
  const functions = ROLES.filter((key) => key !== 'main' || deployMain).map((key) => ({
    key,
    name: names.functions[key],
    arn: arns[key],
    source: SOURCE_FOLDER[key],
    zipPath: `${SOURCE_FOLDER[key]}/dist/deploy.zip`,
    roleArn: roleArn[key],
    runtime: RUNTIME,
    handler: HANDLER,
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
    api: { name: names.api, stage: options.stage, directRoute: options.directRoute, resultsPath: options.resultsPath },
  };
}

/**
 * A copy of an object with its keys sorted (stable environment blocks, stable comparisons).
 *
 * @param {Record<string, string>} obj
 * @returns {Record<string, string>}
 */
export function sortKeys(obj) {
  return Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
