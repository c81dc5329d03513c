// Flags of the deploy and destroy scripts, read and checked into one options object.
import path from 'node:path';
import {
  ConfigError, ENDPOINT_TYPES, GATEWAY_LIMITS_MS, PROXY_ENV, TALKER_ENV, TRANSFER_MODES, answerLimitMs, loadProxyConfig,
  type EndpointType, type TransferMode,
} from '../../core/config';
import { parseFlags, UsageError } from './cli';

/** The kind of API Gateway API in front of the Proxy: a REST API (payload 1.0) or an HTTP API (apigatewayv2, payload 2.0). */
export type ApiType = 'rest' | 'http';

/** The API types, as `--api-type` spells them. */
export const API_TYPES: readonly ApiType[] = Object.freeze(['rest', 'http'] as const);

/** HTTP APIs cut every integration off after 30 s at most, and that cannot be raised. */
export const HTTP_API_TIMEOUT_MS = 30_000;

/** The stage an HTTP API serves at its base URL, with no stage in the path. */
export const HTTP_DEFAULT_STAGE = '$default';

/** The kit's three functions, as deploy names them. */
export type FunctionKey = 'proxy' | 'talker' | 'main';

/** Every name deploy uses. */
export interface ResourceNames {
  /** The tasks table. */
  table: string;
  /** The API (REST or HTTP). */
  api: string;
  /** The functions. */
  functions: Record<FunctionKey, string>;
  /** Their execution roles. */
  roles: Record<FunctionKey, string>;
  /** The roles' inline policies. */
  policies: Record<FunctionKey, string>;
}

/** What deploy and destroy run against. */
export interface Target {
  /** `--endpoint` (LocalStack or the local stack), or none for AWS. */
  endpoint: string | undefined;
  /** `--region`, or the environment's. */
  region: string | undefined;
  /** Whether the target is a local endpoint. */
  local: boolean;
}

/** `--help`: print the usage and do nothing else. */
export interface HelpRequest {
  /** Always true. */
  help: true;
}

/** The deploy script's options. */
export interface DeployOptions extends Target {
  /** Always false (see {@link HelpRequest}). */
  help: false;
  /** `--dry-run`: print the aws commands. */
  dryRun: boolean;
  /** `--name-prefix`. */
  namePrefix: string;
  /** The names derived from the prefix. */
  names: ResourceNames;
  /** `--api-type`: a REST API (default) or an HTTP API. */
  apiType: ApiType;
  /** `--stage`; for an HTTP API, `$default` unless `--stage` is given. */
  stage: string;
  /** `--state-file`, absolute. */
  stateFile: string;
  /** `--architecture`. */
  architecture: 'x86_64' | 'arm64';
  /** `--memory`, MB. */
  memory: number;
  /** `--*-timeout`, seconds. */
  timeouts: Record<FunctionKey, number>;
  /** `--main-name`: an existing Main (main-example is not deployed then). */
  mainName: string | undefined;
  /** `--main-delay`: main-example's DELAY_SECONDS. */
  mainDelay: number;
  /** `--*-role`: existing execution roles. */
  givenRoles: Record<FunctionKey, string | undefined>;
  /** Each function's environment besides what deploy sets itself. */
  env: Record<FunctionKey, Record<string, string>>;
  /** `--direct-route`: Main behind API Gateway alone, under /direct. */
  directRoute: boolean;
  /** `--results-path`: the dedicated continuation route (also the Proxy's RESULTS_PATH). */
  resultsPath: string | undefined;
  /** `--transfer-mode`: how API Gateway passes the Proxy's answer on (the Proxy's handler follows). */
  transferMode: TransferMode;
  /** `--integration-timeout-ms`: the Proxy's integrations' `timeoutInMillis` (also its GATEWAY_TIMEOUT_MS). */
  integrationTimeoutMs: number;
  /** `--endpoint-type`: the REST API's endpoint type (also the Proxy's ENDPOINT_TYPE); REGIONAL for an HTTP API. */
  endpointType: EndpointType;
  /** `--binary-media-types`: the REST API's binary media types, exactly (none by default). */
  binaryMediaTypes: string[];
}

