/** The deployments the tests use, by role. */
export type Role = 'form' | 'get' | 'base' | 'chain' | 'links';
/** Deploy flags of each deployment. */
export declare function e2eDeployments(signingSecret: string): Record<Role, string[]>;
/** The links deployment's RESULT_GRACE_SECONDS. */
export declare const LINKS_RESULT_GRACE_SECONDS: number;
/** The name deploy gives a deployment's Main. */
export declare function mainFunctionName(flags: string[]): string;
/** The environment that points the suite at deployed URLs. */
export declare function suiteEnvironment(states: Record<Role, { invokeUrl: string; directUrl: string | null }>): Record<string, string>;
