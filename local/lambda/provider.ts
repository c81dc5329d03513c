/**
 * Lambda's control-plane operations (REST-JSON): functions, code,
 * configuration, permissions, event invoke configs, reserved concurrency,
 * account settings and tags. One method per AWS operation, reached by the
 * operation's name from the route table; the functions live in the
 * {@link FunctionStore}.
 */
import type { IncomingMessage } from 'node:http';
import { AwsError } from '../errors';
import { readJsonObject, type JsonBodyErrors } from '../http';
import type { Route } from '../routes';
import {
  invalidParameter, invalidRequestContent, missingField, requestTooLarge, resourceConflict, resourceNotFound,
  revisionMismatch, validationError,
} from './errors';
import { MAX_ZIP_BYTES, RESERVED_ENV_KEYS, codeSha256, functionArn, lambdaTimestamp, newRevisionId, parseFunctionRef, unpackZip } from './functions';
import type { EventInvokeConfig, FunctionRecord, FunctionStore } from './store';

/** Largest CreateFunction/UpdateFunctionCode request (base64 of a 50 MB zip plus JSON). */
const MAX_CODE_REQUEST = 70_167_211;
const MAX_JSON_REQUEST = 6 * 1024 * 1024;
const ROLE_PATTERN = /^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role\/?[a-zA-Z_0-9+=,.@\-_/]+$/;
const SUPPORTED_RUNTIME = /^nodejs\d+\.x$/;

type Json = Record<string, unknown>;

/** Every Lambda operation the stack serves, the invocations included (they are served by `invoke.ts`). */
export const LAMBDA_ROUTES = [
  { method: 'POST', path: '/2015-03-31/functions', operation: 'CreateFunction' },
  { method: 'GET', path: '/2015-03-31/functions', operation: 'ListFunctions' },
  { method: 'GET', path: '/2015-03-31/functions/{FunctionName}', operation: 'GetFunction' },
  { method: 'DELETE', path: '/2015-03-31/functions/{FunctionName}', operation: 'DeleteFunction' },
  { method: 'GET', path: '/2015-03-31/functions/{FunctionName}/configuration', operation: 'GetFunctionConfiguration' },
  { method: 'PUT', path: '/2015-03-31/functions/{FunctionName}/configuration', operation: 'UpdateFunctionConfiguration' },
  { method: 'PUT', path: '/2015-03-31/functions/{FunctionName}/code', operation: 'UpdateFunctionCode' },
  { method: 'POST', path: '/2015-03-31/functions/{FunctionName}/invocations', operation: 'Invoke' },
  { method: 'POST', path: '/2021-11-15/functions/{FunctionName}/response-streaming-invocations', operation: 'InvokeWithResponseStream' },
  { method: 'POST', path: '/2015-03-31/functions/{FunctionName}/policy', operation: 'AddPermission' },
  { method: 'GET', path: '/2015-03-31/functions/{FunctionName}/policy', operation: 'GetPolicy' },
  { method: 'DELETE', path: '/2015-03-31/functions/{FunctionName}/policy/{StatementId}', operation: 'RemovePermission' },
  { method: 'PUT', path: '/2019-09-25/functions/{FunctionName}/event-invoke-config', operation: 'PutFunctionEventInvokeConfig' },
  { method: 'POST', path: '/2019-09-25/functions/{FunctionName}/event-invoke-config', operation: 'UpdateFunctionEventInvokeConfig' },
  { method: 'GET', path: '/2019-09-25/functions/{FunctionName}/event-invoke-config', operation: 'GetFunctionEventInvokeConfig' },
  { method: 'DELETE', path: '/2019-09-25/functions/{FunctionName}/event-invoke-config', operation: 'DeleteFunctionEventInvokeConfig' },
  { method: 'PUT', path: '/2017-10-31/functions/{FunctionName}/concurrency', operation: 'PutFunctionConcurrency' },
  { method: 'DELETE', path: '/2017-10-31/functions/{FunctionName}/concurrency', operation: 'DeleteFunctionConcurrency' },
  { method: 'GET', path: '/2019-09-30/functions/{FunctionName}/concurrency', operation: 'GetFunctionConcurrency' },
  { method: 'GET', path: '/2016-08-19/account-settings', operation: 'GetAccountSettings' },
  { method: 'GET', path: '/2017-03-31/tags/{ARN+}', operation: 'ListTags' },
  { method: 'POST', path: '/2017-03-31/tags/{ARN+}', operation: 'TagResource' },
  { method: 'DELETE', path: '/2017-03-31/tags/{ARN+}', operation: 'UntagResource' },
] as const satisfies ReadonlyArray<Route<string>>;

