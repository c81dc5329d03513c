/**
 * The Lambda control plane (REST-JSON under `/2015-03-31/functions` and
 * friends): create, get, list, update and delete functions, permissions,
 * event invoke configs, reserved concurrency and tags.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AwsError, BodyTooLargeError } from '../errors';
import { decodePart, newRequestId, readBody, regionOf, send, sendJson } from '../http';
import {
  MAX_ZIP_BYTES, RESERVED_ENV_KEYS, codeSha256, functionArn, functionNotFound, invalidParameter,
  lambdaTimestamp, newRevisionId, parseFunctionRef, unpackZip, validationError,
} from './functions';
import type { EventInvokeConfig, FunctionRecord } from './functions';
import type { FunctionSpec } from './runtime';

/** Largest CreateFunction/UpdateFunctionCode request (base64 of a 50 MB zip plus JSON). */
const MAX_CODE_REQUEST = 70_167_211;
const MAX_JSON_REQUEST = 6 * 1024 * 1024;
const ROLE_PATTERN = /^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role\/?[a-zA-Z_0-9+=,.@\-_/]+$/;
const SUPPORTED_RUNTIME = /^nodejs\d+\.x$/;

type Json = Record<string, unknown>;

/** Options of the control plane. */
export interface ControlPlaneOptions {
  /** Directory under which function code is unpacked. */
  codeRoot: string;
  /** Region used when a request names none. */
  defaultRegion: string;
  /** The stack's base URL (for Code.Location). */
  baseUrl: () => string;
  /** Called when a function's code or configuration changed or it was deleted. */
  onChange: (functionName: string) => void;
  /** Concurrency limit reported by GetAccountSettings. */
  maxConcurrency: number;
}

/**
 * Sends a Lambda-shaped error: `x-amzn-ErrorType` header and a JSON body.
 * @param res the response
 * @param err the error
 */
export function sendLambdaError(res: ServerResponse, err: AwsError): void {
  const capital = err.code === 'ResourceNotFoundException' || err.code === 'ServiceException';
  const body: Json = { Type: 'User', ...err.extra, ...(capital ? { Message: err.message } : { message: err.message }) };
  const headers: Record<string, string> = { 'x-amzn-ErrorType': err.code, 'x-amzn-RequestId': newRequestId() };
  if (err.status === 429) headers['Retry-After'] = '1';
  sendJson(res, err.status, body, headers);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function requireField(body: Json, key: string, field: string): unknown {
  const v = body[key];
  if (v === undefined || v === null) {
    throw new AwsError(400, 'ValidationException', `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`);
  }
  return v;
}

/**
 * Reads and parses a JSON request body.
 * @param req the request
 * @param limit largest body
 * @param operation operation name for the size error
 */
export async function readJson(req: IncomingMessage, limit: number, operation: string): Promise<Json> {
  let body: Buffer;
  try {
    body = await readBody(req, limit);
  } catch (err) {
    if (err instanceof BodyTooLargeError) {
      throw new AwsError(413, 'RequestEntityTooLargeException', `Request must be smaller than ${limit} bytes for the ${operation} operation`);
    }
    throw err;
  }
  if (body.length === 0) return {};
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Json;
  } catch {
    throw new AwsError(400, 'InvalidRequestContentException', 'Could not parse request body into json: the request body is not a JSON object');
  }
}

/** The function registry and the control-plane operations. */
export class LambdaControlPlane {
  /** Functions by name. */
  readonly functions = new Map<string, FunctionRecord>();

  /** @param options control-plane options */
  constructor(private readonly options: ControlPlaneOptions) {}

  /**
   * Finds a function by name or ARN (only `$LATEST` exists).
   * @param ref name, ARN or partial ARN
   * @param qualifier optional qualifier
   * @param region region for error messages
   */
  find(ref: string, qualifier: string | undefined, region: string): FunctionRecord {
    const parsed = parseFunctionRef(ref);
    const q = qualifier ?? parsed.qualifier;
    const fn = this.functions.get(parsed.name);
    if (!fn || (q !== undefined && q !== '$LATEST')) {
      throw functionNotFound(functionArn(fn?.region ?? region, parsed.name) + (q ? `:${q}` : ''));
    }
    return fn;
  }

  /**
   * A snapshot of what the runtime needs.
   * @param fn the function
   */
  spec(fn: FunctionRecord): FunctionSpec {
    const spec: FunctionSpec = {
      functionName: fn.config.FunctionName,
      functionArn: fn.config.FunctionArn,
      revision: fn.revision,
      codeDir: fn.codeDir,
      handler: fn.config.Handler,
      timeoutSeconds: fn.config.Timeout,
      memoryMb: fn.config.MemorySize,
      region: fn.region,
      runtime: fn.config.Runtime,
      variables: fn.config.Environment?.Variables ?? {},
    };
    if (fn.reservedConcurrency !== undefined) spec.reservedConcurrency = fn.reservedConcurrency;
    return spec;
  }