/** The destroy script's options. */
export interface DestroyOptions extends Target {
  /** Always false (see {@link HelpRequest}). */
  help: false;
  /** `--dry-run`. */
  dryRun: boolean;
  /** `--name-prefix`. */
  namePrefix: string;
  /** The names derived from the prefix. */
  names: ResourceNames;
  /** `--state-file`, absolute. */
  stateFile: string;
  /** `--main-name`: Main is not deleted then. */
  mainName: string | undefined;
  /** `--*-role`: roles not to delete. */
  givenRoles: Record<FunctionKey, string | undefined>;
  /** `--keep-table`. */
  keepTable: boolean;
  /** `--api-type`, if given: which API the dry run deletes (otherwise the state file's, or rest). */
  apiType: ApiType | undefined;
}

/** Defaults of every deploy setting that has one. */
export const DEFAULTS = Object.freeze({
  namePrefix: 'long-request-kit',
  stage: 'dev',
  memory: 256,
  architecture: 'x86_64',
  timeouts: Object.freeze({ proxy: 35, talker: 180, main: 150 }),
  transferMode: 'buffered',
  endpointType: 'REGIONAL',
  apiType: 'rest',
  /** The integration timeout by transfer mode: API Gateway's default, or streaming's longest (an HTTP API: {@link HTTP_API_TIMEOUT_MS}). */
  integrationTimeoutMs: Object.freeze({ buffered: GATEWAY_LIMITS_MS.bufferedTimeout, stream: GATEWAY_LIMITS_MS.streamTimeoutMax }),
  mainDelay: 60,
  stateFile: '.local/deploy-state.json',
  localRegion: 'us-east-1',
});

/** The Lambda runtime every function is deployed with. */
export const RUNTIME = 'nodejs22.x';

/** The handler of every function (the build writes `index.js` exporting `handler`). */
export const HANDLER = 'index.handler';

/** The Proxy's handler in stream mode (the same zip exports `streamHandler`). */
export const STREAM_HANDLER = 'index.streamHandler';

/** Seconds the Proxy's Lambda timeout keeps beyond the longest answer it may take. */
const PROXY_TIMEOUT_HEADROOM_SECONDS = 6;

/**
 * The Proxy's default Lambda timeout: a little more than the longest it may take to answer
 * (35 s for API Gateway's default 29 s; 306 s when streaming on a Regional endpoint).
 *
 * @param limitMs - the answer limit (`answerLimitMs`)
 */
export function defaultProxyTimeoutSeconds(limitMs: number): number {
  return Math.min(900, Math.ceil(limitMs / 1000) + PROXY_TIMEOUT_HEADROOM_SECONDS);
}

/** The three roles of the kit, in deploy order. */
export const ROLES: readonly FunctionKey[] = Object.freeze(['proxy', 'talker', 'main'] as const);

/** The folder whose `dist/deploy.zip` each function is deployed from. */
export const SOURCE_FOLDER: Readonly<Record<FunctionKey, string>> = Object.freeze({ proxy: 'proxy', talker: 'talker', main: 'main-example' });

/**
 * Every name deploy uses, derived from the name prefix.
 */
export function resourceNames(prefix: string): ResourceNames {
  return {
    table: `${prefix}-tasks`,
    api: `${prefix}-api`,
    functions: { proxy: `${prefix}-proxy`, talker: `${prefix}-talker`, main: `${prefix}-main` },
    roles: { proxy: `${prefix}-proxy-role`, talker: `${prefix}-talker-role`, main: `${prefix}-main-role` },
    policies: { proxy: `${prefix}-proxy-policy`, talker: `${prefix}-talker-policy`, main: `${prefix}-main-policy` },
  };
}

/** Environment variable names Lambda reserves or deploy sets itself: `--*-env` may not set them. */
const RESERVED_ENV = /^(_HANDLER|_X_AMZN_TRACE_ID|AWS_.*|LAMBDA_TASK_ROOT|LAMBDA_RUNTIME_DIR|TZ)$/;