/** The name of a Lambda operation the stack serves. */
export type LambdaOperation = (typeof LAMBDA_ROUTES)[number]['operation'];

/** The operations {@link LambdaProvider} answers (all but the invocations). */
export type ControlOperation = Exclude<LambdaOperation, 'Invoke' | 'InvokeWithResponseStream'>;

/** One operation's request: the HTTP request (its body unread), path parameters, query and region. */
export interface LambdaRequest {
  /** The HTTP request. */
  req: IncomingMessage;
  /** Path parameters by the names of the route's template (`FunctionName`, `StatementId`, `ARN`). */
  params: Record<string, string>;
  /** The query string. */
  query: URLSearchParams;
  /** The region the request was signed for. */
  region: string;
}

/** One operation's answer: its status and JSON body (none for 204). */
export interface LambdaAnswer {
  /** HTTP status. */
  status: number;
  /** The JSON body, if any. */
  body?: unknown;
}

/** Options of the provider. */
export interface LambdaProviderOptions {
  /** Directory under which function code is unpacked. */
  codeRoot: string;
  /** The stack's base URL (for Code.Location). */
  baseUrl: () => string;
  /** Called when a function's code or configuration changed or it was deleted. */
  onChange: (functionName: string) => void;
  /** Concurrency limit reported by GetAccountSettings. */
  maxConcurrency: number;
  /**
   * How long a creation stays `Pending` and an update `InProgress` (ms), as on AWS, where they
   * take a moment: an update or an invocation meanwhile gets ResourceConflictException. 0: at once.
   */
  stateDelayMs: number;
  /** Called when a creation or an update has ended (the function is Active, its update Successful). */
  onSettled?: (functionName: string) => void;
  /** The credentials of a session of an execution role, for the function's environments. */
  credentialsFor?: (roleArn: string, functionName: string) => { accessKeyId: string; secretAccessKey: string; sessionToken: string };
  /** Reads code given as `Code.S3Bucket`/`S3Key` from the stack's S3; throws S3's error (an AwsError) when it is not there. */
  readS3Object?: (bucket: string, key: string) => Uint8Array;
}

/** What CreateFunction and the updates answer while they are under way, as recorded on AWS. */
const CREATING = { StateReason: 'The function is being created.', StateReasonCode: 'Creating' } as const;
const UPDATING = { LastUpdateStatusReason: 'The function is being created.', LastUpdateStatusReasonCode: 'Creating' } as const;

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function requireField(body: Json, key: string, field: string): unknown {
  const v = body[key];
  if (v === undefined || v === null) throw missingField(field);
  return v;
}

function bodyErrors(operation: string): JsonBodyErrors {
  return {
    tooLarge: (limit) => requestTooLarge(limit, operation),
    notAnObject: () => invalidRequestContent('Could not parse request body into json: the request body is not a JSON object'),
  };
}

/**
 * Reads an operation's JSON body.
 * @param req the request
 * @param limit largest body
 * @param operation operation name for the size error
 */
function readJson(req: IncomingMessage, limit: number, operation: string): Promise<Json> {
  return readJsonObject(req, limit, bodyErrors(operation));
}

const done = (status: number, body?: unknown): LambdaAnswer => (body === undefined ? { status } : { status, body });

/** Lambda's control-plane operations over a function store. */
export class LambdaProvider {
  private readonly operations: Record<ControlOperation, (request: LambdaRequest) => Promise<LambdaAnswer> | LambdaAnswer>;

