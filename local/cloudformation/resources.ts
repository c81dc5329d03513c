/**
 * The resource types the kit's CDK template uses, each as CloudFormation's resource handler
 * does it: create, update in place where the type allows (otherwise the engine replaces), delete,
 * and the Ref value and attributes it gives. Handlers call the stack's own services through their
 * HTTP APIs with the AWS SDK and admin credentials (so a resource gets exactly the validation,
 * errors and states a client gets); Secrets Manager and SSM, which keep no state a client cannot
 * see, are called in-process.
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { zipSync, strToU8 } from 'fflate';
import {
  AddPermissionCommand, CreateFunctionCommand, DeleteFunctionCommand, DeleteFunctionEventInvokeConfigCommand, GetFunctionCommand, LambdaClient,
  PutFunctionEventInvokeConfigCommand, RemovePermissionCommand, UpdateFunctionCodeCommand, UpdateFunctionConfigurationCommand,
  type FunctionCode,
} from '@aws-sdk/client-lambda';
import {
  AttachRolePolicyCommand, CreateRoleCommand, DeleteRoleCommand, DeleteRolePolicyCommand, DetachRolePolicyCommand, IAMClient,
  PutRolePolicyCommand, UpdateAssumeRolePolicyCommand, UpdateRoleCommand,
} from '@aws-sdk/client-iam';
import {
  CreateTableCommand, DeleteTableCommand, DynamoDBClient, UpdateTableCommand, UpdateTimeToLiveCommand, waitUntilTableExists,
  type CreateTableCommandInput, type GlobalSecondaryIndexUpdate, type ProvisionedThroughput, type UpdateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import {
  APIGatewayClient, CreateDeploymentCommand, CreateResourceCommand, CreateRestApiCommand, CreateStageCommand as CreateRestStageCommand,
  DeleteDeploymentCommand, DeleteMethodCommand, DeleteResourceCommand, DeleteRestApiCommand, DeleteStageCommand as DeleteRestStageCommand,
  GetResourcesCommand, PutIntegrationCommand, PutMethodCommand, UpdateRestApiCommand, UpdateStageCommand as UpdateRestStageCommand,
  type PatchOperation,
} from '@aws-sdk/client-api-gateway';
import {
  ApiGatewayV2Client, CreateApiCommand, CreateIntegrationCommand, CreateRouteCommand, CreateStageCommand, DeleteApiCommand,
  DeleteIntegrationCommand, DeleteRouteCommand, DeleteStageCommand, UpdateApiCommand, UpdateIntegrationCommand, UpdateRouteCommand,
  UpdateStageCommand, type ProtocolType,
} from '@aws-sdk/client-apigatewayv2';
import { ACCOUNT_ID } from '../http';
import type { SecretsManagerService, PasswordOptions } from '../secretsmanager/service';
import { randomPassword } from '../secretsmanager/service';
import type { SsmService } from '../ssm/service';
import type { Json } from './intrinsics';

/** What a resource is once created. */
export interface ResourceState {
  /** Its physical id. */
  physicalId: string;
  /** Its attributes (Fn::GetAtt), and `Ref` when its Ref value is not the physical id. */
  attributes: Record<string, Json>;
}

/** The SDK clients of one region, pointed at the stack itself. */
export interface Clients {
  /** Lambda. */
  lambda: LambdaClient;
  /** IAM. */
  iam: IAMClient;
  /** DynamoDB. */
  dynamodb: DynamoDBClient;
  /** API Gateway (REST APIs). */
  apigateway: APIGatewayClient;
  /** API Gateway (HTTP APIs). */
  apigatewayv2: ApiGatewayV2Client;
}

/** What a handler works with. */
export interface HandlerContext {
  /** The stack's region. */
  region: string;
  /** The stack's name. */
  stackName: string;
  /** The resource's logical id. */
  logicalId: string;
  /** SDK clients of the stack's region. */
  clients: Clients;
  /** Secrets Manager, in-process. */
  secrets: SecretsManagerService;
  /** SSM, in-process. */
  ssm: SsmService;
  /** The stack's events (`function-settled`). */
  events: EventEmitter;
}

/** Properties as a handler gets them: resolved, dynamic references too. */
export type Props = Record<string, Json>;

/** One resource type. */
export interface ResourceHandler {
  /** Creates the resource. */
  create(props: Props, ctx: HandlerContext): Promise<ResourceState>;
  /**
   * Updates it in place, or returns undefined when the change needs a new resource (the engine
   * then creates one and deletes the old one during cleanup).
   */
  update?(props: Props, old: { props: Props; state: ResourceState }, ctx: HandlerContext): Promise<ResourceState | undefined>;
  /** Deletes it. */
  delete(state: ResourceState, props: Props, ctx: HandlerContext): Promise<void>;
}

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** The 12 random alphanumerics that end a generated name. */
function randomSuffix(): string {
  return Array.from({ length: 12 }, () => ALPHANUMERIC[randomInt(ALPHANUMERIC.length)]).join('');
}

/**
 * A name as CloudFormation generates it: `<stack>-<logical id>-<12 random alphanumerics>`, the
 * stack name and logical id cut so that the whole fits the service's limit.
 * @param stackName the stack's name
 * @param logicalId the resource's logical id
 * @param max the service's longest name
 */
export function generatedName(stackName: string, logicalId: string, max: number): string {
  const suffix = randomSuffix();
  const room = max - suffix.length - 2;
  let stack = stackName;
  let logical = logicalId;
  while (stack.length + logical.length > room) {
    if (stack.length >= logical.length) stack = stack.slice(0, -1);
    else logical = logical.slice(0, -1);
  }
  return `${stack}-${logical}-${suffix}`;
}

