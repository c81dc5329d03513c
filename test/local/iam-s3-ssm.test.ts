// S3, SSM, Secrets Manager and CloudFormation calls of a function's session, evaluated against
// its role as AWS evaluates them (actions and resource ARNs as AWS's Service Authorization
// Reference gives them), each refusal in its service's shape and in AWS's words (quoted from
// refusals captured on AWS: S3 quotes the ARN, Secrets Manager names the SecretId as given, an
// action on "*" names no resource).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CloudFormationClient, CreateStackCommand, DescribeStacksCommand, ListStacksCommand } from '@aws-sdk/client-cloudformation';
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { CreateFunctionCommand, InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListBucketsCommand, ListObjectsV2Command, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { GetParameterCommand, GetParametersCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { LocalStack } from '../../local/server';
import { clientConfig, nextEvent, payloadJson, startQuietStack, zipOf } from './helpers';

const ACCOUNT = '000000000000';
const TRUST = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
const BUCKET = 'iam-bucket';
type Session = { accessKeyId: string; secretAccessKey: string; sessionToken: string };

/** The role's one inline policy: one action of each service, on some resources only. */
function policy(withListBucket = true): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/allowed/*` },
      ...(withListBucket ? [{ Effect: 'Allow', Action: 's3:ListBucket', Resource: `arn:aws:s3:::${BUCKET}` }] : []),
      { Effect: 'Allow', Action: 'ssm:GetParameter', Resource: `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/app/*` },
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:app/db-??????` },
      { Effect: 'Allow', Action: 'cloudformation:DescribeStacks', Resource: `arn:aws:cloudformation:us-east-1:${ACCOUNT}:stack/allowed-stack/*` },
    ],
  });
}

/** AWS's refusal of an identity-based policy, as the function `limited` gets it. */
function refusal(action: string, resource?: string): string {
  return `User: arn:aws:sts::${ACCOUNT}:assumed-role/limited/limited is not authorized to perform: ${action}${resource === undefined ? '' : ` on resource: ${resource}`} because no identity-based policy allows the ${action} action`;
}

/** How a call ended: `allowed`, or the error's name, HTTP status and message. */
async function outcome(call: Promise<unknown>): Promise<string | { name: string; status?: number; message: string }> {
  try {
    await call;
    return 'allowed';
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: e.name, ...(e.$metadata?.httpStatusCode !== undefined && { status: e.$metadata.httpStatusCode }), message: e.message };
  }
}

let stack: LocalStack;
let session: Session;
let iam: IAMClient;

/** A SigV4 Authorization header for the session (signatures are not checked: the scope names the caller). */
function signedFor(service: string): string {
  return `AWS4-HMAC-SHA256 Credential=${session.accessKeyId}/20260101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=00`;
}

/** A JSON 1.1 call with the session, read raw: its status and the body as sent. */
async function json11(service: string, target: string, input: Record<string, unknown>): Promise<{ status: number; body: unknown }> {
  const answer = await fetch(stack.url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': target, Authorization: signedFor(service) },
    body: JSON.stringify(input),
  });
  return { status: answer.status, body: await answer.json() };
}

beforeAll(async () => {
  ({ stack } = await startQuietStack());
  iam = new IAMClient(clientConfig(stack));
  const lambda = new LambdaClient(clientConfig(stack));
  await iam.send(new CreateRoleCommand({ RoleName: 'limited', AssumeRolePolicyDocument: TRUST }));
  await iam.send(new PutRolePolicyCommand({ RoleName: 'limited', PolicyName: 'limited', PolicyDocument: policy() }));
  // The function tells its session's credentials, which the tests then sign with.
  await lambda.send(new CreateFunctionCommand({
    FunctionName: 'limited', Runtime: 'nodejs20.x', Role: `arn:aws:iam::${ACCOUNT}:role/limited`, Handler: 'index.handler',
    Code: { ZipFile: zipOf({ 'index.js': 'exports.handler = async () => ({ accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY, sessionToken: process.env.AWS_SESSION_TOKEN });' }) },
  }));
  session = payloadJson((await lambda.send(new InvokeCommand({ FunctionName: 'limited' }))).Payload) as Session;
  expect(session.accessKeyId).toMatch(/^ASIA/);
  lambda.destroy();
});

afterAll(async () => {
  iam?.destroy();
  await stack?.stop();
});