  /**
   * @param store the functions
   * @param options where code goes, the stack's URL and limits, and who hears of changes
   */
  constructor(private readonly store: FunctionStore, private readonly options: LambdaProviderOptions) {
    this.operations = {
      CreateFunction: (r) => this.createFunction(r),
      ListFunctions: (r) => this.listFunctions(r),
      GetFunction: (r) => this.getFunction(r),
      DeleteFunction: (r) => this.deleteFunction(r),
      GetFunctionConfiguration: (r) => this.getFunctionConfiguration(r),
      UpdateFunctionConfiguration: (r) => this.updateFunctionConfiguration(r),
      UpdateFunctionCode: (r) => this.updateFunctionCode(r),
      AddPermission: (r) => this.addPermission(r),
      GetPolicy: (r) => this.getPolicy(r),
      RemovePermission: (r) => this.removePermission(r),
      PutFunctionEventInvokeConfig: (r) => this.putFunctionEventInvokeConfig(r),
      UpdateFunctionEventInvokeConfig: (r) => this.updateFunctionEventInvokeConfig(r),
      GetFunctionEventInvokeConfig: (r) => this.getFunctionEventInvokeConfig(r),
      DeleteFunctionEventInvokeConfig: (r) => this.deleteFunctionEventInvokeConfig(r),
      PutFunctionConcurrency: (r) => this.putFunctionConcurrency(r),
      GetFunctionConcurrency: (r) => this.getFunctionConcurrency(r),
      DeleteFunctionConcurrency: (r) => this.deleteFunctionConcurrency(r),
      GetAccountSettings: () => this.getAccountSettings(),
      ListTags: (r) => this.listTags(r),
      TagResource: (r) => this.tagResource(r),
      UntagResource: (r) => this.untagResource(r),
    };
  }

  /**
   * Answers one operation.
   * @param operation the operation's name
   * @param request its request
   */
  async dispatch(operation: ControlOperation, request: LambdaRequest): Promise<LambdaAnswer> {
    return this.operations[operation](request);
  }

  /** The function a request names (`FunctionName`, with `Qualifier` when `qualified`). */
  private functionOf(r: LambdaRequest, qualified = true): FunctionRecord {
    return this.store.find(r.params['FunctionName'] ?? '', qualified ? r.query.get('Qualifier') ?? undefined : undefined, r.region);
  }

  /** CreateFunction. */
  async createFunction(r: LambdaRequest): Promise<LambdaAnswer> {
    const body = await readJson(r.req, MAX_CODE_REQUEST, 'CreateFunction');
    const name = str(requireField(body, 'FunctionName', 'functionName'));
    if (!name) throw validationError(body.FunctionName, 'functionName', 'Member must have length greater than or equal to 1');
    const parsed = parseFunctionRef(name);
    const role = str(requireField(body, 'Role', 'role')) ?? '';
    if (!ROLE_PATTERN.test(role)) {
      throw validationError(role, 'role', 'Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+');
    }
    const code = requireField(body, 'Code', 'code') as Json;
    if (body.PackageType === 'Image') throw invalidParameter('The local stack runs Zip functions only (PackageType Image is not supported).');
    if (!body.Runtime || !body.Handler) {
      throw invalidParameter('Runtime and Handler are mandatory parameters for functions created with deployment packages.');
    }
    const runtime = String(body.Runtime);
    if (!SUPPORTED_RUNTIME.test(runtime)) {
      throw invalidParameter(`The runtime parameter of ${runtime} is not supported by the local stack, which runs Node.js functions only.`);
    }
    if (this.store.has(parsed.name)) throw resourceConflict(`Function already exist: ${parsed.name}`);
    const zip = this.zipOf(code);
    const settings = this.checkSettings(body);
    const arn = functionArn(r.region, parsed.name);
    const codeDir = unpackZip(zip, this.options.codeRoot, parsed.name);
    const config: FunctionRecord['config'] = {
      FunctionName: parsed.name,
      FunctionArn: arn,
      Runtime: runtime,
      Role: role,
      Handler: String(body.Handler),
      CodeSize: zip.length,
      Description: str(body.Description) ?? '',
      Timeout: settings.Timeout ?? 3,
      MemorySize: settings.MemorySize ?? 128,
      LastModified: lambdaTimestamp(),
      CodeSha256: codeSha256(zip),
      Version: '$LATEST',
      ...(settings.Environment ? { Environment: settings.Environment } : {}),
      TracingConfig: { Mode: str((body.TracingConfig as Json | undefined)?.Mode) ?? 'PassThrough' },
      RevisionId: newRevisionId(),
      // Recorded on AWS (LocalStack's snapshot tests/aws/services/lambda_/test_lambda_api.snapshot.json,
      // TestLambdaFunction::test_function_lifecycle): Pending, "The function is being created.", no LastUpdateStatus.
      State: 'Pending',
      ...CREATING,
      PackageType: 'Zip',
      Architectures: Array.isArray(body.Architectures) && body.Architectures.length ? body.Architectures : ['x86_64'],
      EphemeralStorage: (body.EphemeralStorage as Json | undefined) ?? { Size: 512 },
      SnapStart: { ApplyOn: 'None', OptimizationStatus: 'Off' },
      LoggingConfig: { LogFormat: 'Text', LogGroup: `/aws/lambda/${parsed.name}`, ...(body.LoggingConfig as Json | undefined) },
      ...(body.DeadLetterConfig ? { DeadLetterConfig: body.DeadLetterConfig } : {}),
      ...(Array.isArray(body.Layers) && body.Layers.length
        ? { Layers: (body.Layers as string[]).map((Arn) => ({ Arn, CodeSize: 0 })) } : {}),
    };
    const record: FunctionRecord = {
      config, region: r.region, zip, codeDir, revision: 1, policy: [], tags: { ...((body.Tags ?? {}) as Record<string, string>) },
      ...(this.options.credentialsFor && { credentials: this.options.credentialsFor(role, parsed.name) }),
    };
    this.store.add(record);
    const answer = configOf(record);
    this.settle(record);
    return done(201, answer);
  }

