import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AttachRolePolicyCommand, CreateRoleCommand, DeleteRoleCommand, DeleteRolePolicyCommand, DetachRolePolicyCommand, GetRoleCommand,
  IAMClient, ListAttachedRolePoliciesCommand, ListRolePoliciesCommand, PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { LocalStack } from '../../local/server';
import { clientConfig, startQuietStack } from './helpers';

let stack: LocalStack;
let iam: IAMClient;
let sts: STSClient;

const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

beforeAll(async () => {
  ({ stack } = await startQuietStack());
  iam = new IAMClient(clientConfig(stack));
  sts = new STSClient(clientConfig(stack));
});

afterAll(async () => {
  iam?.destroy();
  sts?.destroy();
  await stack?.stop();
});

describe('health', () => {
  it('answers LocalStack-shaped health', async () => {
    const res = await fetch(`${stack.url}/_localstack/health`);
    expect(res.status).toBe(200);
    expect((await res.json() as { services: Record<string, string> }).services).toMatchObject({
      dynamodb: 'running', lambda: 'running', apigateway: 'running', iam: 'running', sts: 'running',
    });
  });
});

describe('IAM and STS', () => {
  it('records roles and their policies', async () => {
    const created = await iam.send(new CreateRoleCommand({ RoleName: 'proxy-role', AssumeRolePolicyDocument: TRUST }));
    expect(created.Role).toMatchObject({ RoleName: 'proxy-role', Arn: 'arn:aws:iam::000000000000:role/proxy-role', Path: '/' });
    expect(created.Role?.RoleId).toMatch(/^AROA[A-Z0-9]{17}$/);
    expect(created.Role?.CreateDate).toBeInstanceOf(Date);
    const got = await iam.send(new GetRoleCommand({ RoleName: 'proxy-role' }));
    expect(JSON.parse(decodeURIComponent(got.Role?.AssumeRolePolicyDocument ?? ''))).toEqual(JSON.parse(TRUST));
    await expect(iam.send(new CreateRoleCommand({ RoleName: 'proxy-role', AssumeRolePolicyDocument: TRUST })))
      .rejects.toMatchObject({ name: 'EntityAlreadyExistsException', $metadata: { httpStatusCode: 409 } });
    await expect(iam.send(new GetRoleCommand({ RoleName: 'nobody' })))
      .rejects.toMatchObject({ name: 'NoSuchEntityException', $metadata: { httpStatusCode: 404 } });

    await iam.send(new PutRolePolicyCommand({ RoleName: 'proxy-role', PolicyName: 'table', PolicyDocument: TRUST }));
    expect((await iam.send(new ListRolePoliciesCommand({ RoleName: 'proxy-role' }))).PolicyNames).toEqual(['table']);
    const managed = 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';
    await iam.send(new AttachRolePolicyCommand({ RoleName: 'proxy-role', PolicyArn: managed }));
    expect((await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'proxy-role' }))).AttachedPolicies)
      .toEqual([{ PolicyName: 'AWSLambdaBasicExecutionRole', PolicyArn: managed }]);
    await expect(iam.send(new DeleteRoleCommand({ RoleName: 'proxy-role' }))).rejects.toMatchObject({ name: 'DeleteConflictException' });
    await iam.send(new DetachRolePolicyCommand({ RoleName: 'proxy-role', PolicyArn: managed }));
    await iam.send(new DeleteRolePolicyCommand({ RoleName: 'proxy-role', PolicyName: 'table' }));
    await iam.send(new DeleteRoleCommand({ RoleName: 'proxy-role' }));
    await expect(iam.send(new GetRoleCommand({ RoleName: 'proxy-role' }))).rejects.toMatchObject({ name: 'NoSuchEntityException' });
  });

  it('answers GetCallerIdentity with the local account', async () => {
    const id = await sts.send(new GetCallerIdentityCommand({}));
    expect(id).toMatchObject({ Account: '000000000000', Arn: 'arn:aws:iam::000000000000:root' });
  });
});