function str(value: Json | undefined): string | undefined {
  return value === undefined || value === null ? undefined : typeof value === 'string' ? value : JSON.stringify(value);
}

function num(value: Json | undefined): number | undefined {
  return value === undefined || value === null ? undefined : Number(value);
}

function same(a: Json | undefined, b: Json | undefined): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** Whether only the given properties differ. */
function onlyChanged(a: Props, b: Props, mutable: readonly string[]): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => mutable.includes(k) || same(a[k], b[k]));
}

/**
 * How long a wait for a function to settle goes without news before it asks Lambda how the
 * function is (ms). The `function-settled` event normally ends the wait long before.
 */
const SETTLE_CHECK_MS = 1000;

/** Resolves once the function's creation or update has settled; register before the call. */
function settledOnce(events: EventEmitter, functionName: string): { done: Promise<void>; cancel: () => void } {
  let listener: (e: { functionName: string }) => void = () => {};
  const done = new Promise<void>((resolve) => {
    listener = (e) => {
      if (e.functionName !== functionName) return;
      events.off('function-settled', listener);
      resolve();
    };
    events.on('function-settled', listener);
  });
  return { done, cancel: () => events.off('function-settled', listener) };
}

/**
 * Waits for `settled`, asking GetFunction whenever {@link SETTLE_CHECK_MS} pass without it, as
 * CloudFormation's Lambda handler polls the function until it is stable: no event comes for a
 * function deleted meanwhile (Lambda drops its pending state change) or once the stack stopped,
 * and then GetFunction's error (ResourceNotFoundException, or the refused connection) ends the
 * wait, so that the stack operation ends and the stack can stop.
 */
async function untilSettled(ctx: HandlerContext, functionName: string, settled: Promise<void>): Promise<void> {
  const event = settled.then(() => 'settled' as const);
  let timer: NodeJS.Timeout | undefined;
  try {
    for (;;) {
      const tick = new Promise<'check'>((resolve) => {
        timer = setTimeout(() => resolve('check'), SETTLE_CHECK_MS);
      });
      if ((await Promise.race([event, tick])) === 'settled') return;
      const config = (await ctx.clients.lambda.send(new GetFunctionCommand({ FunctionName: functionName }))).Configuration;
      if (config?.State === 'Failed' || config?.LastUpdateStatus === 'Failed') {
        throw new Error(`Function ${functionName} failed to settle: ${config.StateReason ?? config.LastUpdateStatusReason ?? config.State}`);
      }
      // Active and not updating: nothing is left to wait for.
      if (config?.State !== 'Pending' && config?.LastUpdateStatus !== 'InProgress') return;
    }
  } finally {
    clearTimeout(timer);
  }
}

async function settling<T>(ctx: HandlerContext, functionName: string, call: () => Promise<T>): Promise<T> {
  // Registered before the call: with no state delay, Lambda settles before it answers.
  const settled = settledOnce(ctx.events, functionName);
  try {
    const answer = await call();
    await untilSettled(ctx, functionName, settled.done);
    return answer;
  } finally {
    settled.cancel();
  }
}

/** A Lambda Code property as CreateFunction takes it (inline ZipFile source becomes an index file). */
function functionCode(code: Props, runtime: string | undefined): FunctionCode {
  if (typeof code.ZipFile === 'string') {
    const file = runtime?.startsWith('python') ? 'index.py' : 'index.js';
    return { ZipFile: zipSync({ [file]: strToU8(code.ZipFile) }) };
  }
  return {
    ...(code.S3Bucket !== undefined && { S3Bucket: str(code.S3Bucket) }),
    ...(code.S3Key !== undefined && { S3Key: str(code.S3Key) }),
    ...(code.S3ObjectVersion !== undefined && { S3ObjectVersion: str(code.S3ObjectVersion) }),
  };
}

function functionConfig(props: Props): Record<string, unknown> {
  const env = (props.Environment as Props | undefined)?.Variables as Record<string, string> | undefined;
  return {
    Role: str(props.Role), Handler: str(props.Handler), Runtime: str(props.Runtime), Description: str(props.Description) ?? '',
    Timeout: num(props.Timeout) ?? 3, MemorySize: num(props.MemorySize) ?? 128,
    Environment: { Variables: Object.fromEntries(Object.entries(env ?? {}).map(([k, v]) => [k, String(v)])) },
    ...(props.TracingConfig !== undefined && { TracingConfig: props.TracingConfig }),
    ...(props.Layers !== undefined && { Layers: props.Layers }),
  };
}

const lambdaFunction: ResourceHandler = {
  async create(props, ctx) {
    const name = str(props.FunctionName) ?? generatedName(ctx.stackName, ctx.logicalId, 64);
    const answer = await settling(ctx, name, () => ctx.clients.lambda.send(new CreateFunctionCommand({
      FunctionName: name, Code: functionCode((props.Code ?? {}) as Props, str(props.Runtime)),
      ...(props.Architectures !== undefined && { Architectures: props.Architectures as ('x86_64' | 'arm64')[] }),
      ...functionConfig(props),
    } as ConstructorParameters<typeof CreateFunctionCommand>[0])));
    return { physicalId: name, attributes: { Arn: answer.FunctionArn ?? '' } };
  },
  async update(props, old, ctx) {
    if (!same(props.FunctionName, old.props.FunctionName)) return undefined;
    const name = old.state.physicalId;
    if (!onlyChanged(props, old.props, ['Code'])) {
      await settling(ctx, name, () => ctx.clients.lambda.send(new UpdateFunctionConfigurationCommand({
        FunctionName: name, ...functionConfig(props),
      } as ConstructorParameters<typeof UpdateFunctionConfigurationCommand>[0])));
    }
    if (!same(props.Code, old.props.Code) || !same(props.Architectures, old.props.Architectures)) {
      await settling(ctx, name, () => ctx.clients.lambda.send(new UpdateFunctionCodeCommand({
        FunctionName: name, ...functionCode((props.Code ?? {}) as Props, str(props.Runtime)),
        ...(props.Architectures !== undefined && { Architectures: props.Architectures as ('x86_64' | 'arm64')[] }),
      })));
    }
    return old.state;
  },
  async delete(state, _props, ctx) {
    await ctx.clients.lambda.send(new DeleteFunctionCommand({ FunctionName: state.physicalId }));
  },
};