  /** ListFunctions, paged by `Marker` and `MaxItems`. */
  listFunctions(r: LambdaRequest): LambdaAnswer {
    const all = this.store.list();
    const start = Number(r.query.get('Marker') ?? 0) || 0;
    const max = Math.min(Number(r.query.get('MaxItems') ?? 50) || 50, 10_000);
    const page = all.slice(start, start + max).map(listedConfigOf);
    return done(200, { Functions: page, ...(start + max < all.length ? { NextMarker: String(start + max) } : {}) });
  }

  /** GetFunction: configuration, where the code is, tags and concurrency. */
  getFunction(r: LambdaRequest): LambdaAnswer {
    const fn = this.functionOf(r);
    return done(200, {
      Configuration: configOf(fn),
      Code: { RepositoryType: 'S3', Location: `${this.options.baseUrl()}/_local/lambda/code/${encodeURIComponent(fn.config.FunctionName)}.zip` },
      ...(Object.keys(fn.tags).length ? { Tags: fn.tags } : {}),
      ...(fn.reservedConcurrency !== undefined ? { Concurrency: { ReservedConcurrentExecutions: fn.reservedConcurrency } } : {}),
    });
  }

  /** DeleteFunction. */
  deleteFunction(r: LambdaRequest): LambdaAnswer {
    const fn = this.functionOf(r);
    clearTimeout(fn.settling);
    this.store.delete(fn.config.FunctionName);
    this.options.onChange(fn.config.FunctionName);
    return done(204);
  }

  /** GetFunctionConfiguration. */
  getFunctionConfiguration(r: LambdaRequest): LambdaAnswer {
    return done(200, configOf(this.functionOf(r)));
  }

  /**
   * UpdateFunctionConfiguration: every member is checked before any is applied, so that a refused
   * update changes nothing (as on AWS, where a refused request has no effect).
   */
  async updateFunctionConfiguration(r: LambdaRequest): Promise<LambdaAnswer> {
    const fn = this.functionOf(r, false);
    const body = await readJson(r.req, MAX_JSON_REQUEST, 'UpdateFunctionConfiguration');
    refuseWhileChanging(fn);
    checkRevision(fn, body);
    const settings = this.checkSettings(body);
    const role = body.Role !== undefined ? String(body.Role) : undefined;
    if (role !== undefined && !ROLE_PATTERN.test(role)) {
      throw validationError(role, 'role', 'Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+');
    }
    const runtime = body.Runtime !== undefined ? String(body.Runtime) : undefined;
    if (runtime !== undefined && !SUPPORTED_RUNTIME.test(runtime)) {
      throw invalidParameter(`The runtime parameter of ${runtime} is not supported by the local stack, which runs Node.js functions only.`);
    }
    // Everything is valid: apply.
    if (role !== undefined) {
      fn.config.Role = role;
      if (this.options.credentialsFor) fn.credentials = this.options.credentialsFor(role, fn.config.FunctionName);
    }
    if (runtime !== undefined) fn.config.Runtime = runtime;
    if (body.Handler !== undefined) fn.config.Handler = String(body.Handler);
    if (body.Description !== undefined) fn.config.Description = String(body.Description);
    if (settings.Timeout !== undefined) fn.config.Timeout = settings.Timeout;
    if (settings.MemorySize !== undefined) fn.config.MemorySize = settings.MemorySize;
    if (settings.Environment) {
      if (Object.keys(settings.Environment.Variables).length) fn.config.Environment = settings.Environment;
      else delete fn.config.Environment;
    }
    if (body.TracingConfig !== undefined) fn.config.TracingConfig = { Mode: str((body.TracingConfig as Json).Mode) ?? 'PassThrough' };
    if (body.DeadLetterConfig !== undefined) fn.config.DeadLetterConfig = body.DeadLetterConfig;
    if (body.EphemeralStorage !== undefined) fn.config.EphemeralStorage = body.EphemeralStorage;
    if (body.LoggingConfig !== undefined) fn.config.LoggingConfig = { ...(fn.config.LoggingConfig as Json), ...(body.LoggingConfig as Json) };
    this.touch(fn);
    return done(200, configOf(fn));
  }

