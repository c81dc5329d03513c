/**
 * CloudFormation's intrinsic functions over template JSON: Ref (parameters, resources, pseudo
 * parameters), Fn::GetAtt, Fn::Join, Fn::Sub (both forms), Fn::Select, Fn::Split, Fn::If,
 * Fn::Equals, Fn::And, Fn::Or, Fn::Not, Condition, Fn::Contains (rules), Fn::Base64, Fn::GetAZs
 * and Fn::FindInMap; and the references a value makes (for the order of creation).
 */
import { TemplateError } from './errors';

/** A template value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** What `Ref: AWS::NoValue` resolves to: the property is dropped. */
export const NO_VALUE: unique symbol = Symbol('AWS::NoValue');

/** A value once resolved: template JSON, or {@link NO_VALUE} where a property is dropped. */
export type Resolved = Json | typeof NO_VALUE;

/** What the functions look up. */
export interface ResolveContext {
  /** Pseudo parameters (`AWS::Region` ...) and template parameters, by name. */
  refs: Record<string, Json>;
  /** A resource's Ref value, or undefined when it is not (yet) there. */
  resourceRef(logicalId: string): Json | undefined;
  /** A resource's attribute; throws a {@link TemplateError} when there is none. */
  attribute(logicalId: string, attribute: string): Json;
  /** A condition's value. */
  condition(name: string): boolean;
  /** The template's Mappings. */
  mappings: Record<string, Json>;
  /** The region (for Fn::GetAZs). */
  region: string;
}

function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The one key of an intrinsic function's object, if the object is one. */
function functionOf(value: Record<string, Json>): string | undefined {
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const key = keys[0] ?? '';
  return key === 'Ref' || key === 'Condition' || key.startsWith('Fn::') ? key : undefined;
}

function asString(value: Resolved, what: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new TemplateError(`Template error: every ${what} object requires string parameters`);
}

function asList(value: Resolved, what: string): Json[] {
  if (!Array.isArray(value)) throw new TemplateError(`Template error: ${what} requires a list`);
  return value;
}

function asBoolean(value: Resolved, what: string): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  throw new TemplateError(`Template error: ${what} requires boolean parameters`);
}

/**
 * Resolves every intrinsic function in a value. `NO_VALUE` properties and list items are dropped.
 * @param value the template value
 * @param ctx what the functions look up
 */
export function resolveValue(value: Json, ctx: ResolveContext): Resolved {
  if (Array.isArray(value)) {
    return value.map((v) => resolveValue(v, ctx)).filter((v): v is Json => v !== NO_VALUE);
  }
  if (!isObject(value)) return value;
  const fn = functionOf(value);
  if (fn === undefined) {
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(value)) {
      const r = resolveValue(v, ctx);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
  }
  const arg = value[fn] as Json;
  switch (fn) {
    case 'Ref':
      return ref(asString(arg, 'Ref'), ctx);
    case 'Condition':
      return ctx.condition(asString(arg, 'Condition'));
    case 'Fn::GetAtt': {
      const [logicalId, ...rest] = typeof arg === 'string' ? arg.split('.') : asList(arg, 'Fn::GetAtt').map((a) => asString(resolveValue(a, ctx), 'Fn::GetAtt'));
      return ctx.attribute(logicalId ?? '', rest.join('.'));
    }
    case 'Fn::Join': {
      const [sep, list] = asList(arg, 'Fn::Join');
      const items = asList(resolveValue(list ?? [], ctx), 'Fn::Join');
      return items.map((i) => asString(i, 'Fn::Join')).join(asString(sep ?? '', 'Fn::Join'));
    }
    case 'Fn::Sub':
      return substitute(arg, ctx);
    case 'Fn::Select': {
      const [index, list] = asList(arg, 'Fn::Select');
      const i = Number(asString(resolveValue(index ?? null, ctx), 'Fn::Select'));
      const items = asList(resolveValue(list ?? [], ctx), 'Fn::Select');
      if (!Number.isInteger(i) || i < 0 || i >= items.length) throw new TemplateError('Template error: Fn::Select cannot select nonexistent value at index ' + i);
      return items[i] ?? null;
    }
    case 'Fn::Split': {
      const [sep, source] = asList(arg, 'Fn::Split');
      return asString(resolveValue(source ?? '', ctx), 'Fn::Split').split(asString(sep ?? '', 'Fn::Split'));
    }
    case 'Fn::If': {
      const [name, whenTrue, whenFalse] = asList(arg, 'Fn::If');
      return resolveValue((ctx.condition(asString(name ?? '', 'Fn::If')) ? whenTrue : whenFalse) ?? null, ctx);
    }
    case 'Fn::Equals': {
      const list = asList(arg, 'Fn::Equals');
      if (list.length !== 2) throw new TemplateError('Template error: every Fn::Equals object requires a list of 2 string parameters.');
      const [a, b] = list.map((v) => resolveValue(v, ctx));
      return JSON.stringify(normalize(a ?? null)) === JSON.stringify(normalize(b ?? null));
    }
    case 'Fn::And':
      return asList(arg, 'Fn::And').every((v) => asBoolean(resolveValue(v, ctx), 'Fn::And'));
    case 'Fn::Or':
      return asList(arg, 'Fn::Or').some((v) => asBoolean(resolveValue(v, ctx), 'Fn::Or'));
    case 'Fn::Not': {
      const [v] = asList(arg, 'Fn::Not');
      return !asBoolean(resolveValue(v ?? null, ctx), 'Fn::Not');
    }
    case 'Fn::Contains': {
      const [list, item] = asList(arg, 'Fn::Contains');
      const wanted = JSON.stringify(normalize(resolveValue(item ?? null, ctx)));
      return asList(resolveValue(list ?? [], ctx), 'Fn::Contains').some((v) => JSON.stringify(normalize(v)) === wanted);
    }
    case 'Fn::EachMemberEquals': {
      const [list, item] = asList(arg, 'Fn::EachMemberEquals');
      const wanted = JSON.stringify(normalize(resolveValue(item ?? null, ctx)));
      return asList(resolveValue(list ?? [], ctx), 'Fn::EachMemberEquals').every((v) => JSON.stringify(normalize(v)) === wanted);
    }
    case 'Fn::Base64':
      return Buffer.from(asString(resolveValue(arg, ctx), 'Fn::Base64'), 'utf8').toString('base64');
    case 'Fn::GetAZs':
      return ['a', 'b', 'c'].map((zone) => `${ctx.region}${zone}`);
    case 'Fn::FindInMap': {
      const [map, top, second] = asList(arg, 'Fn::FindInMap').map((v) => asString(resolveValue(v, ctx), 'Fn::FindInMap'));
      const found = (ctx.mappings[map ?? ''] as Record<string, Record<string, Json>> | undefined)?.[top ?? '']?.[second ?? ''];
      if (found === undefined) throw new TemplateError(`Template error: Unable to get mapping for ${map}::${top}::${second}`);
      return found;
    }
    default:
      throw new TemplateError(`Template format error: Unrecognized function ${fn}`);
  }
}

