/**
 * IAM policy evaluation for the calls the local stack enforces: an identity's policies for an
 * action on a resource (an explicit Deny wins, then an Allow, else the implicit deny), and a
 * Lambda function's resource policy for a service principal with its source ARN.
 *
 * The subset the kit's roles and AWS's guides use: `Effect`, `Action`/`NotAction`,
 * `Resource`/`NotResource` with `*` and `?` wildcards. Conditions are evaluated in resource
 * policies for the source ARN only (`ArnLike`, `ArnEquals`, `StringLike`, `StringEquals` on
 * `AWS:SourceArn` and `AWS:SourceAccount`); in identity policies a statement with a Condition
 * is not evaluated: an Allow with one grants nothing, a Deny with one denies (the stack errs on
 * refusing, so that nothing works locally that AWS could refuse).
 */

/** One statement of a policy document. */
export interface PolicyStatement {
  /** Allow or Deny. */
  Effect?: unknown;
  /** Actions, `service:Name` with wildcards. */
  Action?: unknown;
  /** Every action but these. */
  NotAction?: unknown;
  /** Resource ARNs, with wildcards. */
  Resource?: unknown;
  /** Every resource but these. */
  NotResource?: unknown;
  /** Who (resource policies). */
  Principal?: unknown;
  /** Conditions. */
  Condition?: unknown;
  /** Statement id. */
  Sid?: unknown;
}

/** The outcome of an evaluation. */
export type PolicyDecision = 'allowed' | 'explicitly-denied' | 'implicitly-denied';

function list(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

/** A wildcard pattern (`*` any run, `?` one character) as a regular expression. */
function wildcard(pattern: string, ignoreCase: boolean): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, ignoreCase ? 'i' : '');
}

/**
 * Whether a value matches a wildcard pattern.
 * @param pattern the pattern
 * @param value the value
 * @param ignoreCase true for actions, which IAM compares without case
 */
export function matchesWildcard(pattern: string, value: string, ignoreCase = false): boolean {
  return wildcard(pattern, ignoreCase).test(value);
}

/** The statements of a policy document (a single statement or a list). */
export function statementsOf(document: unknown): PolicyStatement[] {
  if (typeof document !== 'object' || document === null) return [];
  const statement = (document as { Statement?: unknown }).Statement;
  if (Array.isArray(statement)) return statement.filter((s): s is PolicyStatement => typeof s === 'object' && s !== null);
  return typeof statement === 'object' && statement !== null ? [statement as PolicyStatement] : [];
}

function actionMatches(statement: PolicyStatement, action: string): boolean {
  if (statement.Action !== undefined) return list(statement.Action).some((p) => matchesWildcard(p, action, true));
  if (statement.NotAction !== undefined) return !list(statement.NotAction).some((p) => matchesWildcard(p, action, true));
  return false;
}

function resourceMatches(statement: PolicyStatement, resource: string): boolean {
  if (statement.Resource !== undefined) return list(statement.Resource).some((p) => matchesWildcard(p, resource));
  if (statement.NotResource !== undefined) return !list(statement.NotResource).some((p) => matchesWildcard(p, resource));
  return false;
}

/**
 * Evaluates an identity's policies (inline and attached) for one action on one resource.
 * @param documents the policy documents
 * @param action e.g. `dynamodb:GetItem`
 * @param resource the resource's ARN
 */
export function evaluateIdentityPolicies(documents: readonly unknown[], action: string, resource: string): PolicyDecision {
  let allowed = false;
  for (const statement of documents.flatMap(statementsOf)) {
    if (!actionMatches(statement, action) || !resourceMatches(statement, resource)) continue;
    const conditional = statement.Condition !== undefined && statement.Condition !== null && Object.keys(statement.Condition as object).length > 0;
    if (statement.Effect === 'Deny') return 'explicitly-denied';
    if (statement.Effect === 'Allow' && !conditional) allowed = true;
  }
  return allowed ? 'allowed' : 'implicitly-denied';
}

/** What a service principal's call is checked with. */
export interface ServiceCall {
  /** The service principal, e.g. `apigateway.amazonaws.com`. */
  service: string;
  /** The action, e.g. `lambda:InvokeFunction`. */
  action: string;
  /** The resource's ARN. */
  resource: string;
  /** The ARN of what makes the call, e.g. `arn:aws:execute-api:us-east-1:000000000000:abc123/dev/GET/path`. */
  sourceArn: string;
  /** The account of what makes the call. */
  sourceAccount: string;
}

const SOURCE_KEYS: Readonly<Record<string, keyof ServiceCall>> = { 'aws:sourcearn': 'sourceArn', 'aws:sourceaccount': 'sourceAccount' };

function conditionHolds(condition: unknown, call: ServiceCall): boolean {
  if (condition === undefined || condition === null) return true;
  if (typeof condition !== 'object') return false;
  for (const [operator, tests] of Object.entries(condition as Record<string, unknown>)) {
    if (typeof tests !== 'object' || tests === null) return false;
    for (const [key, expected] of Object.entries(tests as Record<string, unknown>)) {
      const field = SOURCE_KEYS[key.toLowerCase()];
      if (field === undefined) return false;
      const actual = call[field];
      const patterns = list(expected);
      const like = operator === 'ArnLike' || operator === 'StringLike';
      const equals = operator === 'ArnEquals' || operator === 'StringEquals';
      if (!like && !equals) return false;
      if (!patterns.some((p) => (like ? matchesWildcard(p, actual) : p === actual))) return false;
    }
  }
  return true;
}

function principalIsService(principal: unknown, service: string): boolean {
  if (principal === '*') return true;
  if (typeof principal !== 'object' || principal === null) return false;
  return list((principal as { Service?: unknown }).Service).includes(service);
}

/**
 * Evaluates a resource policy (a Lambda function's) for a call by a service principal: an
 * explicit Deny wins, then an Allow whose principal, action, resource and conditions match.
 * @param statements the resource policy's statements
 * @param call the service, action, resource and source
 */
export function evaluateResourcePolicy(statements: readonly PolicyStatement[], call: ServiceCall): PolicyDecision {
  let allowed = false;
  for (const statement of statements) {
    if (!principalIsService(statement.Principal, call.service)) continue;
    if (!actionMatches(statement, call.action) || !resourceMatches(statement, call.resource)) continue;
    if (!conditionHolds(statement.Condition, call)) continue;
    if (statement.Effect === 'Deny') return 'explicitly-denied';
    if (statement.Effect === 'Allow') allowed = true;
  }
  return allowed ? 'allowed' : 'implicitly-denied';
}