  /** UpdateFunctionCode (ZipFile or S3Bucket/S3Key; DryRun checks the zip and changes nothing). */
  async updateFunctionCode(r: LambdaRequest): Promise<LambdaAnswer> {
    const fn = this.functionOf(r, false);
    const body = await readJson(r.req, MAX_CODE_REQUEST, 'UpdateFunctionCode');
    refuseWhileChanging(fn);
    checkRevision(fn, body);
    const zip = this.zipOf(body);
    if (body.DryRun === true) {
      unpackZip(zip, this.options.codeRoot, `${fn.config.FunctionName}-dryrun`);
      return done(200, { ...configOf(fn), CodeSha256: codeSha256(zip), CodeSize: zip.length });
    }
    fn.codeDir = unpackZip(zip, this.options.codeRoot, fn.config.FunctionName);
    fn.zip = zip;
    fn.config.CodeSha256 = codeSha256(zip);
    fn.config.CodeSize = zip.length;
    if (Array.isArray(body.Architectures) && body.Architectures.length) fn.config.Architectures = body.Architectures;
    this.touch(fn);
    return done(200, configOf(fn));
  }

  /** AddPermission: a statement of the function's resource policy. */
  async addPermission(r: LambdaRequest): Promise<LambdaAnswer> {
    const fn = this.functionOf(r);
    const body = await readJson(r.req, MAX_JSON_REQUEST, 'AddPermission');
    checkRevision(fn, body);
    const sid = str(requireField(body, 'StatementId', 'statementId')) ?? '';
    if (!/^[a-zA-Z0-9-_.]+$/.test(sid) || sid.length > 100) {
      throw validationError(sid, 'statementId', 'Member must satisfy regular expression pattern: ([a-zA-Z0-9-_.]+)');
    }
    const action = str(requireField(body, 'Action', 'action')) ?? '';
    if (!/^(lambda:[*]|lambda:[a-zA-Z]+|[*])$/.test(action)) {
      throw validationError(action, 'action', 'Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])');
    }
    const principal = str(requireField(body, 'Principal', 'principal')) ?? '';
    if (fn.policy.some((s) => s.Sid === sid)) {
      throw resourceConflict(`The statement id (${sid}) provided already exists. Please provide a new statement id, or remove the existing statement.`);
    }
    const condition: Json = {};
    if (body.SourceArn) condition.ArnLike = { 'AWS:SourceArn': body.SourceArn };
    if (body.SourceAccount) condition.StringEquals = { 'AWS:SourceAccount': body.SourceAccount };
    const statement: Json = {
      Sid: sid,
      Effect: 'Allow',
      Principal: principal === '*' ? '*'
        : /^\d{12}$/.test(principal) ? { AWS: `arn:aws:iam::${principal}:root` }
          : principal.includes('.') ? { Service: principal } : { AWS: principal },
      Action: action,
      Resource: fn.config.FunctionArn,
      ...(Object.keys(condition).length ? { Condition: condition } : {}),
    };
    fn.policy.push(statement);
    fn.config.RevisionId = newRevisionId();
    return done(201, { Statement: JSON.stringify(statement) });
  }

