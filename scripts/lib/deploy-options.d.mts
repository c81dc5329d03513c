/** The kit's three functions, as deploy names them. */
export type FunctionKey = 'proxy' | 'talker' | 'main';

/** Every name deploy uses. */
export interface ResourceNames {
  table: string;
  api: string;
  functions: Record<FunctionKey, string>;
  roles: Record<FunctionKey, string>;
  policies: Record<FunctionKey, string>;
}

/** What deploy and destroy run against. */
export interface Target {
  endpoint: string | undefined;
  region: string | undefined;
  local: boolean;
}

/** The deploy script's options. */
export interface DeployOptions extends Target {
  help: boolean;
  dryRun: boolean;
  namePrefix: string;
  names: ResourceNames;
  stage: string;
  stateFile: string;
  architecture: 'x86_64' | 'arm64';
  memory: number;
  timeouts: Record<FunctionKey, number>;
  mainName: string | undefined;
  mainDelay: number;
  givenRoles: Record<FunctionKey, string | undefined>;
  env: Record<FunctionKey, Record<string, string>>;
  directRoute: boolean;
  /** `--results-path`: the dedicated continuation route (also the Proxy's RESULTS_PATH). */
  resultsPath: string | undefined;
}

/** The destroy script's options. */
export interface DestroyOptions extends Target {
  help: boolean;
  dryRun: boolean;
  namePrefix: string;
  names: ResourceNames;
  stateFile: string;
  mainName: string | undefined;
  givenRoles: Record<FunctionKey, string | undefined>;
  keepTable: boolean;
}

/** Defaults of every deploy setting that has one. */
export declare const DEFAULTS: {
  readonly namePrefix: string;
  readonly stage: string;
  readonly memory: number;
  readonly architecture: string;
  readonly timeouts: Readonly<Record<FunctionKey, number>>;
  readonly mainDelay: number;
  readonly stateFile: string;
  readonly localRegion: string;
};
/** The Lambda runtime. */
export declare const RUNTIME: string;
/** The Lambda handler. */
export declare const HANDLER: string;
/** The three roles of the kit. */
export declare const ROLES: readonly FunctionKey[];
/** The source folder of each function. */
export declare const SOURCE_FOLDER: Readonly<Record<FunctionKey, string>>;
/** Usage text of deploy. */
export declare const DEPLOY_USAGE: string;
/** Usage text of destroy. */
export declare const DESTROY_USAGE: string;
/** Every name deploy uses, from the prefix. */
export declare function resourceNames(prefix: string): ResourceNames;
/** Reads KEY=VALUE pairs. */
export declare function parseEnvPairs(fn: FunctionKey, values: string[]): Record<string, string>;
/** Reads the deploy flags. */
export declare function parseDeployArgs(args: string[], env?: Record<string, string | undefined>, cwd?: string): DeployOptions;
/** Reads the destroy flags. */
export declare function parseDestroyArgs(args: string[], env?: Record<string, string | undefined>, cwd?: string): DestroyOptions;
