/**
 * SSM Parameter Store, the part a CDK deployment needs (JSON 1.1, `X-Amz-Target: AmazonSSM.*`):
 * PutParameter, GetParameter, GetParameters and DeleteParameter of String, StringList and
 * SecureString parameters (a SecureString is kept as it is: the stack has no KMS). CloudFormation
 * reads parameters in-process with {@link SsmService.valueOf}.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AwsError } from '../errors';
import { ACCOUNT_ID } from '../http';
import { handleJsonTarget, stringField, type JsonOperation } from '../json-target';

/** The target prefix of every SSM operation. */
export const SSM_TARGET_PREFIX = 'AmazonSSM.';

/** Parameter types SSM accepts. */
const PARAMETER_TYPES: ReadonlySet<string> = new Set(['String', 'StringList', 'SecureString']);

/** Most parameters GetParameters takes in one call. */
const MAX_GET_PARAMETERS = 10;

interface Parameter {
  Name: string;
  Type: string;
  Value: string;
  Version: number;
  LastModifiedDate: number;
  DataType: string;
  Description?: string;
}

/** ParameterNotFound: SSM answers GetParameter of a missing name with an empty message. */
function parameterNotFound(message = ''): AwsError {
  return new AwsError(400, 'ParameterNotFound', message);
}

function validation(message: string): AwsError {
  return new AwsError(400, 'ValidationException', message);
}

/** SSM Parameter Store. */
export class SsmService {
  /** Parameters by region, then by name. */
  private readonly regions = new Map<string, Map<string, Parameter>>();
  private readonly operations: Readonly<Record<string, JsonOperation>> = {
    PutParameter: (input, region) => this.putParameter(input, region),
    GetParameter: (input, region) => ({ Parameter: this.render(this.lookup(region, required(input, 'Name')), region) }),
    GetParameters: (input, region) => this.getParameters(input, region),
    DeleteParameter: (input, region) => {
      const name = required(input, 'Name');
      if (!this.store(region).delete(name)) throw parameterNotFound(`Parameter ${name} not found.`);
      return {};
    },
  };

  /**
   * @param options `defaultRegion` for unsigned requests; `log` for the stack's own faults
   */
  constructor(private readonly options: { defaultRegion: string; log: (line: string) => void }) {}

  /**
   * Answers one SSM request.
   * @param req the request
   * @param res the response
   */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    await handleJsonTarget(req, res, SSM_TARGET_PREFIX, this.operations, {
      unknownOperation: (op) => new AwsError(400, 'UnknownOperationException', `The local stack's SSM does not serve ${op || 'this request'}.`),
      serialization: () => new AwsError(400, 'SerializationException', 'The request body is not a JSON object.'),
      internal: () => new AwsError(500, 'InternalServerError', 'An internal error occurred in the local stack.'),
    }, this.options.defaultRegion, this.options.log);
  }

  /**
   * A parameter's value, or undefined when there is none: what CloudFormation reads for a
   * parameter of type `AWS::SSM::Parameter::Value<String>` and a `{{resolve:ssm:...}}` reference.
   * @param region the stack's region
   * @param name the parameter's name
   */
  valueOf(region: string, name: string): string | undefined {
    return this.store(region).get(name)?.Value;
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

  private store(region: string): Map<string, Parameter> {
    let store = this.regions.get(region);
    if (!store) {
      store = new Map();
      this.regions.set(region, store);
    }
    return store;
  }

  private lookup(region: string, name: string): Parameter {
    const parameter = this.store(region).get(name);
    if (!parameter) throw parameterNotFound();
    return parameter;
  }

  private render(p: Parameter, region: string): Record<string, unknown> {
    // The ARN's resource is `parameter/` and the name without its leading slash.
    return { ...p, ARN: `arn:aws:ssm:${region}:${ACCOUNT_ID}:parameter/${p.Name.replace(/^\//, '')}` };
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
    const parameter: Parameter = {
      Name: name, Type: type, Value: value, Version: (existing?.Version ?? 0) + 1,
      LastModifiedDate: Date.now() / 1000, DataType: stringField(input, 'DataType') ?? 'text',
      ...(description !== undefined && { Description: description }),
    };
    store.set(name, parameter);
    return { Version: parameter.Version, Tier: 'Standard' };
  }

  private getParameters(input: Record<string, unknown>, region: string): unknown {
    const names = input.Names;
    if (!Array.isArray(names) || names.length === 0) {
      throw validation("1 validation error detected: Value null at 'names' failed to satisfy constraint: Member must not be null");
    }
    if (names.length > MAX_GET_PARAMETERS) {
      throw validation(`1 validation error detected: Value '[${names.join(', ')}]' at 'names' failed to satisfy constraint: Member must have length less than or equal to ${MAX_GET_PARAMETERS}`);
    }
    const store = this.store(region);
    const found: Record<string, unknown>[] = [];
    const invalid: string[] = [];
    for (const name of new Set(names.map(String))) {
      const parameter = store.get(name);
      if (parameter) found.push(this.render(parameter, region));
      else invalid.push(name);
    }
    return { Parameters: found, InvalidParameters: invalid };
  }
}

function required(input: Record<string, unknown>, field: 'Name'): string {
  const value = stringField(input, field);
  if (!value) throw validation(`1 validation error detected: Value null at '${field.toLowerCase()}' failed to satisfy constraint: Member must not be null`);
  return value;
}
