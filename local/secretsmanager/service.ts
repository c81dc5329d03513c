/**
 * Secrets Manager, the part a CDK deployment needs (JSON 1.1, `X-Amz-Target: secretsmanager.*`):
 * CreateSecret, GetSecretValue (by VersionId or VersionStage too), DescribeSecret, UpdateSecret
 * (a new value is a new version: AWSCURRENT moves to it, AWSPREVIOUS to the one before),
 * DeleteSecret and GetRandomPassword. Secrets are found by name, by full ARN or by ARN without
 * its random suffix, as on AWS. CloudFormation
 * creates secrets and reads them in-process ({@link SecretsManagerService.create},
 * {@link SecretsManagerService.secretString}).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomInt, randomUUID } from 'node:crypto';
import { AwsError } from '../errors';
import { ACCOUNT_ID, credentialScope } from '../http';
import { handleJsonTarget, stringField, type JsonOperation } from '../json-target';

/** The target prefix of every Secrets Manager operation. */
export const SECRETS_MANAGER_TARGET_PREFIX = 'secretsmanager.';

/** The characters of a secret ARN's random suffix. */
const SUFFIX_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** The punctuation GetRandomPassword draws from (AWS's documented set). */
const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';

/** Password length when a request names none (AWS's default). */
const DEFAULT_PASSWORD_LENGTH = 32;

/** One version of a secret's value. */
interface SecretVersion {
  VersionId: string;
  SecretString?: string;
  SecretBinary?: string;
  CreatedDate: number;
  /** Its staging labels (AWSCURRENT, AWSPREVIOUS); a version without any is dropped, as AWS deprecates it. */
  stages: string[];
}

interface Secret {
  ARN: string;
  Name: string;
  Description?: string;
  KmsKeyId?: string;
  CreatedDate: number;
  LastChangedDate: number;
  DeletedDate?: number;
  versions: Map<string, SecretVersion>;
}

/** Options of {@link SecretsManagerService}. */
export interface SecretsManagerOptions {
  /** Region for unsigned requests. */
  defaultRegion: string;
  /** Where the stack's own faults are written. */
  log: (line: string) => void;
  /**
   * Checks a call against the caller's role (`secretsmanager:GetSecretValue` on the secret's ARN,
   * ...): AccessDeniedException's message when refused. `shown` is the resource as AWS's message
   * names it: the SecretId as the caller gave it.
   */
  authorize?: (accessKeyId: string | undefined, action: string, resource: string, shown: string) => string | undefined;
}

/** Throws AccessDeniedException when the caller may not perform the action on the resource. */
type Check = (action: string, resource: string, shown: string) => void;

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

  /** @param options the default region, the log, and the IAM check */
  constructor(private readonly options: SecretsManagerOptions) {}

  /**
   * Answers one Secrets Manager request.
   * @param req the request
   * @param res the response
   */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const caller = credentialScope(req)?.accessKeyId;
    const check: Check = (action, resource, shown) => {
      const message = this.options.authorize?.(caller, action, resource, shown);
      if (message !== undefined) throw new AwsError(400, 'AccessDeniedException', message);
    };
    await handleJsonTarget(req, res, SECRETS_MANAGER_TARGET_PREFIX, this.operations(check), {
      unknownOperation: (op) => new AwsError(400, 'UnknownOperationException', `The local stack's Secrets Manager does not serve ${op || 'this request'}.`),
      serialization: () => new AwsError(400, 'SerializationException', 'The request body is not a JSON object.'),
      internal: () => new AwsError(500, 'InternalServiceError', 'An internal error occurred in the local stack.'),
      messageKey: 'Message',
    }, this.options.defaultRegion, this.options.log);
  }

  /** The operations, for one request's caller. */
  private operations(check: Check): Readonly<Record<string, JsonOperation>> {
    // A secret is evaluated on its ARN and named as the caller gave it (AWS's refusals say
    // `on resource: my-secret` for a name). One that is not there has no suffix yet: it is
    // evaluated on the ARN the caller gave, or on `secret:NAME`, which a policy for
    // `secret:NAME-??????` does not match; IAM refuses before the service looks, as on AWS.
    const checkSecret = (action: string, region: string, id: unknown): void => {
      if (typeof id !== 'string' || !id) return;
      const found = this.lookup(region, id);
      check(action, found?.ARN ?? (id.startsWith('arn:') ? id : `arn:aws:secretsmanager:${region}:${ACCOUNT_ID}:secret:${id}`), id);
    };
    return {
      CreateSecret: (input, region) => {
        const name = stringField(input, 'Name');
        if (!name) throw invalidParameter('1 validation error detected: Value null at \'name\' failed to satisfy constraint: Member must not be null');
        // The new secret's ARN, suffix included, is what AWS evaluates and names.
        const arn = newArn(region, name);
        check('secretsmanager:CreateSecret', arn, arn);
        const token = stringField(input, 'ClientRequestToken');
        return this.create(region, {
          Name: name,
          ...optional(input, 'Description'), ...optional(input, 'SecretString'), ...optional(input, 'SecretBinary'), ...optional(input, 'KmsKeyId'),
          ...(token !== undefined && { VersionId: token }),
        }, arn);
      },
      GetSecretValue: (input, region) => {
        checkSecret('secretsmanager:GetSecretValue', region, input.SecretId);
        return this.getSecretValue(input, region);
      },
      DescribeSecret: (input, region) => {
        checkSecret('secretsmanager:DescribeSecret', region, input.SecretId);
        const s = this.find(region, input.SecretId);
        const stages = Object.fromEntries([...s.versions.values()].map((v) => [v.VersionId, v.stages]));
        return {
          ARN: s.ARN, Name: s.Name, CreatedDate: s.CreatedDate, LastChangedDate: s.LastChangedDate,
          ...(s.versions.size > 0 && { VersionIdsToStages: stages }),
          ...(s.Description !== undefined && { Description: s.Description }),
          ...(s.KmsKeyId !== undefined && { KmsKeyId: s.KmsKeyId }),
          ...(s.DeletedDate !== undefined && { DeletedDate: s.DeletedDate }),
        };
      },
      UpdateSecret: (input, region) => {
        checkSecret('secretsmanager:UpdateSecret', region, input.SecretId);
        return this.updateSecret(input, region);
      },
      DeleteSecret: (input, region) => {
        checkSecret('secretsmanager:DeleteSecret', region, input.SecretId);
        return this.deleteSecret(input, region);
      },
      GetRandomPassword: (input) => {
        // No resource: the Service Authorization Reference lists none for it.
        check('secretsmanager:GetRandomPassword', '*', '*');
        return { RandomPassword: randomPassword(input as PasswordOptions) };
      },
    };
  }

  /**
   * Creates a secret (CreateSecret's work, for CloudFormation too). A value makes its first
   * version, labelled AWSCURRENT; a secret without one has no version yet, as on AWS.
   * @param region the region
   * @param input its name, description, value, KMS key (recorded only) and first version's id
   * @param arn its ARN (default: a new one, with a random suffix)
   * @returns the secret's ARN and name, and its version's id if it has one
   */
  create(
    region: string,
    input: { Name: string; Description?: string; SecretString?: string; SecretBinary?: string; KmsKeyId?: string; VersionId?: string },
    arn = newArn(region, input.Name),
  ): { ARN: string; Name: string; VersionId?: string } {
    const store = this.store(region);
    const existing = store.get(input.Name);
    if (existing?.DeletedDate !== undefined) {
      throw new AwsError(400, 'InvalidRequestException', "You can't create this secret because a secret with this name is already scheduled for deletion.");
    }
    if (existing) throw new AwsError(400, 'ResourceExistsException', `The operation failed because the secret ${input.Name} already exists.`);
    const value = valueOf(input);
    const now = Date.now() / 1000;
    const secret: Secret = {
      ARN: arn, Name: input.Name, CreatedDate: now, LastChangedDate: now, versions: new Map(),
      ...(input.Description !== undefined && { Description: input.Description }),
      ...(input.KmsKeyId !== undefined && { KmsKeyId: input.KmsKeyId }),
    };
    let versionId: string | undefined;
    if (value) {
      versionId = input.VersionId ?? randomUUID();
      secret.versions.set(versionId, { VersionId: versionId, ...value, CreatedDate: now, stages: ['AWSCURRENT'] });
    }
    store.set(input.Name, secret);
    return { ARN: secret.ARN, Name: secret.Name, ...(versionId !== undefined && { VersionId: versionId }) };
  }

  /**
   * A secret's SecretString (what `{{resolve:secretsmanager:...}}` reads): AWSCURRENT's, or the
   * version a stage or id names; an error as GetSecretValue words it.
   * @param region the region
   * @param secretId name or ARN
   * @param version a version stage or version id, as a reference names them
   */
  secretString(region: string, secretId: string, version: { stage?: string; versionId?: string } = {}): string {
    const answer = this.getSecretValue({
      SecretId: secretId, ...(version.stage && { VersionStage: version.stage }), ...(version.versionId && { VersionId: version.versionId }),
    }, region) as { SecretString?: string };
    if (answer.SecretString === undefined) throw invalidParameter('The secret has no SecretString.');
    return answer.SecretString;
  }

  /**
   * UpdateSecret in process (for CloudFormation): a description or KMS key in place, a new value
   * as a new AWSCURRENT version.
   * @param region the region
   * @param secretId name or ARN
   * @param fields UpdateSecret's fields
   */
  update(region: string, secretId: string, fields: { Description?: string; KmsKeyId?: string; SecretString?: string }): void {
    this.updateSecret({ ...fields, SecretId: secretId }, region);
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

  /** GetSecretValue: AWSCURRENT, or the version a VersionId or VersionStage names (both: they must agree). */
  private getSecretValue(input: Record<string, unknown>, region: string): unknown {
    const s = this.live(region, input.SecretId);
    const versionId = stringField(input, 'VersionId');
    const stage = stringField(input, 'VersionStage');
    let version: SecretVersion | undefined;
    if (versionId !== undefined) {
      version = s.versions.get(versionId);
      if (!version) throw new AwsError(400, 'ResourceNotFoundException', `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`);
      if (stage !== undefined && !version.stages.includes(stage)) {
        throw new AwsError(400, 'InvalidRequestException', 'You provided a VersionStage that is not associated to the provided VersionId.');
      }
    } else {
      const label = stage ?? 'AWSCURRENT';
      version = [...s.versions.values()].find((v) => v.stages.includes(label));
      if (!version) throw new AwsError(400, 'ResourceNotFoundException', `Secrets Manager can't find the specified secret value for staging label: ${label}`);
    }
    return {
      ARN: s.ARN, Name: s.Name, VersionId: version.VersionId, VersionStages: [...version.stages], CreatedDate: version.CreatedDate,
      ...(version.SecretString !== undefined && { SecretString: version.SecretString }),
      ...(version.SecretBinary !== undefined && { SecretBinary: version.SecretBinary }),
    };
  }

  /**
   * UpdateSecret: the description and KMS key change in place; a new value is a new version
   * (its id the ClientRequestToken, which the SDK fills in), which takes AWSCURRENT, the
   * current one taking AWSPREVIOUS; the answer names the new version only when there is one.
   */
  private updateSecret(input: Record<string, unknown>, region: string): unknown {
    const s = this.live(region, input.SecretId);
    const value = valueOf({ ...optional(input, 'SecretString'), ...optional(input, 'SecretBinary') });
    const description = stringField(input, 'Description');
    const kmsKeyId = stringField(input, 'KmsKeyId');
    const now = Date.now() / 1000;
    if (description !== undefined) s.Description = description;
    if (kmsKeyId !== undefined) s.KmsKeyId = kmsKeyId;
    if (!value) {
      if (description !== undefined || kmsKeyId !== undefined) s.LastChangedDate = now;
      return { ARN: s.ARN, Name: s.Name };
    }
    const versionId = stringField(input, 'ClientRequestToken') ?? randomUUID();
    const existing = s.versions.get(versionId);
    if (existing) {
      // The same token and value is a retry of the same call.
      if (existing.SecretString === value.SecretString && existing.SecretBinary === value.SecretBinary) return { ARN: s.ARN, Name: s.Name, VersionId: versionId };
      throw new AwsError(400, 'ResourceExistsException', "You can't modify an existing version, you can only create a new version.");
    }
    for (const version of s.versions.values()) {
      const wasCurrent = version.stages.includes('AWSCURRENT');
      version.stages = version.stages.filter((label) => label !== 'AWSCURRENT' && label !== 'AWSPREVIOUS');
      if (wasCurrent) version.stages.push('AWSPREVIOUS');
      if (version.stages.length === 0) s.versions.delete(version.VersionId);
    }
    s.versions.set(versionId, { VersionId: versionId, ...value, CreatedDate: now, stages: ['AWSCURRENT'] });
    s.LastChangedDate = now;
    return { ARN: s.ARN, Name: s.Name, VersionId: versionId };
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
    const secret = this.lookup(region, id);
    if (!secret) throw notFound();
    return secret;
  }

  private lookup(region: string, id: string): Secret | undefined {
    const store = this.store(region);
    const byName = store.get(id);
    if (byName) return byName;
    for (const secret of store.values()) {
      if (secret.ARN === id || secret.ARN.slice(0, -7) === id) return secret;
    }
    return undefined;
  }

  private live(region: string, id: unknown): Secret {
    const secret = this.find(region, id);
    if (secret.DeletedDate !== undefined) throw markedForDeletion();
    return secret;
  }
}

/** A new secret's ARN: its name and six random characters, as Secrets Manager makes it. */
function newArn(region: string, name: string): string {
  const suffix = Array.from({ length: 6 }, () => SUFFIX_CHARS[randomInt(SUFFIX_CHARS.length)]).join('');
  return `arn:aws:secretsmanager:${region}:${ACCOUNT_ID}:secret:${name}-${suffix}`;
}

/** A request's secret value (undefined when it gives none), refusing a string and a binary together. */
function valueOf(input: { SecretString?: string; SecretBinary?: string }): { SecretString?: string; SecretBinary?: string } | undefined {
  if (input.SecretString !== undefined && input.SecretBinary !== undefined) {
    throw invalidParameter("You can't specify both a binary secret value and a string secret value in the same secret.");
  }
  if (input.SecretString !== undefined) return { SecretString: input.SecretString };
  if (input.SecretBinary !== undefined) return { SecretBinary: input.SecretBinary };
  return undefined;
}

function optional<K extends string>(input: Record<string, unknown>, key: K): Partial<Record<K, string>> {
  const value = stringField(input, key);
  return value === undefined ? {} : ({ [key]: value } as Partial<Record<K, string>>);
}