/** Numbers and strings compare as strings, as CloudFormation compares them. */
function normalize(value: Resolved): unknown {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map(normalize);
  return value === NO_VALUE ? null : value;
}

function ref(name: string, ctx: ResolveContext): Resolved {
  if (name === 'AWS::NoValue') return NO_VALUE;
  if (Object.hasOwn(ctx.refs, name)) return ctx.refs[name] ?? null;
  const resource = ctx.resourceRef(name);
  if (resource === undefined) throw new TemplateError(`Template format error: Unresolved resource dependencies [${name}] in the Resources block of the template`);
  return resource;
}

/** Fn::Sub: `${Name}` and `${Resource.Attribute}` in a string, with optional variables; `${!x}` is a literal `${x}`. */
function substitute(arg: Json, ctx: ResolveContext): string {
  const [text, variables] = typeof arg === 'string' ? [arg, {}] : (asList(arg, 'Fn::Sub') as [Json, Json]);
  const vars = isObject(variables) ? variables : {};
  return asString(text, 'Fn::Sub').replace(/\$\{([^}]*)\}/g, (_whole, inner: string) => {
    if (inner.startsWith('!')) return `\${${inner.slice(1)}}`;
    const name = inner.trim();
    if (Object.hasOwn(vars, name)) return asString(resolveValue(vars[name] ?? null, ctx), 'Fn::Sub');
    const dot = name.indexOf('.');
    if (dot > 0 && !name.startsWith('AWS::')) return asString(ctx.attribute(name.slice(0, dot), name.slice(dot + 1)), 'Fn::Sub');
    return asString(ref(name, ctx), 'Fn::Sub');
  });
}

/**
 * The variable names of an Fn::Sub string, trimmed: `${Name}` and `${Resource.Attribute}`
 * (`${!Literal}` is text, not a variable).
 * @param text the Fn::Sub string
 */
export function subVariables(text: string): string[] {
  return [...text.matchAll(/\$\{([^}!][^}]*)\}/g)].map((m) => (m[1] ?? '').trim());
}

/**
 * The logical ids a value refers to (Ref, Fn::GetAtt, and the names in Fn::Sub strings),
 * among `known` (a template's resources); pseudo parameters and parameters are not.
 * @param value the template value
 * @param known the template's resource ids
 */
export function referencesOf(value: Json, known: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  const visit = (v: Json): void => {
    if (Array.isArray(v)) {
      v.forEach(visit);
      return;
    }
    if (!isObject(v)) return;
    const fn = functionOf(v);
    const arg = fn ? v[fn] : undefined;
    if (fn === 'Ref' && typeof arg === 'string' && known.has(arg)) out.add(arg);
    else if (fn === 'Fn::GetAtt') {
      const id = typeof arg === 'string' ? arg.split('.')[0] : Array.isArray(arg) ? arg[0] : undefined;
      if (typeof id === 'string' && known.has(id)) out.add(id);
    } else if (fn === 'Fn::Sub') {
      const [text, variables] = typeof arg === 'string' ? [arg, undefined] : Array.isArray(arg) ? arg : [undefined, undefined];
      const vars = isObject(variables) ? variables : {};
      if (typeof text === 'string') {
        for (const variable of subVariables(text)) {
          const name = variable.split('.')[0] ?? '';
          if (!Object.hasOwn(vars, name) && known.has(name)) out.add(name);
        }
      }
      if (variables !== undefined) visit(variables);
      return;
    }
    for (const child of Object.values(v)) visit(child);
  };
  visit(value);
  return out;
}
