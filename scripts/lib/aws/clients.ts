// The AWS clients of deploy and destroy, and what every resource module shares: error tests,
// the target's configuration, the account and region.
import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { ApiGatewayV2Client } from '@aws-sdk/client-apigatewayv2';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { ExpectedError } from '../cli';
import { partitionOf } from '../deploy-plan';

// The scripts run on Node 20 too (the project's floor); the SDK's notice that future versions
// will need Node 22 would precede every one-line error, so it is silenced here.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

/** Where deploy writes what it does, one line at a time. */
export type Log = (line: string) => void;

/** What deploy and destroy call: the target's endpoint and region. */
export interface ClientTarget {
  /** A local endpoint (LocalStack, the local stack), or none for AWS. */
  endpoint?: string | undefined;
  /** The region, or the SDK's own resolution. */
  region?: string | undefined;
  /** Whether the target is local. */
  local: boolean;
}

/** One client per service. */
export interface Clients {
  /** DynamoDB: the table. */
  ddb: DynamoDBClient;
  /** IAM: the roles. */
  iam: IAMClient;
  /** Lambda: the functions. */
  lambda: LambdaClient;
  /** API Gateway: the REST API. */
  apigw: APIGatewayClient;
  /** API Gateway V2: the HTTP API. */
  apigw2: ApiGatewayV2Client;
  /** STS: the account. */
  sts: STSClient;
}

/** The account id LocalStack and the local stack use. */
export const LOCAL_ACCOUNT = '000000000000';

/** Description given to what deploy creates, so that people can tell where it came from. */
export const DESCRIPTION = 'lambda-long-request-kit';

/**
 * Whether an error thrown by an SDK client is one of the named AWS errors (by name or code).
 */
export function isAwsError(err: unknown, ...names: string[]): boolean {
  const e = (err as { name?: string, Code?: string, code?: string });
  return names.some((n) => e?.name === n || e?.Code === n || e?.code === n);
}

/**
 * Whether an SDK error says the resource is not there, in any of the services' words.
 */
export function isNotFound(err: unknown): boolean {
  return isAwsError(err, 'ResourceNotFoundException', 'NoSuchEntityException', 'NoSuchEntity', 'NotFoundException');
}

/**
 * The SDK client configuration for a target: its region, its endpoint, and dummy credentials
 * (test/test) on a local endpoint when none are configured.
 */
export function clientConfig(target: ClientTarget, env: Record<string, string | undefined> = process.env): Record<string, unknown> {
  const config: Record<string, unknown> = { maxAttempts: 5 };
  if (target.region) config.region = target.region;
  if (target.endpoint) config.endpoint = target.endpoint;
  if (target.local && !env.AWS_ACCESS_KEY_ID && !env.AWS_PROFILE) {
    config.credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  }
  return config;
}

/**
 * One client per service, all on the same target.
 */
export function makeClients(target: ClientTarget): Clients {
  const config = clientConfig(target);
  return {
    ddb: new DynamoDBClient(config),
    iam: new IAMClient(config),
    lambda: new LambdaClient(config),
    apigw: new APIGatewayClient(config),
    apigw2: new ApiGatewayV2Client(config),
    sts: new STSClient(config),
  };
}

/**
 * The region the clients will use; a clear error when none is configured anywhere.
 */
export async function resolveRegion(sts: STSClient): Promise<string> {
  try {
    const region = await sts.config.region();
    if (region) return region;
  } catch {
    // reported below
  }
  throw new ExpectedError('no AWS region: pass --region, or set AWS_REGION, or set one in your AWS profile');
}

/**
 * The account and partition deploy works in; checks the credentials on the way. On a local
 * endpoint that does not answer STS, LocalStack's account is assumed.
 */
export async function resolveIdentity(sts: STSClient, { local, region }: { local: boolean; region: string }): Promise<{ account: string; partition: string }> {
  try {
    const id = await sts.send(new GetCallerIdentityCommand({}));
    const partition = id.Arn?.split(':')[1] || partitionOf(region);
    return { account: id.Account ?? LOCAL_ACCOUNT, partition };
  } catch (err) {
    // a local endpoint that answers but has no STS: assume LocalStack's account; one that does
    // not answer at all is reported
    const answered = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== undefined;
    if (!local || !answered) throw err;
    return { account: LOCAL_ACCOUNT, partition: partitionOf(region) };
  }
}

/**
 * Whether an error is an answer from the endpoint (an HTTP status came back), as opposed to a
 * failure to reach it.
 */
export function isServiceAnswer(err: unknown): boolean {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode !== undefined;
}

/**
 * Runs a delete call; "not found" counts as done.
 *
 * @returns true when something was deleted, false when it was already gone
 */
export async function deleteIfPresent(call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