const lambdaPermission: ResourceHandler = {
  async create(props, ctx) {
    const id = generatedName(ctx.stackName, ctx.logicalId, 100);
    await ctx.clients.lambda.send(new AddPermissionCommand({
      FunctionName: str(props.FunctionName), StatementId: id, Action: str(props.Action), Principal: str(props.Principal),
      ...(props.SourceArn !== undefined && { SourceArn: str(props.SourceArn) }),
      ...(props.SourceAccount !== undefined && { SourceAccount: str(props.SourceAccount) }),
    }));
    return { physicalId: id, attributes: {} };
  },
  async delete(state, props, ctx) {
    await ctx.clients.lambda.send(new RemovePermissionCommand({ FunctionName: str(props.FunctionName), StatementId: state.physicalId }));
  },
};

const eventInvokeConfig: ResourceHandler = {
  async create(props, ctx) {
    await putEventInvokeConfig(props, ctx);
    return { physicalId: randomUUID(), attributes: {} };
  },
  async update(props, old, ctx) {
    if (!same(props.FunctionName, old.props.FunctionName) || !same(props.Qualifier, old.props.Qualifier)) return undefined;
    await putEventInvokeConfig(props, ctx);
    return old.state;
  },
  async delete(_state, props, ctx) {
    await ctx.clients.lambda.send(new DeleteFunctionEventInvokeConfigCommand({ FunctionName: str(props.FunctionName), Qualifier: str(props.Qualifier) }));
  },
};

async function putEventInvokeConfig(props: Props, ctx: HandlerContext): Promise<void> {
  await ctx.clients.lambda.send(new PutFunctionEventInvokeConfigCommand({
    FunctionName: str(props.FunctionName), Qualifier: str(props.Qualifier),
    ...(props.MaximumRetryAttempts !== undefined && { MaximumRetryAttempts: num(props.MaximumRetryAttempts) }),
    ...(props.MaximumEventAgeInSeconds !== undefined && { MaximumEventAgeInSeconds: num(props.MaximumEventAgeInSeconds) }),
    ...(props.DestinationConfig !== undefined && { DestinationConfig: props.DestinationConfig as never }),
  }));
}

function policyDocument(value: Json | undefined): string {
  return typeof value === 'string' ? value : JSON.stringify(value ?? {});
}

type InlinePolicy = { PolicyName: string; PolicyDocument: Json };

const iamRole: ResourceHandler = {
  async create(props, ctx) {
    const name = str(props.RoleName) ?? generatedName(ctx.stackName, ctx.logicalId, 64);
    const answer = await ctx.clients.iam.send(new CreateRoleCommand({
      RoleName: name, AssumeRolePolicyDocument: policyDocument(props.AssumeRolePolicyDocument),
      ...(props.Path !== undefined && { Path: str(props.Path) }),
      ...(props.Description !== undefined && { Description: str(props.Description) }),
      ...(props.MaxSessionDuration !== undefined && { MaxSessionDuration: num(props.MaxSessionDuration) }),
    }));
    await syncRolePolicies(ctx, name, props, {});
    return { physicalId: name, attributes: { Arn: answer.Role?.Arn ?? '', RoleId: answer.Role?.RoleId ?? '' } };
  },
  async update(props, old, ctx) {
    // RoleName and Path: Replacement; the rest: No interruption (the AWS::IAM::Role reference).
    if (!same(props.RoleName, old.props.RoleName) || !same(props.Path, old.props.Path)) return undefined;
    const name = old.state.physicalId;
    if (!same(props.AssumeRolePolicyDocument, old.props.AssumeRolePolicyDocument)) {
      await ctx.clients.iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: name, PolicyDocument: policyDocument(props.AssumeRolePolicyDocument) }));
    }
    if (!same(props.Description, old.props.Description) || !same(props.MaxSessionDuration, old.props.MaxSessionDuration)) {
      // A property taken out of the template goes back to IAM's default (no description, one hour).
      await ctx.clients.iam.send(new UpdateRoleCommand({
        RoleName: name, Description: str(props.Description) ?? '', MaxSessionDuration: num(props.MaxSessionDuration) ?? 3600,
      }));
    }
    await syncRolePolicies(ctx, name, props, old.props);
    return old.state;
  },
  async delete(state, props, ctx) {
    await syncRolePolicies(ctx, state.physicalId, {}, props);
    await ctx.clients.iam.send(new DeleteRoleCommand({ RoleName: state.physicalId }));
  },
};

