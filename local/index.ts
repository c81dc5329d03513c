/**
 * The local AWS stack: DynamoDB (dynalite), Lambda (worker-thread
 * execution environments), API Gateway (REST APIs and HTTP APIs), IAM and STS, S3, SSM Parameter
 * Store, Secrets Manager and CloudFormation (the subset a CDK deployment of the kit uses) behind
 * one loopback endpoint shaped like LocalStack's.
 * @module
 */
export { startLocalStack } from './server';
export type { LocalStack, LocalStackOptions } from './server';
export type { EnvironmentCounts } from './lambda/types';
export type { InvocationEvent } from './lambda/invoke';
export type { AsyncAttemptEvent, AsyncDiscardedEvent } from './lambda/async-queue';
export type { StackOps, StackStats } from './ops';
export type { StackSettledEvent } from './cloudformation/engine';
export type { DynamoDbOutage, DynamoDbOutageMode, DynamoDbStats } from './dynamodb/service';
export type { FunctionCounters, KillWhich, PrewarmResult } from './lambda/types';
export { UnknownFunctionError } from './ops';
export type { DynamoDbDropFault, FaultEvent, LambdaDropFault, LambdaHangFault, LambdaFaultSpec, PendingDynamoDbFault, PendingLambdaFault } from './faults';
