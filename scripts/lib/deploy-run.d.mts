import type { DeployOptions, DestroyOptions, FunctionKey } from './deploy-options.mjs';
import type { makeClients } from './deploy-lib.mjs';

/** What deploy writes to the state file. */
export interface DeployState {
  version: number;
  updatedAt: string;
  namePrefix: string;
  endpoint: string | null;
  region: string;
  account: string;
  apiId: string;
  apiName: string;
  stage: string;
  invokeUrl: string;
  directUrl: string | null;
  /** `--results-path` of this deploy: continuations go to GET `<invokeUrl><path without its slash>/{id}`. */
  resultsPath?: string | null;
  table: string;
  tableArn: string;
  functions: Partial<Record<FunctionKey, { name: string; arn: string }>>;
  roles: Partial<Record<FunctionKey, string>>;
  managed: { functions: FunctionKey[]; roles: FunctionKey[] };
  permissions: Array<{ functionName: string; statementId: string }>;
}
/** Version of the state file's layout. */
export declare const STATE_VERSION: number;
/** Reads the state file. */
export declare function readState(file: string, warn?: (line: string) => void): DeployState | null;
/** Whether a state file describes the same target. */
export declare function stateMatches(state: Pick<DeployState, 'namePrefix' | 'endpoint'> | null, options: { namePrefix: string; endpoint?: string | undefined }): boolean;
/** Writes JSON atomically. */
export declare function writeJson(file: string, value: unknown): void;
/** Reads (or builds) each function's zip. */
export declare function loadZips(root: string, keys: FunctionKey[], log: (line: string) => void): Promise<Record<string, { bytes: Uint8Array; codeSha256: string; path: string }>>;
/** The whole deploy. */
export declare function runDeploy(options: DeployOptions, context: { root: string; log?: (line: string) => void; clients?: ReturnType<typeof makeClients> }): Promise<DeployState | null>;
/** The whole destroy. */
export declare function runDestroy(options: DestroyOptions, context?: { log?: (line: string) => void; clients?: ReturnType<typeof makeClients> }): Promise<void>;
