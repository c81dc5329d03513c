/**
 * IAM policy evaluation for the calls the local stack enforces: an identity's policies for an
 * action on a resource (an explicit Deny wins, then an Allow, else the implicit deny), and a
 * Lambda function's resource policy for a service principal with its source ARN.
 *
 * The subset the kit's roles and AWS's guides use: `Effect`, `Action`/`NotAction`,
 * `Resource`/`NotResource` with `*` and `?` wildcards, and in resource policies `Principal`
 * (`"*"` and `{"AWS": "*"}` are everyone; `{"Service": ...}`), `NotPrincipal` (read
 * conservatively: an Allow with it grants nothing, a Deny with it applies to every caller but a
 * service its `Service` names) and `Condition` with the operators of {@link CONDITION_OPERATORS}
 * on the keys `aws:SourceArn` and `aws:SourceAccount` (key names without case). Whatever the
 * evaluator cannot decide (another operator or key, a Condition in an identity policy, where
 * neither key exists for the stack's calls) is unknown: an Allow that depends on it grants nothing,
 * a Deny that depends on it denies, so nothing works locally that AWS could refuse.
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
  /** Everyone but these (resource policies). */
  NotPrincipal?: unknown;
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

/** Whether a statement applies: yes, no, or unknown (the evaluator cannot tell). */
type Applies = true | false | 'unknown';

/**
 * Evaluates an identity's policies (inline and attached) for one action on one resource. A
 * statement with a Condition depends on keys none of the stack's calls carry: unknown, so an Allow
 * with one grants nothing and a Deny with one denies.
 * @param documents the policy documents
 * @param action e.g. `dynamodb:GetItem`
 * @param resource the resource's ARN
 */