/** Puts the role's inline and managed policies from `props`, removing those only `old` had. */
async function syncRolePolicies(ctx: HandlerContext, roleName: string, props: Props, old: Props): Promise<void> {
  const inline = (props.Policies ?? []) as InlinePolicy[];
  const oldInline = (old.Policies ?? []) as InlinePolicy[];
  for (const p of oldInline) {
    if (!inline.some((n) => n.PolicyName === p.PolicyName)) await ctx.clients.iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: p.PolicyName }));
  }
  for (const p of inline) {
    const before = oldInline.find((o) => o.PolicyName === p.PolicyName);
    if (!before || !same(before.PolicyDocument, p.PolicyDocument)) {
      await ctx.clients.iam.send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: p.PolicyName, PolicyDocument: policyDocument(p.PolicyDocument) }));
    }
  }
  const managed = ((props.ManagedPolicyArns ?? []) as string[]).map(String);
  const oldManaged = ((old.ManagedPolicyArns ?? []) as string[]).map(String);
  for (const arn of oldManaged) if (!managed.includes(arn)) await ctx.clients.iam.send(new DetachRolePolicyCommand({ RoleName: roleName, PolicyArn: arn }));
  for (const arn of managed) if (!oldManaged.includes(arn)) await ctx.clients.iam.send(new AttachRolePolicyCommand({ RoleName: roleName, PolicyArn: arn }));
}

/** A ProvisionedThroughput property as DynamoDB takes it (a template may give the numbers as strings). */
function throughput(value: Json | undefined): ProvisionedThroughput | undefined {
  const p = value as Props | undefined | null;
  if (!p) return undefined;
  return { ReadCapacityUnits: num(p.ReadCapacityUnits), WriteCapacityUnits: num(p.WriteCapacityUnits) };
}

/** Whether two ProvisionedThroughput properties ask for the same capacity (`"5"` is 5). */
function sameThroughput(a: Json | undefined, b: Json | undefined): boolean {
  return same(throughput(a) as Json | undefined, throughput(b) as Json | undefined);
}

type IndexProps = Props & { IndexName?: string; ProvisionedThroughput?: Json };

/** Global secondary indexes as CreateTable takes them: throughput as numbers. */
function globalIndexes(value: Json | undefined): unknown[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return (value as IndexProps[]).map((gsi) => {
    const { ProvisionedThroughput: pt, ...rest } = gsi;
    return { ...rest, ...(pt ? { ProvisionedThroughput: throughput(pt) } : {}) };
  });
}

/**
 * The UpdateTable throughput updates of the table's global secondary indexes, or undefined when
 * they changed in more than their throughput (a change this stack makes by a new table).
 */
function indexThroughputUpdates(next: Json | undefined, before: Json | undefined, provisioned: boolean, billingChanged: boolean): GlobalSecondaryIndexUpdate[] | undefined {
  const a = (next ?? []) as IndexProps[];
  const b = (before ?? []) as IndexProps[];
  if (a.length !== b.length) return undefined;
  const updates: GlobalSecondaryIndexUpdate[] = [];
  for (const gsi of a) {
    const old = b.find((o) => o.IndexName === gsi.IndexName);
    if (!old) return undefined;
    const { ProvisionedThroughput: pt, ...rest } = gsi;
    const { ProvisionedThroughput: oldPt, ...oldRest } = old;
    if (!same(rest, oldRest)) return undefined;
    // Moving to PROVISIONED, DynamoDB needs every index's throughput; otherwise the changed ones.
    if (provisioned && pt && (billingChanged || !sameThroughput(pt, oldPt))) {
      updates.push({ Update: { IndexName: str(gsi.IndexName), ProvisionedThroughput: throughput(pt) } });
    }
  }
  return updates;
}

const dynamoDbTable: ResourceHandler = {
  async create(props, ctx) {
    const name = str(props.TableName) ?? generatedName(ctx.stackName, ctx.logicalId, 255);
    const input = {
      TableName: name, AttributeDefinitions: props.AttributeDefinitions, KeySchema: props.KeySchema,
      BillingMode: str(props.BillingMode) ?? 'PROVISIONED',
      ...(props.ProvisionedThroughput !== undefined && { ProvisionedThroughput: throughput(props.ProvisionedThroughput) }),
      ...(props.GlobalSecondaryIndexes !== undefined && { GlobalSecondaryIndexes: globalIndexes(props.GlobalSecondaryIndexes) }),
      ...(props.LocalSecondaryIndexes !== undefined && { LocalSecondaryIndexes: props.LocalSecondaryIndexes }),
      ...(props.StreamSpecification !== undefined && { StreamSpecification: { StreamEnabled: true, ...(props.StreamSpecification as Props) } }),
    } as unknown as CreateTableCommandInput;
    const answer = await ctx.clients.dynamodb.send(new CreateTableCommand(input));
    await syncTimeToLive(ctx, name, props.TimeToLiveSpecification, undefined);
    const arn = answer.TableDescription?.TableArn ?? `arn:aws:dynamodb:${ctx.region}:${ACCOUNT_ID}:table/${name}`;
    return { physicalId: name, attributes: { Arn: arn, ...(answer.TableDescription?.LatestStreamArn && { StreamArn: answer.TableDescription.LatestStreamArn }) } };
  },
  async update(props, old, ctx) {
    // BillingMode, ProvisionedThroughput, an index's throughput, TimeToLiveSpecification, Tags:
    // No interruption. KeySchema, TableName, LocalSecondaryIndexes: Replacement; the rest this
    // stack also makes by a new table (the AWS::DynamoDB::Table reference).
    if (!onlyChanged(props, old.props, ['TimeToLiveSpecification', 'BillingMode', 'ProvisionedThroughput', 'GlobalSecondaryIndexes', 'Tags'])) return undefined;
    const billing = str(props.BillingMode) ?? 'PROVISIONED';
    const billingChanged = billing !== (str(old.props.BillingMode) ?? 'PROVISIONED');
    const provisioned = billing === 'PROVISIONED';
    const indexUpdates = indexThroughputUpdates(props.GlobalSecondaryIndexes, old.props.GlobalSecondaryIndexes, provisioned, billingChanged);
    if (!indexUpdates) return undefined;
    const table = old.state.physicalId;
    const input: UpdateTableCommandInput = {
      TableName: table,
      ...(billingChanged && { BillingMode: billing as 'PROVISIONED' | 'PAY_PER_REQUEST' }),
      // DynamoDB refuses a throughput equal to the current one, and any with PAY_PER_REQUEST.
      ...(provisioned && (billingChanged || !sameThroughput(props.ProvisionedThroughput, old.props.ProvisionedThroughput)) && { ProvisionedThroughput: throughput(props.ProvisionedThroughput) }),
      ...(indexUpdates.length && { GlobalSecondaryIndexUpdates: indexUpdates }),
    };
    if (input.BillingMode || input.ProvisionedThroughput || input.GlobalSecondaryIndexUpdates) {
      await ctx.clients.dynamodb.send(new UpdateTableCommand(input));
      // CloudFormation's handler completes once the table is ACTIVE again, as a client must wait
      // to update it again (the first DescribeTable goes out at once).
      await waitUntilTableExists({ client: ctx.clients.dynamodb, maxWaitTime: 60, minDelay: 1, maxDelay: 2 }, { TableName: table });
    }
    await syncTimeToLive(ctx, table, props.TimeToLiveSpecification, old.props.TimeToLiveSpecification);
    return old.state;
  },
  async delete(state, _props, ctx) {
    await ctx.clients.dynamodb.send(new DeleteTableCommand({ TableName: state.physicalId }));
  },
};

