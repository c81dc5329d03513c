/**
 * Dynamic references, read when a resource is created or updated (never stored in the template
 * the stack keeps): `{{resolve:ssm:name[:version]}}`, `{{resolve:ssm-secure:name[:version]}}` and
 * `{{resolve:secretsmanager:secret-id[:SecretString[:json-key[:version-stage[:version-id]]]]}}`,
 * where the secret id may be a whole ARN (which has colons of its own).
 */
import { validationError } from './errors';
import type { Json } from './intrinsics';

/**
 * Where in a value an `ssm-secure` reference stands, as `Type/Properties/Path/To/Key`, if one
 * does. CloudFormation takes them only in a short list of password properties (RDS's
 * MasterUserPassword, an IAM user's LoginProfile Password...), none of which the local stack's
 * resource types have.
 * @param value properties, resolved or not
 * @param path where the value stands (`AWS::Lambda::Function/Properties`)
 */
export function secureReferencePath(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes('{{resolve:ssm-secure:') ? path : undefined;
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const found = secureReferencePath(v, `${path}/${k}`);
      if (found) return found;
    }
  }
  return undefined;
}

/** CloudFormation's refusal of an `ssm-secure` reference in a property that does not take one. */
export function secureReferenceRefused(path: string): Error {
  return validationError(`SSM Secure reference is not supported in: [${path}]`);
}

/** Where references are read. */
export interface ReferenceSources {
  /** An SSM parameter's value, or undefined. */
  ssm(name: string): string | undefined;
  /** A secret's SecretString, AWSCURRENT's or the named version's (throws Secrets Manager's error when there is none). */
  secret(id: string, version: { stage?: string; versionId?: string }): string;
}

const REFERENCE = /\{\{resolve:(ssm|ssm-secure|secretsmanager):([^}]*)\}\}/g;

function secretValue(reference: string, sources: ReferenceSources): string {
  const parts = reference.split(':');
  // An ARN is seven colon-separated parts: arn:aws:secretsmanager:region:account:secret:name.
  const idParts = parts[0] === 'arn' ? 7 : 1;
  const id = parts.slice(0, idParts).join(':');
  const [, jsonKey, stage, versionId] = parts.slice(idParts);
  const text = sources.secret(id, { ...(stage && { stage }), ...(versionId && { versionId }) });
  if (!jsonKey) return text;
  let value: unknown;
  try {
    value = (JSON.parse(text) as Record<string, unknown>)[jsonKey];
  } catch {
    throw validationError(`Could not parse SecretString JSON for secret ${id}`);
  }
  if (value === undefined) throw validationError(`Could not find SecretString JSON member ${jsonKey} in secret ${id}`);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Replaces every dynamic reference in the strings of a value.
 * @param value resolved properties
 * @param sources where references are read
 * @param secrets collects the values read from Secrets Manager, for masking in what the stack reports
 */
export function resolveDynamicReferences(value: Json, sources: ReferenceSources, secrets: string[] = []): Json {
  if (typeof value === 'string') {
    if (!value.includes('{{resolve:')) return value;
    return value.replace(REFERENCE, (_all, service: string, reference: string) => {
      if (service === 'secretsmanager') {
        const secret = secretValue(reference, sources);
        secrets.push(secret);
        return secret;
      }
      const name = reference.replace(/:\d+$/, '');
      const found = sources.ssm(name);
      if (found === undefined) throw validationError(`Parameters: [ssm:${name}] cannot be found.`);
      return found;
    });
  }
  if (Array.isArray(value)) return value.map((v) => resolveDynamicReferences(v, sources, secrets));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveDynamicReferences(v, sources, secrets)]));
  }
  return value;
}
