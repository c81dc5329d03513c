// The local stack's CloudFormation: stacks created, updated and deleted through the API, their
// resources made by the stack's own services, and the refusals and rollbacks as AWS words them
// (LocalStack's parity snapshots under tests/aws/services/cloudformation, named where a test pins one).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  CloudFormationClient, CreateStackCommand, DeleteStackCommand, DescribeStackEventsCommand, DescribeStackResourcesCommand,
  DescribeStacksCommand, GetTemplateCommand, ListStackResourcesCommand, ListStacksCommand, UpdateStackCommand, type Capability, type Parameter,
} from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DeleteParameterCommand, GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { CreateFunctionCommand, GetFunctionConfigurationCommand, InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import type { LocalStack } from '../../local/server';
import type { StackSettledEvent } from '../../local/cloudformation/engine';
import { clientConfig, nextEvent, payloadJson, startQuietStack, zipOf } from './helpers';

const BUCKET = 'code-000000000000-us-east-1';
const BOOTSTRAP = '/test/bootstrap/version';

let stack: LocalStack;
let cfn: CloudFormationClient;
let lambda: LambdaClient;
let dynamodb: DynamoDBClient;
let iam: IAMClient;
let s3: S3Client;
let ssm: SSMClient;

const FUNCTION_SOURCE = `exports.handler = async () => ({
  table: process.env.TABLE, secretLength: process.env.SECRET.length, param: process.env.PARAM, greeting: process.env.GREETING,
});`;

type Json = Record<string, unknown>;

/** A template with the kit template's shapes: a secret, a table, a role, a function from S3, a condition and a rule. */
function template(options: { greeting?: string; tableKey?: string; extra?: Json; withoutSecret?: boolean } = {}): string {
  const resources: Json = {
    Secret: { Type: 'AWS::SecretsManager::Secret', Properties: { GenerateSecretString: { PasswordLength: 40, ExcludePunctuation: true } } },
    Table: {
      Type: 'AWS::DynamoDB::Table',
      Properties: {
        AttributeDefinitions: [{ AttributeName: options.tableKey ?? 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: options.tableKey ?? 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST', TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      },
    },
    Role: {
      Type: 'AWS::IAM::Role',
      Properties: {
        AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] },
        ManagedPolicyArns: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/service-role/AWSLambdaBasicExecutionRole']] }],
        Policies: [{ PolicyName: 'Table', PolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: { 'Fn::GetAtt': ['Table', 'Arn'] } }] } }],
      },
    },
    Fn: {
      Type: 'AWS::Lambda::Function',
      DependsOn: ['Role'],
      Properties: {
        Runtime: 'nodejs20.x', Handler: 'index.handler', Role: { 'Fn::GetAtt': ['Role', 'Arn'] }, Timeout: 5,
        Code: { S3Bucket: { 'Fn::Sub': 'code-${AWS::AccountId}-${AWS::Region}' }, S3Key: 'fn.zip' },
        Environment: {
          Variables: {
            TABLE: { Ref: 'Table' },
            SECRET: options.withoutSecret ? 'none' : { 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: 'Secret' }, ':SecretString:::}}']] },
            PARAM: '{{resolve:ssm:/test/greeting}}',
            GREETING: options.greeting ?? 'hello',
            UNSET: { 'Fn::If': ['IsProd', 'prod', { Ref: 'AWS::NoValue' }] },
          },
        },
      },
    },
    ProdOnly: { Type: 'AWS::CloudFormation::WaitConditionHandle', Condition: 'IsProd' },
    ...options.extra,
  };
  // Dependents first, so that a creation in template order would be out of dependency order.
  const ordered = Object.fromEntries(['Fn', 'Role', 'Table', 'Secret'].map((id) => [id, resources[id]]).concat(Object.entries(resources).filter(([id]) => !['Fn', 'Role', 'Table', 'Secret'].includes(id))));
  return JSON.stringify({
    Description: 'cloudformation.test',
    Parameters: {
      Env: { Type: 'String', Default: 'dev', AllowedValues: ['dev', 'prod'] },
      BootstrapVersion: { Type: 'AWS::SSM::Parameter::Value<String>', Default: BOOTSTRAP },
    },
    Conditions: {
      IsProd: { 'Fn::Equals': [{ Ref: 'Env' }, 'prod'] },
      IsEast: { 'Fn::Or': [{ 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] }, { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-2'] }] },
      EastDev: { 'Fn::And': [{ Condition: 'IsEast' }, { 'Fn::Not': [{ Condition: 'IsProd' }] }] },
    },
    Rules: {
      CheckBootstrapVersion: {
        Assertions: [{
          Assert: { 'Fn::Not': [{ 'Fn::Contains': [['1', '2', '3', '4', '5'], { Ref: 'BootstrapVersion' }] }] },
          AssertDescription: "CDK bootstrap stack version 6 required. Please run 'cdk bootstrap' with a recent version of the CDK CLI.",
        }],
      },
    },
    Resources: ordered,
    Outputs: {
      Sub: { Value: { 'Fn::Sub': ['${AWS::StackName}/${Fn.Arn}/${Env}/${Suffix}/${!Literal}', { Suffix: { 'Fn::Select': [1, { 'Fn::Split': [',', 'a,b,c'] }] } }] } },
      Url: { Value: { 'Fn::Join': ['', ['https://', { Ref: 'Table' }, '.', { Ref: 'AWS::URLSuffix' }, '/']] } },
      Mode: { Value: { 'Fn::If': ['EastDev', 'east-dev', 'other'] } },
      Encoded: { Value: { 'Fn::Base64': 'hi' } },
      Bootstrap: { Value: { Ref: 'BootstrapVersion' } },
      StackId: { Value: { Ref: 'AWS::StackId' } },
      Prod: { Value: { Ref: 'ProdOnly' }, Condition: 'IsProd' },
    },
  });
}

const CAPABILITIES: Capability[] = ['CAPABILITY_IAM'];

/** Starts a stack operation and resolves with its end. */
async function settled(name: string, start: () => Promise<unknown>): Promise<StackSettledEvent> {
  const done = nextEvent<StackSettledEvent>(stack.events, 'stack-settled', (e) => e.stackName === name);
  await start();
  return done;
}

async function refusal(call: Promise<unknown>): Promise<{ name: string; message: string }> {
  try {
    await call;
  } catch (err) {
    return { name: (err as Error).name, message: (err as Error).message };
  }
  throw new Error('the call was not refused');
}

async function resources(name: string): Promise<Record<string, string>> {
  const answer = await cfn.send(new DescribeStackResourcesCommand({ StackName: name }));
  return Object.fromEntries((answer.StackResources ?? []).map((r) => [r.LogicalResourceId ?? '', r.PhysicalResourceId ?? '']));
}

async function outputs(name: string): Promise<Record<string, string>> {
  const answer = await cfn.send(new DescribeStacksCommand({ StackName: name }));
  return Object.fromEntries((answer.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
}

async function invoke(functionName: string): Promise<Json> {
  return payloadJson((await lambda.send(new InvokeCommand({ FunctionName: functionName }))).Payload) as Json;
}

async function events(name: string): Promise<Array<{ id: string; status: string; reason?: string }>> {
  const answer = await cfn.send(new DescribeStackEventsCommand({ StackName: name }));
  return (answer.StackEvents ?? []).reverse().map((e) => ({ id: e.LogicalResourceId ?? '', status: e.ResourceStatus ?? '', ...(e.ResourceStatusReason && { reason: e.ResourceStatusReason }) }));
}

beforeAll(async () => {
  ({ stack } = await startQuietStack({ lambdaStateDelayMs: 20 }));
  const config = clientConfig(stack);
  cfn = new CloudFormationClient(config);
  lambda = new LambdaClient(config);
  dynamodb = new DynamoDBClient(config);
  iam = new IAMClient(config);
  s3 = new S3Client({ ...config, forcePathStyle: true });
  ssm = new SSMClient(config);
  await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'fn.zip', Body: zipOf({ 'index.js': FUNCTION_SOURCE }) }));
  await ssm.send(new PutParameterCommand({ Name: BOOTSTRAP, Value: '30', Type: 'String' }));
  await ssm.send(new PutParameterCommand({ Name: '/test/greeting', Value: 'from-ssm', Type: 'String' }));
  await ssm.send(new PutParameterCommand({ Name: '/test/old-bootstrap', Value: '4', Type: 'String' }));
});