async function syncTimeToLive(ctx: HandlerContext, table: string, spec: Json | undefined, old: Json | undefined): Promise<void> {
  const next = (spec ?? undefined) as { AttributeName?: string; Enabled?: boolean } | undefined;
  const before = (old ?? undefined) as { AttributeName?: string; Enabled?: boolean } | undefined;
  if (same(next as Json, before as Json)) return;
  if (before?.Enabled && (!next?.Enabled || next.AttributeName !== before.AttributeName)) {
    await ctx.clients.dynamodb.send(new UpdateTimeToLiveCommand({ TableName: table, TimeToLiveSpecification: { AttributeName: before.AttributeName, Enabled: false } }));
  }
  if (next?.Enabled && (!before?.Enabled || next.AttributeName !== before.AttributeName)) {
    await ctx.clients.dynamodb.send(new UpdateTimeToLiveCommand({ TableName: table, TimeToLiveSpecification: { AttributeName: next.AttributeName, Enabled: true } }));
  }
}

/** A value as GenerateSecretString asks for: a password, or a JSON template with the password under GenerateStringKey. */
function generatedSecret(props: Props): string {
  const generate = props.GenerateSecretString as PasswordOptions & { SecretStringTemplate?: string; GenerateStringKey?: string };
  const password = randomPassword(generate);
  return generate.SecretStringTemplate && generate.GenerateStringKey
    ? JSON.stringify({ ...(JSON.parse(generate.SecretStringTemplate) as object), [generate.GenerateStringKey]: password })
    : password;
}

const secret: ResourceHandler = {
  async create(props, ctx) {
    // CloudFormation names a secret `<logical id>-<12 random alphanumerics>`.
    const name = str(props.Name) ?? `${ctx.logicalId}-${randomSuffix()}`;
    const value = props.GenerateSecretString ? generatedSecret(props) : str(props.SecretString);
    const created = ctx.secrets.create(ctx.region, {
      Name: name, ...(props.Description !== undefined && { Description: str(props.Description) ?? '' }), ...(value !== undefined && { SecretString: value }),
    });
    return { physicalId: created.ARN, attributes: { Id: created.ARN } };
  },
  async update(props, old, ctx) {
    // Name: Replacement; Description, KmsKeyId, SecretString and GenerateSecretString: No
    // interruption (the AWS::SecretsManager::Secret reference), a new value being a new version.
    if (!same(props.Name, old.props.Name)) return undefined;
    let value: string | undefined;
    if (!same(props.SecretString, old.props.SecretString) && props.SecretString !== undefined) value = str(props.SecretString);
    if (!same(props.GenerateSecretString, old.props.GenerateSecretString) && props.GenerateSecretString !== undefined) value = generatedSecret(props);
    ctx.secrets.update(ctx.region, old.state.physicalId, {
      ...(!same(props.Description, old.props.Description) && { Description: str(props.Description) ?? '' }),
      ...(!same(props.KmsKeyId, old.props.KmsKeyId) && props.KmsKeyId !== undefined && { KmsKeyId: str(props.KmsKeyId) ?? '' }),
      ...(value !== undefined && { SecretString: value }),
    });
    return old.state;
  },
  async delete(state, _props, ctx) {
    ctx.secrets.forceDelete(ctx.region, state.physicalId);
  },
};

/** A JSON-pointer segment as API Gateway's patch paths take it (`image/png` is `image~1png`). */
function pointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The endpoint types an EndpointConfiguration property names. */
function endpointTypes(props: Props): string[] {
  return (((props.EndpointConfiguration as Props | undefined)?.Types ?? []) as Json[]).map(String);
}

