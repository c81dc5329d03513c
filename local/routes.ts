/**
 * Finds the AWS operation a REST request names, from the method and the
 * path template AWS documents for it (`/2015-03-31/functions/{FunctionName}`).
 * The services then dispatch by operation name to methods named after the
 * operations, as LocalStack's providers do.
 */
import { decodePart } from './http';

/** One operation's HTTP binding. */
export interface Route<Operation extends string> {
  /** The HTTP method. */
  method: string;
  /**
   * The path template: literal segments, `{Name}` for one segment, `{Name+}` (last) for the rest
   * of the path.
   */
  path: string;
  /** The operation's name, as in the service's API reference. */
  operation: Operation;
}

/** The operation a request names, with its path parameters (percent-decoded). */
export interface RouteMatch<Operation extends string> {
  /** The operation's name. */
  operation: Operation;
  /** Path parameters by name (a greedy one holds the rest of the path, slashes included). */
  params: Record<string, string>;
}

/** A route table compiled for matching. */
export class Router<Operation extends string> {
  private readonly compiled: Array<{ method: string; parts: string[]; operation: Operation }>;

  /** @param routes every operation's binding */
  constructor(routes: ReadonlyArray<Route<Operation>>) {
    this.compiled = routes.map((route) => ({ method: route.method, parts: route.path.split('/').filter(Boolean), operation: route.operation }));
  }

  /**
   * The operation for this method and path, or undefined when none matches. Empty segments
   * (a trailing slash, doubled slashes) are ignored.
   * @param method the request's method
   * @param pathname the request's path, still percent-encoded
   */
  match(method: string, pathname: string): RouteMatch<Operation> | undefined {
    const segments = pathname.split('/').filter(Boolean);
    for (const route of this.compiled) {
      if (route.method !== method) continue;
      const params = matchParts(route.parts, segments);
      if (params) return { operation: route.operation, params };
    }
    return undefined;
  }
}

function matchParts(parts: string[], segments: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i += 1) {
    const part = parts[i] ?? '';
    const segment = segments[i];
    if (part.startsWith('{') && part.endsWith('+}')) {
      if (segment === undefined) return undefined;
      params[part.slice(1, -2)] = decodePart(segments.slice(i).join('/'));
      return params;
    }
    if (segment === undefined) return undefined;
    if (part.startsWith('{') && part.endsWith('}')) params[part.slice(1, -1)] = decodePart(segment);
    else if (part !== segment) return undefined;
  }
  return segments.length === parts.length ? params : undefined;
}