/** Environment variables deploy itself sets, per function (named by core/config.ts). */
const MANAGED_ENV: Readonly<Record<FunctionKey, readonly string[]>> = Object.freeze({
  proxy: [PROXY_ENV.tableName, PROXY_ENV.talkerName, PROXY_ENV.resultsPath, PROXY_ENV.gatewayTimeoutMs, PROXY_ENV.endpointType],
  talker: [TALKER_ENV.tableName, TALKER_ENV.mainName],
  main: [],
});

/** The flag that sets each Proxy variable that has one (for deploy's own configuration errors). */
const PROXY_ENV_FLAGS: Readonly<Record<string, string>> = Object.freeze({
  [PROXY_ENV.waitSeconds]: '--wait-seconds',
  [PROXY_ENV.signingSecret]: '--signing-secret',
  [PROXY_ENV.apiKey]: '--api-key',
  [PROXY_ENV.corsAllowOrigin]: '--cors-origin',
  [PROXY_ENV.gatewayTimeoutMs]: '--integration-timeout-ms',
  [PROXY_ENV.endpointType]: '--endpoint-type',
  [PROXY_ENV.resultsPath]: '--results-path',
});

/** The flag that sets each variable deploy manages, where there is one. */
const MANAGED_ENV_FLAGS: Readonly<Record<string, string>> = Object.freeze({
  [PROXY_ENV.resultsPath]: '--results-path',
  [PROXY_ENV.gatewayTimeoutMs]: '--integration-timeout-ms',
  [PROXY_ENV.endpointType]: '--endpoint-type',
});

const STRING_FLAGS_COMMON = ['endpoint', 'region', 'name-prefix', 'state-file', 'main-name', 'proxy-role', 'talker-role', 'main-role'] as const;
const DEPLOY_STRING_FLAGS = [
  ...STRING_FLAGS_COMMON, 'stage', 'proxy-timeout', 'talker-timeout', 'main-timeout', 'memory', 'architecture',
  'main-delay', 'api-key', 'signing-secret', 'wait-seconds', 'cors-origin', 'results-path', 'binary-media-types',
  'transfer-mode', 'integration-timeout-ms', 'endpoint-type', 'api-type',
] as const;
const DEPLOY_REPEATABLE_FLAGS = ['proxy-env', 'talker-env', 'main-env'] as const;
const DEPLOY_BOOLEAN_FLAGS = ['dry-run', 'direct-route', 'set-stage-name', 'help'] as const;
const DESTROY_STRING_FLAGS = [...STRING_FLAGS_COMMON, 'api-type'] as const;
const DESTROY_BOOLEAN_FLAGS = ['dry-run', 'keep-table', 'help'] as const;

