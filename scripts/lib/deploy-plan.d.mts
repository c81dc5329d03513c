import type { DeployOptions, FunctionKey } from './deploy-options.mjs';

/** Where resources live. */
export interface Where { partition: string; region: string; account: string }
/** An execution role in the plan. */
export interface RolePlan {
  key: FunctionKey;
  managed: boolean;
  name: string;
  arn: string;
  trustPolicy: object;
  inlinePolicy: { name: string; document: object } | null;
  managedPolicyArns: string[];
}
/** A function in the plan. */
export interface FunctionPlan {
  key: FunctionKey;
  name: string;
  arn: string;
  source: string;
  zipPath: string;
  roleArn: string;
  runtime: string;
  handler: string;
  timeout: number;
  memory: number;
  architecture: string;
  environment: Record<string, string>;
  eventInvokeConfig: { MaximumRetryAttempts: number } | null;
}
/** Everything deploy creates or updates. */
export interface DeployPlan {
  region: string;
  partition: string;
  account: string;
  table: { name: string; arn: string; key: string; ttlAttribute: string };
  roles: RolePlan[];
  functions: FunctionPlan[];
  main: { name: string; arn: string; deployed: boolean };
  api: { name: string; stage: string; directRoute: boolean; resultsPath: string | undefined };
}
/** Trust policy of every execution role. */
export declare const LAMBDA_TRUST_POLICY: object;
/** DynamoDB actions per function. */
export declare const TABLE_ACTIONS: { readonly proxy: string[]; readonly talker: string[] };
/** The partition of a region. */
export declare function partitionOf(region: string): string;
/** Managed policies attached to every role. */
export declare function managedPolicyArns(partition: string): string[];
/** A function's ARN. */
export declare function functionArn(where: Where, nameOrArn: string): string;
/** Source ARN for an API's permission. */
export declare function apiSourceArn(where: Where, apiId: string): string;
/** Integration URI of an AWS_PROXY integration. */
export declare function integrationUri(where: { partition: string; region: string }, fnArn: string): string;
/** Statement id of an API's permission. */
export declare function permissionStatementId(apiId: string): string;
/** The invoke URL. */
export declare function invokeUrl(where: { endpoint?: string | undefined; region: string; apiId: string; stage: string }): string;
/** Computes the plan. */
export declare function planDeploy(options: DeployOptions, ids: { account: string; partition?: string }): DeployPlan;
/** Sorted-key copy. */
export declare function sortKeys(obj: Record<string, string>): Record<string, string>;
