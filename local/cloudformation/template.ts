/**
 * Reading a template: its sections checked as CloudFormation checks them, parameters resolved
 * (given, previous, default; `AWS::SSM::Parameter::Value<...>` types read from SSM), Rules
 * asserted, Conditions evaluated, and the resources put in dependency order (Ref, Fn::GetAtt,
 * Fn::Sub names, DependsOn).
 */
import { validationError, templateFormatError, TemplateError } from './errors';
import { NO_VALUE, referencesOf, resolveValue, subVariables, type Json, type ResolveContext } from './intrinsics';

/** One resource of a template. */
export interface TemplateResource {
  /** `AWS::Service::Type`. */
  Type: string;
  /** Its properties (intrinsics unresolved). */
  Properties?: Record<string, Json>;
  /** Explicit dependencies. */
  DependsOn?: string | string[];
  /** The condition that decides whether it exists. */
  Condition?: string;
  /** `Delete` (default), `Retain`, `RetainExceptOnCreate` or `Snapshot`: what a stack deletion, or an update that removes it, does. */
  DeletionPolicy?: string;
  /** `Delete` (default), `Retain` or `Snapshot`: what becomes of the old physical resource when an update replaces it. */
  UpdateReplacePolicy?: string;
}

/** A parsed template. */
export interface Template {
  /** Its description. */
  Description?: string;
  /** Parameters by name. */
  Parameters: Record<string, { Type: string; Default?: Json; AllowedValues?: Json[]; NoEcho?: boolean | string; Description?: string }>;
  /** Mappings. */
  Mappings: Record<string, Json>;
  /** Conditions by name. */
  Conditions: Record<string, Json>;
  /** Rules by name. */
  Rules: Record<string, { RuleCondition?: Json; Assertions?: Array<{ Assert: Json; AssertDescription?: string }> }>;
  /** Resources by logical id. */
  Resources: Record<string, TemplateResource>;
  /** Outputs by name. */
  Outputs: Record<string, { Value: Json; Description?: string; Condition?: string; Export?: Json }>;
}

/** A parameter as a stack keeps it. */
export interface StackParameter {
  /** Its name. */
  ParameterKey: string;
  /** The value given (for an SSM type: the parameter's name). */
  ParameterValue: string;
  /** For an SSM type: the value read from SSM. */
  ResolvedValue?: string;
  /** Whether DescribeStacks masks it. */
  NoEcho: boolean;
}

/** A parameter as a call gives it. */
export interface GivenParameter {
  /** Its name. */
  ParameterKey: string;
  /** Its value. */
  ParameterValue?: string;
  /** Keep the stack's previous value. */
  UsePreviousValue?: boolean;
}

/** Resource types that need CAPABILITY_IAM (CAPABILITY_NAMED_IAM when they carry a name). */
const IAM_TYPES: Readonly<Record<string, string | undefined>> = {
  'AWS::IAM::Role': 'RoleName', 'AWS::IAM::ManagedPolicy': 'ManagedPolicyName', 'AWS::IAM::User': 'UserName',
  'AWS::IAM::Group': 'GroupName', 'AWS::IAM::InstanceProfile': 'InstanceProfileName', 'AWS::IAM::Policy': undefined,
  'AWS::IAM::AccessKey': undefined, 'AWS::IAM::UserToGroupAddition': undefined,
};

const SSM_TYPE = /^AWS::SSM::Parameter::Value<(List<)?([^>]+)>?>$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses and checks a template body (JSON; the stack has no YAML reader).
 * @param body the TemplateBody
 */