/** Usage text of `npm run deploy`. */
export const DEPLOY_USAGE = `Usage: npm run deploy -- [flags]

Creates or updates the tasks table, one execution role per function, the Proxy, Talker and
Main (main-example) functions and a REST or HTTP API in front of the Proxy; prints the invoke URL.
Runs against real AWS (usual credential chain) unless --endpoint or AWS_ENDPOINT_URL names
LocalStack or the kit's local stack. Running it again updates what exists and creates nothing twice.

Target
  --endpoint URL          LocalStack / local stack endpoint (default: $AWS_ENDPOINT_URL)
  --region REGION         default: $AWS_REGION, the profile's region, or us-east-1 on an endpoint
  --name-prefix NAME      prefix of every name (default ${DEFAULTS.namePrefix})
  --stage NAME            API stage (default ${DEFAULTS.stage}; an HTTP API: ${HTTP_DEFAULT_STAGE}, at the base URL)
  --state-file PATH       where the deployed facts are written as JSON (default ${DEFAULTS.stateFile})
  --dry-run               print the equivalent aws CLI commands and call nothing

Functions
  --proxy-timeout S       Proxy timeout in seconds (default: ${PROXY_TIMEOUT_HEADROOM_SECONDS} s more than the longest answer, ${DEFAULTS.timeouts.proxy} buffered)
  --talker-timeout S      Talker timeout (default ${DEFAULTS.timeouts.talker})
  --main-timeout S        Main timeout (default ${DEFAULTS.timeouts.main})
  --memory MB             memory of each function (default ${DEFAULTS.memory})
  --architecture ARCH     x86_64 or arm64 (default ${DEFAULTS.architecture})
  --main-name NAME        use this existing function as Main instead of deploying main-example
  --main-delay S          DELAY_SECONDS of main-example (default ${DEFAULTS.mainDelay})
  --proxy-role ARN        use this role for the Proxy instead of creating one (also --talker-role, --main-role)

Proxy and Talker settings
  --api-key KEY           API_KEY: new GET requests must carry api-key=KEY
  --signing-secret S      SIGNING_SECRET: signs continuation URLs
  --wait-seconds S        WAIT_SECONDS: the Proxy's wait window (default: 2 s less than the longest,
                          which is the answer limit less SAFETY_MARGIN_MS; 25 s with the defaults)
  --cors-origin ORIGIN    CORS_ALLOW_ORIGIN
  --set-stage-name        set STAGE_NAME to the stage (the original needed it; optional now)
  --proxy-env KEY=VALUE   any other Proxy variable (repeatable; also --talker-env, --main-env)

API
  --api-type TYPE         rest (default: a REST API, payload 1.0) or http (an HTTP API through
                          apigatewayv2, payload 2.0: routes ANY / and ANY /{proxy+}, a ${HTTP_DEFAULT_STAGE}
                          stage with auto-deploy; its integrations time out after ${HTTP_API_TIMEOUT_MS} ms at
                          most, which cannot be raised, and it has no stream mode and no endpoint type)
  --transfer-mode MODE    buffered (default: the classic proxy integration, answers within the
                          integration timeout) or stream (responseTransferMode STREAM: the Proxy
                          streams, so one hop may last up to the integration timeout, bounded by
                          the stream's idle timeout: 5 min Regional/private, 30 s edge)
  --integration-timeout-ms N
                          timeoutInMillis of the Proxy's integrations, and the Proxy's
                          GATEWAY_TIMEOUT_MS (default ${DEFAULTS.integrationTimeoutMs.buffered} buffered, ${DEFAULTS.integrationTimeoutMs.stream} stream;
                          buffered above ${GATEWAY_LIMITS_MS.bufferedTimeout} needs a quota increase, up to ${GATEWAY_LIMITS_MS.bufferedTimeoutMax};
                          an HTTP API: default and most ${HTTP_API_TIMEOUT_MS})
  --endpoint-type TYPE    REGIONAL (default), EDGE or PRIVATE: the REST API's endpoint type when
                          deploy creates it, and the Proxy's ENDPOINT_TYPE
  --direct-route          also route /direct and /direct/{proxy+} to Main itself, without the kit
  --results-path PATH     a dedicated continuation route: GET PATH/{id} -> Proxy, open (no API key
                          required), and RESULTS_PATH=PATH on the Proxy; e.g. /_results
  --binary-media-types T  a REST API's binary media types, comma-separated (e.g. image/png,application/*):
                          a base64 answer (isBase64Encoded) reaches a client whose first Accept type
                          is one of them as bytes, any other as base64 text; request bodies of these
                          types reach Main base64-encoded. Deploy sets exactly these (default none)

  --help                  this text`;

/** Usage text of `npm run destroy`. */
export const DESTROY_USAGE = `Usage: npm run destroy -- [flags]

Removes what deploy created: the REST or HTTP API, the functions (and Talker's event invoke config), the
roles with their policies, and the table. Resources are found through the state file when it
exists, otherwise by their names; parts already gone are skipped. Existing functions and roles
that were given to deploy (--main-name, --*-role) are left alone.

  --endpoint URL          LocalStack / local stack endpoint (default: $AWS_ENDPOINT_URL)
  --region REGION         default: the state file's, $AWS_REGION, or us-east-1 on an endpoint
  --name-prefix NAME      prefix of every name (default ${DEFAULTS.namePrefix})
  --state-file PATH       (default ${DEFAULTS.stateFile})
  --main-name NAME        Main was an existing function: do not delete it
  --proxy-role ARN        the Proxy's role was given: do not delete it (also --talker-role, --main-role)
  --keep-table            keep the tasks table and its data
  --api-type TYPE         rest or http: the API the dry run deletes (default: the state file's, or
                          rest); a real destroy removes APIs of both types with the kit's name
  --dry-run               print the equivalent aws CLI commands and call nothing
  --help                  this text`;

