// The deployments the browser suite runs against, one per concern so that each test can count
// its own Main's runs. Shared by e2e/global-setup.ts (the kit's local stack) and
// scripts/e2e-localstack.ts (LocalStack). Main is main-example at its default 60 s throughout.

/** The role a deployment plays in the browser suite. */
export type Role = 'base' | 'form' | 'get' | 'chain' | 'links';

/** The API types the suite runs against: a REST API (payload 1.0) or an HTTP API (payload 2.0). */
export const E2E_API_TYPES = ['rest', 'http'] as const;

/** One of {@link E2E_API_TYPES}. */
export type E2eApiType = (typeof E2E_API_TYPES)[number];

/**
 * The API type `E2E_API_TYPE` asks for (default rest).
 *
 * @param raw - the variable's value
 */
export function e2eApiType(raw: string | undefined): E2eApiType {
  const value = raw?.trim() || 'rest';
  const found = E2E_API_TYPES.find((t) => t === value);
  if (found === undefined) throw new Error(`E2E_API_TYPE must be one of ${E2E_API_TYPES.join(', ')}, got "${value}"`);
  return found;
}

/**
 * Deploy flags of each deployment, by the role the tests give it.
 *
 * @param signingSecret - the SIGNING_SECRET of the links deployment (32 characters or more)
 * @param apiType - the API type every deployment gets
 */
export function e2eDeployments(signingSecret: string, apiType: E2eApiType = 'rest'): Record<Role, string[]> {
  const flags = e2eRoleFlags(signingSecret);
  return Object.fromEntries(Object.entries(flags).map(([role, f]) => [role, apiType === 'rest' ? f : [...f, '--api-type', apiType]])) as Record<Role, string[]>;
}

function e2eRoleFlags(signingSecret: string): Record<Role, string[]> {
  return {
    // a Main that throws (4), and the direct route (3): Main behind API Gateway without the kit
    base: ['--name-prefix', 'e2e', '--direct-route'],
    // the form POST (1) and the typed address (2), each alone so that its Main's runs can be counted
    form: ['--name-prefix', 'e2e-form'],
    get: ['--name-prefix', 'e2e-get'],
    // more than 20 redirects (5): the default window; the test asks for 1 s windows with
    // `Prefer: wait=1`, as it does on any deployment, so a 30 s Main takes about 28 hops
    chain: ['--name-prefix', 'e2e-chain'],
    // continuation links (6): signed, and a delivered result is deleted at once (404 when opened again)
    links: ['--name-prefix', 'e2e-links', '--signing-secret', signingSecret, '--proxy-env', 'RESULT_GRACE_SECONDS=0'],
  };
}

/** The links deployment's RESULT_GRACE_SECONDS, told to the tests as E2E_RESULT_GRACE_SECONDS. */
export const LINKS_RESULT_GRACE_SECONDS = 0;

/**
 * The name deploy gives a deployment's Main.
 *
 * @param flags - the deployment's deploy flags
 */
export function mainFunctionName(flags: string[]): string {
  return `${flags[flags.indexOf('--name-prefix') + 1]}-main`;
}

/**
 * The environment that points the suite at deployed URLs.
 *
 * @param states - deploy states by role
 */
export function suiteEnvironment(states: Record<Role, { invokeUrl: string; directUrl: string | null }>): Record<string, string> {
  return {
    E2E_BASE_URL: states.base.invokeUrl,
    E2E_DIRECT_URL: states.base.directUrl ?? '',
    E2E_FORM_URL: states.form.invokeUrl,
    E2E_GET_URL: states.get.invokeUrl,
    E2E_LONG_CHAIN_URL: states.chain.invokeUrl,
    E2E_LINKS_URL: states.links.invokeUrl,
    E2E_RESULT_GRACE_SECONDS: String(LINKS_RESULT_GRACE_SECONDS),
  };
}
