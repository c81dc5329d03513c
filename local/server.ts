/**
 * The local AWS stack: one loopback HTTP endpoint (LocalStack's shape,
 * default `http://127.0.0.1:4566`) serving DynamoDB, Lambda, API Gateway,
 * IAM and STS, S3, SSM, Secrets Manager and CloudFormation, routed by request shape, SigV4
 * credential scope and `X-Amz-Target`.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ACCOUNT_ID, credentialScope, decodePart, readBody, regionOf, sendJson } from './http';
import { AwsError, BodyTooLargeError } from './errors';
import { sendQueryError } from './iam/errors';
import { CLOUDFORMATION_NS } from './cloudformation/errors';
import { startDynamoDb } from './dynamodb/service';
import { LambdaService, LAMBDA_VERSIONS } from './lambda/service';
import { workerScriptPath } from './lambda/worker-script';
import type { EnvironmentCounts } from './lambda/types';
import { DEFAULT_INTEGRATION_TIMEOUT_MS, DEFAULT_STREAM_IDLE_TIMEOUT_MS, executeTarget } from './apigateway/invoke';
import { API_GATEWAY_PREFIXES, ApiGatewayService } from './apigateway/service';
import { API_GATEWAY_V2_PREFIX, ApiGatewayV2Service } from './apigatewayv2/service';
import { IamService } from './iam/service';
import { S3Service } from './s3/service';
import { SSM_TARGET_PREFIX, SsmService } from './ssm/service';
import { SECRETS_MANAGER_TARGET_PREFIX, SecretsManagerService } from './secretsmanager/service';
import { CloudFormationService } from './cloudformation/service';
import { createOps, handleOps, OPS_PREFIX, type StackOps } from './ops';

/** Options of {@link startLocalStack}. */
export interface LocalStackOptions {
  /** Port to listen on (default 4566; 0 picks a free one). */
  port?: number;
  /** Loopback address to listen on (default 127.0.0.1; only loopback is allowed). */
  host?: string;
  /** Keep DynamoDB data in this directory (default: in memory). */
  dataDir?: string;
  /** Region used when a request names none (default us-east-1). */
  region?: string;
  /** Scales async invoke timing (retry delays, throttle backoff, event age); 1 = AWS timing (default 1). */
  retryScale?: number;
  /** Most Lambda invocations running at once, all functions together (default 1000). */
  maxConcurrency?: number;
  /** Idle execution environments are stopped after this many ms (default 600000). */
  idleTimeoutMs?: number;
  /**
   * API Gateway's integration-timeout quota for buffered integrations, in ms (default 29000, as
   * AWS): no buffered integration waits longer. Raise it (up to 300000) as a quota increase would,
   * so that integrations may ask for more; lower it to scale every buffered integration down.
   */
  integrationTimeoutMs?: number;
  /** How long a streamed API Gateway response may stay silent, in ms (default 300000: Regional and private endpoints). */
  streamIdleTimeoutMs?: number;
  /**
   * How long a new Lambda function stays `Pending` and an update `InProgress`, in ms (default
   * 200; 0: at once). Meanwhile an update or an invocation gets ResourceConflictException, as on
   * AWS, so clients must wait (`aws lambda wait function-active-v2`, `function-updated-v2`).
   */
  lambdaStateDelayMs?: number;
  /**
   * Whether IAM is enforced (default true): each function's environment gets credentials of a
   * session of its execution role, and its DynamoDB, Lambda, S3, SSM, Secrets Manager and
   * CloudFormation calls are evaluated against that role's policies; API Gateway invokes a
   * function only when its resource policy allows it.
   * Other credentials (a deploy script's, the CLI's) are the account's own and may do anything.
   */
  iam?: boolean;
  /** Receives each console line (function output, API Gateway access lines); default prints to stdout. */
  log?: (line: string) => void;
}

/** A running stack. */
export interface LocalStack {
  /** Base URL, e.g. `http://127.0.0.1:4566`: use it as AWS_ENDPOINT_URL. */
  url: string;
  /** Port listened on. */
  port: number;
  /** Host listened on. */
  host: string;
  /**
   * Events for observers and tests: `invocation-start` (a synchronous Lambda
   * invocation got its environment), `invocation` (a synchronous Lambda
   * invocation ended), `function-settled` (a function's creation or update
   * ended: it is Active, its last update Successful), `stack-settled` (a CloudFormation stack
   * operation ended: `{ stackName, stackId, status }`), `async-attempt` (an Event invocation attempt ended),
   * `async-discarded` (an Event invocation was given up), `fault` (a test
   * hook held a request or lost an answer: `local/faults.ts`).
   */
  events: EventEmitter;
  /** Execution environments alive now. */
  environments(): EnvironmentCounts;
  /**
   * Test/ops hooks (also served under `/_local/ops/`, see `local/ops.ts`):
   * counters and memory, starting or killing a function's environments, stopping and
   * starting the DynamoDB endpoint. Not part of any AWS API.
   */
  ops: StackOps;
  /** Stops the server, every execution environment and the store. */
  stop(): Promise<void>;
}