function integerFlag(flag: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

function choiceFlag<T extends string>(flag: string, raw: string | undefined, allowed: readonly T[], fallback: T): T {
  if (raw === undefined) return fallback;
  const value = allowed.find((option) => option === raw);
  if (value === undefined) throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}, got "${raw}"`);
  return value;
}

function secondsFlag(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+(\.\d+)?$/.test(raw.trim())) throw new UsageError(`--${flag} must be a number of seconds (e.g. 25 or 0.5), got "${raw}"`);
  return Number(raw);
}

function nonEmpty(flag: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (raw.trim() === '') throw new UsageError(`--${flag} needs a value`);
  return raw;
}

function roleArnFlag(flag: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/.test(raw)) {
    throw new UsageError(`--${flag} must be an IAM role ARN (arn:aws:iam::123456789012:role/NAME), got "${raw}"`);
  }
  return raw;
}

function endpointFlag(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  let url;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--endpoint must be a URL such as http://localhost:4566, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--endpoint must be an http(s) URL, got "${raw}"`);
  return raw.replace(/\/+$/, '');
}

function prefixFlag(raw: string | undefined): string {
  const prefix = raw ?? DEFAULTS.namePrefix;
  // the longest derived name is "<prefix>-talker-policy"; role and function names allow 64 characters
  if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(prefix) || prefix.length > 40) {
    throw new UsageError(`--name-prefix must start with a letter, hold only letters, digits and dashes, and have at most 40 characters, got "${prefix}"`);
  }
  return prefix;
}

function regionFlag(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(raw)) throw new UsageError(`--region must look like us-east-1, got "${raw}"`);
  return raw;
}

function functionNameFlag(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,64}$/.test(raw)) {
    throw new UsageError(`--main-name must be a Lambda function name or ARN, got "${raw}"`);
  }
  return raw;
}

/**
 * Checks --binary-media-types: media types (`type/subtype`, `type/*`, `*` + `/*`), comma-separated.
 *
 * @returns the types, without duplicates, in the order given
 */
function binaryMediaTypesFlag(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const types = raw.split(',').map((t) => t.trim()).filter((t) => t !== '');
  const bad = types.find((t) => !/^[A-Za-z0-9!#$&^_.+*-]+\/[A-Za-z0-9!#$&^_.+*-]+$/.test(t));
  if (types.length === 0 || bad !== undefined) {
    throw new UsageError(`--binary-media-types takes media types separated by commas, such as image/png,application/*, got "${bad ?? raw}"`);
  }
  return [...new Set(types)];
}

/**
 * Checks --results-path: an absolute path of plain segments, without the {id} the route adds.
 *
 * @returns a results path like /_results
 */
function resultsPathFlag(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  // The Proxy's own rule (RESULTS_PATH in core/config.ts), plus API Gateway's: no {param} parts.
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(raw)) {
    throw new UsageError(`--results-path must be a path like /_results (letters, digits, . _ ~ -; no trailing slash), got "${raw}"`);
  }
  return raw;
}

/**
 * Refuses the flags an HTTP API cannot honour: stream mode, an endpoint type other than
 * REGIONAL, an integration timeout past {@link HTTP_API_TIMEOUT_MS}, STAGE_NAME on `$default`.
 */
function checkHttpApiFlags(
  flags: { 'endpoint-type'?: string; 'integration-timeout-ms'?: string; stage?: string; 'set-stage-name': boolean },
  transferMode: TransferMode, endpointType: EndpointType,
): void {
  if (transferMode === 'stream') {
    throw new UsageError('--transfer-mode stream needs a REST API: HTTP APIs have no response streaming (use --api-type rest)');
  }
  if (flags['endpoint-type'] !== undefined && endpointType !== 'REGIONAL') {
    throw new UsageError(`--endpoint-type ${endpointType} applies to REST APIs only: HTTP APIs are regional (leave it out, or use --api-type rest)`);
  }
  const raw = flags['integration-timeout-ms'];
  if (raw !== undefined && /^\d+$/.test(raw.trim()) && Number(raw) > HTTP_API_TIMEOUT_MS) {
    throw new UsageError(`--integration-timeout-ms ${raw}: HTTP APIs cut every integration off after ${HTTP_API_TIMEOUT_MS} ms at most, and that cannot be raised (use --api-type rest for a longer hop)`);
  }
  if (flags['set-stage-name'] && (flags.stage ?? HTTP_DEFAULT_STAGE) === HTTP_DEFAULT_STAGE) {
    throw new UsageError(`--set-stage-name: an HTTP API's ${HTTP_DEFAULT_STAGE} stage has no name in its URL (leave the flag out, or give --stage NAME)`);
  }
}

/**
 * Reads `KEY=VALUE` pairs of a repeatable `--<fn>-env` flag.
 */
export function parseEnvPairs(fn: FunctionKey, values: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of values) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (eq < 0 || !/^[A-Za-z][A-Za-z0-9_]*$/.test(key)) {
      throw new UsageError(`--${fn}-env takes KEY=VALUE with KEY made of letters, digits and _, got "${pair}"`);
    }
    if (RESERVED_ENV.test(key)) throw new UsageError(`--${fn}-env: ${key} is reserved by Lambda`);
    if (MANAGED_ENV[fn].includes(key)) {
      const flag = MANAGED_ENV_FLAGS[key];
      throw new UsageError(`--${fn}-env: ${key} is set by deploy itself${flag ? ` (use ${flag})` : ''}`);
    }
    env[key] = pair.slice(eq + 1);
  }
  return env;
}

