import type { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { STSClient } from '@aws-sdk/client-sts';
import type { FunctionPlan, RolePlan, Where } from './deploy-plan.mjs';

type Log = (line: string) => void;
/** The account id of LocalStack and the local stack. */
export declare const LOCAL_ACCOUNT: string;
/** Whether err is an AWS error of one of these names. */
export declare function isAwsError(err: unknown, ...names: string[]): boolean;
/** Whether the error says the thing is not there. */
export declare function isNotFound(err: unknown): boolean;
/** SDK client configuration for a target. */
export declare function clientConfig(target: { endpoint?: string | undefined; region?: string | undefined; local: boolean }, env?: Record<string, string | undefined>): Record<string, unknown>;
/** One client per service. */
export declare function makeClients(target: { endpoint?: string | undefined; region?: string | undefined; local: boolean }): { ddb: DynamoDBClient; iam: IAMClient; lambda: LambdaClient; apigw: APIGatewayClient; sts: STSClient };
/** The region the clients use. */
export declare function resolveRegion(sts: STSClient): Promise<string>;
/** Account and partition. */
export declare function resolveIdentity(sts: Pick<STSClient, 'send'>, target: { local: boolean; region: string }): Promise<{ account: string; partition: string }>;
/** Creates or finds the table. */
export declare function ensureTable(ddb: Pick<DynamoDBClient, 'send'>, table: { name: string; key: string; ttlAttribute: string }, log: Log): Promise<{ arn: string | undefined; created: boolean }>;
/** Turns TTL on, warning when it cannot. */
export declare function ensureTtl(ddb: Pick<DynamoDBClient, 'send'>, table: { name: string; ttlAttribute: string }, log: Log): Promise<void>;
/** Creates or finds a role and sets its policies. */
export declare function ensureRole(iam: Pick<IAMClient, 'send'>, role: RolePlan, log: Log): Promise<{ arn: string; created: boolean }>;
/** Retries a call while IAM propagates a new role. */
export declare function withRolePropagation<T>(call: () => Promise<T>, options: { local: boolean; log: Log; attempts?: number; delayMs?: number }): Promise<T>;
/** Settings that differ between a deployed function and the plan. */
export declare function configurationDiff(current: Record<string, unknown>, fn: FunctionPlan): string[];
/** Creates or updates a function. */
export declare function ensureFunction(lambda: LambdaClient, fn: FunctionPlan, zip: { bytes: Uint8Array; codeSha256: string }, options: { local: boolean; log: Log }): Promise<{ arn: string; created: boolean; codeUpdated: boolean; configUpdated: boolean }>;
/** ARN of an existing function. */
export declare function existingFunctionArn(lambda: Pick<LambdaClient, 'send'>, name: string): Promise<string>;
/** Sets async invocation settings. */
export declare function putEventInvokeConfig(lambda: Pick<LambdaClient, 'send'>, name: string, config: { MaximumRetryAttempts: number }, log: Log): Promise<void>;
/** REST APIs with this name. */
export declare function findRestApis(apigw: Pick<APIGatewayClient, 'send'>, name: string): Promise<Array<{ id: string; name: string }>>;
/** Finds or creates the REST API. */
export declare function ensureRestApi(apigw: Pick<APIGatewayClient, 'send'>, name: string, knownId: string | undefined, log: Log): Promise<{ id: string; created: boolean }>;
/** A REST API resource as deploy uses it. */
export interface ApiResource { id: string; path: string; parentId?: string; pathPart?: string; resourceMethods?: Record<string, unknown> }
/** Every resource of an API. */
export declare function listResources(apigw: Pick<APIGatewayClient, 'send'>, apiId: string): Promise<ApiResource[]>;
/** Finds or creates a resource by path. */
export declare function ensureResource(apigw: Pick<APIGatewayClient, 'send'>, apiId: string, resources: ApiResource[], fullPath: string): Promise<ApiResource>;
/** Routes ANY on a resource to a function. */
export declare function ensureProxyMethod(apigw: Pick<APIGatewayClient, 'send'>, apiId: string, resource: { id: string; resourceMethods?: Record<string, unknown> }, uri: string, httpMethod?: string): Promise<void>;
/** Removes the results route of an earlier deploy, and its parents left empty. */
export declare function removeResultsRoute(apigw: Pick<APIGatewayClient, 'send'>, apiId: string, resources: ApiResource[], resultsPath: string): Promise<boolean>;
/** Lets an API invoke a function. */
export declare function ensureApiPermission(lambda: Pick<LambdaClient, 'send'>, functionName: string, where: Where, apiId: string): Promise<{ statementId: string; created: boolean }>;
/** Sets up the whole REST API. */
export declare function ensureApi(
  clients: { apigw: Pick<APIGatewayClient, 'send'>; lambda: Pick<LambdaClient, 'send'> },
  spec: { name: string; stage: string; directRoute: boolean; resultsPath?: string | undefined; previousResultsPath?: string | undefined; knownId?: string; proxy: { name: string; arn: string }; main: { name: string; arn: string }; where: Where },
  log: Log,
): Promise<{ apiId: string; created: boolean; permissions: Array<{ functionName: string; statementId: string }> }>;
/** Runs a delete; not found counts as done. */
export declare function deleteIfPresent(call: () => Promise<unknown>): Promise<boolean>;
/** Deletes a REST API. */
export declare function deleteRestApi(apigw: Pick<APIGatewayClient, 'send'>, apiId: string): Promise<boolean>;
/** Deletes a function and its event invoke config. */
export declare function deleteFunction(lambda: Pick<LambdaClient, 'send'>, name: string): Promise<boolean>;
/** Removes a permission statement. */
export declare function removePermission(lambda: Pick<LambdaClient, 'send'>, functionName: string, statementId: string): Promise<boolean>;
/** Deletes a role and its policies. */
export declare function deleteRole(iam: Pick<IAMClient, 'send'>, name: string): Promise<boolean>;
/** Deletes the table. */
export declare function deleteTable(ddb: DynamoDBClient, name: string): Promise<boolean>;
