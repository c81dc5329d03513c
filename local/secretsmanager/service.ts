/**
 * Secrets Manager, the part a CDK deployment needs (JSON 1.1, `X-Amz-Target: secretsmanager.*`):
 * CreateSecret, GetSecretValue, DescribeSecret, DeleteSecret and GetRandomPassword. Secrets are
 * found by name, by full ARN or by ARN without its random suffix, as on AWS. CloudFormation
 * creates secrets and reads them in-process ({@link SecretsManagerService.create},
 * {@link SecretsManagerService.secretString}).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomInt, randomUUID } from 'node:crypto';
import { AwsError } from '../errors';
import { ACCOUNT_ID } from '../http';
import { handleJsonTarget, stringField, type JsonOperation } from '../json-target';

/** The target prefix of every Secrets Manager operation. */
export const SECRETS_MANAGER_TARGET_PREFIX = 'secretsmanager.';

/** The characters of a secret ARN's random suffix. */
const SUFFIX_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** The punctuation GetRandomPassword draws from (AWS's documented set). */
const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

/** Password length when a request names none (AWS's default). */
const DEFAULT_PASSWORD_LENGTH = 32;

interface Secret {
  ARN: string;
  Name: string;
  Description?: string;
  SecretString?: string;
  SecretBinary?: string;
  VersionId: string;
  CreatedDate: number;
  LastChangedDate: number;
  DeletedDate?: number;
}

/** Options of GetRandomPassword, also used by CloudFormation's GenerateSecretString. */
export interface PasswordOptions {
  /** Length (default 32). */
  PasswordLength?: number;
  /** Characters never used. */
  ExcludeCharacters?: string;
  /** No digits. */
  ExcludeNumbers?: boolean;
  /** No punctuation. */
  ExcludePunctuation?: boolean;
  /** No upper-case letters. */
  ExcludeUppercase?: boolean;
  /** No lower-case letters. */
  ExcludeLowercase?: boolean;
  /** May use a space. */
  IncludeSpace?: boolean;
  /** At least one character of each included type (default true). */
  RequireEachIncludedType?: boolean;
}

function notFound(): AwsError {
  return new AwsError(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
}

function invalidParameter(message: string): AwsError {
  return new AwsError(400, 'InvalidParameterException', message);
}

function markedForDeletion(): AwsError {
  return new AwsError(400, 'InvalidRequestException', "You can't perform this operation on the secret because it was marked for deletion.");
}

/**
 * A random password as GetRandomPassword makes it.
 * @param options the character classes and length
 */
export function randomPassword(options: PasswordOptions = {}): string {
  const length = options.PasswordLength ?? DEFAULT_PASSWORD_LENGTH;
  if (!Number.isInteger(length) || length < 1 || length > 4096) {
    throw invalidParameter('1 validation error detected: Value at \'passwordLength\' failed to satisfy constraint: Member must have value between 1 and 4096');
  }
  const excluded = new Set(options.ExcludeCharacters ?? '');
  const classes = [
    options.ExcludeLowercase ? '' : 'abcdefghijklmnopqrstuvwxyz',
    options.ExcludeUppercase ? '' : 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
    options.ExcludeNumbers ? '' : '0123456789',
    options.ExcludePunctuation ? '' : PUNCTUATION,
    options.IncludeSpace ? ' ' : '',
  ].map((set) => [...set].filter((c) => !excluded.has(c)).join('')).filter((set) => set.length > 0);
  const all = classes.join('');
  if (!all) throw invalidParameter('The password must contain at least one character.');
  const pick = (set: string): string => set[randomInt(set.length)] ?? '';
  const chars = Array.from({ length }, () => pick(all));
  if (options.RequireEachIncludedType !== false && length >= classes.length) {
    // One character of each class at distinct random places.
    const places = [...Array(length).keys()];
    for (const set of classes) chars[places.splice(randomInt(places.length), 1)[0] ?? 0] = pick(set);
  }
  return chars.join('');
}

/** Secrets Manager. */
export class SecretsManagerService {
  /** Secrets by region, then by name. */
  private readonly regions = new Map<string, Map<string, Secret>>();
  private readonly operations: Readonly<Record<string, JsonOperation>> = {
    CreateSecret: (input, region) => {
      const name = stringField(input, 'Name');
      if (!name) throw invalidParameter('1 validation error detected: Value null at \'name\' failed to satisfy constraint: Member must not be null');
      const s = this.create(region, {
        Name: name,
        ...optional(input, 'Description'), ...optional(input, 'SecretString'), ...optional(input, 'SecretBinary'),
      });
      return { ARN: s.ARN, Name: s.Name, VersionId: s.VersionId };
    },
    GetSecretValue: (input, region) => {
      const s = this.live(region, input.SecretId);
      return {
        ARN: s.ARN, Name: s.Name, VersionId: s.VersionId, VersionStages: ['AWSCURRENT'], CreatedDate: s.CreatedDate,
        ...(s.SecretString !== undefined && { SecretString: s.SecretString }),
        ...(s.SecretBinary !== undefined && { SecretBinary: s.SecretBinary }),
      };
    },
    DescribeSecret: (input, region) => {
      const s = this.find(region, input.SecretId);
      return {
        ARN: s.ARN, Name: s.Name, CreatedDate: s.CreatedDate, LastChangedDate: s.LastChangedDate,
        VersionIdsToStages: { [s.VersionId]: ['AWSCURRENT'] },
        ...(s.Description !== undefined && { Description: s.Description }),
        ...(s.DeletedDate !== undefined && { DeletedDate: s.DeletedDate }),
      };
    },
    DeleteSecret: (input, region) => this.deleteSecret(input, region),
    GetRandomPassword: (input) => ({ RandomPassword: randomPassword(input as PasswordOptions) }),
  };

  /**
   * @param options `defaultRegion` for unsigned requests; `log` for the stack's own faults
   */
  constructor(private readonly options: { defaultRegion: string; log: (line: string) => void }) {}

  /**
   * Answers one Secrets Manager request.
   * @param req the request
   * @param res the response
   */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    await handleJsonTarget(req, res, SECRETS_MANAGER_TARGET_PREFIX, this.operations, {
      unknownOperation: (op) => new AwsError(400, 'UnknownOperationException', `The local stack's Secrets Manager does not serve ${op || 'this request'}.`),
      serialization: () => new AwsError(400, 'SerializationException', 'The request body is not a JSON object.'),
      internal: () => new AwsError(500, 'InternalServiceError', 'An internal error occurred in the local stack.'),
    }, this.options.defaultRegion, this.options.log);
  }

  /**
   * Creates a secret (CreateSecret's work, for CloudFormation too).
   * @param region the region
   * @param input its name, description and value
   * @returns the secret's ARN and name
   */
  create(region: string, input: { Name: string; Description?: string; SecretString?: string; SecretBinary?: string }): { ARN: string; Name: string; VersionId: string } {
    const store = this.store(region);
    const existing = store.get(input.Name);
    if (existing?.DeletedDate !== undefined) {
      throw new AwsError(400, 'InvalidRequestException', "You can't create this secret because a secret with this name is already scheduled for deletion.");
    }
    if (existing) throw new AwsError(400, 'ResourceExistsException', `The operation failed because the secret ${input.Name} already exists.`);
    const suffix = Array.from({ length: 6 }, () => SUFFIX_CHARS[randomInt(SUFFIX_CHARS.length)]).join('');
    const now = Date.now() / 1000;
    const secret: Secret = {
      ...input, ARN: `arn:aws:secretsmanager:${region}:${ACCOUNT_ID}:secret:${input.Name}-${suffix}`,
      VersionId: randomUUID(), CreatedDate: now, LastChangedDate: now,
    };
    store.set(input.Name, secret);
    return { ARN: secret.ARN, Name: secret.Name, VersionId: secret.VersionId };
  }

  /**
   * A secret's SecretString (what `{{resolve:secretsmanager:...}}` reads), or an error as
   * GetSecretValue words it.
   * @param region the region
   * @param secretId name or ARN
   */
  secretString(region: string, secretId: string): string {
    const secret = this.live(region, secretId);
    if (secret.SecretString === undefined) throw invalidParameter('The secret has no SecretString.');
    return secret.SecretString;
  }

  /**
   * Deletes a secret at once, as DeleteSecret with ForceDeleteWithoutRecovery (for CloudFormation).
   * @param region the region
   * @param secretId name or ARN
   */
  forceDelete(region: string, secretId: string): void {
    const secret = this.find(region, secretId);
    this.store(region).delete(secret.Name);
  }

  private deleteSecret(input: Record<string, unknown>, region: string): unknown {
    const secret = this.find(region, input.SecretId);
    const force = input.ForceDeleteWithoutRecovery === true;
    if (force && input.RecoveryWindowInDays !== undefined) {
      throw invalidParameter("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
    }
    const now = Date.now() / 1000;
    if (force) {
      this.store(region).delete(secret.Name);
      return { ARN: secret.ARN, Name: secret.Name, DeletionDate: now };
    }
    const days = typeof input.RecoveryWindowInDays === 'number' ? input.RecoveryWindowInDays : 30;
    if (days < 7 || days > 30) {
      throw invalidParameter('The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).');
    }
    secret.DeletedDate ??= now;
    return { ARN: secret.ARN, Name: secret.Name, DeletionDate: secret.DeletedDate + days * 86_400 };
  }

  private store(region: string): Map<string, Secret> {
    let store = this.regions.get(region);
    if (!store) {
      store = new Map();
      this.regions.set(region, store);
    }
    return store;
  }

  /** A secret by name, full ARN, or ARN without the random suffix. */
  private find(region: string, id: unknown): Secret {
    if (typeof id !== 'string' || !id) {
      throw invalidParameter('1 validation error detected: Value null at \'secretId\' failed to satisfy constraint: Member must not be null');
    }
    const store = this.store(region);
    const byName = store.get(id);
    if (byName) return byName;
    for (const secret of store.values()) {
      if (secret.ARN === id || secret.ARN.slice(0, -7) === id) return secret;
    }
    throw notFound();
  }

  private live(region: string, id: unknown): Secret {
    const secret = this.find(region, id);
    if (secret.DeletedDate !== undefined) throw markedForDeletion();
    return secret;
  }
}

function optional<K extends string>(input: Record<string, unknown>, key: K): Partial<Record<K, string>> {
  const value = stringField(input, key);
  return value === undefined ? {} : ({ [key]: value } as Partial<Record<K, string>>);
}