/**
 * The target shared by deploy and destroy: endpoint, region, whether it is local.
 */
function targetOf(flags: { endpoint?: string; region?: string }, env: Record<string, string | undefined>): Target {
  const endpoint = endpointFlag(flags.endpoint ?? env.AWS_ENDPOINT_URL);
  let region = regionFlag(flags.region) ?? regionFlag(env.AWS_REGION) ?? regionFlag(env.AWS_DEFAULT_REGION);
  if (region === undefined && endpoint !== undefined) region = DEFAULTS.localRegion;
  return { endpoint, region, local: endpoint !== undefined };
}

/**
 * Reads the deploy flags into options; every value is checked.
 *
 * @param args - raw arguments
 * @param env - environment (AWS_ENDPOINT_URL, AWS_REGION)
 * @param cwd - directory the state file path is relative to
 */
export function parseDeployArgs(args: string[], env: Record<string, string | undefined> = process.env, cwd: string = process.cwd()): DeployOptions | HelpRequest {
  const flags = parseFlags(args, { string: DEPLOY_STRING_FLAGS, repeatable: DEPLOY_REPEATABLE_FLAGS, boolean: DEPLOY_BOOLEAN_FLAGS, alias: { h: 'help' } });
  if (flags['help']) return { help: true };
  const namePrefix = prefixFlag(flags['name-prefix']);
  const apiType = choiceFlag('api-type', flags['api-type'], API_TYPES, DEFAULTS.apiType);
  const http = apiType === 'http';
  const stage = flags.stage ?? (http ? HTTP_DEFAULT_STAGE : DEFAULTS.stage);
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(stage) && !(http && stage === HTTP_DEFAULT_STAGE)) {
    throw new UsageError(`--stage must hold only letters, digits, - and _, got "${stage}"`);
  }
  const architecture = flags.architecture ?? DEFAULTS.architecture;
  if (architecture !== 'x86_64' && architecture !== 'arm64') throw new UsageError(`--architecture must be x86_64 or arm64, got "${architecture}"`);
  const transferMode = choiceFlag('transfer-mode', flags['transfer-mode'], TRANSFER_MODES, DEFAULTS.transferMode);
  const endpointType = choiceFlag('endpoint-type', flags['endpoint-type']?.toUpperCase(), ENDPOINT_TYPES, DEFAULTS.endpointType);
  if (http) checkHttpApiFlags(flags, transferMode, endpointType);
  // AWS accepts 50 ms, but the Proxy needs its 2 s margin and a window.
  const integrationTimeoutMs = http
    ? integerFlag('integration-timeout-ms', flags['integration-timeout-ms'], HTTP_API_TIMEOUT_MS, 3000, HTTP_API_TIMEOUT_MS)
    : integerFlag('integration-timeout-ms', flags['integration-timeout-ms'], DEFAULTS.integrationTimeoutMs[transferMode], 3000,
      transferMode === 'stream' ? GATEWAY_LIMITS_MS.streamTimeoutMax : GATEWAY_LIMITS_MS.bufferedTimeoutMax);
  if (transferMode === 'buffered' && integrationTimeoutMs > GATEWAY_LIMITS_MS.bufferedTimeout && endpointType === 'EDGE') {
    throw new UsageError(`--integration-timeout-ms ${integrationTimeoutMs}: a buffered integration may exceed ${GATEWAY_LIMITS_MS.bufferedTimeout} ms only through a quota increase, which AWS grants to Regional and private REST APIs, not edge-optimized ones; use --endpoint-type REGIONAL or --transfer-mode stream`);
  }
  const proxyEnvGiven = parseEnvPairs('proxy', flags['proxy-env']);
  const idleGiven = proxyEnvGiven[PROXY_ENV.streamIdleTimeoutMs];
  const limitMs = answerLimitMs({
    transferMode, gatewayTimeoutMs: integrationTimeoutMs,
    streamIdleTimeoutMs: idleGiven !== undefined && /^\d+$/.test(idleGiven) ? Number(idleGiven) : GATEWAY_LIMITS_MS.streamIdle[endpointType],
  });
  const timeouts = {
    proxy: integerFlag('proxy-timeout', flags['proxy-timeout'], defaultProxyTimeoutSeconds(limitMs), 1, 900),
    talker: integerFlag('talker-timeout', flags['talker-timeout'], DEFAULTS.timeouts.talker, 1, 900),
    main: integerFlag('main-timeout', flags['main-timeout'], DEFAULTS.timeouts.main, 1, 900),
  };
  const memory = integerFlag('memory', flags.memory, DEFAULTS.memory, 128, 10240);
  const mainName = functionNameFlag(flags['main-name']);
  const mainDelayRaw = flags['main-delay'];
  if (mainName !== undefined && mainDelayRaw !== undefined) throw new UsageError('--main-delay applies to main-example only; it cannot be used with --main-name');
  const mainDelay = secondsFlag('main-delay', mainDelayRaw) ?? DEFAULTS.mainDelay;
  const waitSeconds = secondsFlag('wait-seconds', flags['wait-seconds']);
  if (waitSeconds !== undefined && waitSeconds <= 0) throw new UsageError(`--wait-seconds must be above 0, got ${waitSeconds}`);

  const proxyEnv: Record<string, string> = {};
  if (flags['set-stage-name']) proxyEnv[PROXY_ENV.stageName] = stage;
  const apiKey = nonEmpty('api-key', flags['api-key']);
  if (apiKey !== undefined) proxyEnv[PROXY_ENV.apiKey] = apiKey;
  const signingSecret = nonEmpty('signing-secret', flags['signing-secret']);
  if (signingSecret !== undefined) proxyEnv[PROXY_ENV.signingSecret] = signingSecret;
  if (waitSeconds !== undefined) proxyEnv[PROXY_ENV.waitSeconds] = String(waitSeconds);
  const corsOrigin = nonEmpty('cors-origin', flags['cors-origin']);
  if (corsOrigin !== undefined) proxyEnv[PROXY_ENV.corsAllowOrigin] = corsOrigin;
  const resultsPath = resultsPathFlag(flags['results-path']);
  if (resultsPath !== undefined) proxyEnv[PROXY_ENV.resultsPath] = resultsPath;
  const binaryMediaTypes = binaryMediaTypesFlag(flags['binary-media-types']);
  if (http && binaryMediaTypes.length > 0) {
    throw new UsageError('--binary-media-types is a REST API setting: an HTTP API decodes every isBase64Encoded answer and sends every non-text body base64-encoded, with nothing to configure');
  }
  const directRoute = Boolean(flags['direct-route']);
  if (resultsPath !== undefined && directRoute && (resultsPath === '/direct' || resultsPath.startsWith('/direct/'))) {
    throw new UsageError(`--results-path ${resultsPath} would fall under --direct-route's /direct`);
  }
  if (integrationTimeoutMs !== GATEWAY_LIMITS_MS.bufferedTimeout) proxyEnv[PROXY_ENV.gatewayTimeoutMs] = String(integrationTimeoutMs);
  if (endpointType !== DEFAULTS.endpointType) proxyEnv[PROXY_ENV.endpointType] = endpointType;
  Object.assign(proxyEnv, proxyEnvGiven);
  // The Proxy's own checks, at deploy time instead of at its first cold start.
  try {
    loadProxyConfig({ [PROXY_ENV.tableName]: 'table', [PROXY_ENV.talkerName]: 'talker', ...proxyEnv }, { transferMode });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const flag = PROXY_ENV_FLAGS[err.variable] ?? `--proxy-env ${err.variable}`;
    const problem = err.message.replace(`Invalid configuration: ${err.variable} `, '');
    throw new UsageError(`${flag} (the Proxy's ${err.variable}) ${problem}${transferMode === 'stream' ? ' (stream mode)' : ''}`);
  }
  if (waitSeconds !== undefined && waitSeconds >= timeouts.proxy) {
    throw new UsageError(`--wait-seconds (${waitSeconds}) must be under the Proxy's timeout (${timeouts.proxy} s)`);
  }

  const mainEnv = parseEnvPairs('main', flags['main-env']);
  if (mainName !== undefined && Object.keys(mainEnv).length > 0) throw new UsageError('--main-env applies to main-example only; it cannot be used with --main-name');

  return {
    help: false,
    dryRun: Boolean(flags['dry-run']),
    ...targetOf(flags, env),
    namePrefix,
    names: resourceNames(namePrefix),
    apiType,
    stage,
    stateFile: path.resolve(cwd, flags['state-file'] ?? DEFAULTS.stateFile),
    architecture,
    memory,
    timeouts,
    mainName,
    mainDelay,
    givenRoles: {
      proxy: roleArnFlag('proxy-role', flags['proxy-role']),
      talker: roleArnFlag('talker-role', flags['talker-role']),
      main: mainName === undefined ? roleArnFlag('main-role', flags['main-role']) : undefined,
    },
    env: {
      proxy: proxyEnv,
      talker: parseEnvPairs('talker', flags['talker-env']),
      main: mainEnv,
    },
    directRoute,
    resultsPath,
    binaryMediaTypes,
    transferMode,
    integrationTimeoutMs,
    endpointType,
  };
}