export function parseTemplate(body: string): Template {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    throw templateFormatError(/^\s*[{[]/.test(body) ? 'JSON not well-formed.' : 'YAML templates are not supported by the local stack; give JSON (cdk synth writes JSON).');
  }
  if (!isObject(raw)) throw templateFormatError('unsupported structure.');
  const resources = raw.Resources;
  if (!isObject(resources) || Object.keys(resources).length === 0) throw templateFormatError('At least one Resources member must be defined.');
  for (const [id, resource] of Object.entries(resources)) {
    if (!/^[A-Za-z0-9]+$/.test(id)) throw templateFormatError(`Resource name ${id} is non alphanumeric.`);
    if (!isObject(resource)) throw templateFormatError('Any Resources member must be an object.');
    if (typeof resource.Type !== 'string') throw templateFormatError(`[/Resources/${id}] Every Resources object must contain a Type member.`);
  }
  const outputs = isObject(raw.Outputs) ? raw.Outputs : {};
  for (const output of Object.values(outputs)) {
    if (!isObject(output) || output.Value === undefined) throw templateFormatError('Every Outputs member must contain a Value object');
  }
  const template: Template = {
    Parameters: (isObject(raw.Parameters) ? raw.Parameters : {}) as Template['Parameters'],
    Mappings: (isObject(raw.Mappings) ? raw.Mappings : {}) as Template['Mappings'],
    Conditions: (isObject(raw.Conditions) ? raw.Conditions : {}) as Template['Conditions'],
    Rules: (isObject(raw.Rules) ? raw.Rules : {}) as Template['Rules'],
    Resources: resources as Template['Resources'],
    Outputs: outputs as Template['Outputs'],
    ...(typeof raw.Description === 'string' && { Description: raw.Description }),
  };
  const known = new Set(Object.keys(template.Resources));
  const names = new Set([...known, ...Object.keys(template.Parameters)]);
  const unresolved = (block: string, value: unknown): void => {
    checkShapes(value);
    const missing = [...namesReferred(value)].filter((n) => !names.has(n) && !n.startsWith('AWS::'));
    if (!missing.length) return;
    // test_conditions.snapshot.json: the Resources block's is a format error, the Outputs block's not.
    const message = `Unresolved resource dependencies [${missing.join(', ')}] in the ${block} block of the template`;
    throw block === 'Resources' ? templateFormatError(message) : validationError(message);
  };
  unresolved('Resources', Object.values(template.Resources).map((r) => r.Properties ?? {}));
  unresolved('Outputs', Object.values(template.Outputs).map((o) => o.Value));
  for (const resource of Object.values(template.Resources)) {
    for (const dep of dependsOn(resource)) {
      if (!known.has(dep)) throw templateFormatError(`Unresolved resource dependencies [${dep}] in the Resources block of the template`);
    }
    if (resource.Condition !== undefined && !Object.hasOwn(template.Conditions, resource.Condition)) {
      throw templateFormatError(`Unresolved dependencies [${resource.Condition}]. Cannot reference resources in the Conditions block of the template`);
    }
  }
  return template;
}

/**
 * The names a value's Ref, Fn::GetAtt and Fn::Sub variables refer to: a dotted Sub variable
 * (`${Res.Attr}`) names the resource before the dot; the variables an Fn::Sub defines itself
 * are local to it.
 */
function namesReferred(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) namesReferred(v, out);
  } else if (isObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === 'Ref' && typeof value.Ref === 'string') out.add(value.Ref);
    else if (keys.length === 1 && keys[0] === 'Fn::GetAtt') {
      const arg = value['Fn::GetAtt'];
      const id = typeof arg === 'string' ? arg.split('.')[0] : Array.isArray(arg) ? arg[0] : undefined;
      if (typeof id === 'string') out.add(id);
    } else if (keys.length === 1 && keys[0] === 'Fn::Sub') {
      const arg = value['Fn::Sub'];
      const [text, variables] = typeof arg === 'string' ? [arg, undefined] : Array.isArray(arg) ? [arg[0], arg[1]] : [undefined, undefined];
      const local = isObject(variables) ? variables : {};
      if (typeof text === 'string') {
        for (const name of subVariables(text)) {
          if (Object.hasOwn(local, name)) continue;
          out.add(name.includes('.') ? (name.split('.')[0] ?? name) : name);
        }
      }
      if (variables !== undefined) namesReferred(variables, out);
    } else for (const v of Object.values(value)) namesReferred(v, out);
  }
  return out;
}

/** Fn::GetAtt's refusal (test_change_set_fn_get_attr.snapshot.json, test_invalid_structure). */
const GETATT_SHAPE = 'Template error: every Fn::GetAtt object requires two non-empty parameters, the resource name and the resource attribute';
/** Fn::Join's refusal (test_change_set_fn_split.snapshot.json records it). */
const JOIN_SHAPE = 'Template error: every Fn::Join object requires two parameters, (1) a string delimiter and (2) a list of strings to be joined or a function that returns a list of strings (such as Fn::GetAZs) to be joined.';

