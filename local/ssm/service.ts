/**
 * SSM Parameter Store, the part a CDK deployment needs (JSON 1.1, `X-Amz-Target: AmazonSSM.*`):
 * PutParameter, GetParameter, GetParameters, GetParametersByPath and DeleteParameter of String,
 * StringList and SecureString parameters, by name or ARN. A SecureString's value is answered as
 * AWS answers it without `WithDecryption`: a base64 ciphertext blob (the stack has no KMS; it
 * encrypts with a key of its own, so the blob reveals nothing). CloudFormation reads plaintext
 * in-process with {@link SsmService.valueOf}.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createCipheriv, randomBytes } from 'node:crypto';
import { AwsError } from '../errors';
import { ACCOUNT_ID, credentialScope } from '../http';
import { handleJsonTarget, stringField, type JsonOperation } from '../json-target';

/** The target prefix of every SSM operation. */
export const SSM_TARGET_PREFIX = 'AmazonSSM.';

/** Parameter types SSM accepts. */
const PARAMETER_TYPES: ReadonlySet<string> = new Set(['String', 'StringList', 'SecureString']);

/** Most parameters GetParameters takes in one call. */
const MAX_GET_PARAMETERS = 10;

/** Most parameters one GetParametersByPath page holds (SSM's default and maximum). */
const MAX_PATH_RESULTS = 10;

/**
 * The first bytes of a KMS ciphertext blob (format version 1, then the key's id), so that a
 * SecureString's value reads as AWS's do (`AQICAH...`).
 */
const CIPHERTEXT_HEADER = Buffer.from([0x01, 0x02, 0x02, 0x00, 0x78]);

interface Parameter {
  Name: string;
  Type: string;
  Value: string;
  Version: number;
  LastModifiedDate: number;
  DataType: string;
  Description?: string;
  /** A SecureString's value as GetParameter answers it without WithDecryption. */
  ciphertext?: string;
  /** The KMS key a SecureString names (recorded only). */
  keyId?: string;
}

/** Options of {@link SsmService}. */
export interface SsmOptions {
  /** Region for unsigned requests. */
  defaultRegion: string;
  /** Where the stack's own faults are written. */
  log: (line: string) => void;
  /**
   * Checks a call against the caller's role (`ssm:GetParameter` on
   * `arn:aws:ssm:REGION:ACCOUNT:parameter/NAME`, ...): AccessDeniedException's message when refused.
   */
  authorize?: (accessKeyId: string | undefined, action: string, resource: string) => string | undefined;
}

/** Throws AccessDeniedException when the caller may not perform the action on the resource. */
type Check = (action: string, resource: string) => void;

/** ParameterNotFound: SSM answers GetParameter of a missing name with an empty message. */
function parameterNotFound(message = ''): AwsError {
  return new AwsError(400, 'ParameterNotFound', message);
}

function validation(message: string): AwsError {
  return new AwsError(400, 'ValidationException', message);
}

/** A parameter's ARN: `parameter/` and the name without its leading slash (`/a/b` is `parameter/a/b`). */
function parameterArn(region: string, name: string): string {
  return `arn:aws:ssm:${region}:${ACCOUNT_ID}:parameter/${name.replace(/^\//, '')}`;
}

/** SSM Parameter Store. */
export class SsmService {
  /** Parameters by region, then by name. */
  private readonly regions = new Map<string, Map<string, Parameter>>();
  /** Encrypts SecureString values, so that their ciphertext reveals nothing (never decrypted: the plaintext is kept). */
  private readonly key = randomBytes(32);

  /** @param options the default region, the log, and the IAM check */
  constructor(private readonly options: SsmOptions) {}