  /** GetPolicy: the resource policy as a JSON string. */
  getPolicy(r: LambdaRequest): LambdaAnswer {
    const fn = this.functionOf(r);
    if (fn.policy.length === 0) throw resourceNotFound('The resource you requested does not exist.');
    return done(200, { Policy: JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: fn.policy }), RevisionId: fn.config.RevisionId });
  }

  /** RemovePermission. */
  removePermission(r: LambdaRequest): LambdaAnswer {
    const fn = this.functionOf(r);
    const sid = r.params['StatementId'] ?? '';
    const idx = fn.policy.findIndex((s) => s.Sid === sid);
    if (idx < 0) throw resourceNotFound(`Statement ${sid} is not found in resource policy.`);
    fn.policy.splice(idx, 1);
    fn.config.RevisionId = newRevisionId();
    return done(204);
  }

  /** PutFunctionEventInvokeConfig: replaces the config. */
  putFunctionEventInvokeConfig(r: LambdaRequest): Promise<LambdaAnswer> {
    return this.writeEventInvokeConfig(r, 'PutFunctionEventInvokeConfig');
  }

  /** UpdateFunctionEventInvokeConfig: changes the fields given of an existing config. */
  updateFunctionEventInvokeConfig(r: LambdaRequest): Promise<LambdaAnswer> {
    return this.writeEventInvokeConfig(r, 'UpdateFunctionEventInvokeConfig');
  }

  /** GetFunctionEventInvokeConfig. */
  getFunctionEventInvokeConfig(r: LambdaRequest): LambdaAnswer {
    const fn = this.functionOf(r);
    if (!fn.eventInvokeConfig) throw noEventInvokeConfig(fn);
    return done(200, renderEventInvokeConfig(fn, fn.eventInvokeConfig));
  }

  /** DeleteFunctionEventInvokeConfig. */
  deleteFunctionEventInvokeConfig(r: LambdaRequest): LambdaAnswer {
    const fn = this.functionOf(r);
    if (!fn.eventInvokeConfig) throw noEventInvokeConfig(fn);
    delete fn.eventInvokeConfig;
    return done(204);
  }

  /** PutFunctionConcurrency: reserved concurrency. */
  async putFunctionConcurrency(r: LambdaRequest): Promise<LambdaAnswer> {
    const fn = this.functionOf(r, false);
    const body = await readJson(r.req, MAX_JSON_REQUEST, 'PutFunctionConcurrency');
    const n = body.ReservedConcurrentExecutions;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
      throw validationError(n, 'reservedConcurrentExecutions', 'Member must have value greater than or equal to 0');
    }
    if (n > this.options.maxConcurrency) {
      throw invalidParameter(`Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [0].`);
    }
    fn.reservedConcurrency = n;
    return done(200, { ReservedConcurrentExecutions: n });
  }

  /** GetFunctionConcurrency. */
  getFunctionConcurrency(r: LambdaRequest): LambdaAnswer {
    const fn = this.functionOf(r, false);
    return done(200, fn.reservedConcurrency === undefined ? {} : { ReservedConcurrentExecutions: fn.reservedConcurrency });
  }

  /** DeleteFunctionConcurrency. */
  deleteFunctionConcurrency(r: LambdaRequest): LambdaAnswer {
    const fn = this.functionOf(r, false);
    delete fn.reservedConcurrency;
    return done(204);
  }

  /** GetAccountSettings: the limits and what is used of them. */
  getAccountSettings(): LambdaAnswer {
    return done(200, {
      AccountLimit: {
        TotalCodeSize: 80_530_636_800, CodeSizeUnzipped: 262_144_000, CodeSizeZipped: MAX_ZIP_BYTES,
        ConcurrentExecutions: this.options.maxConcurrency, UnreservedConcurrentExecutions: this.options.maxConcurrency,
      },
      AccountUsage: { TotalCodeSize: this.store.totalCodeSize(), FunctionCount: this.store.size },
    });
  }

  /** ListTags of a function, by its ARN. */
  listTags(r: LambdaRequest): LambdaAnswer {
    return done(200, { Tags: this.taggedFunction(r).tags });
  }

  /** TagResource. */
  async tagResource(r: LambdaRequest): Promise<LambdaAnswer> {
    const fn = this.taggedFunction(r);
    const body = await readJson(r.req, MAX_JSON_REQUEST, 'TagResource');
    Object.assign(fn.tags, (body.Tags ?? {}) as Record<string, string>);
    return done(204);
  }

  /** UntagResource (`tagKeys` in the query). */
  untagResource(r: LambdaRequest): LambdaAnswer {
    const fn = this.taggedFunction(r);
    for (const key of r.query.getAll('tagKeys')) delete fn.tags[key];
    return done(204);
  }

  private taggedFunction(r: LambdaRequest): FunctionRecord {
    return this.store.find(r.params['ARN'] ?? '', undefined, r.region);
  }

  private async writeEventInvokeConfig(r: LambdaRequest, operation: 'PutFunctionEventInvokeConfig' | 'UpdateFunctionEventInvokeConfig'): Promise<LambdaAnswer> {
    const fn = this.functionOf(r);
    const body = await readJson(r.req, MAX_JSON_REQUEST, operation);
    const retries = body.MaximumRetryAttempts;
    if (retries !== undefined && (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0 || retries > 2)) {
      throw validationError(retries, 'maximumRetryAttempts', 'Member must have value less than or equal to 2');
    }
    const age = body.MaximumEventAgeInSeconds;
    if (age !== undefined && (typeof age !== 'number' || !Number.isInteger(age) || age < 60 || age > 21600)) {
      throw validationError(age, 'maximumEventAgeInSeconds', 'Member must have value between 60 and 21600');
    }
    const updating = operation === 'UpdateFunctionEventInvokeConfig';
    if (updating && !fn.eventInvokeConfig) throw noEventInvokeConfig(fn);
    const config: EventInvokeConfig = updating && fn.eventInvokeConfig ? { ...fn.eventInvokeConfig } : { LastModified: 0 };
    if (retries !== undefined) config.MaximumRetryAttempts = retries as number;
    if (age !== undefined) config.MaximumEventAgeInSeconds = age as number;
    if (body.DestinationConfig !== undefined) config.DestinationConfig = body.DestinationConfig;
    config.LastModified = Date.now() / 1000;
    fn.eventInvokeConfig = config;
    return done(200, renderEventInvokeConfig(fn, config));
  }

  private zipOf(code: Json): Uint8Array {
    if (code.ImageUri) throw invalidParameter('The local stack accepts code as a zip only (image code is not supported).');
    if ((code.S3Bucket || code.S3Key) && this.options.readS3Object) {
      let zip: Uint8Array;
      try {
        zip = this.options.readS3Object(String(code.S3Bucket ?? ''), String(code.S3Key ?? ''));
      } catch (err) {
        // As recorded on AWS (test_lambda_api.snapshot.json, TestLambdaFunction::test_lambda_code_location_s3_errors).
        if (err instanceof AwsError) throw invalidParameter(`Error occurred while GetObject. S3 Error Code: ${err.code}. S3 Error Message: ${err.message}`);
        throw err;
      }
      if (zip.length > MAX_ZIP_BYTES) throw requestTooLarge(MAX_CODE_REQUEST, 'CreateFunction');
      return zip;
    }
    if (code.S3Bucket || code.S3Key) throw invalidParameter('The local stack accepts code as ZipFile bytes only (S3 code is not supported).');
    if (typeof code.ZipFile !== 'string' || !code.ZipFile) throw invalidParameter('Please provide a source for function code.');
    const zip = Buffer.from(code.ZipFile, 'base64');
    if (zip.length > MAX_ZIP_BYTES) throw requestTooLarge(MAX_CODE_REQUEST, 'CreateFunction');
    return new Uint8Array(zip);
  }

  private checkSettings(body: Json): { Timeout?: number; MemorySize?: number; Environment?: { Variables: Record<string, string> } } {
    const out: { Timeout?: number; MemorySize?: number; Environment?: { Variables: Record<string, string> } } = {};
    if (body.Timeout !== undefined) {
      const t = body.Timeout;
      if (typeof t !== 'number' || !Number.isInteger(t) || t < 1) throw validationError(t, 'timeout', 'Member must have value greater than or equal to 1');
      if (t > 900) throw validationError(t, 'timeout', 'Member must have value less than or equal to 900');
      out.Timeout = t;
    }
    if (body.MemorySize !== undefined) {
      const m = body.MemorySize;
      if (typeof m !== 'number' || !Number.isInteger(m) || m < 128) throw validationError(m, 'memorySize', 'Member must have value greater than or equal to 128');
      if (m > 10240) throw validationError(m, 'memorySize', 'Member must have value less than or equal to 10240');
      out.MemorySize = m;
    }
    if (body.Environment !== undefined) {
      const vars = ((body.Environment as Json | null)?.Variables ?? {}) as Record<string, unknown>;
      const reserved = Object.keys(vars).filter((k) => RESERVED_ENV_KEYS.has(k));
      if (reserved.length) {
        throw invalidParameter('Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: ' + reserved.join(', '));
      }
      const clean: Record<string, string> = {};
      for (const [k, v] of Object.entries(vars)) {
        if (!/^[a-zA-Z]([a-zA-Z0-9_])+$/.test(k)) {
          throw validationError('[sensitive]', 'environment.variables', 'Member must satisfy key pattern [a-zA-Z]([a-zA-Z0-9_])+');
        }
        clean[k] = String(v);
      }
      const measured = JSON.stringify(clean);
      if (Buffer.byteLength(measured) > 4096) {
        throw invalidParameter('Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: ' + measured);
      }
      out.Environment = { Variables: clean };
    }
    return out;
  }

  private touch(fn: FunctionRecord): void {
    fn.revision++;
    fn.config.RevisionId = newRevisionId();
    fn.config.LastModified = lambdaTimestamp();
    // Recorded on AWS (test_lambda_api.snapshot.json, test_function_lifecycle): the update's
    // answer says InProgress; GetFunction says Successful once it is done.
    fn.config.LastUpdateStatus = 'InProgress';
    Object.assign(fn.config, UPDATING);
    this.options.onChange(fn.config.FunctionName);
    this.settle(fn);
  }

  /** Clears every pending creation or update timer, so that nothing settles after the stack stopped. */
  stop(): void {
    for (const fn of this.store.list()) {
      clearTimeout(fn.settling);
      delete fn.settling;
    }
  }

  /** Ends a creation or an update after the configured delay (at once when it is 0). */
  private settle(fn: FunctionRecord): void {
    clearTimeout(fn.settling);
    delete fn.settling;
    const finish = (): void => {
      delete fn.settling;
      fn.config.State = 'Active';
      fn.config.LastUpdateStatus = 'Successful';
      for (const key of [...Object.keys(CREATING), ...Object.keys(UPDATING)]) delete fn.config[key];
      this.options.onSettled?.(fn.config.FunctionName);
    };
    if (this.options.stateDelayMs <= 0) {
      finish();
      return;
    }
    fn.settling = setTimeout(finish, this.options.stateDelayMs);
    fn.settling.unref();
  }
}

