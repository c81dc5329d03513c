import type { DeployOptions, DestroyOptions } from './deploy-options.mjs';

/** Settings whose values a dry run never prints. */
export declare const SECRET_ENV: RegExp;
/** A placeholder for a shell variable. */
export declare function shellVar(name: string): string;
/** Quotes one argument for bash. */
export declare function shellArg(value: string | number): string;
/** The aws CLI commands of a deploy. */
export declare function deployCommands(options: DeployOptions): string[];
/** The aws CLI commands of a destroy. */
export declare function destroyCommands(options: DestroyOptions): string[];
