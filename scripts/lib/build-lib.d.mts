import { ExpectedError } from './cli.mjs';
/** The functions of the kit. */
export declare const FUNCTIONS: readonly string[];
/** Largest zip the build accepts. */
export declare const MAX_ZIP_BYTES: number;
/** Name of the third-party notices file in a zip. */
export declare const LICENSES_FILE: string;
/** An expected build failure. */
export declare class BuildError extends ExpectedError {}
/** Where a function's entry and zip live. */
export declare function functionPaths(root: string, name: string): { entry: string; zipPath: string };
/** The package directory of a bundled input path, or null. */
export declare function packageDirOf(input: string): string | null;
/** Third-party notices for bundled packages, or null. */
export declare function collectLicenses(root: string, inputs: string[]): string | null;
/** Bundles one function. */
export declare function bundleFunction(options: { root: string; name: string; sourcemap?: boolean }): Promise<{ code: Uint8Array; licenses: string | null; warnings: string[] }>;
/** The result of building one function. */
export interface BuiltFunction { name: string; zipPath: string; bytes: number; sha256: string; codeSha256: string; warnings: string[] }
/** Builds one function into its deploy.zip. */
export declare function buildFunction(options: { root: string; name: string; sourcemap?: boolean; maxBytes?: number }): Promise<BuiltFunction>;
/** Which functions to build. */
export declare function selectFunctions(root: string, only?: string[]): { build: string[]; skipped: string[] };
/** A byte count in KB. */
export declare function formatKB(bytes: number): string;
/** Whether a function's zip is missing or older than its sources. */
export declare function zipsAreStale(root: string): boolean;