/**
 * ResourceConflictException while the function is being created or updated, as recorded on AWS
 * (test_lambda_api.snapshot.json, TestLambdaFunction::test_lambda_concurrent_code_updates and
 * test_lambda_concurrent_config_updates).
 * @param fn the function
 */
function refuseWhileChanging(fn: FunctionRecord): void {
  if (fn.config.State === 'Pending' || fn.config.LastUpdateStatus === 'InProgress') {
    throw resourceConflict(`The operation cannot be performed at this time. An update is in progress for resource: ${fn.config.FunctionArn}`);
  }
}

/**
 * The configuration as the API answers it.
 * @param fn the function
 */
export function configOf(fn: FunctionRecord): Json {
  return { ...fn.config };
}

/**
 * Members ListFunctions leaves out of each function's configuration, as recorded on AWS (LocalStack's
 * snapshot tests/aws/services/lambda_/test_lambda_api.snapshot.json, TestLambdaFunction::test_list_functions:
 * neither `State` nor `LastUpdateStatus`, nor their reasons, in `list_all` and `list_default`).
 */
const UNLISTED: readonly string[] = ['State', 'StateReason', 'StateReasonCode', 'LastUpdateStatus', 'LastUpdateStatusReason', 'LastUpdateStatusReasonCode'];

/**
 * The configuration as ListFunctions answers it.
 * @param fn the function
 */
export function listedConfigOf(fn: FunctionRecord): Json {
  const config = configOf(fn);
  for (const key of UNLISTED) delete config[key];
  return config;
}

function checkRevision(fn: FunctionRecord, body: Json): void {
  if (body.RevisionId !== undefined && body.RevisionId !== fn.config.RevisionId) throw revisionMismatch();
}

function noEventInvokeConfig(fn: FunctionRecord): Error {
  return resourceNotFound(`The function ${fn.config.FunctionArn}:$LATEST doesn't have an EventInvokeConfig`);
}

function renderEventInvokeConfig(fn: FunctionRecord, c: EventInvokeConfig): Json {
  return {
    LastModified: c.LastModified,
    FunctionArn: `${fn.config.FunctionArn}:$LATEST`,
    ...(c.MaximumRetryAttempts !== undefined ? { MaximumRetryAttempts: c.MaximumRetryAttempts } : {}),
    ...(c.MaximumEventAgeInSeconds !== undefined ? { MaximumEventAgeInSeconds: c.MaximumEventAgeInSeconds } : {}),
    DestinationConfig: c.DestinationConfig ?? { OnSuccess: {}, OnFailure: {} },
  };
}