/** The UpdateRestApi patch operations that turn the old properties into the new ones. */
function restApiPatch(props: Props, old: Props, logicalId: string): PatchOperation[] {
  const ops: PatchOperation[] = [];
  if (!same(props.Name, old.Name)) ops.push({ op: 'replace', path: '/name', value: str(props.Name) ?? logicalId });
  if (!same(props.Description, old.Description)) ops.push({ op: 'replace', path: '/description', value: str(props.Description) ?? '' });
  if (!same(props.ApiKeySourceType, old.ApiKeySourceType)) ops.push({ op: 'replace', path: '/apiKeySource', value: str(props.ApiKeySourceType) ?? 'HEADER' });
  const types = ((props.BinaryMediaTypes ?? []) as Json[]).map(String);
  const oldTypes = ((old.BinaryMediaTypes ?? []) as Json[]).map(String);
  for (const t of oldTypes) if (!types.includes(t)) ops.push({ op: 'remove', path: `/binaryMediaTypes/${pointer(t)}` });
  for (const t of types) if (!oldTypes.includes(t)) ops.push({ op: 'add', path: `/binaryMediaTypes/${pointer(t)}` });
  // An API has one endpoint type; taken out of the template, it is EDGE again (CreateRestApi's default).
  const endpoint = endpointTypes(props)[0] ?? 'EDGE';
  if (endpoint !== (endpointTypes(old)[0] ?? 'EDGE')) ops.push({ op: 'replace', path: '/endpointConfiguration/types/0', value: endpoint });
  return ops;
}

const restApi: ResourceHandler = {
  async create(props, ctx) {
    const answer = await ctx.clients.apigateway.send(new CreateRestApiCommand({
      name: str(props.Name) ?? ctx.logicalId, ...(props.Description !== undefined && { description: str(props.Description) }),
      ...(props.EndpointConfiguration !== undefined && { endpointConfiguration: { types: endpointTypes(props) as never } }),
      ...(props.BinaryMediaTypes !== undefined && { binaryMediaTypes: props.BinaryMediaTypes as string[] }),
      ...(props.ApiKeySourceType !== undefined && { apiKeySource: str(props.ApiKeySourceType) as never }),
    }));
    const id = answer.id ?? '';
    const resources = await ctx.clients.apigateway.send(new GetResourcesCommand({ restApiId: id }));
    const root = resources.items?.find((r) => r.path === '/')?.id ?? '';
    return { physicalId: id, attributes: { RestApiId: id, RootResourceId: root } };
  },
  async update(props, old, ctx) {
    // Every property of AWS::ApiGateway::RestApi updates with No interruption; those this stack
    // does not model (Body, Policy, MinimumCompressionSize, ...) it ignores here as at creation.
    const ops = restApiPatch(props, old.props, ctx.logicalId);
    if (ops.length) await ctx.clients.apigateway.send(new UpdateRestApiCommand({ restApiId: old.state.physicalId, patchOperations: ops }));
    return old.state;
  },
  async delete(state, _props, ctx) {
    await ctx.clients.apigateway.send(new DeleteRestApiCommand({ restApiId: state.physicalId }));
  },
};

const restResource: ResourceHandler = {
  async create(props, ctx) {
    const answer = await ctx.clients.apigateway.send(new CreateResourceCommand({ restApiId: str(props.RestApiId), parentId: str(props.ParentId), pathPart: str(props.PathPart) }));
    return { physicalId: answer.id ?? '', attributes: { ResourceId: answer.id ?? '' } };
  },
  async delete(state, props, ctx) {
    await ignoreNotFound(ctx.clients.apigateway.send(new DeleteResourceCommand({ restApiId: str(props.RestApiId), resourceId: state.physicalId })));
  },
};

async function putRestMethod(props: Props, ctx: HandlerContext): Promise<void> {
  const restApiId = str(props.RestApiId);
  const resourceId = str(props.ResourceId);
  const httpMethod = str(props.HttpMethod);
  await ctx.clients.apigateway.send(new PutMethodCommand({
    restApiId, resourceId, httpMethod, authorizationType: str(props.AuthorizationType) ?? 'NONE',
    ...(props.ApiKeyRequired !== undefined && { apiKeyRequired: props.ApiKeyRequired === true || props.ApiKeyRequired === 'true' }),
    ...(props.RequestParameters !== undefined && { requestParameters: props.RequestParameters as Record<string, boolean> }),
  }));
  const integration = props.Integration as Props | undefined;
  if (!integration) return;
  await ctx.clients.apigateway.send(new PutIntegrationCommand({
    restApiId, resourceId, httpMethod, type: str(integration.Type) as never,
    ...(integration.IntegrationHttpMethod !== undefined && { integrationHttpMethod: str(integration.IntegrationHttpMethod) }),
    ...(integration.Uri !== undefined && { uri: str(integration.Uri) }),
    ...(integration.TimeoutInMillis !== undefined && { timeoutInMillis: num(integration.TimeoutInMillis) }),
    ...(integration.ResponseTransferMode !== undefined && { responseTransferMode: str(integration.ResponseTransferMode) as never }),
    ...(integration.RequestTemplates !== undefined && { requestTemplates: integration.RequestTemplates as Record<string, string> }),
  }));
}

const restMethod: ResourceHandler = {
  async create(props, ctx) {
    await putRestMethod(props, ctx);
    return { physicalId: generatedName(ctx.stackName, ctx.logicalId, 128), attributes: {} };
  },
  async update(props, old, ctx) {
    if (!onlyChanged(props, old.props, ['Integration', 'AuthorizationType', 'ApiKeyRequired', 'RequestParameters'])) return undefined;
    await ctx.clients.apigateway.send(new DeleteMethodCommand({ restApiId: str(props.RestApiId), resourceId: str(props.ResourceId), httpMethod: str(props.HttpMethod) }));
    await putRestMethod(props, ctx);
    return old.state;
  },
  async delete(_state, props, ctx) {
    await ignoreNotFound(ctx.clients.apigateway.send(new DeleteMethodCommand({ restApiId: str(props.RestApiId), resourceId: str(props.ResourceId), httpMethod: str(props.HttpMethod) })));
  },
};