  /**
   * Routes one control-plane request. Returns false when the path is not a
   * control-plane path.
   * @param req the request
   * @param res the response
   * @param segments path segments after the API version
   * @param version the API version segment, e.g. `2015-03-31`
   */
  async handle(req: IncomingMessage, res: ServerResponse, version: string, segments: string[]): Promise<boolean> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://localhost');
    const region = regionOf(req, this.options.defaultRegion);
    const qualifier = url.searchParams.get('Qualifier') ?? undefined;
    const [kind, rawName, sub, extra] = segments;
    const name = rawName === undefined ? undefined : decodePart(rawName);
    const ok = (status: number, value?: unknown): true => {
      if (value === undefined) send(res, status, { 'x-amzn-RequestId': newRequestId() });
      else sendJson(res, status, value, { 'x-amzn-RequestId': newRequestId() });
      return true;
    };

    if (version === '2016-08-19' && kind === 'account-settings' && method === 'GET') {
      let total = 0;
      for (const fn of this.functions.values()) total += fn.zip.length;
      return ok(200, {
        AccountLimit: {
          TotalCodeSize: 80_530_636_800, CodeSizeUnzipped: 262_144_000, CodeSizeZipped: MAX_ZIP_BYTES,
          ConcurrentExecutions: this.options.maxConcurrency, UnreservedConcurrentExecutions: this.options.maxConcurrency,
        },
        AccountUsage: { TotalCodeSize: total, FunctionCount: this.functions.size },
      });
    }

    if (version === '2017-03-31' && kind === 'tags' && rawName !== undefined) {
      const arn = decodePart(segments.slice(1).join('/'));
      const fn = this.find(arn, undefined, region);
      if (method === 'GET') return ok(200, { Tags: fn.tags });
      if (method === 'POST') {
        const body = await readJson(req, MAX_JSON_REQUEST, 'TagResource');
        Object.assign(fn.tags, (body.Tags ?? {}) as Record<string, string>);
        return ok(204);
      }
      if (method === 'DELETE') {
        for (const key of url.searchParams.getAll('tagKeys')) delete fn.tags[key];
        return ok(204);
      }
      return false;
    }

    if (kind !== 'functions') return false;

    if (version === '2015-03-31' && name === undefined) {
      if (method === 'POST') return ok(201, await this.create(req, region));
      if (method === 'GET') {
        const all = [...this.functions.values()].sort((a, b) => a.config.FunctionName.localeCompare(b.config.FunctionName));
        const start = Number(url.searchParams.get('Marker') ?? 0) || 0;
        const max = Math.min(Number(url.searchParams.get('MaxItems') ?? 50) || 50, 10_000);
        const page = all.slice(start, start + max).map((f) => this.configOf(f));
        return ok(200, { Functions: page, ...(start + max < all.length ? { NextMarker: String(start + max) } : {}) });
      }
      return false;
    }
    if (name === undefined) return false;