describe('S3 and a function\'s execution role', () => {
  let admin: S3Client;
  let limited: S3Client;

  beforeAll(async () => {
    admin = new S3Client({ ...clientConfig(stack), forcePathStyle: true });
    limited = new S3Client({ ...clientConfig(stack), credentials: session, forcePathStyle: true });
    await admin.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'allowed/a.txt', Body: 'a' }));
    await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'denied/b.txt', Body: 'b' }));
  });

  afterAll(() => {
    admin?.destroy();
    limited?.destroy();
  });

  it('allows the actions the role grants on its resources and refuses the rest with AccessDenied (403), the ARN quoted', async () => {
    const got = await limited.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'allowed/a.txt' }));
    expect(await got.Body?.transformToString()).toBe('a');
    expect(await outcome(limited.send(new ListObjectsV2Command({ Bucket: BUCKET })))).toBe('allowed');
    expect(await outcome(limited.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'denied/b.txt' })))).toEqual({
      name: 'AccessDenied', status: 403, message: refusal('s3:GetObject', `"arn:aws:s3:::${BUCKET}/denied/b.txt"`),
    });
    expect(await outcome(limited.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'allowed/new.txt', Body: 'x' })))).toEqual({
      name: 'AccessDenied', status: 403, message: refusal('s3:PutObject', `"arn:aws:s3:::${BUCKET}/allowed/new.txt"`),
    });
    // ListBuckets is on "*": the refusal names no resource.
    expect(await outcome(limited.send(new ListBucketsCommand({})))).toEqual({ name: 'AccessDenied', status: 403, message: refusal('s3:ListAllMyBuckets') });
    // The refused PUT wrote nothing.
    expect(await outcome(admin.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'allowed/new.txt' })))).toMatchObject({ name: 'NotFound', status: 404 });
  });

  it('answers a refusal as S3\'s XML Error document, and a HEAD\'s without a body', async () => {
    const get = await fetch(`${stack.url}/${BUCKET}/denied/b.txt`, { headers: { Authorization: signedFor('s3') } });
    expect(get.status).toBe(403);
    const xml = await get.text();
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>AccessDenied<\/Code><Message>User: arn:aws:sts::000000000000:assumed-role\/limited\/limited is not authorized to perform: s3:GetObject on resource: &quot;arn:aws:s3:::iam-bucket\/denied\/b.txt&quot; because no identity-based policy allows the s3:GetObject action<\/Message><RequestId>/);
    const head = await fetch(`${stack.url}/${BUCKET}/denied/b.txt`, { method: 'HEAD', headers: { Authorization: signedFor('s3') } });
    expect([head.status, await head.text()]).toEqual([403, '']);
  });

  // GetObject's Permissions (S3 API Reference): with s3:ListBucket a missing key is 404
  // NoSuchKey; without it, 403, so that the caller learns nothing of what the bucket holds.
  it('answers a missing key NoSuchKey with s3:ListBucket and AccessDenied (naming s3:ListBucket) without it', async () => {
    expect(await outcome(limited.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'allowed/missing.txt' }))))
      .toEqual({ name: 'NoSuchKey', status: 404, message: 'The specified key does not exist.' });
    await iam.send(new PutRolePolicyCommand({ RoleName: 'limited', PolicyName: 'limited', PolicyDocument: policy(false) }));
    try {
      expect(await outcome(limited.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'allowed/missing.txt' }))))
        .toEqual({ name: 'AccessDenied', status: 403, message: refusal('s3:ListBucket', `"arn:aws:s3:::${BUCKET}"`) });
      // An object that is there needs s3:GetObject only.
      expect(await outcome(limited.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'allowed/a.txt' })))).toBe('allowed');
    } finally {
      await iam.send(new PutRolePolicyCommand({ RoleName: 'limited', PolicyName: 'limited', PolicyDocument: policy() }));
    }
  });
});