  /**
   * Answers one SSM request.
   * @param req the request
   * @param res the response
   */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const caller = credentialScope(req)?.accessKeyId;
    const check: Check = (action, resource) => {
      const message = this.options.authorize?.(caller, action, resource);
      if (message !== undefined) throw new AwsError(400, 'AccessDeniedException', message);
    };
    await handleJsonTarget(req, res, SSM_TARGET_PREFIX, this.operations(check), {
      unknownOperation: (op) => new AwsError(400, 'UnknownOperationException', `The local stack's SSM does not serve ${op || 'this request'}.`),
      serialization: () => new AwsError(400, 'SerializationException', 'The request body is not a JSON object.'),
      internal: () => new AwsError(500, 'InternalServerError', 'An internal error occurred in the local stack.'),
    }, this.options.defaultRegion, this.options.log);
  }

  /**
   * A parameter's value (a SecureString's plaintext), or undefined when there is none: what
   * CloudFormation reads for a parameter of type `AWS::SSM::Parameter::Value<String>` and a
   * `{{resolve:ssm:...}}` or `{{resolve:ssm-secure:...}}` reference.
   * @param region the stack's region
   * @param name the parameter's name
   */
  valueOf(region: string, name: string): string | undefined {
    return this.store(region).get(name)?.Value;
  }

  /**
   * A parameter's type (`String`, `StringList`, `SecureString`), or undefined when there is none.
   * @param region the region
   * @param name the parameter's name
   */
  typeOf(region: string, name: string): string | undefined {
    return this.store(region).get(name)?.Type;
  }

  /**
   * Writes a parameter, overwriting it (for CloudFormation's AWS::SSM::Parameter).
   * @param region the region
   * @param name the name
   * @param value the value
   * @param type String, StringList or SecureString
   */
  put(region: string, name: string, value: string, type: string): void {
    this.putParameter({ Name: name, Value: value, Type: type, Overwrite: true }, region);
  }

  /**
   * Deletes a parameter if it is there (for CloudFormation).
   * @param region the region
   * @param name the name
   */
  remove(region: string, name: string): void {
    this.store(region).delete(name);
  }

  /** The operations, for one request's caller. */
  private operations(check: Check): Readonly<Record<string, JsonOperation>> {
    return {
      PutParameter: (input, region) => {
        check('ssm:PutParameter', parameterArn(region, required(input, 'Name')));
        return this.putParameter(input, region);
      },
      GetParameter: (input, region) => {
        const name = required(input, 'Name');
        check('ssm:GetParameter', this.arnOf(region, name));
        const parameter = this.find(region, name);
        if (!parameter) throw parameterNotFound();
        return { Parameter: this.render(parameter, region, input.WithDecryption === true) };
      },
      GetParameters: (input, region) => this.getParameters(input, region, check),
      GetParametersByPath: (input, region) => this.getParametersByPath(input, region, check),
      DeleteParameter: (input, region) => {
        const name = required(input, 'Name');
        check('ssm:DeleteParameter', parameterArn(region, name));
        if (!this.store(region).delete(name)) throw parameterNotFound(`Parameter ${name} not found.`);
        return {};
      },
    };
  }

  private store(region: string): Map<string, Parameter> {
    let store = this.regions.get(region);
    if (!store) {
      store = new Map();
      this.regions.set(region, store);
    }
    return store;
  }

  /** A parameter by name or by ARN (whose `parameter/a/b` is `/a/b`, and `parameter/a` either `a` or `/a`). */
  private find(region: string, nameOrArn: string): Parameter | undefined {
    const store = this.store(region);
    const m = /^arn:aws:ssm:[^:]*:[^:]*:parameter\/(.+)$/.exec(nameOrArn);
    if (!m?.[1]) return store.get(nameOrArn);
    const rest = m[1];
    return rest.includes('/') ? store.get(`/${rest}`) : store.get(rest) ?? store.get(`/${rest}`);
  }

  /** What IAM evaluates for a parameter named by name or ARN. */
  private arnOf(region: string, nameOrArn: string): string {
    return nameOrArn.startsWith('arn:') ? nameOrArn : parameterArn(region, nameOrArn);
  }

  /**
   * A parameter as the Get operations answer it (no Description: that is DescribeParameters'),
   * a SecureString's value encrypted unless the caller asked WithDecryption.
   */
  private render(p: Parameter, region: string, decrypt: boolean): Record<string, unknown> {
    return {
      Name: p.Name, Type: p.Type, Value: p.ciphertext !== undefined && !decrypt ? p.ciphertext : p.Value, Version: p.Version,
      LastModifiedDate: p.LastModifiedDate, ARN: parameterArn(region, p.Name), DataType: p.DataType,
    };
  }

  /** A ciphertext blob for a SecureString value: KMS's header, then AES-256-GCM of the value. */
  private encrypt(value: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const sealed = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return Buffer.concat([CIPHERTEXT_HEADER, randomBytes(16), iv, sealed, cipher.getAuthTag()]).toString('base64');
  }

  private putParameter(input: Record<string, unknown>, region: string): unknown {
    const name = required(input, 'Name');
    const value = stringField(input, 'Value');
    if (value === undefined) throw validation("1 validation error detected: Value null at 'value' failed to satisfy constraint: Member must not be null");
    if (value.length === 0) throw validation("1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1");
    const store = this.store(region);
    const existing = store.get(name);
    if (existing && input.Overwrite !== true) {
      throw new AwsError(400, 'ParameterAlreadyExists', 'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.');
    }
    const type = stringField(input, 'Type') ?? existing?.Type ?? 'String';
    if (!PARAMETER_TYPES.has(type)) {
      throw validation(`1 validation error detected: Value '${type}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]`);
    }
    const description = stringField(input, 'Description') ?? existing?.Description;
    const keyId = stringField(input, 'KeyId') ?? existing?.keyId;
    const parameter: Parameter = {
      Name: name, Type: type, Value: value, Version: (existing?.Version ?? 0) + 1,
      LastModifiedDate: Date.now() / 1000, DataType: stringField(input, 'DataType') ?? 'text',
      ...(description !== undefined && { Description: description }),
      // Encrypted once per version, as KMS's ciphertext is stored with it.
      ...(type === 'SecureString' && { ciphertext: this.encrypt(value), ...(keyId !== undefined && { keyId }) }),
    };
    store.set(name, parameter);
    return { Version: parameter.Version, Tier: 'Standard' };
  }

  private getParameters(input: Record<string, unknown>, region: string, check: Check): unknown {
    const names = input.Names;
    if (!Array.isArray(names) || names.length === 0) {
      throw validation("1 validation error detected: Value null at 'names' failed to satisfy constraint: Member must not be null");
    }
    if (names.length > MAX_GET_PARAMETERS) {
      throw validation(`1 validation error detected: Value '[${names.join(', ')}]' at 'names' failed to satisfy constraint: Member must have length less than or equal to ${MAX_GET_PARAMETERS}`);
    }
    const unique = [...new Set(names.map(String))];
    // Each name is checked: one the caller may not read refuses the whole call.
    for (const name of unique) check('ssm:GetParameters', this.arnOf(region, name));
    const found: Record<string, unknown>[] = [];
    const invalid: string[] = [];
    for (const name of unique) {
      const parameter = this.find(region, name);
      if (parameter) found.push(this.render(parameter, region, input.WithDecryption === true));
      else invalid.push(name);
    }
    return { Parameters: found, InvalidParameters: invalid };
  }

  /**
   * GetParametersByPath: the parameters one level under the path (every level with Recursive),
   * in name order, MaxResults (at most 10) to a page; NextToken is the last name of the page.
   */
  private getParametersByPath(input: Record<string, unknown>, region: string, check: Check): unknown {
    const path = stringField(input, 'Path');
    if (!path) throw validation("1 validation error detected: Value null at 'path' failed to satisfy constraint: Member must not be null");
    // The path's ARN as AWS's refusals name it: `/a/b/` is `parameter/a/b/`.
    check('ssm:GetParametersByPath', parameterArn(region, path));
    if (Array.isArray(input.ParameterFilters) && input.ParameterFilters.length > 0) {
      throw validation("The local stack's SSM does not serve GetParametersByPath's ParameterFilters.");
    }
    const maxResults = input.MaxResults ?? MAX_PATH_RESULTS;
    if (typeof maxResults !== 'number' || !Number.isInteger(maxResults) || maxResults < 1 || maxResults > MAX_PATH_RESULTS) {
      const bound = typeof maxResults === 'number' && maxResults < 1 ? 'greater than or equal to 1' : `less than or equal to ${MAX_PATH_RESULTS}`;
      throw validation(`1 validation error detected: Value '${String(maxResults)}' at 'maxResults' failed to satisfy constraint: Member must have value ${bound}`);
    }
    const prefix = path.endsWith('/') ? path : `${path}/`;
    const recursive = input.Recursive === true;
    const after = stringField(input, 'NextToken') ?? '';
    const under = [...this.store(region).values()]
      .filter((p) => p.Name.startsWith(prefix) && p.Name.length > prefix.length && (recursive || !p.Name.slice(prefix.length).includes('/')))
      .filter((p) => p.Name > after)
      .sort((a, b) => (a.Name < b.Name ? -1 : 1));
    const page = under.slice(0, maxResults);
    const last = page.at(-1);
    return {
      Parameters: page.map((p) => this.render(p, region, input.WithDecryption === true)),
      ...(under.length > maxResults && last && { NextToken: last.Name }),
    };
  }
}

function required(input: Record<string, unknown>, field: 'Name'): string {
  const value = stringField(input, field);
  if (!value) throw validation(`1 validation error detected: Value null at '${field.toLowerCase()}' failed to satisfy constraint: Member must not be null`);
  return value;
}
