/** A mistake in how a script was called. */
export declare class UsageError extends Error {}
/** A failure the scripts expect and explain. */
export declare class ExpectedError extends Error {}
/** The raw arguments given to a script. */
export declare function scriptArgs(scriptUrl: string, processArgv?: string[]): string[];
/** Parses flags, refusing unknown ones. */
export declare function parseFlags(
  args: string[],
  spec: { string?: string[]; boolean?: string[]; alias?: Record<string, string> },
): Record<string, unknown> & { _: string[] };
/** Runs a script's main function with one-line errors. */
export declare function runMain(scriptName: string, main: () => Promise<void>): Promise<void>;
/** One readable line for an error. */
export declare function describeError(e: Error): string;