const restDeployment: ResourceHandler = {
  async create(props, ctx) {
    const answer = await ctx.clients.apigateway.send(new CreateDeploymentCommand({
      restApiId: str(props.RestApiId), ...(props.Description !== undefined && { description: str(props.Description) }),
      ...(props.StageName !== undefined && { stageName: str(props.StageName) }),
    }));
    return { physicalId: answer.id ?? '', attributes: { DeploymentId: answer.id ?? '' } };
  },
  async delete(state, props, ctx) {
    await ignoreNotFound(ctx.clients.apigateway.send(new DeleteDeploymentCommand({ restApiId: str(props.RestApiId), deploymentId: state.physicalId })));
  },
};

const restStage: ResourceHandler = {
  async create(props, ctx) {
    await ctx.clients.apigateway.send(new CreateRestStageCommand({
      restApiId: str(props.RestApiId), stageName: str(props.StageName), deploymentId: str(props.DeploymentId),
      ...(props.Description !== undefined && { description: str(props.Description) }),
      ...(props.Variables !== undefined && { variables: props.Variables as Record<string, string> }),
    }));
    return { physicalId: str(props.StageName) ?? '', attributes: {} };
  },
  async update(props, old, ctx) {
    if (!onlyChanged(props, old.props, ['DeploymentId', 'Description'])) return undefined;
    const ops: PatchOperation[] = [];
    if (!same(props.DeploymentId, old.props.DeploymentId)) ops.push({ op: 'replace', path: '/deploymentId', value: str(props.DeploymentId) ?? '' });
    if (!same(props.Description, old.props.Description)) ops.push({ op: 'replace', path: '/description', value: str(props.Description) ?? '' });
    await ctx.clients.apigateway.send(new UpdateRestStageCommand({ restApiId: str(props.RestApiId), stageName: old.state.physicalId, patchOperations: ops }));
    return old.state;
  },
  async delete(state, props, ctx) {
    await ignoreNotFound(ctx.clients.apigateway.send(new DeleteRestStageCommand({ restApiId: str(props.RestApiId), stageName: state.physicalId })));
  },
};

const httpApi: ResourceHandler = {
  async create(props, ctx) {
    const answer = await ctx.clients.apigatewayv2.send(new CreateApiCommand({
      Name: str(props.Name) ?? ctx.logicalId, ProtocolType: (str(props.ProtocolType) ?? 'HTTP') as ProtocolType,
      ...(props.Description !== undefined && { Description: str(props.Description) }),
    }));
    return { physicalId: answer.ApiId ?? '', attributes: { ApiId: answer.ApiId ?? '', ApiEndpoint: answer.ApiEndpoint ?? '' } };
  },
  async update(props, old, ctx) {
    if (!onlyChanged(props, old.props, ['Name', 'Description'])) return undefined;
    await ctx.clients.apigatewayv2.send(new UpdateApiCommand({ ApiId: old.state.physicalId, Name: str(props.Name) ?? ctx.logicalId, Description: str(props.Description) ?? '' }));
    return old.state;
  },
  async delete(state, _props, ctx) {
    await ctx.clients.apigatewayv2.send(new DeleteApiCommand({ ApiId: state.physicalId }));
  },
};

const httpStage: ResourceHandler = {
  async create(props, ctx) {
    await ctx.clients.apigatewayv2.send(new CreateStageCommand({
      ApiId: str(props.ApiId), StageName: str(props.StageName),
      ...(props.AutoDeploy !== undefined && { AutoDeploy: props.AutoDeploy === true || props.AutoDeploy === 'true' }),
      ...(props.DeploymentId !== undefined && { DeploymentId: str(props.DeploymentId) }),
      ...(props.Description !== undefined && { Description: str(props.Description) }),
    }));
    return { physicalId: str(props.StageName) ?? '', attributes: {} };
  },
  async update(props, old, ctx) {
    if (!onlyChanged(props, old.props, ['AutoDeploy', 'DeploymentId', 'Description'])) return undefined;
    await ctx.clients.apigatewayv2.send(new UpdateStageCommand({
      ApiId: str(props.ApiId), StageName: old.state.physicalId,
      ...(props.AutoDeploy !== undefined && { AutoDeploy: props.AutoDeploy === true || props.AutoDeploy === 'true' }),
      ...(props.DeploymentId !== undefined && { DeploymentId: str(props.DeploymentId) }),
      ...(props.Description !== undefined && { Description: str(props.Description) }),
    }));
    return old.state;
  },
  async delete(state, props, ctx) {
    await ignoreNotFound(ctx.clients.apigatewayv2.send(new DeleteStageCommand({ ApiId: str(props.ApiId), StageName: state.physicalId })));
  },
};

function integrationInput(props: Props): Record<string, unknown> {
  return {
    IntegrationType: str(props.IntegrationType), IntegrationUri: str(props.IntegrationUri),
    ...(props.IntegrationMethod !== undefined && { IntegrationMethod: str(props.IntegrationMethod) }),
    ...(props.PayloadFormatVersion !== undefined && { PayloadFormatVersion: str(props.PayloadFormatVersion) }),
    ...(props.TimeoutInMillis !== undefined && { TimeoutInMillis: num(props.TimeoutInMillis) }),
  };
}

