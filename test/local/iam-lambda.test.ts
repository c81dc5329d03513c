// Lambda invocations by a function's session, authorized as AWS authorizes them: before the
// function is looked up, and a qualified call on the qualified ARN (AWS's Lambda developer guide,
// "Resources and conditions for Lambda actions": a policy on an unqualified ARN does not cover the
// function's versions and aliases, which is why the kit grants both `ARN` and `ARN:*`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { CreateFunctionCommand, InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { LocalStack } from '../../local/server';
import { clientConfig, payloadJson, startQuietStack, zipOf } from './helpers';

const ACCOUNT = '000000000000';
const TRUST = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
type Session = { accessKeyId: string; secretAccessKey: string; sessionToken: string };

describe('Lambda invocations and a function\'s execution role', () => {
  let stack: LocalStack;
  let session: Session;
  const target = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:target`;

  beforeAll(async () => {
    ({ stack } = await startQuietStack());
    const iam = new IAMClient(clientConfig(stack));
    const lambda = new LambdaClient(clientConfig(stack));
    await iam.send(new CreateRoleCommand({ RoleName: 'caller', AssumeRolePolicyDocument: TRUST }));
    await iam.send(new PutRolePolicyCommand({
      RoleName: 'caller', PolicyName: 'invoke',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: target }] }),
    }));
    const role = `arn:aws:iam::${ACCOUNT}:role/caller`;
    await lambda.send(new CreateFunctionCommand({
      FunctionName: 'caller', Runtime: 'nodejs20.x', Role: role, Handler: 'index.handler',
      Code: { ZipFile: zipOf({ 'index.js': 'exports.handler = async () => ({ accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY, sessionToken: process.env.AWS_SESSION_TOKEN });' }) },
    }));
    await lambda.send(new CreateFunctionCommand({
      FunctionName: 'target', Runtime: 'nodejs20.x', Role: role, Handler: 'index.handler', Code: { ZipFile: zipOf({ 'index.js': 'exports.handler = async () => "hit";' }) },
    }));
    session = payloadJson((await lambda.send(new InvokeCommand({ FunctionName: 'caller' }))).Payload) as Session;
    iam.destroy();
    lambda.destroy();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('allows the unqualified call the policy names, and refuses the qualified one and an unknown function with AccessDenied, not ResourceNotFound', async () => {
    const client = new LambdaClient({ endpoint: stack.url, region: 'us-east-1', credentials: session, maxAttempts: 1 });
    const outcome = (input: { FunctionName: string; Qualifier?: string }) => client.send(new InvokeCommand(input)).then(
      (out) => `ok ${payloadJson(out.Payload)}`,
      (err: Error & { $metadata?: { httpStatusCode?: number } }) => `${err.$metadata?.httpStatusCode} ${err.name} ${/on resource: (\S+)/.exec(err.message)?.[1] ?? ''}`.trim(),
    );
    try {
      expect(await outcome({ FunctionName: 'target' })).toBe('ok hit');
      expect(await outcome({ FunctionName: target })).toBe('ok hit');
      expect(await outcome({ FunctionName: 'target', Qualifier: '$LATEST' })).toBe(`403 AccessDeniedException ${target}:$LATEST`);
      expect(await outcome({ FunctionName: `${target}:$LATEST` })).toBe(`403 AccessDeniedException ${target}:$LATEST`);
      expect(await outcome({ FunctionName: 'nowhere' })).toBe(`403 AccessDeniedException arn:aws:lambda:us-east-1:${ACCOUNT}:function:nowhere`);
    } finally {
      client.destroy();
    }
  });

  it('tells a session who it is: the assumed role and its session, as STS answers a function', async () => {
    const sts = new STSClient({ endpoint: stack.url, region: 'us-east-1', credentials: session, maxAttempts: 1 });
    try {
      const me = await sts.send(new GetCallerIdentityCommand({}));
      expect(me.Arn).toBe(`arn:aws:sts::${ACCOUNT}:assumed-role/caller/caller`);
      expect(me.UserId).toMatch(/^AROA[A-Z0-9]+:caller$/);
      expect(me.Account).toBe(ACCOUNT);
    } finally {
      sts.destroy();
    }
  });
});