/** How long a Lambda creation or update takes in the stack by default (ms). */
export const DEFAULT_LAMBDA_STATE_DELAY_MS = 200;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/;

/** Services reported by the health route, as LocalStack reports them. */
const SERVICES = {
  dynamodb: 'running', lambda: 'running', apigateway: 'running', iam: 'running', sts: 'running',
  s3: 'running', ssm: 'running', secretsmanager: 'running', cloudformation: 'running',
};

/**
 * Starts the stack.
 * @param options listening address, storage, timing and limits
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK.test(host)) throw new Error(`The local stack listens on loopback only; refusing host ${host}`);
  const port = options.port ?? 4566;
  const region = options.region ?? 'us-east-1';
  const log = options.log ?? ((line: string) => process.stdout.write(line + '\n'));
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const scratch = mkdtempSync(join(tmpdir(), 'local-aws-stack-'));
  let baseUrl = '';

  const iam = new IamService({ enforce: options.iam !== false, log });
  const enforcing = iam.enforcing;
  const denied = (accessKeyId: string | undefined, action: string, resource: string): string | undefined => {
    const answer = iam.authorize(accessKeyId, action, resource);
    return answer.allowed ? undefined : answer.message;
  };
  const dynamodb = await startDynamoDb({
    events,
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
    defaultRegion: region,
    // The table's ARN names the region the request was signed for (AWS's Service Authorization
    // Reference, DynamoDB resource types: arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}).
    ...(enforcing && { authorize: (key: string | undefined, action: string, resource: string, signedRegion: string) => denied(key, action, resource === '*' ? '*' : `arn:aws:dynamodb:${signedRegion}:${ACCOUNT_ID}:${resource}`) }),
  });
  // Each service names the refused resource its own way, as AWS's refusals read: S3 quotes the
  // ARN, Secrets Manager names the SecretId as the caller gave it, and an action on "*"
  // (ListAllMyBuckets, GetRandomPassword, DescribeStacks of every stack) names none.
  const deniedNaming = (accessKeyId: string | undefined, action: string, resource: string, named: string | undefined): string | undefined =>
    denied(accessKeyId, action, resource)?.replace(` on resource: ${resource} `, () => (named === undefined ? ' ' : ` on resource: ${named} `));
  const s3 = new S3Service({
    defaultRegion: region, log,
    ...(enforcing && { authorize: (key: string | undefined, action: string, resource: string) => deniedNaming(key, action, resource, resource === '*' ? undefined : `"${resource}"`) }),
  });
  const workerScript = await workerScriptPath(scratch);
  const lambda = new LambdaService({
    codeRoot: join(scratch, 'functions'),
    workerScript,
    defaultRegion: region,
    baseUrl: () => baseUrl,
    maxConcurrency: options.maxConcurrency ?? 1000,
    idleTimeoutMs: options.idleTimeoutMs ?? 600_000,
    retryScale: options.retryScale ?? 1,
    log,
    events,
    stateDelayMs: options.lambdaStateDelayMs ?? DEFAULT_LAMBDA_STATE_DELAY_MS,
    credentialsFor: (roleArn, functionName) => iam.credentialsFor(roleArn, functionName),
    readS3Object: (bucket, key) => s3.getObject(bucket, key).body,
    ...(enforcing && { authorize: denied }),
  });
  const refusesInvoke = enforcing
    ? (ref: string, source: string, credentials?: string): string | undefined => {
      const sourceArn = `arn:aws:execute-api:${region}:${ACCOUNT_ID}:${source}`;
      if (credentials === undefined) return lambda.refusesServiceInvoke(ref, { service: 'apigateway.amazonaws.com', sourceArn, sourceAccount: ACCOUNT_ID });
      // The caller's own credentials (REST's arn:aws:iam::*:user/*): the stack's callers are its account's.
      if (credentials === 'arn:aws:iam::*:user/*') return undefined;
      const fnArn = lambda.functionArnOf(ref);
      return fnArn === undefined ? undefined : iam.refusesAssumedRole(credentials, 'apigateway.amazonaws.com', 'lambda:InvokeFunction', fnArn, sourceArn);
    }
    : undefined;
  const apigateway = new ApiGatewayService({
    defaultRegion: region,
    integrationTimeoutMs: options.integrationTimeoutMs ?? DEFAULT_INTEGRATION_TIMEOUT_MS,
    streamIdleTimeoutMs: options.streamIdleTimeoutMs ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS,
    invokeLambda: (ref, payload) => lambda.invoke(ref, payload),
    invokeLambdaStreaming: (ref, payload, sink) => lambda.invokeStreaming(ref, payload, sink),
    log,
    ...(refusesInvoke && { refusesInvoke }),
  });
  const apigatewayv2 = new ApiGatewayV2Service({
    defaultRegion: region,
    integrationTimeoutMs: options.integrationTimeoutMs ?? DEFAULT_INTEGRATION_TIMEOUT_MS,
    endpoint: () => baseUrl,
    invokeLambda: (ref, payload) => lambda.invoke(ref, payload),
    log,
    ...(refusesInvoke && { refusesInvoke }),
  });
  const ssm = new SsmService({ defaultRegion: region, log, ...(enforcing && { authorize: denied }) });
  const secretsmanager = new SecretsManagerService({
    defaultRegion: region, log,
    ...(enforcing && { authorize: (key: string | undefined, action: string, resource: string, shown: string) => deniedNaming(key, action, resource, resource === '*' ? undefined : shown) }),
  });
  const cloudformation = new CloudFormationService({ defaultRegion: region, endpoint: () => baseUrl, events, ssm, secrets: secretsmanager, s3, log });
  const ops = createOps(dynamodb, lambda.runtime, (name) => lambda.functions.specOf(name), lambda.faults);

  /**
   * Checks a CloudFormation call against the caller's role before the service sees it: the
   * request (its body read, then handed on anew), or undefined when it was answered here (403
   * AccessDenied) or the client went away.
   */
  async function authorizedCloudFormation(req: IncomingMessage, res: ServerResponse): Promise<IncomingMessage | undefined> {
    let body: Buffer;
    try {
      body = await readBody(req, MAX_CLOUDFORMATION_BODY);
    } catch (err) {
      // The service's own refusal of a body this large; a client that went away gets nothing.
      if (err instanceof BodyTooLargeError) sendQueryError(res, new AwsError(400, 'ValidationError', 'Template may not exceed 51200 bytes in size.'), CLOUDFORMATION_NS);
      return undefined;
    }
    try {
      const params = new URLSearchParams(new URL(req.url ?? '/', 'http://localhost').search);
      for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.append(k, v);
      const resource = cloudFormationResource(params, regionOf(req, region));
      const message = resource === undefined ? undefined
        : deniedNaming(credentialScope(req)?.accessKeyId, `cloudformation:${params.get('Action') ?? ''}`, resource, resource === '*' ? undefined : resource);
      if (message !== undefined) {
        sendQueryError(res, new AwsError(403, 'AccessDenied', message), CLOUDFORMATION_NS);
        return undefined;
      }
    } catch {
      // A request that cannot be read (an odd URL) is the service's to refuse, in its own shape.
    }
    return replayed(req, body);
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawUrl = req.url ?? '/';
    const path = rawUrl.split('?')[0] ?? '/';
    if ((req.method === 'GET' || req.method === 'HEAD') && (path === '/_localstack/health' || path === '/health')) {
      sendJson(res, 200, { services: SERVICES, edition: 'local-node', version: '1.0.0' });
      return;
    }
    const target = executeTarget(rawUrl, req.headers.host);
    if (target) {
      // REST and HTTP API ids share one namespace, as execute-api's host names do.
      if (apigatewayv2.serves(target)) await apigatewayv2.execute(req, res, target);
      else await apigateway.execute(req, res, target);
      return;
    }
    if (path.startsWith(OPS_PREFIX)) {
      await handleOps(ops, log, req, res);
      return;
    }
    const codeMatch = /^\/_local\/lambda\/code\/([^/]+)\.zip$/.exec(path);
    if (codeMatch && req.method === 'GET') {
      lambda.serveCode(decodePart(codeMatch[1] ?? ''), res);
      return;
    }
    const target0 = String(req.headers['x-amz-target'] ?? '');
    const service = credentialScope(req)?.service;
    if (target0.startsWith(SSM_TARGET_PREFIX)) {
      await ssm.handle(req, res);
      return;
    }
    if (target0.startsWith(SECRETS_MANAGER_TARGET_PREFIX)) {
      await secretsmanager.handle(req, res);
      return;
    }
    if (service === 's3') {
      await s3.handle(req, res);
      return;
    }
    if (target0.startsWith('DynamoDB_') || service === 'dynamodb') {
      await dynamodb.handle(req, res);
      return;
    }
    const first = path.split('/')[1] ?? '';
    if (service === 'lambda' || LAMBDA_VERSIONS.has(first)) {
      await lambda.handle(req, res);
      return;
    }
    if (first === API_GATEWAY_V2_PREFIX && (service === 'apigateway' || service === undefined)) {
      await apigatewayv2.handle(req, res);
      return;
    }
    if (service === 'apigateway' || API_GATEWAY_PREFIXES.has(first)) {
      await apigateway.handle(req, res);
      return;
    }
    const contentType = String(req.headers['content-type'] ?? '');
    // Before the query-protocol catch-all below, which is IAM's.
    if (service === 'cloudformation') {
      // Only a function's session is checked: the account's own keys (cdk:local, the CLI) may do anything.
      const checked = enforcing && iam.isSession(credentialScope(req)?.accessKeyId) ? await authorizedCloudFormation(req, res) : req;
      if (checked) await cloudformation.handle(checked, res);
      return;
    }
    if (service === 'iam' || service === 'sts' || (req.method === 'POST' && contentType.startsWith('application/x-www-form-urlencoded'))) {
      await iam.handle(req, res, service === 'iam' || service === 'sts' ? service : undefined);
      return;
    }
    sendJson(res, 404, { message: `The local stack does not serve ${req.method} ${path}` }, { 'x-amzn-ErrorType': 'UnknownOperationException' });
  }

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      // The path only: a query may hold a continuation's token.
      log(`[local-stack] internal error for ${req.method} ${(req.url ?? '/').split('?')[0]}: ${err instanceof Error ? err.stack : String(err)}`);
      if (!res.headersSent) sendJson(res, 500, { message: 'Internal error in the local stack' }, { 'x-amzn-ErrorType': 'InternalFailure' });
      else res.destroy();
    });
  });
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actualPort = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  baseUrl = `http://${urlHost}:${actualPort}`;

  let stopping: Promise<void> | undefined;
  return {
    url: baseUrl,
    port: actualPort,
    host,
    events,
    environments: () => lambda.runtime.stats(),
    ops,
    stop() {
      stopping ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await cloudformation.idle();
        await lambda.stop();
        await closed;
        await dynamodb.close();
        rmSync(scratch, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

/** The largest CloudFormation request read for its authorization: what the service itself reads. */
const MAX_CLOUDFORMATION_BODY = 2 * 1_048_576;

/** The CloudFormation actions on one stack the stack serves. */
const STACK_ACTIONS: ReadonlySet<string> = new Set([
  'CreateStack', 'UpdateStack', 'DeleteStack', 'DescribeStacks', 'DescribeStackEvents', 'DescribeStackResources',
  'DescribeStackResource', 'ListStackResources', 'GetTemplate',
]);

/**
 * What IAM evaluates for a CloudFormation call (the Service Authorization Reference's `stack`
 * resource): a stack id as given, a name as `stack/NAME/*` (AWS's refusals name
 * `arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/*`), DescribeStacks of every stack `*` (its
 * refusal names no resource), ListStacks every stack (`stack/` and two wildcards, as its
 * refusal names it). Undefined for an action the stack does not serve, which the service
 * refuses itself.
 */
function cloudFormationResource(params: URLSearchParams, region: string): string | undefined {
  const action = params.get('Action') ?? '';
  if (action === 'ListStacks') return `arn:aws:cloudformation:${region}:${ACCOUNT_ID}:stack/*/*`;
  if (!STACK_ACTIONS.has(action)) return undefined;
  const stack = params.get('StackName');
  if (!stack) return '*';
  return stack.startsWith('arn:') ? stack : `arn:aws:cloudformation:${region}:${ACCOUNT_ID}:stack/${stack}/*`;
}

/** A request whose body was read, handed on as a readable of that body with the same method, URL and headers. */
function replayed(req: IncomingMessage, body: Buffer): IncomingMessage {
  return Object.assign(Readable.from([body]), { method: req.method, url: req.url, headers: req.headers, socket: req.socket }) as unknown as IncomingMessage;
}