describe('SSM and a function\'s execution role', () => {
  let admin: SSMClient;
  let limited: SSMClient;

  beforeAll(async () => {
    admin = new SSMClient(clientConfig(stack));
    limited = new SSMClient({ ...clientConfig(stack), credentials: session });
    await admin.send(new PutParameterCommand({ Name: '/app/x', Value: 'x', Type: 'String' }));
    await admin.send(new PutParameterCommand({ Name: '/other/y', Value: 'y', Type: 'String' }));
  });

  afterAll(() => {
    admin?.destroy();
    limited?.destroy();
  });

  it('allows ssm:GetParameter on the granted path only; GetParameters and PutParameter are actions of their own', async () => {
    expect((await limited.send(new GetParameterCommand({ Name: '/app/x' }))).Parameter?.Value).toBe('x');
    // The parameter's ARN is `parameter/` and the name without its leading slash.
    expect(await outcome(limited.send(new GetParameterCommand({ Name: '/other/y' })))).toEqual({
      name: 'AccessDeniedException', status: 400, message: refusal('ssm:GetParameter', `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/other/y`),
    });
    expect(await outcome(limited.send(new GetParametersCommand({ Names: ['/app/x'] })))).toEqual({
      name: 'AccessDeniedException', status: 400, message: refusal('ssm:GetParameters', `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/app/x`),
    });
    expect(await outcome(limited.send(new PutParameterCommand({ Name: '/app/x', Value: 'changed', Type: 'String', Overwrite: true })))).toEqual({
      name: 'AccessDeniedException', status: 400, message: refusal('ssm:PutParameter', `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/app/x`),
    });
    expect((await admin.send(new GetParameterCommand({ Name: '/app/x' }))).Parameter?.Value).toBe('x');
  });

  it('answers a refusal in the JSON 1.1 shape: 400 {"__type":"AccessDeniedException","message":...}', async () => {
    expect(await json11('ssm', 'AmazonSSM.GetParameter', { Name: '/other/y' })).toEqual({
      status: 400, body: { __type: 'AccessDeniedException', message: refusal('ssm:GetParameter', `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/other/y`) },
    });
  });
});

describe('CloudFormation and a function\'s execution role', () => {
  let admin: CloudFormationClient;
  let limited: CloudFormationClient;
  const TEMPLATE = JSON.stringify({ Resources: { Handle: { Type: 'AWS::CloudFormation::WaitConditionHandle' } } });

  beforeAll(async () => {
    admin = new CloudFormationClient(clientConfig(stack));
    limited = new CloudFormationClient({ ...clientConfig(stack), credentials: session });
    const settled = nextEvent<{ stackName: string; status: string }>(stack.events, 'stack-settled', (e) => e.stackName === 'allowed-stack');
    await admin.send(new CreateStackCommand({ StackName: 'allowed-stack', TemplateBody: TEMPLATE }));
    expect((await settled).status).toBe('CREATE_COMPLETE');
  });

  afterAll(() => {
    admin?.destroy();
    limited?.destroy();
  });

  it('allows DescribeStacks of the granted stack (by name: stack/NAME/*) and refuses other stacks, every stack and CreateStack', async () => {
    const described = await limited.send(new DescribeStacksCommand({ StackName: 'allowed-stack' }));
    expect(described.Stacks?.map((s) => s.StackStatus)).toEqual(['CREATE_COMPLETE']);
    expect(await outcome(limited.send(new DescribeStacksCommand({ StackName: 'other-stack' })))).toEqual({
      name: 'AccessDenied', status: 403, message: refusal('cloudformation:DescribeStacks', `arn:aws:cloudformation:us-east-1:${ACCOUNT}:stack/other-stack/*`),
    });
    // Every stack is "*", whose refusal names no resource.
    expect(await outcome(limited.send(new DescribeStacksCommand({})))).toEqual({ name: 'AccessDenied', status: 403, message: refusal('cloudformation:DescribeStacks') });
    expect(await outcome(limited.send(new CreateStackCommand({ StackName: 'sneaky', TemplateBody: TEMPLATE })))).toEqual({
      name: 'AccessDenied', status: 403, message: refusal('cloudformation:CreateStack', `arn:aws:cloudformation:us-east-1:${ACCOUNT}:stack/sneaky/*`),
    });
    expect(await outcome(limited.send(new ListStacksCommand({})))).toEqual({
      name: 'AccessDenied', status: 403, message: refusal('cloudformation:ListStacks', `arn:aws:cloudformation:us-east-1:${ACCOUNT}:stack/*/*`),
    });
    // The refused CreateStack made nothing.
    const names = (await admin.send(new ListStacksCommand({}))).StackSummaries?.map((s) => s.StackName);
    expect(names).toEqual(['allowed-stack']);
  });

  it('answers a refusal as the query protocol\'s ErrorResponse, 403 AccessDenied', async () => {
    const answer = await fetch(stack.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: signedFor('cloudformation') },
      body: 'Action=DescribeStacks&Version=2010-05-15&StackName=other-stack',
    });
    expect(answer.status).toBe(403);
    expect(await answer.text()).toMatch(/^<ErrorResponse xmlns="http:\/\/cloudformation.amazonaws.com\/doc\/2010-05-15\/"><Error><Type>Sender<\/Type><Code>AccessDenied<\/Code><Message>User: arn:aws:sts::000000000000:assumed-role\/limited\/limited is not authorized to perform: cloudformation:DescribeStacks on resource: arn:aws:cloudformation:us-east-1:000000000000:stack\/other-stack\/\* because/);
  });
});