    if (version === '2019-09-25' && sub === 'event-invoke-config') {
      const fn = this.find(name, qualifier, region);
      return ok(method === 'DELETE' ? 204 : 200, await this.eventInvokeConfig(req, method, fn));
    }
    if ((version === '2017-10-31' || version === '2019-09-30') && sub === 'concurrency') {
      const fn = this.find(name, undefined, region);
      if (method === 'PUT') {
        const body = await readJson(req, MAX_JSON_REQUEST, 'PutFunctionConcurrency');
        const n = body.ReservedConcurrentExecutions;
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) {
          throw validationError(n, 'reservedConcurrentExecutions', 'Member must have value greater than or equal to 0');
        }
        if (n > this.options.maxConcurrency) {
          throw invalidParameter(`Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [0].`);
        }
        fn.reservedConcurrency = n;
        return ok(200, { ReservedConcurrentExecutions: n });
      }
      if (method === 'DELETE') {
        delete fn.reservedConcurrency;
        return ok(204);
      }
      if (method === 'GET') return ok(200, fn.reservedConcurrency === undefined ? {} : { ReservedConcurrentExecutions: fn.reservedConcurrency });
      return false;
    }
    if (version !== '2015-03-31') return false;

    if (sub === undefined) {
      if (method === 'GET') {
        const fn = this.find(name, qualifier, region);
        return ok(200, {
          Configuration: this.configOf(fn),
          Code: { RepositoryType: 'S3', Location: `${this.options.baseUrl()}/_local/lambda/code/${encodeURIComponent(fn.config.FunctionName)}.zip` },
          ...(Object.keys(fn.tags).length ? { Tags: fn.tags } : {}),
          ...(fn.reservedConcurrency !== undefined ? { Concurrency: { ReservedConcurrentExecutions: fn.reservedConcurrency } } : {}),
        });
      }
      if (method === 'DELETE') {
        const fn = this.find(name, qualifier, region);
        this.functions.delete(fn.config.FunctionName);
        this.options.onChange(fn.config.FunctionName);
        return ok(204);
      }
      return false;
    }
    if (sub === 'configuration') {
      if (method === 'GET') return ok(200, this.configOf(this.find(name, qualifier, region)));
      if (method === 'PUT') return ok(200, await this.updateConfiguration(req, this.find(name, undefined, region)));
      return false;
    }
    if (sub === 'code' && method === 'PUT') return ok(200, await this.updateCode(req, this.find(name, undefined, region)));
    if (sub === 'policy') {
      const fn = this.find(name, qualifier, region);
      if (method === 'POST' && extra === undefined) return ok(201, await this.addPermission(req, fn));
      if (method === 'GET' && extra === undefined) {
        if (fn.policy.length === 0) {
          throw new AwsError(404, 'ResourceNotFoundException', 'The resource you requested does not exist.', { Type: 'User' });
        }
        return ok(200, { Policy: this.policyDocument(fn), RevisionId: fn.config.RevisionId });
      }
      if (method === 'DELETE' && extra !== undefined) {
        const sid = decodePart(extra);
        const idx = fn.policy.findIndex((s) => s.Sid === sid);
        if (idx < 0) {
          throw new AwsError(404, 'ResourceNotFoundException', `Statement ${sid} is not found in resource policy.`, { Type: 'User' });
        }
        fn.policy.splice(idx, 1);
        fn.config.RevisionId = newRevisionId();
        return ok(204);
      }
      return false;
    }
    return false;
  }

  /**
   * The configuration as the API answers it.
   * @param fn the function
   */
  configOf(fn: FunctionRecord): Json {
    return { ...fn.config };
  }

  private policyDocument(fn: FunctionRecord): string {
    return JSON.stringify({ Version: '2012-10-17', Id: 'default', Statement: fn.policy });
  }

  private async create(req: IncomingMessage, region: string): Promise<Json> {
    const body = await readJson(req, MAX_CODE_REQUEST, 'CreateFunction');
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
    if (this.functions.has(parsed.name)) {
      throw new AwsError(409, 'ResourceConflictException', `Function already exist: ${parsed.name}`, { Type: 'User' });
    }
    const zip = this.zipOf(code);
    const settings = this.checkSettings(body);
    const arn = functionArn(region, parsed.name);
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
      State: 'Active',
      LastUpdateStatus: 'Successful',
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
      config, region, zip, codeDir, revision: 1, policy: [], tags: { ...((body.Tags ?? {}) as Record<string, string>) },
    };
    this.functions.set(parsed.name, record);
    return this.configOf(record);
  }

  private zipOf(code: Json): Uint8Array {
    if (code.S3Bucket || code.S3Key || code.ImageUri) {
      throw invalidParameter('The local stack accepts code as ZipFile bytes only (S3 and image code are not supported).');
    }
    if (typeof code.ZipFile !== 'string' || !code.ZipFile) throw invalidParameter('Please provide a source for function code.');
    const zip = Buffer.from(code.ZipFile, 'base64');
    if (zip.length > MAX_ZIP_BYTES) {
      throw new AwsError(413, 'RequestEntityTooLargeException', `Request must be smaller than ${MAX_CODE_REQUEST} bytes for the CreateFunction operation`);
    }
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

  private checkRevision(fn: FunctionRecord, body: Json): void {
    if (body.RevisionId !== undefined && body.RevisionId !== fn.config.RevisionId) {
      throw new AwsError(412, 'PreconditionFailedException',
        'The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id', { Type: 'User' });
    }
  }

  private touch(fn: FunctionRecord): void {
    fn.revision++;
    fn.config.RevisionId = newRevisionId();
    fn.config.LastModified = lambdaTimestamp();
    fn.config.State = 'Active';
    fn.config.LastUpdateStatus = 'Successful';
    this.options.onChange(fn.config.FunctionName);
  }

  private async updateConfiguration(req: IncomingMessage, fn: FunctionRecord): Promise<Json> {
    const body = await readJson(req, MAX_JSON_REQUEST, 'UpdateFunctionConfiguration');
    this.checkRevision(fn, body);
    const settings = this.checkSettings(body);
    if (body.Role !== undefined) {
      const role = String(body.Role);
      if (!ROLE_PATTERN.test(role)) {
        throw validationError(role, 'role', 'Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+');
      }
      fn.config.Role = role;
    }
    if (body.Runtime !== undefined) {
      const runtime = String(body.Runtime);
      if (!SUPPORTED_RUNTIME.test(runtime)) {
        throw invalidParameter(`The runtime parameter of ${runtime} is not supported by the local stack, which runs Node.js functions only.`);
      }
      fn.config.Runtime = runtime;
    }
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
    return this.configOf(fn);
  }

  private async updateCode(req: IncomingMessage, fn: FunctionRecord): Promise<Json> {
    const body = await readJson(req, MAX_CODE_REQUEST, 'UpdateFunctionCode');
    this.checkRevision(fn, body);
    const zip = this.zipOf(body);
    if (body.DryRun === true) {
      unpackZip(zip, this.options.codeRoot, `${fn.config.FunctionName}-dryrun`);
      return { ...this.configOf(fn), CodeSha256: codeSha256(zip), CodeSize: zip.length };
    }
    fn.codeDir = unpackZip(zip, this.options.codeRoot, fn.config.FunctionName);
    fn.zip = zip;
    fn.config.CodeSha256 = codeSha256(zip);
    fn.config.CodeSize = zip.length;
    if (Array.isArray(body.Architectures) && body.Architectures.length) fn.config.Architectures = body.Architectures;
    this.touch(fn);
    return this.configOf(fn);
  }

  private async addPermission(req: IncomingMessage, fn: FunctionRecord): Promise<Json> {
    const body = await readJson(req, MAX_JSON_REQUEST, 'AddPermission');
    this.checkRevision(fn, body);
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
      throw new AwsError(409, 'ResourceConflictException',
        `The statement id (${sid}) provided already exists. Please provide a new statement id, or remove the existing statement.`, { Type: 'User' });
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
    return { Statement: JSON.stringify(statement) };
  }

  private async eventInvokeConfig(req: IncomingMessage, method: string, fn: FunctionRecord): Promise<Json | undefined> {
    const qualifiedArn = `${fn.config.FunctionArn}:$LATEST`;
    const render = (c: EventInvokeConfig): Json => ({
      LastModified: c.LastModified,
      FunctionArn: qualifiedArn,
      ...(c.MaximumRetryAttempts !== undefined ? { MaximumRetryAttempts: c.MaximumRetryAttempts } : {}),
      ...(c.MaximumEventAgeInSeconds !== undefined ? { MaximumEventAgeInSeconds: c.MaximumEventAgeInSeconds } : {}),
      DestinationConfig: c.DestinationConfig ?? { OnSuccess: {}, OnFailure: {} },
    });
    const missing = (): AwsError => new AwsError(404, 'ResourceNotFoundException',
      `The function ${qualifiedArn} doesn't have an EventInvokeConfig`, { Type: 'User' });
    if (method === 'GET') {
      if (!fn.eventInvokeConfig) throw missing();
      return render(fn.eventInvokeConfig);
    }
    if (method === 'DELETE') {
      if (!fn.eventInvokeConfig) throw missing();
      delete fn.eventInvokeConfig;
      return undefined;
    }
    if (method !== 'PUT' && method !== 'POST') throw new AwsError(405, 'UnknownOperationException', 'Unknown operation');
    const body = await readJson(req, MAX_JSON_REQUEST, 'PutFunctionEventInvokeConfig');
    const retries = body.MaximumRetryAttempts;
    if (retries !== undefined && (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0 || retries > 2)) {
      throw validationError(retries, 'maximumRetryAttempts', 'Member must have value less than or equal to 2');
    }
    const age = body.MaximumEventAgeInSeconds;
    if (age !== undefined && (typeof age !== 'number' || !Number.isInteger(age) || age < 60 || age > 21600)) {
      throw validationError(age, 'maximumEventAgeInSeconds', 'Member must have value between 60 and 21600');
    }
    if (method === 'POST' && !fn.eventInvokeConfig) throw missing();
    const base: EventInvokeConfig = method === 'POST' && fn.eventInvokeConfig ? { ...fn.eventInvokeConfig } : { LastModified: 0 };
    if (retries !== undefined) base.MaximumRetryAttempts = retries as number;
    if (age !== undefined) base.MaximumEventAgeInSeconds = age as number;
    if (body.DestinationConfig !== undefined) base.DestinationConfig = body.DestinationConfig;
    base.LastModified = Date.now() / 1000;
    fn.eventInvokeConfig = base;
    return render(base);
  }
}

