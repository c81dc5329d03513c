/**
 * Where the tests send the browser. Global setup fills these in when it deploys the kit on the
 * local stack; given `E2E_BASE_URL` (and optionally the others) it deploys nothing and the suite
 * drives the browser against that deployment (local stack, LocalStack or AWS).
 *
 * | Variable | Used by | Default |
 * | --- | --- | --- |
 * | `E2E_BASE_URL` | a Main that throws (4); the default of the others | required for an existing deployment |
 * | `E2E_FORM_URL` | the form POST (1) | `E2E_BASE_URL` |
 * | `E2E_GET_URL` | the typed address (2) | `E2E_BASE_URL` |
 * | `E2E_DIRECT_URL` | the direct route, 504 after 29 s, or 503 after 30 s on an HTTP API (3) | skipped when unset |
 * | `E2E_API_TYPE` | `rest` or `http`: the API type deployed (by global setup) or given; (3) expects its timeout answer | `rest` |
 * | `E2E_LONG_CHAIN_URL` | more than 20 redirects (5), with 1 s windows asked for by `Prefer: wait=1` | `E2E_BASE_URL` |
 * | `E2E_LINKS_URL` | continuation links opened again or altered (6), with `Prefer: wait=1` | `E2E_BASE_URL` |
 * | `E2E_RESULT_GRACE_SECONDS` | (6): the deployment's `RESULT_GRACE_SECONDS`, if known | either documented answer is accepted |
 * | `E2E_SKIP_GATEWAY_TIMEOUT` | `1` skips (3): the target does not enforce the 29 s cut-off (LocalStack) | — |
 * | `E2E_STACK_LOG`, `E2E_MAIN_FUNCTIONS` | counting Main's runs; set by global setup only | not counted |
 */
import { readFileSync } from 'node:fs';

import { e2eApiType, type E2eApiType, type Role } from '../deployments';

export type { Role };

/** The environment variable that names each role's URL. */
export const URL_VARIABLES: Record<Role, string> = {
  base: 'E2E_BASE_URL',
  form: 'E2E_FORM_URL',
  get: 'E2E_GET_URL',
  chain: 'E2E_LONG_CHAIN_URL',
  links: 'E2E_LINKS_URL',
};

function env(name: string): string | undefined {
  const value = process.env[name]?.trim();
  return value ? value : undefined;
}

/** A base URL with a trailing slash, so that relative paths resolve under its stage. */
function asBase(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

/**
 * The kit's invoke URL for a role, or undefined when that role has no deployment.
 *
 * @param role - which deployment
 */
export function kitUrl(role: Role): string | undefined {
  const url = env(URL_VARIABLES[role]) ?? env('E2E_BASE_URL');
  return url === undefined ? undefined : asBase(url);
}

/** The direct route (Main behind API Gateway without the kit), if deployed. */
export function directUrl(): string | undefined {
  const url = env('E2E_DIRECT_URL');
  return url?.replace(/\/+$/, '');
}

/** What the direct route answers when Main outlasts the integration timeout, by API type. */
export const GATEWAY_TIMEOUT_ANSWERS: Record<E2eApiType, { status: number; message: string; afterMs: number }> = {
  // REST: 29 s, then 504 and API Gateway's message.
  rest: { status: 504, message: 'Endpoint request timed out', afterMs: 29_000 },
  // HTTP API: 30 s (it cannot be raised), then 503.
  http: { status: 503, message: 'Service Unavailable', afterMs: 30_000 },
};

/** The API type under test (`E2E_API_TYPE`, default rest). */
export function apiType(): E2eApiType {
  return e2eApiType(process.env.E2E_API_TYPE);
}

/** The links deployment's `RESULT_GRACE_SECONDS`, when the one who deployed it said. */
export function resultGraceSeconds(): number | undefined {
  const raw = env('E2E_RESULT_GRACE_SECONDS');
  return raw === undefined ? undefined : Number(raw);
}

/** Why the direct-route test does not run here, if it does not. */
export function gatewayTimeoutSkipReason(): string | undefined {
  if (env('E2E_SKIP_GATEWAY_TIMEOUT') === '1') return 'LocalStack does not enforce API Gateway\'s 29 s integration timeout (E2E_SKIP_GATEWAY_TIMEOUT=1)';
  if (directUrl() === undefined) return 'no direct route to test: set E2E_DIRECT_URL (deploy with --direct-route)';
  return undefined;
}

/**
 * The RequestIds of every run of a role's Main, from the local stack's log (`START RequestId:`
 * lines of that function), or undefined when this run cannot see the functions' logs.
 *
 * @param role - whose Main
 */
export function mainRuns(role: Role): string[] | undefined {
  const log = env('E2E_STACK_LOG');
  const names = env('E2E_MAIN_FUNCTIONS');
  if (!log || !names) return undefined;
  const fn = (JSON.parse(names) as Partial<Record<Role, string>>)[role];
  if (!fn) return undefined;
  const prefix = `[${fn}] START RequestId: `;
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => line.startsWith(prefix))
    .map((line) => line.slice(prefix.length).split(' ')[0] ?? '');
}