const AWS = '/usr/bin/aws';
const requireTools = process.env.REQUIRE_TOOLS === '1';
if (!existsSync(AWS)) {
  console.warn(`[iam-s3-ssm.test] ${AWS} (AWS CLI v2, Debian's awscli) is absent: ${requireTools ? 'REQUIRE_TOOLS=1 is set, so this fails.' : 'skipping its Secrets Manager cases.'}`);
}

// The kit has no Secrets Manager SDK client: the AWS CLI v2 (botocore) is the real client here.
describe.skipIf(!existsSync(AWS) && !requireTools)('Secrets Manager and a function\'s execution role', { timeout: 60_000 }, () => {
  function aws(credentials: Session | 'admin', ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const keys = credentials === 'admin'
      ? { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' }
      : { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey, AWS_SESSION_TOKEN: credentials.sessionToken };
    return new Promise((resolve) => {
      execFile(AWS, ['--endpoint-url', stack.url, '--region', 'us-east-1', '--output', 'json', ...args], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...keys, AWS_PAGER: '', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent' },
      }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });
  }
  const denied = (operation: string, message: string): string => `An error occurred (AccessDeniedException) when calling the ${operation} operation: ${message}`;
  let otherArn: string;

  beforeAll(async () => {
    expect((await aws('admin', 'secretsmanager', 'create-secret', '--name', 'app/db', '--secret-string', 'db-password')).code).toBe(0);
    otherArn = (JSON.parse((await aws('admin', 'secretsmanager', 'create-secret', '--name', 'other/secret', '--secret-string', 'other')).stdout) as { ARN: string }).ARN;
  });

  it('allows GetSecretValue of the granted secret (secret:NAME-??????) and refuses the rest, naming the SecretId as given', async () => {
    const value = await aws(session, 'secretsmanager', 'get-secret-value', '--secret-id', 'app/db');
    expect(JSON.parse(value.stdout)).toMatchObject({ Name: 'app/db', SecretString: 'db-password' });
    const refusals = await Promise.all([
      aws(session, 'secretsmanager', 'get-secret-value', '--secret-id', 'other/secret'),
      aws(session, 'secretsmanager', 'get-secret-value', '--secret-id', otherArn),
      aws(session, 'secretsmanager', 'describe-secret', '--secret-id', 'app/db'),
      // A secret that is not there has no suffix for the policy's ?????? to match: refused, not ResourceNotFound.
      aws(session, 'secretsmanager', 'get-secret-value', '--secret-id', 'app/nope'),
      aws(session, 'secretsmanager', 'get-random-password'),
    ]);
    expect(refusals.map((r) => r.stderr.trim())).toEqual([
      denied('GetSecretValue', refusal('secretsmanager:GetSecretValue', 'other/secret')),
      denied('GetSecretValue', refusal('secretsmanager:GetSecretValue', otherArn)),
      denied('DescribeSecret', refusal('secretsmanager:DescribeSecret', 'app/db')),
      denied('GetSecretValue', refusal('secretsmanager:GetSecretValue', 'app/nope')),
      denied('GetRandomPassword', refusal('secretsmanager:GetRandomPassword')),
    ]);
  });

  it('answers a refusal in the JSON 1.1 shape: 400 AccessDeniedException, its text in Message as Secrets Manager\'s error shapes name it', async () => {
    // test_secretsmanager.snapshot.json records `Message` at the top of each parsed error.
    expect(await json11('secretsmanager', 'secretsmanager.GetSecretValue', { SecretId: 'other/secret' })).toEqual({
      status: 400, body: { __type: 'AccessDeniedException', Message: refusal('secretsmanager:GetSecretValue', 'other/secret') },
    });
  });
});
