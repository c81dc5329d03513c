/**
 * The statements of AWS managed policies the stack knows, as AWS publishes them (the parts for
 * the services the stack enforces, DynamoDB and Lambda, are complete; the rest is summarized):
 * a role with an AWS managed policy the stack does not know gets nothing from it.
 */
import type { PolicyStatement } from './evaluate';

/** AWS managed policies by name (the ARN's last part). */
export const AWS_MANAGED_POLICIES: Readonly<Record<string, { Statement: PolicyStatement[] }>> = {
  AWSLambdaBasicExecutionRole: { Statement: [{ Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '*' }] },
  AWSXRayDaemonWriteAccess: {
    Statement: [{
      Effect: 'Allow',
      Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets', 'xray:GetSamplingStatisticSummaries'],
      Resource: '*',
    }],
  },
  AWSLambdaRole: { Statement: [{ Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: ['*'] }] },
  AWSLambda_FullAccess: { Statement: [{ Effect: 'Allow', Action: ['lambda:*', 'logs:*', 'iam:PassRole', 'iam:GetRole', 'iam:ListRoles'], Resource: '*' }] },
  AmazonDynamoDBFullAccess: { Statement: [{ Effect: 'Allow', Action: ['dynamodb:*', 'dax:*', 'application-autoscaling:*', 'cloudwatch:*'], Resource: '*' }] },
  AmazonDynamoDBReadOnlyAccess: {
    Statement: [{
      Effect: 'Allow',
      Action: ['dynamodb:BatchGetItem', 'dynamodb:Describe*', 'dynamodb:List*', 'dynamodb:GetAbacStatus', 'dynamodb:GetItem', 'dynamodb:GetResourcePolicy', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:PartiQLSelect'],
      Resource: '*',
    }],
  },
  AWSLambdaDynamoDBExecutionRole: {
    Statement: [{
      Effect: 'Allow',
      Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams', 'logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
      Resource: '*',
    }],
  },
};