/**
 * Reads the destroy flags into options.
 *
 * @param args - raw arguments
 */
export function parseDestroyArgs(args: string[], env: Record<string, string | undefined> = process.env, cwd: string = process.cwd()): DestroyOptions | HelpRequest {
  const flags = parseFlags(args, { string: DESTROY_STRING_FLAGS, boolean: DESTROY_BOOLEAN_FLAGS, alias: { h: 'help' } });
  if (flags['help']) return { help: true };
  const namePrefix = prefixFlag(flags['name-prefix']);
  const apiType = flags['api-type'] === undefined ? undefined : choiceFlag('api-type', flags['api-type'], API_TYPES, DEFAULTS.apiType);
  const mainName = functionNameFlag(flags['main-name']);
  return {
    help: false,
    dryRun: Boolean(flags['dry-run']),
    ...targetOf(flags, env),
    namePrefix,
    names: resourceNames(namePrefix),
    stateFile: path.resolve(cwd, flags['state-file'] ?? DEFAULTS.stateFile),
    mainName,
    givenRoles: {
      proxy: roleArnFlag('proxy-role', flags['proxy-role']),
      talker: roleArnFlag('talker-role', flags['talker-role']),
      main: roleArnFlag('main-role', flags['main-role']),
    },
    keepTable: Boolean(flags['keep-table']),
    apiType,
  };
}