afterAll(async () => {
  s3?.destroy();
  ssm?.destroy();
  await stack?.stop();
});

/** A template of SSM parameters (the simplest resources), with their attributes (DeletionPolicy ...). */
function parameters(spec: Record<string, Json>): string {
  return JSON.stringify({
    Resources: Object.fromEntries(Object.entries(spec).map(([id, extra]) => [id, { Type: 'AWS::SSM::Parameter', ...extra, Properties: { Type: 'String', Value: id, ...(extra.Properties as Json | undefined) } }])),
  });
}

async function parameterExists(name: string): Promise<boolean> {
  try {
    await ssm.send(new GetParameterCommand({ Name: name }));
    return true;
  } catch (err) {
    if ((err as Error).name === 'ParameterNotFound') return false;
    throw err;
  }
}

describe('CloudFormation on the local stack', { timeout: 60_000 }, () => {
  it('creates a stack in dependency order: intrinsics, conditions, SSM parameters and dynamic references resolved, code read from S3', async () => {
    const end = await settled('cfn-create', () => cfn.send(new CreateStackCommand({ StackName: 'cfn-create', TemplateBody: template(), Capabilities: CAPABILITIES })));
    expect(end.status).toBe('CREATE_COMPLETE');
    const physical = await resources('cfn-create');
    // Names as CloudFormation generates them: stack, logical id, 12 random alphanumerics.
    expect(physical.Fn).toMatch(/^cfn-create-Fn-[A-Za-z0-9]{12}$/);
    expect(physical.Table).toMatch(/^cfn-create-Table-[A-Za-z0-9]{12}$/);
    expect(physical.Secret).toMatch(/^arn:aws:secretsmanager:us-east-1:000000000000:secret:Secret-[A-Za-z0-9]{12}-[A-Za-z0-9]{6}$/);
    expect(physical.ProdOnly).toBeUndefined();
    expect(await invoke(physical.Fn ?? '')).toEqual({ table: physical.Table, secretLength: 40, param: 'from-ssm', greeting: 'hello' });
    const config = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: physical.Fn }));
    expect(config.Environment?.Variables?.UNSET).toBeUndefined();
    expect(config.Role).toMatch(/^arn:aws:iam::000000000000:role\/cfn-create-Role-[A-Za-z0-9]{12}$/);
    const out = await outputs('cfn-create');
    expect(out).toEqual({
      Sub: `cfn-create/arn:aws:lambda:us-east-1:000000000000:function:${physical.Fn}/dev/b/\${Literal}`,
      Url: `https://${physical.Table}.amazonaws.com/`, Mode: 'east-dev', Encoded: 'aGk=', Bootstrap: '30', StackId: end.stackId,
    });
    // Each resource after what it refers to; the stack's own events first and last.
    const completed = (await events('cfn-create')).filter((e) => e.status === 'CREATE_COMPLETE').map((e) => e.id);
    expect(completed.indexOf('Table')).toBeLessThan(completed.indexOf('Role'));
    expect(completed.indexOf('Role')).toBeLessThan(completed.indexOf('Fn'));
    expect(completed.indexOf('Secret')).toBeLessThan(completed.indexOf('Fn'));
    expect(completed.at(-1)).toBe('cfn-create');
    const initiated = (await events('cfn-create')).filter((e) => e.id === 'Fn').map((e) => [e.status, e.reason]);
    // test_stacks.snapshot.json records each resource's events so.
    expect(initiated).toEqual([['CREATE_IN_PROGRESS', undefined], ['CREATE_IN_PROGRESS', 'Resource creation Initiated'], ['CREATE_COMPLETE', undefined]]);
    const body = (await cfn.send(new GetTemplateCommand({ StackName: 'cfn-create' }))).TemplateBody;
    expect(body).toBe(template());
    const listed = (await cfn.send(new ListStackResourcesCommand({ StackName: 'cfn-create' }))).StackResourceSummaries ?? [];
    expect(listed.map((r) => r.ResourceStatus)).toEqual(Array(4).fill('CREATE_COMPLETE'));
  });

  it('refuses, at the call, what AWS refuses: capabilities, rules, missing SSM parameters, duplicate names', async () => {
    // test_stacks.snapshot.json (InsufficientCapabilitiesException's words, there for CAPABILITY_AUTO_EXPAND).
    expect(await refusal(cfn.send(new CreateStackCommand({ StackName: 'cfn-refused', TemplateBody: template() }))))
      .toEqual({ name: 'InsufficientCapabilitiesException', message: 'Requires capabilities : [CAPABILITY_IAM]' });
    const named = JSON.parse(template()) as { Resources: { Role: { Properties: Json } } };
    named.Resources.Role.Properties.RoleName = 'fixed-name';
    expect(await refusal(cfn.send(new CreateStackCommand({ StackName: 'cfn-refused', TemplateBody: JSON.stringify(named), Capabilities: CAPABILITIES }))))
      .toEqual({ name: 'InsufficientCapabilitiesException', message: 'Requires capabilities : [CAPABILITY_NAMED_IAM]' });
    const oldBootstrap: Parameter[] = [{ ParameterKey: 'BootstrapVersion', ParameterValue: '/test/old-bootstrap' }];
    expect(await refusal(cfn.send(new CreateStackCommand({ StackName: 'cfn-refused', TemplateBody: template(), Parameters: oldBootstrap, Capabilities: CAPABILITIES }))))
      .toEqual({ name: 'ValidationError', message: "CDK bootstrap stack version 6 required. Please run 'cdk bootstrap' with a recent version of the CDK CLI." });
    const missing: Parameter[] = [{ ParameterKey: 'BootstrapVersion', ParameterValue: '/not/there' }];
    expect(await refusal(cfn.send(new CreateStackCommand({ StackName: 'cfn-refused', TemplateBody: template(), Parameters: missing, Capabilities: CAPABILITIES }))))
      .toEqual({ name: 'ValidationError', message: 'Unable to fetch parameters [/not/there] from parameter store for this account.' });
    expect(await refusal(cfn.send(new CreateStackCommand({ StackName: 'cfn-refused', TemplateBody: template(), Parameters: [{ ParameterKey: 'Env', ParameterValue: 'test' }], Capabilities: CAPABILITIES }))))
      .toEqual({ name: 'ValidationError', message: "Parameter 'Env' must be one of AllowedValues" });
    // test_templates.snapshot.json, test_validations.snapshot.json.
    expect((await refusal(cfn.send(new CreateStackCommand({ StackName: 'cfn-refused', TemplateBody: '{"Resources": {}}' })))).message)
      .toBe('Template format error: At least one Resources member must be defined.');
    // engine/test_conditions.snapshot.json.
    const dangling = (where: 'Resources' | 'Outputs'): string => JSON.stringify(where === 'Resources'
      ? { Resources: { A: { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String', Value: { Ref: 'MyTopic' } } } } }
      : { Resources: { A: { Type: 'AWS::CloudFormation::WaitConditionHandle' } }, Outputs: { O: { Value: { 'Fn::GetAtt': ['MyTopic', 'Arn'] } } } });
    expect((await refusal(cfn.send(new CreateStackCommand({ StackName: 'cfn-refused', TemplateBody: dangling('Resources') })))).message)
      .toBe('Template format error: Unresolved resource dependencies [MyTopic] in the Resources block of the template');
    expect((await refusal(cfn.send(new CreateStackCommand({ StackName: 'cfn-refused', TemplateBody: dangling('Outputs') })))).message)
      .toBe('Unresolved resource dependencies [MyTopic] in the Outputs block of the template');
    // test_stacks.snapshot.json, test_non_existing_stack_message.
    expect(await refusal(cfn.send(new DescribeStacksCommand({ StackName: 'cfn-refused' }))))
      .toEqual({ name: 'ValidationError', message: 'Stack with id cfn-refused does not exist' });
    await settled('cfn-twice', () => cfn.send(new CreateStackCommand({ StackName: 'cfn-twice', TemplateBody: template({ withoutSecret: true }), Capabilities: CAPABILITIES })));
    expect(await refusal(cfn.send(new CreateStackCommand({ StackName: 'cfn-twice', TemplateBody: template(), Capabilities: CAPABILITIES }))))
      .toEqual({ name: 'AlreadyExistsException', message: 'Stack [cfn-twice] already exists' });
    // test_update_stack.snapshot.json.
    expect(await refusal(cfn.send(new UpdateStackCommand({ StackName: 'cfn-twice', TemplateBody: template({ withoutSecret: true }), Capabilities: CAPABILITIES }))))
      .toEqual({ name: 'ValidationError', message: 'No updates are to be performed.' });
  });

  it('updates in place what the type allows, replaces the rest, adds and removes resources, then cleans up', async () => {
    const name = 'cfn-update';
    await settled(name, () => cfn.send(new CreateStackCommand({ StackName: name, TemplateBody: template(), Capabilities: CAPABILITIES })));
    const before = await resources(name);
    const extra = { Note: { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String', Value: { 'Fn::GetAtt': ['Fn', 'Arn'] } } } };
    const end = await settled(name, () => cfn.send(new UpdateStackCommand({
      StackName: name, TemplateBody: template({ greeting: 'hi again', tableKey: 'pk', extra }), Capabilities: CAPABILITIES,
      Parameters: [{ ParameterKey: 'Env', ParameterValue: 'prod' }, { ParameterKey: 'BootstrapVersion', UsePreviousValue: true }],
    })));
    expect(end.status).toBe('UPDATE_COMPLETE');
    const after = await resources(name);
    // The function changed in place; the table's key needs a new table, so the function's
    // environment follows it; the condition now holds, so ProdOnly exists.
    expect(after.Fn).toBe(before.Fn);
    expect(after.Table).not.toBe(before.Table);
    expect(after.ProdOnly).toBeDefined();
    expect(after.Note).toMatch(/^CFN-Note-/);
    expect(await invoke(after.Fn ?? '')).toMatchObject({ table: after.Table, greeting: 'hi again' });
    expect(await refusal(dynamodb.send(new DescribeTableCommand({ TableName: before.Table })))).toMatchObject({ name: 'ResourceNotFoundException' });
    const log = await events(name);
    // test_change_set_ref.snapshot.json records a replacement's reason so.
    expect(log).toContainEqual({ id: 'Table', status: 'UPDATE_IN_PROGRESS', reason: 'Requested update requires the creation of a new physical resource; hence creating one.' });
    const statuses = log.filter((e) => e.id === name).map((e) => e.status);
    expect(statuses.slice(-3)).toEqual(['UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'UPDATE_COMPLETE']);
    expect((await outputs(name)).Prod).toBe(after.ProdOnly);

    // Removing a resource deletes it after the rest.
    const removed = await settled(name, () => cfn.send(new UpdateStackCommand({
      StackName: name, TemplateBody: template({ greeting: 'hi again', tableKey: 'pk' }), Capabilities: CAPABILITIES,
      Parameters: [{ ParameterKey: 'Env', UsePreviousValue: true }],
    })));
    expect(removed.status).toBe('UPDATE_COMPLETE');
    expect((await resources(name)).Note).toBeUndefined();
    expect((await events(name)).slice(-4).map((e) => [e.id, e.status])).toEqual([
      [name, 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS'], ['Note', 'DELETE_IN_PROGRESS'], ['Note', 'DELETE_COMPLETE'], [name, 'UPDATE_COMPLETE'],
    ]);
  });

  it('rolls a failed creation back, deleting what it had created, with the failing resource\'s reason', async () => {
    const broken = JSON.parse(template()) as { Resources: { Fn: { Properties: { Code: Json } } } };
    broken.Resources.Fn.Properties.Code.S3Key = 'missing.zip';
    const end = await settled('cfn-rollback', () => cfn.send(new CreateStackCommand({ StackName: 'cfn-rollback', TemplateBody: JSON.stringify(broken), Capabilities: CAPABILITIES })));
    expect(end.status).toBe('ROLLBACK_COMPLETE');
    const log = await events('cfn-rollback');
    const failure = log.find((e) => e.status === 'CREATE_FAILED');
    expect(failure?.id).toBe('Fn');
    // Lambda's words (test_lambda_api.snapshot.json, test_lambda_code_location_s3_errors) in the handler's.
    expect(failure?.reason).toMatch(/^Resource handler returned message: "Error occurred while GetObject\. S3 Error Code: NoSuchKey\. S3 Error Message: The specified key does not exist\." \(RequestToken: [0-9a-f-]+, HandlerErrorCode: InvalidRequest\)$/);
    expect(log.filter((e) => e.id === 'cfn-rollback').map((e) => [e.status, e.reason])).toEqual([
      ['CREATE_IN_PROGRESS', 'User Initiated'],
      ['ROLLBACK_IN_PROGRESS', 'The following resource(s) failed to create: [Fn]. Rollback requested by user.'],
      ['ROLLBACK_COMPLETE', undefined],
    ]);
    const roleName = log.find((e) => e.id === 'Role' && e.status === 'CREATE_COMPLETE');
    expect(roleName).toBeDefined();
    // Each deleted before what it depends on.
    const deleted = log.filter((e) => e.status === 'DELETE_COMPLETE').map((e) => e.id);
    expect([...deleted].sort()).toEqual(['Fn', 'Role', 'Secret', 'Table']);
    expect(deleted.indexOf('Fn')).toBeLessThan(deleted.indexOf('Role'));
    expect(deleted.indexOf('Role')).toBeLessThan(deleted.indexOf('Table'));
    expect(deleted.indexOf('Fn')).toBeLessThan(deleted.indexOf('Secret'));
    expect(await refusal(cfn.send(new UpdateStackCommand({ StackName: 'cfn-rollback', TemplateBody: template(), Capabilities: CAPABILITIES }))))
      .toMatchObject({ name: 'ValidationError', message: expect.stringMatching(/is in ROLLBACK_COMPLETE state and can not be updated\.$/) });
  });

  it('rolls a failed update back: changed resources get their old properties, new ones are deleted', async () => {
    const name = 'cfn-update-rollback';
    await settled(name, () => cfn.send(new CreateStackCommand({ StackName: name, TemplateBody: template(), Capabilities: CAPABILITIES })));
    const before = await resources(name);
    const extra = { Broken: { Type: 'AWS::Lambda::Function', Properties: { Runtime: 'nodejs20.x', Handler: 'index.handler', Role: { 'Fn::GetAtt': ['Role', 'Arn'] }, Code: { S3Bucket: 'no-such-bucket', S3Key: 'x.zip' } } } };
    const end = await settled(name, () => cfn.send(new UpdateStackCommand({ StackName: name, TemplateBody: template({ greeting: 'changed', extra }), Capabilities: CAPABILITIES })));
    expect(end.status).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(await resources(name)).toEqual(before);
    expect(await invoke(before.Fn ?? '')).toMatchObject({ greeting: 'hello' });
    const log = await events(name);
    expect(log.find((e) => e.status === 'CREATE_FAILED')?.reason).toContain('S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket does not exist');
    expect(log.filter((e) => e.id === name).map((e) => e.status).slice(-4)).toEqual([
      'UPDATE_IN_PROGRESS', 'UPDATE_ROLLBACK_IN_PROGRESS', 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', 'UPDATE_ROLLBACK_COMPLETE',
    ]);
    // The template is the previous one again.
    expect((await cfn.send(new GetTemplateCommand({ StackName: name }))).TemplateBody).toBe(template());
  });

  it('refuses at the call a template AWS refuses: a cycle, malformed Fn::GetAtt and Fn::Join, an unknown Fn::Sub name, an ssm-secure reference', async () => {
    const refused = async (body: unknown, name = 'cfn-invalid'): Promise<{ name: string; message: string }> =>
      refusal(cfn.send(new CreateStackCommand({ StackName: name, TemplateBody: JSON.stringify(body) })));
    const param = (value: unknown, extra: Json = {}): Json => ({ Type: 'AWS::SSM::Parameter', ...extra, Properties: { Type: 'String', Value: value } });
    // Only the resources on the cycle are named, not C, which depends on it.
    const cycle = await refused({ Resources: { C: param('c', { DependsOn: 'A' }), A: param({ Ref: 'B' }), B: param({ 'Fn::GetAtt': ['A', 'Value'] }) } });
    expect(cycle.name).toBe('ValidationError');
    expect(cycle.message).toMatch(/^Template format error: Circular dependency between resources: \[(A, B|B, A)\]$/);
    expect(await refused({ Resources: { Self: param({ Ref: 'Self' }) } }))
      .toEqual({ name: 'ValidationError', message: 'Template format error: Circular dependency between resources: [Self]' });
    // test_change_set_fn_get_attr.snapshot.json, test_invalid_structure.
    const getAtt = 'Template error: every Fn::GetAtt object requires two non-empty parameters, the resource name and the resource attribute';
    for (const bad of [['A'], ['A', ''], 'A', 'A.', ['', 'Value']] as unknown[]) {
      expect(await refused({ Resources: { A: param('a'), B: param({ 'Fn::GetAtt': bad }) } })).toEqual({ name: 'ValidationError', message: getAtt });
    }
    // test_change_set_fn_split.snapshot.json records Fn::Join's words.
    const join = 'Template error: every Fn::Join object requires two parameters, (1) a string delimiter and (2) a list of strings to be joined or a function that returns a list of strings (such as Fn::GetAZs) to be joined.';
    for (const bad of [['-'], ['-', 'a,b'], [1, ['a']], 'a'] as unknown[]) {
      expect(await refused({ Resources: { A: param({ 'Fn::Join': bad }) } })).toEqual({ name: 'ValidationError', message: join });
    }
    // engine/test_references.snapshot.json words an unknown name so; a Sub variable of its own is no reference.
    expect(await refused({ Resources: { A: param({ 'Fn::Sub': 'x-${Nowhere}' }) } }))
      .toEqual({ name: 'ValidationError', message: 'Template format error: Unresolved resource dependencies [Nowhere] in the Resources block of the template' });
    expect(await refused({ Resources: { A: param({ 'Fn::Sub': 'x-${Missing.Arn}' }) } }))
      .toEqual({ name: 'ValidationError', message: 'Template format error: Unresolved resource dependencies [Missing] in the Resources block of the template' });
    expect(await refused({ Resources: { A: param('a') }, Outputs: { O: { Value: { 'Fn::Sub': '${Nowhere}' } } } }))
      .toEqual({ name: 'ValidationError', message: 'Unresolved resource dependencies [Nowhere] in the Outputs block of the template' });
    expect(await refused({ Resources: { A: { Type: 'AWS::Lambda::Function', Properties: { Environment: { Variables: { P: '{{resolve:ssm-secure:/test/greeting}}' } } } } } }))
      .toEqual({ name: 'ValidationError', message: 'SSM Secure reference is not supported in: [AWS::Lambda::Function/Properties/Environment/Variables/P]' });
    // None of them left a stack behind.
    expect(await refusal(cfn.send(new DescribeStacksCommand({ StackName: 'cfn-invalid' })))).toMatchObject({ message: 'Stack with id cfn-invalid does not exist' });

    // The same at UpdateStack: the stack stays as it was.
    const name = 'cfn-invalid-update';
    await settled(name, () => cfn.send(new CreateStackCommand({ StackName: name, TemplateBody: parameters({ A: {}, B: {} }) })));
    const looped = JSON.stringify({ Resources: { A: param({ Ref: 'B' }), B: param({ Ref: 'A' }) } });
    expect((await refusal(cfn.send(new UpdateStackCommand({ StackName: name, TemplateBody: looped })))).message).toMatch(/^Template format error: Circular dependency between resources: /);
    expect((await cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0]?.StackStatus).toBe('CREATE_COMPLETE');
    // An ssm-secure reference that intrinsics build is found when the resource is made, and fails it.
    const built = JSON.stringify({ Resources: { A: param('a'), B: param({ 'Fn::Join': ['', ['{{resolve:', 'ssm-secure:/test/greeting}}']] }) } });
    expect((await settled(name, () => cfn.send(new UpdateStackCommand({ StackName: name, TemplateBody: built })))).status).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect((await events(name)).find((e) => e.status === 'UPDATE_FAILED')?.reason).toBe('SSM Secure reference is not supported in: [AWS::SSM::Parameter/Properties/Value]');
  });

  it('keeps what a policy retains: a removed resource by the old template\'s DeletionPolicy, a replaced one by UpdateReplacePolicy', async () => {
    const name = 'cfn-policies';
    const first = {
      Removed: { DeletionPolicy: 'Retain', Properties: { Name: '/policies/removed' } },
      RemovedPlain: { Properties: { Name: '/policies/removed-plain' } },
      Swapped: { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Retain', Properties: { Name: '/policies/swapped-1' } },
      SwappedPlain: { DeletionPolicy: 'Retain', Properties: { Name: '/policies/swapped-plain-1' } },
    };
    expect((await settled(name, () => cfn.send(new CreateStackCommand({ StackName: name, TemplateBody: parameters(first) })))).status).toBe('CREATE_COMPLETE');
    // The new template has no Removed at all, so only the old one can say to keep it.
    const second = {
      Swapped: { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Retain', Properties: { Name: '/policies/swapped-2' } },
      SwappedPlain: { DeletionPolicy: 'Retain', Properties: { Name: '/policies/swapped-plain-2' } },
    };
    expect((await settled(name, () => cfn.send(new UpdateStackCommand({ StackName: name, TemplateBody: parameters(second) })))).status).toBe('UPDATE_COMPLETE');
    const exists = Object.fromEntries(await Promise.all(['removed', 'removed-plain', 'swapped-1', 'swapped-2', 'swapped-plain-1', 'swapped-plain-2']
      .map(async (n) => [n, await parameterExists(`/policies/${n}`)] as const)));
    expect(exists).toEqual({ 'removed': true, 'removed-plain': false, 'swapped-1': true, 'swapped-2': true, 'swapped-plain-1': false, 'swapped-plain-2': true });
    const cleanup = (await events(name)).filter((e) => e.status.startsWith('DELETE_')).map((e) => [e.id, e.status]);
    expect(cleanup).toEqual(expect.arrayContaining([['Removed', 'DELETE_SKIPPED'], ['Swapped', 'DELETE_SKIPPED'], ['RemovedPlain', 'DELETE_COMPLETE'], ['SwappedPlain', 'DELETE_COMPLETE']]));
  });

  it('ends UPDATE_ROLLBACK_FAILED when a changed resource cannot get its old properties back', async () => {
    const name = 'cfn-rollback-failed';
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'v1.zip', Body: zipOf({ 'index.js': 'exports.handler = async () => 1;' }) }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'v2.zip', Body: zipOf({ 'index.js': 'exports.handler = async () => 2;' }) }));
    const body = (key: string, broken: boolean): string => {
      const t = JSON.parse(template({ withoutSecret: true, ...(broken && { extra: { Broken: { Type: 'AWS::Lambda::Function', DependsOn: 'Fn', Properties: { Runtime: 'nodejs20.x', Handler: 'index.handler', Role: { 'Fn::GetAtt': ['Role', 'Arn'] }, Code: { S3Bucket: 'no-such-bucket', S3Key: 'x.zip' } } } } }) })) as { Resources: { Fn: { Properties: { Code: Json } } } };
      t.Resources.Fn.Properties.Code.S3Key = key;
      return JSON.stringify(t);
    };
    expect((await settled(name, () => cfn.send(new CreateStackCommand({ StackName: name, TemplateBody: body('v1.zip', false), Capabilities: CAPABILITIES })))).status).toBe('CREATE_COMPLETE');
    // The old code is gone, so the rollback cannot put it back.
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'v1.zip' }));
    const end = await settled(name, () => cfn.send(new UpdateStackCommand({ StackName: name, TemplateBody: body('v2.zip', true), Capabilities: CAPABILITIES })));
    expect(end.status).toBe('UPDATE_ROLLBACK_FAILED');
    const log = await events(name);
    expect(log.filter((e) => e.id === name).map((e) => e.status).slice(-2)).toEqual(['UPDATE_ROLLBACK_IN_PROGRESS', 'UPDATE_ROLLBACK_FAILED']);
    expect(log.at(-1)?.reason).toBe('The following resource(s) failed to update: [Fn]. ');
    expect(log.filter((e) => e.id === 'Fn' && e.status === 'UPDATE_FAILED').at(-1)?.reason).toContain('S3 Error Code: NoSuchKey');
    // As on AWS, no further update is taken; a deletion is.
    expect((await refusal(cfn.send(new UpdateStackCommand({ StackName: name, TemplateBody: body('v2.zip', false), Capabilities: CAPABILITIES })))).message)
      .toMatch(/is in UPDATE_ROLLBACK_FAILED state and can not be updated\.$/);
    expect((await settled(name, () => cfn.send(new DeleteStackCommand({ StackName: name })))).status).toBe('DELETE_COMPLETE');
  });

  it('never reports a secret that a reference read: a Lambda error echoing its environment is masked in the events', async () => {
    const name = 'cfn-masked';
    const secretValue = 'k3y"with\\escapes-0123456789';
    const t = JSON.parse(template()) as { Resources: { Secret: { Properties: Json }; Fn: { Properties: { Environment: { Variables: Json } } } } };
    t.Resources.Secret.Properties = { SecretString: secretValue };
    // Over Lambda's 4 KB: its refusal quotes the whole environment (the resolved secret in it).
    t.Resources.Fn.Properties.Environment.Variables.BIG = 'x'.repeat(4200);
    const end = await settled(name, () => cfn.send(new CreateStackCommand({ StackName: name, TemplateBody: JSON.stringify(t), Capabilities: CAPABILITIES })));
    expect(end.status).toBe('ROLLBACK_COMPLETE');
    const reasons = (await events(name)).map((e) => e.reason ?? '').join('\n');
    expect(reasons).toContain('exceeded the 4KB limit. String measured: ');
    expect(reasons).toContain('"SECRET":"****"');
    expect(reasons).not.toContain(secretValue);
    expect(reasons).not.toContain(JSON.stringify(secretValue).slice(1, -1));
    // The template the stack keeps has the reference, never the value.
    expect((await cfn.send(new GetTemplateCommand({ StackName: end.stackId }))).TemplateBody).toContain('{{resolve:secretsmanager:');
    // Without a rollback the failed resource stays, and the reason it keeps is masked too.
    const kept = await settled(`${name}-kept`, () => cfn.send(new CreateStackCommand({ StackName: `${name}-kept`, TemplateBody: JSON.stringify(t), Capabilities: CAPABILITIES, DisableRollback: true })));
    expect(kept.status).toBe('CREATE_FAILED');
    const fn = (await cfn.send(new DescribeStackResourcesCommand({ StackName: `${name}-kept`, LogicalResourceId: 'Fn' }))).StackResources?.[0];
    expect(fn?.ResourceStatus).toBe('CREATE_FAILED');
    expect(fn?.ResourceStatusReason).toContain('"SECRET":"****"');
    expect(fn?.ResourceStatusReason).not.toContain(JSON.stringify(secretValue).slice(1, -1));
  });

  it('never hands out a SecureString: refused as an SSM-typed parameter, as an ssm reference and as an AWS::SSM::Parameter type', async () => {
    const plaintext = 'secure-plaintext-4711';
    await ssm.send(new PutParameterCommand({ Name: '/test/secure', Value: plaintext, Type: 'SecureString' }));
    // aws-cdk#15135 reports AWS's words for an SSM-typed parameter of a SecureString.
    const typed = JSON.stringify({ Parameters: { P: { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/test/secure' } }, Resources: { A: { Type: 'AWS::SSM::Parameter', Properties: { Type: 'String', Value: { Ref: 'P' } } } } });
    expect(await refusal(cfn.send(new CreateStackCommand({ StackName: 'cfn-secure', TemplateBody: typed }))))
      .toEqual({ name: 'ValidationError', message: 'Parameters [/test/secure] referenced by template have types not supported by CloudFormation.' });
    const referenced = await settled('cfn-secure', () => cfn.send(new CreateStackCommand({ StackName: 'cfn-secure', TemplateBody: parameters({ A: { Properties: { Value: '{{resolve:ssm:/test/secure}}' } } }) })));
    expect(referenced.status).toBe('ROLLBACK_COMPLETE');
    const log = await events('cfn-secure');
    expect(log.find((e) => e.status === 'CREATE_FAILED')?.reason).toBe('Parameters [/test/secure] referenced by template have types not supported by CloudFormation.');
    expect(JSON.stringify(log)).not.toContain(plaintext);
    // The resource provider's words (aws-cloudformation-resource-providers-ssm#63).
    const typedResource = await settled('cfn-secure-2', () => cfn.send(new CreateStackCommand({ StackName: 'cfn-secure-2', TemplateBody: parameters({ A: { Properties: { Type: 'SecureString' } } }) })));
    expect(typedResource.status).toBe('ROLLBACK_COMPLETE');
    expect((await events('cfn-secure-2')).find((e) => e.status === 'CREATE_FAILED')?.reason).toBe('SSM Parameters of type SecureString cannot be created using CloudFormation');
  });

  it('deletes without reading dynamic references: a parameter gone meanwhile does not stop the deletion', async () => {
    const name = 'cfn-delete-refs';
    await ssm.send(new PutParameterCommand({ Name: '/test/transient', Value: 'here', Type: 'String' }));
    const body = parameters({ A: { Properties: { Value: '{{resolve:ssm:/test/transient}}' } } });
    expect((await settled(name, () => cfn.send(new CreateStackCommand({ StackName: name, TemplateBody: body })))).status).toBe('CREATE_COMPLETE');
    const physical = await resources(name);
    expect((await ssm.send(new GetParameterCommand({ Name: physical.A }))).Parameter?.Value).toBe('here');
    await ssm.send(new DeleteParameterCommand({ Name: '/test/transient' }));
    expect((await settled(name, () => cfn.send(new DeleteStackCommand({ StackName: name })))).status).toBe('DELETE_COMPLETE');
    expect(await parameterExists(physical.A ?? '')).toBe(false);
  });

  it('a failing stack-settled listener neither changes the stack nor ends as an unhandled rejection', async () => {
    const name = 'cfn-listener';
    const failing = (e: StackSettledEvent): void => {
      if (e.stackName === name) throw new Error('listener fault');
    };
    // Registered after the test's own listener, which therefore still hears the event.
    const end = settled(name, async () => {
      stack.events.on('stack-settled', failing);
      await cfn.send(new CreateStackCommand({ StackName: name, TemplateBody: parameters({ A: {} }) }));
    });
    try {
      expect((await end).status).toBe('CREATE_COMPLETE');
      // The next round trip comes after anything the fault set off (the old engine marked the stack CREATE_FAILED).
      expect((await cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0]?.StackStatus).toBe('CREATE_COMPLETE');
    } finally {
      stack.events.off('stack-settled', failing);
    }
  });

  it('deletes a stack and its resources; the name is then unknown, the id still describes it', async () => {
    const name = 'cfn-delete';
    const created = await settled(name, () => cfn.send(new CreateStackCommand({ StackName: name, TemplateBody: template(), Capabilities: CAPABILITIES })));
    const physical = await resources(name);
    const end = await settled(name, () => cfn.send(new DeleteStackCommand({ StackName: name })));
    expect(end.status).toBe('DELETE_COMPLETE');
    expect(await refusal(lambda.send(new GetFunctionConfigurationCommand({ FunctionName: physical.Fn })))).toMatchObject({ name: 'ResourceNotFoundException' });
    expect(await refusal(iam.send(new GetRoleCommand({ RoleName: physical.Role })))).toMatchObject({ name: 'NoSuchEntityException' });
    expect(await refusal(cfn.send(new DescribeStacksCommand({ StackName: name })))).toEqual({ name: 'ValidationError', message: `Stack with id ${name} does not exist` });
    const byId = (await cfn.send(new DescribeStacksCommand({ StackName: created.stackId }))).Stacks?.[0];
    expect(byId?.StackStatus).toBe('DELETE_COMPLETE');
    // ListStacks keeps a deleted stack's summary (AWS: for 90 days), with when it went.
    const listed = (await cfn.send(new ListStacksCommand({ StackStatusFilter: ['DELETE_COMPLETE'] }))).StackSummaries ?? [];
    expect(listed.find((summary) => summary.StackId === created.stackId)).toMatchObject({ StackName: name, StackStatus: 'DELETE_COMPLETE', DeletionTime: expect.any(Date) });
    // Deleting it again is no error, as on AWS.
    await cfn.send(new DeleteStackCommand({ StackName: name }));
  });

  it('reads code from S3 in Lambda\'s CreateFunction, with Lambda\'s words when the object is not there', async () => {
    const role = 'arn:aws:iam::000000000000:role/any';
    await lambda.send(new CreateFunctionCommand({ FunctionName: 'from-s3', Runtime: 'nodejs20.x', Handler: 'index.handler', Role: role, Code: { S3Bucket: BUCKET, S3Key: 'fn.zip' } }));
    // test_lambda_api.snapshot.json, TestLambdaFunction::test_lambda_code_location_s3_errors.
    expect(await refusal(lambda.send(new CreateFunctionCommand({ FunctionName: 'from-s3-2', Runtime: 'nodejs20.x', Handler: 'index.handler', Role: role, Code: { S3Bucket: BUCKET, S3Key: 'nope.zip' } }))))
      .toEqual({ name: 'InvalidParameterValueException', message: 'Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist.' });
    expect(await refusal(lambda.send(new CreateFunctionCommand({ FunctionName: 'from-s3-2', Runtime: 'nodejs20.x', Handler: 'index.handler', Role: role, Code: { S3Bucket: 'no-such-bucket', S3Key: 'fn.zip' } }))))
      .toEqual({ name: 'InvalidParameterValueException', message: 'Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket does not exist' });
  });
});

const AWS = '/usr/bin/aws';
const requireTools = process.env.REQUIRE_TOOLS === '1';
if (!existsSync(AWS)) {
  console.warn(`[cloudformation.test] ${AWS} (AWS CLI v2, Debian's awscli) is absent: ${requireTools ? 'REQUIRE_TOOLS=1 is set, so this fails.' : 'skipping its AWS CLI cases.'}`);
}

describe.skipIf(!existsSync(AWS) && !requireTools)('CloudFormation through the AWS CLI v2', { timeout: 60_000 }, () => {
  function aws(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(AWS, ['--endpoint-url', stack.url, '--region', 'us-east-1', '--output', 'json', ...args], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_PAGER: '', AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent' },
      }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });
  }

  it('creates, describes and deletes a stack as botocore parses the answers', async () => {
    const created = settled('cfn-cli', async () => {
      const r = await aws('cloudformation', 'create-stack', '--stack-name', 'cfn-cli', '--template-body', template(), '--capabilities', 'CAPABILITY_IAM',
        '--parameters', 'ParameterKey=Env,ParameterValue=prod');
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toEqual({ StackId: expect.stringMatching(/^arn:aws:cloudformation:us-east-1:000000000000:stack\/cfn-cli\/[0-9a-f-]{36}$/) });
    });
    expect((await created).status).toBe('CREATE_COMPLETE');
    const described = JSON.parse((await aws('cloudformation', 'describe-stacks', '--stack-name', 'cfn-cli')).stdout) as { Stacks: Json[] };
    expect(described.Stacks[0]).toMatchObject({
      StackName: 'cfn-cli', StackStatus: 'CREATE_COMPLETE', Description: 'cloudformation.test', Capabilities: ['CAPABILITY_IAM'],
      CreationTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      Parameters: expect.arrayContaining([
        { ParameterKey: 'Env', ParameterValue: 'prod' },
        { ParameterKey: 'BootstrapVersion', ParameterValue: BOOTSTRAP, ResolvedValue: '30' },
      ]),
      Outputs: expect.arrayContaining([{ OutputKey: 'Mode', OutputValue: 'other' }, { OutputKey: 'Encoded', OutputValue: 'aGk=' }]),
    });
    const refused = await aws('cloudformation', 'describe-stacks', '--stack-name', 'not-there');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('An error occurred (ValidationError) when calling the DescribeStacks operation: Stack with id not-there does not exist');
    const deleted = settled('cfn-cli', () => aws('cloudformation', 'delete-stack', '--stack-name', 'cfn-cli'));
    expect((await deleted).status).toBe('DELETE_COMPLETE');
  });
});