/** Refuses, at the call, the intrinsic functions whose arguments have a shape CloudFormation rejects. */
function checkShapes(value: unknown): void {
  if (Array.isArray(value)) {
    value.forEach(checkShapes);
    return;
  }
  if (!isObject(value)) return;
  const keys = Object.keys(value);
  const fn = keys.length === 1 ? keys[0] : undefined;
  if (fn === 'Fn::GetAtt') {
    const arg = value[fn];
    const nonEmpty = (v: unknown): boolean => (typeof v === 'string' && v !== '') || isObject(v);
    const ok = typeof arg === 'string'
      ? /^[^.]+\..+$/.test(arg)
      : Array.isArray(arg) && arg.length === 2 && typeof arg[0] === 'string' && arg[0] !== '' && nonEmpty(arg[1]);
    if (!ok) throw validationError(GETATT_SHAPE);
  } else if (fn === 'Fn::Join') {
    const arg = value[fn];
    if (!Array.isArray(arg) || arg.length !== 2 || typeof arg[0] !== 'string' || !(Array.isArray(arg[1]) || isObject(arg[1]))) {
      throw validationError(JOIN_SHAPE);
    }
  }
  for (const v of Object.values(value)) checkShapes(v);
}

function dependsOn(resource: TemplateResource): string[] {
  if (resource.DependsOn === undefined) return [];
  return Array.isArray(resource.DependsOn) ? resource.DependsOn : [resource.DependsOn];
}

/**
 * The capability a template needs that the call did not acknowledge, if any.
 * @param template the template
 * @param capabilities the call's Capabilities
 */
export function missingCapability(template: Template, capabilities: readonly string[]): string | undefined {
  let needed: string | undefined;
  for (const resource of Object.values(template.Resources)) {
    if (!Object.hasOwn(IAM_TYPES, resource.Type)) continue;
    const nameField = IAM_TYPES[resource.Type];
    if (nameField !== undefined && resource.Properties?.[nameField] !== undefined) needed = 'CAPABILITY_NAMED_IAM';
    else needed ??= 'CAPABILITY_IAM';
  }
  if (needed === undefined || capabilities.includes('CAPABILITY_NAMED_IAM')) return undefined;
  if (needed === 'CAPABILITY_IAM' && capabilities.includes('CAPABILITY_IAM')) return undefined;
  return needed;
}

/**
 * Resolves a stack's parameters: the given values, the previous ones where asked, the defaults,
 * and for SSM types the value read from SSM, with CloudFormation's ValidationErrors.
 * @param template the template
 * @param given the call's Parameters
 * @param previous the stack's parameters before an update
 * @param readSsm reads an SSM parameter of the stack's region
 */
export function resolveParameters(
  template: Template, given: readonly GivenParameter[], previous: readonly StackParameter[], readSsm: (name: string) => string | undefined,
): StackParameter[] {
  const unknown = given.filter((p) => !Object.hasOwn(template.Parameters, p.ParameterKey)).map((p) => p.ParameterKey);
  if (unknown.length) throw validationError(`Parameters: [${unknown.join(', ')}] do not exist in the template`);
  const missing: string[] = [];
  const out: StackParameter[] = [];
  for (const [key, spec] of Object.entries(template.Parameters)) {
    const g = given.find((p) => p.ParameterKey === key);
    let value: string | undefined;
    if (g?.UsePreviousValue) {
      value = previous.find((p) => p.ParameterKey === key)?.ParameterValue;
      if (value === undefined) throw validationError(`Invalid input for parameter key ${key}. Cannot specify usePreviousValue as true for a parameter key not in the previous template`);
    } else value = g?.ParameterValue ?? (spec.Default === undefined ? undefined : String(spec.Default));
    if (value === undefined) {
      missing.push(key);
      continue;
    }
    if (Array.isArray(spec.AllowedValues) && !spec.AllowedValues.map(String).includes(value)) {
      throw validationError(`Parameter '${key}' must be one of AllowedValues`);
    }
    const parameter: StackParameter = { ParameterKey: key, ParameterValue: value, NoEcho: spec.NoEcho === true || spec.NoEcho === 'true' };
    if (SSM_TYPE.test(spec.Type)) {
      const resolved = readSsm(value);
      // AWS's words for a missing parameter (LocalStack's snapshots do not record this case).
      if (resolved === undefined) throw validationError(`Unable to fetch parameters [${value}] from parameter store for this account.`);
      parameter.ResolvedValue = resolved;
    }
    out.push(parameter);
  }
  if (missing.length) throw validationError(`Parameters: [${missing.join(', ')}] must have values`);
  return out;
}

/**
 * The value a template sees for a parameter (Ref): lists for list types, the SSM value for SSM types.
 * @param template the template
 * @param parameter the stack's parameter
 */