export function evaluateIdentityPolicies(documents: readonly unknown[], action: string, resource: string): PolicyDecision {
  let allowed = false;
  for (const statement of documents.flatMap(statementsOf)) {
    if (!actionMatches(statement, action) || !resourceMatches(statement, resource)) continue;
    const applies = conditionApplies(statement.Condition, undefined);
    if (statement.Effect === 'Deny' && applies !== false) return 'explicitly-denied';
    if (statement.Effect === 'Allow' && applies === true) allowed = true;
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

const SOURCE_KEYS: Readonly<Record<string, 'sourceArn' | 'sourceAccount'>> = { 'aws:sourcearn': 'sourceArn', 'aws:sourceaccount': 'sourceAccount' };

/**
 * Whether an ARN matches an ARN pattern as `ArnLike` and `ArnEquals` compare them (the two behave
 * alike, AWS IAM User Guide, "Condition operators", "Amazon Resource Name (ARN) condition
 * operators"): each of the six colon-separated parts is matched separately, with `*` and `?`
 * wildcards that stay within their part (the sixth part is the rest, colons and all); an ARN or a
 * pattern of fewer than six parts matches nothing.
 * @param pattern the pattern, e.g. `arn:aws:execute-api:*:000000000000:abc123/*`
 * @param arn the ARN
 */
export function matchesArn(pattern: string, arn: string): boolean {
  const parts = (text: string): string[] | undefined => {
    const split = text.split(':');
    return split.length < 6 ? undefined : [...split.slice(0, 5), split.slice(5).join(':')];
  };
  const want = parts(pattern);
  const got = parts(arn);
  if (!want || !got) return false;
  return want.every((p, i) => matchesWildcard(p, got[i] ?? ''));
}

/**
 * The condition operators the evaluator supports, each as a test of one value against the
 * statement's values (any of them; the negated ones: none of them).
 */
export const CONDITION_OPERATORS: Readonly<Record<string, (actual: string, values: string[]) => boolean>> = {
  StringEquals: (a, vs) => vs.includes(a),
  StringNotEquals: (a, vs) => !vs.includes(a),
  StringLike: (a, vs) => vs.some((v) => matchesWildcard(v, a)),
  StringNotLike: (a, vs) => !vs.some((v) => matchesWildcard(v, a)),
  ArnEquals: (a, vs) => vs.some((v) => matchesArn(v, a)),
  ArnLike: (a, vs) => vs.some((v) => matchesArn(v, a)),
  ArnNotEquals: (a, vs) => !vs.some((v) => matchesArn(v, a)),
  ArnNotLike: (a, vs) => !vs.some((v) => matchesArn(v, a)),
};

/**
 * Whether a statement's Condition holds for a call: every operator's every key must hold; false
 * as soon as one supported test fails, else unknown when a test names an operator or a key the
 * evaluator does not support (or the Condition is malformed), else true.
 * @param condition the statement's Condition
 * @param call the call's values (undefined: none known, as for identity policies)
 */
function conditionApplies(condition: unknown, call: ServiceCall | undefined): Applies {
  if (condition === undefined || condition === null) return true;
  if (typeof condition !== 'object' || Array.isArray(condition)) return 'unknown';
  let applies: Applies = true;
  for (const [operator, tests] of Object.entries(condition as Record<string, unknown>)) {
    const test = CONDITION_OPERATORS[operator];
    if (typeof tests !== 'object' || tests === null || Array.isArray(tests)) {
      applies = 'unknown';
      continue;
    }
    for (const [key, expected] of Object.entries(tests as Record<string, unknown>)) {
      const field = SOURCE_KEYS[key.toLowerCase()];
      if (test === undefined || field === undefined || call === undefined) {
        applies = 'unknown';
        continue;
      }
      if (!test(call[field], list(expected))) return false;
    }
  }
  return applies;
}

/**
 * Whether a statement's principal covers a service's call: `Principal` `"*"` or `{"AWS": "*"}`
 * (everyone, AWS IAM User Guide, "AWS JSON policy elements: Principal", "All principals") or a
 * `Service` naming it. `NotPrincipal` (which AWS advises against) is read conservatively: an Allow
 * with it grants nothing; a Deny with it applies to every caller but a service its `Service`
 * names. A statement with neither is invalid: an Allow grants nothing, a Deny applies.
 * @param statement the statement
 * @param service the calling service principal
 */
function principalApplies(statement: PolicyStatement, service: string): Applies {
  const everyone = (p: unknown): boolean => p === '*' || (typeof p === 'object' && p !== null && list((p as { AWS?: unknown }).AWS).includes('*'));
  const services = (p: unknown): string[] => (typeof p === 'object' && p !== null ? list((p as { Service?: unknown }).Service) : []);
  if (statement.NotPrincipal !== undefined) {
    if (statement.Effect !== 'Deny') return false;
    return services(statement.NotPrincipal).includes(service) ? false : true;
  }
  if (statement.Principal === undefined) return 'unknown';
  return everyone(statement.Principal) || services(statement.Principal).includes(service);
}

/**
 * Evaluates a resource policy (a Lambda function's) for a call by a service principal: an
 * explicit Deny wins, then an Allow whose principal, action, resource and conditions match. A
 * Deny whose principal or conditions the evaluator cannot decide applies; such an Allow does not.
 * @param statements the resource policy's statements
 * @param call the service, action, resource and source
 */
export function evaluateResourcePolicy(statements: readonly PolicyStatement[], call: ServiceCall): PolicyDecision {
  let allowed = false;
  for (const statement of statements) {
    if (!actionMatches(statement, call.action) || !resourceMatches(statement, call.resource)) continue;
    const principal = principalApplies(statement, call.service);
    const condition = principal === false ? false : conditionApplies(statement.Condition, call);
    const applies: Applies = principal === false || condition === false ? false : principal === true && condition === true ? true : 'unknown';
    if (statement.Effect === 'Deny' && applies !== false) return 'explicitly-denied';
    if (statement.Effect === 'Allow' && applies === true) allowed = true;
  }
  return allowed ? 'allowed' : 'implicitly-denied';
}