const httpIntegration: ResourceHandler = {
  async create(props, ctx) {
    const answer = await ctx.clients.apigatewayv2.send(new CreateIntegrationCommand({ ApiId: str(props.ApiId), ...integrationInput(props) } as never));
    return { physicalId: answer.IntegrationId ?? '', attributes: { IntegrationId: answer.IntegrationId ?? '' } };
  },
  async update(props, old, ctx) {
    if (!same(props.ApiId, old.props.ApiId)) return undefined;
    await ctx.clients.apigatewayv2.send(new UpdateIntegrationCommand({ ApiId: str(props.ApiId), IntegrationId: old.state.physicalId, ...integrationInput(props) } as never));
    return old.state;
  },
  async delete(state, props, ctx) {
    await ignoreNotFound(ctx.clients.apigatewayv2.send(new DeleteIntegrationCommand({ ApiId: str(props.ApiId), IntegrationId: state.physicalId })));
  },
};

const httpRoute: ResourceHandler = {
  async create(props, ctx) {
    const answer = await ctx.clients.apigatewayv2.send(new CreateRouteCommand({
      ApiId: str(props.ApiId), RouteKey: str(props.RouteKey), ...(props.Target !== undefined && { Target: str(props.Target) }),
      ...(props.AuthorizationType !== undefined && { AuthorizationType: str(props.AuthorizationType) as never }),
    }));
    return { physicalId: answer.RouteId ?? '', attributes: {} };
  },
  async update(props, old, ctx) {
    if (!same(props.ApiId, old.props.ApiId)) return undefined;
    await ctx.clients.apigatewayv2.send(new UpdateRouteCommand({
      ApiId: str(props.ApiId), RouteId: old.state.physicalId, RouteKey: str(props.RouteKey), ...(props.Target !== undefined && { Target: str(props.Target) }),
    }));
    return old.state;
  },
  async delete(state, props, ctx) {
    await ignoreNotFound(ctx.clients.apigatewayv2.send(new DeleteRouteCommand({ ApiId: str(props.ApiId), RouteId: state.physicalId })));
  },
};

/** AWS::SSM::Parameter's Type takes String and StringList only (the resource provider's words for SecureString). */
function refuseSecureString(props: Props): void {
  if (str(props.Type) === 'SecureString') throw new Error('SSM Parameters of type SecureString cannot be created using CloudFormation');
}

const ssmParameter: ResourceHandler = {
  async create(props, ctx) {
    // CloudFormation names a parameter `CFN-<logical id>-<12 random alphanumerics>`.
    refuseSecureString(props);
    const name = str(props.Name) ?? `CFN-${ctx.logicalId}-${randomSuffix()}`;
    ctx.ssm.put(ctx.region, name, str(props.Value) ?? '', str(props.Type) ?? 'String');
    return { physicalId: name, attributes: { Type: str(props.Type) ?? 'String', Value: str(props.Value) ?? '' } };
  },
  async update(props, old, ctx) {
    if (!same(props.Name, old.props.Name)) return undefined;
    refuseSecureString(props);
    ctx.ssm.put(ctx.region, old.state.physicalId, str(props.Value) ?? '', str(props.Type) ?? 'String');
    return { physicalId: old.state.physicalId, attributes: { Type: str(props.Type) ?? 'String', Value: str(props.Value) ?? '' } };
  },
  async delete(state, _props, ctx) {
    ctx.ssm.remove(ctx.region, state.physicalId);
  },
};

/** A resource that exists only in the stack's records (CDK metadata, a wait-condition handle). */
const recordOnly: ResourceHandler = {
  async create() {
    return { physicalId: randomUUID(), attributes: {} };
  },
  async update(_props, old) {
    return old.state;
  },
  async delete() {},
};

/** Deleting a child of something already gone is done, as CloudFormation treats NotFound on delete. */
async function ignoreNotFound(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (err) {
    if ((err as { name?: string }).name === 'NotFoundException') return;
    throw err;
  }
}

/** The handlers by resource type. */
export const RESOURCE_HANDLERS: Readonly<Record<string, ResourceHandler>> = {
  'AWS::Lambda::Function': lambdaFunction,
  'AWS::Lambda::Permission': lambdaPermission,
  'AWS::Lambda::EventInvokeConfig': eventInvokeConfig,
  'AWS::IAM::Role': iamRole,
  'AWS::DynamoDB::Table': dynamoDbTable,
  'AWS::SecretsManager::Secret': secret,
  'AWS::SSM::Parameter': ssmParameter,
  'AWS::ApiGateway::RestApi': restApi,
  'AWS::ApiGateway::Resource': restResource,
  'AWS::ApiGateway::Method': restMethod,
  'AWS::ApiGateway::Deployment': restDeployment,
  'AWS::ApiGateway::Stage': restStage,
  'AWS::ApiGatewayV2::Api': httpApi,
  'AWS::ApiGatewayV2::Stage': httpStage,
  'AWS::ApiGatewayV2::Integration': httpIntegration,
  'AWS::ApiGatewayV2::Route': httpRoute,
  'AWS::CDK::Metadata': recordOnly,
  'AWS::CloudFormation::WaitConditionHandle': recordOnly,
};

/**
 * SDK clients of a region pointed at the stack, with the account's own (admin) credentials;
 * one attempt each, so that a resource's failure is reported as it happened.
 * @param endpoint the stack's base URL
 * @param region the region
 */
export function clientsFor(endpoint: string, region: string): Clients {
  const config = { endpoint, region, credentials: { accessKeyId: 'cloudformation', secretAccessKey: 'cloudformation' }, maxAttempts: 1 };
  return {
    lambda: new LambdaClient(config), iam: new IAMClient(config), dynamodb: new DynamoDBClient(config),
    apigateway: new APIGatewayClient(config), apigatewayv2: new ApiGatewayV2Client(config),
  };
}