export function parameterValue(template: Template, parameter: StackParameter): Json {
  const type = template.Parameters[parameter.ParameterKey]?.Type ?? 'String';
  const value = parameter.ResolvedValue ?? parameter.ParameterValue;
  const list = type === 'CommaDelimitedList' || type.startsWith('List<') || SSM_TYPE.exec(type)?.[1] !== undefined || type.endsWith('<CommaDelimitedList>');
  return list ? value.split(',').map((v) => v.trim()) : value;
}

/**
 * Evaluates every condition (each once, in any order of reference).
 * @param template the template
 * @param ctx the resolve context without conditions (parameters and pseudo parameters only)
 */
export function evaluateConditions(template: Template, ctx: Omit<ResolveContext, 'condition'>): Record<string, boolean> {
  const values: Record<string, boolean> = {};
  const evaluating = new Set<string>();
  const condition = (name: string): boolean => {
    if (Object.hasOwn(values, name)) return values[name] ?? false;
    if (!Object.hasOwn(template.Conditions, name)) throw validationError(`Template format error: Unresolved dependencies [${name}]. Cannot reference resources in the Conditions block of the template`);
    if (evaluating.has(name)) throw validationError(`Template format error: Circular dependency between conditions [${name}]`);
    evaluating.add(name);
    const value = resolveValue(template.Conditions[name] ?? false, { ...ctx, condition });
    values[name] = value === true || value === 'true';
    return values[name] ?? false;
  };
  for (const name of Object.keys(template.Conditions)) {
    try {
      condition(name);
    } catch (err) {
      if (err instanceof TemplateError) throw validationError(err.message);
      throw err;
    }
  }
  return values;
}

/**
 * Asserts the template's Rules: a failing assertion is a ValidationError with its
 * AssertDescription (or CloudFormation's generic words).
 * @param template the template
 * @param ctx the resolve context (parameters, pseudo parameters)
 */
export function checkRules(template: Template, ctx: ResolveContext): void {
  for (const [name, rule] of Object.entries(template.Rules)) {
    try {
      if (rule.RuleCondition !== undefined && resolveValue(rule.RuleCondition, ctx) !== true) continue;
      for (const assertion of rule.Assertions ?? []) {
        if (resolveValue(assertion.Assert, ctx) !== true) {
          throw validationError(assertion.AssertDescription ?? `Template error: Rule ${name} failed`);
        }
      }
    } catch (err) {
      if (err instanceof TemplateError) throw validationError(err.message);
      throw err;
    }
  }
}

/**
 * The logical ids of the resources that exist under the conditions, in creation order: each
 * after what it refers to and depends on, otherwise in template order.
 * @param template the template
 * @param conditions the evaluated conditions
 */
export function creationOrder(template: Template, conditions: Record<string, boolean>): string[] {
  const present = Object.entries(template.Resources)
    .filter(([, r]) => r.Condition === undefined || conditions[r.Condition] === true).map(([id]) => id);
  const known = new Set(present);
  const all = new Set(Object.keys(template.Resources));
  const deps = new Map<string, Set<string>>();
  for (const id of present) {
    const resource = template.Resources[id] as TemplateResource;
    const refs = referencesOf((resource.Properties ?? {}) as Json, all);
    for (const d of dependsOn(resource)) refs.add(d);
    // A resource that refers to itself is a cycle of one, as CloudFormation counts it.
    deps.set(id, new Set([...refs].filter((r) => known.has(r))));
  }
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, path: string[]): void => {
    if (state.get(id) === 'done') return;
    if (state.get(id) === 'visiting') {
      // Only the resources on the cycle, not the path that led to it.
      throw templateFormatError(`Circular dependency between resources: [${path.slice(path.indexOf(id)).join(', ')}]`);
    }
    state.set(id, 'visiting');
    for (const dep of deps.get(id) ?? []) visit(dep, [...path, id]);
    state.set(id, 'done');
    order.push(id);
  };
  for (const id of present) visit(id, []);
  return order;
}

/**
 * The resources each resource depends on (for deletion in reverse order).
 * @param template the template
 */
export function dependenciesOf(template: Template): Map<string, Set<string>> {
  const all = new Set(Object.keys(template.Resources));
  const out = new Map<string, Set<string>>();
  for (const [id, resource] of Object.entries(template.Resources)) {
    const refs = referencesOf((resource.Properties ?? {}) as Json, all);
    for (const d of dependsOn(resource)) refs.add(d);
    out.set(id, refs);
  }
  return out;
}

/** Drops NO_VALUE from a resolved top-level value (the properties object itself). */
export function orEmpty(value: ReturnType<typeof resolveValue>): Record<string, Json> {
  return value === NO_VALUE || !isObject(value) ? {} : (value as Record<string, Json>);
}
