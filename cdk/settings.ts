// The construct's settings from its properties (pure): the deploy script's defaults and checks,
// so that the construct and `npm run deploy` build the same kit.
import { ConfigError, ENDPOINT_TYPES, GATEWAY_LIMITS_MS, PROXY_ENV, TALKER_ENV, answerLimitMs, loadProxyConfig, type EndpointType, type TransferMode } from '../core/config';
import { MAIN_EXAMPLE_ENV } from '../main-example/main';
import { DEFAULTS, HTTP_API_TIMEOUT_MS, defaultProxyTimeoutSeconds } from '../scripts/lib/deploy-options';
import { KitPropsError } from './errors';
import type { KitApiType, LongRequestKitProps } from './props';

/** Lambda timeouts in seconds, every default applied. */
export interface KitTimeoutSeconds {
  /** The Proxy's. */
  proxy: number;
  /** The Talker's. */
  talker: number;
  /** main-example's. */
  mainExample: number;
}

/** What the construct builds, every default applied and every check passed. */
export interface KitSettings {
  /** REST or HTTP API. */
  apiType: KitApiType;
  /** Whether the construct creates the API (false: attaches to the one given). */
  createsApi: boolean;
  /** A new REST API's stage (or the stage the kit deploys a given API without a deployment to). */
  stageName: string;
  /** Whether `stageName` was given. */
  stageNameGiven: boolean;
  /** The REST API's endpoint type. */
  endpointType: EndpointType;
  /** The Proxy's transfer mode. */
  transferMode: TransferMode;
  /** The Proxy's integrations' timeout, ms. */
  integrationTimeoutMs: number;
  /** Lambda timeouts, seconds. */
  timeouts: KitTimeoutSeconds;
  /** Memory of each function, MB. */
  memorySize: number;
  /** The Proxy's environment, without the table, the Talker and the secrets (set by the construct). */
  proxyEnvironment: Record<string, string>;
  /** The Talker's environment, without the table and Main. */
  talkerEnvironment: Record<string, string>;
  /** main-example's environment. */
  mainExampleEnvironment: Record<string, string>;
  /** The results route's path, if any. */
  resultsPath: string | undefined;
  /** Whether `/direct` reaches Main. */
  directRoute: boolean;
  /** A REST API's binary media types. */
  binaryMediaTypes: string[];
}

/** The variables the construct sets itself, per function: `environment` may not set them. */
const CONSTRUCT_ENV = {
  proxy: [PROXY_ENV.tableName, PROXY_ENV.talkerName, PROXY_ENV.apiKey, PROXY_ENV.signingSecret, PROXY_ENV.waitSeconds,
    PROXY_ENV.corsAllowOrigin, PROXY_ENV.resultsPath, PROXY_ENV.gatewayTimeoutMs, PROXY_ENV.endpointType],
  talker: [TALKER_ENV.tableName, TALKER_ENV.mainName],
  mainExample: [MAIN_EXAMPLE_ENV.delaySeconds],
} as const;

/** The property that sets each Proxy variable (for the Proxy's own configuration errors). */
const PROXY_ENV_PROPS: Readonly<Record<string, string>> = {
  [PROXY_ENV.waitSeconds]: 'waitSeconds',
  [PROXY_ENV.corsAllowOrigin]: 'corsOrigin',
  [PROXY_ENV.resultsPath]: 'resultsPath',
  [PROXY_ENV.gatewayTimeoutMs]: 'integrationTimeout',
};

/** Placeholders for the secrets in the Proxy's configuration check (their values reach it only on AWS). */
const SECRET_PLACEHOLDERS = { [PROXY_ENV.apiKey]: 'api-key', [PROXY_ENV.signingSecret]: 's'.repeat(32) };

/**
 * A whole number of seconds from a Duration-like value, checked against Lambda's 1–900 s.
 */
function seconds(property: string, value: { toSeconds(): number } | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const s = value.toSeconds();
  if (!Number.isInteger(s) || s < 1 || s > 900) throw new KitPropsError(property, `must be a whole number of seconds from 1 to 900, got ${s}`);
  return s;
}

/** Extra variables, refused where they would replace one the construct sets. */
function extraEnvironment(key: keyof typeof CONSTRUCT_ENV, given: Record<string, string> | undefined): Record<string, string> {
  const env = { ...given };
  for (const name of Object.keys(env)) {
    if ((CONSTRUCT_ENV[key] as readonly string[]).includes(name)) {
      throw new KitPropsError(`environment.${key}`, `may not set ${name}: the construct sets it (use its own property)`);
    }
    if (/^(_HANDLER|_X_AMZN_TRACE_ID|AWS_.*|LAMBDA_TASK_ROOT|LAMBDA_RUNTIME_DIR|TZ)$/.test(name)) {
      throw new KitPropsError(`environment.${key}`, `may not set ${name}: Lambda reserves it`);
    }
  }
  return env;
}

/**
 * Every setting of the kit, from the construct's properties: the deploy script's defaults, and its
 * refusals (each naming the property).
 *
 * @throws KitPropsError - a property the kit cannot deploy as given
 */
export function kitSettings(props: LongRequestKitProps): KitSettings {
  if (props.restApi && props.httpApi) throw new KitPropsError('restApi', 'and httpApi are both given: the kit attaches to one API');
  const apiType: KitApiType = props.restApi ? 'rest' : props.httpApi ? 'http' : props.apiType ?? 'rest';
  if (props.apiType !== undefined && props.apiType !== apiType) {
    throw new KitPropsError('apiType', `is ${props.apiType}, but the API given is ${apiType === 'rest' ? 'a REST API (restApi)' : 'an HTTP API (httpApi)'}`);
  }
  if (apiType !== 'rest' && apiType !== 'http') throw new KitPropsError('apiType', `must be rest or http, got "${String(apiType)}"`);
  const http = apiType === 'http';
  const createsApi = !props.restApi && !props.httpApi;
  const transferMode = props.transferMode ?? 'buffered';
  if (transferMode !== 'buffered' && transferMode !== 'stream') throw new KitPropsError('transferMode', `must be buffered or stream, got "${String(transferMode)}"`);
  if (http && transferMode === 'stream') throw new KitPropsError('transferMode', 'stream needs a REST API: HTTP APIs have no response streaming');
  const endpointType = props.endpointType ?? 'REGIONAL';
  if (!ENDPOINT_TYPES.includes(endpointType)) throw new KitPropsError('endpointType', `must be one of ${ENDPOINT_TYPES.join(', ')}, got "${String(endpointType)}"`);
  if (http && props.endpointType !== undefined) throw new KitPropsError('endpointType', 'is a REST API setting: an HTTP API is always regional');
  if (!createsApi && (props.binaryMediaTypes?.length ?? 0) > 0) throw new KitPropsError('binaryMediaTypes', 'applies to an API the construct creates: set them on the API given');
  if (http && props.stageName !== undefined) throw new KitPropsError('stageName', 'applies to a REST API: a new HTTP API gets the $default stage, at its base URL');
  const stageName = props.stageName ?? DEFAULTS.stage;
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(stageName)) throw new KitPropsError('stageName', `must hold only letters, digits, - and _, got "${stageName}"`);
  if (http && (props.binaryMediaTypes?.length ?? 0) > 0) {
    throw new KitPropsError('binaryMediaTypes', 'is a REST API setting: an HTTP API decodes every isBase64Encoded answer, with nothing to configure');
  }

  const timeoutMs = props.integrationTimeout?.toMilliseconds();
  const [lowest, highest] = http ? [3000, HTTP_API_TIMEOUT_MS]
    : [3000, transferMode === 'stream' ? GATEWAY_LIMITS_MS.streamTimeoutMax : GATEWAY_LIMITS_MS.bufferedTimeoutMax];
  // AWS accepts 50 ms, but the Proxy needs its 2 s margin and a window.
  if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs < lowest || timeoutMs > highest)) {
    throw new KitPropsError('integrationTimeout', `must be from ${lowest} to ${highest} ms${http ? ' on an HTTP API' : transferMode === 'stream' ? ' when streaming' : ''}, got ${timeoutMs}`);
  }
  const integrationTimeoutMs = timeoutMs ?? (http ? HTTP_API_TIMEOUT_MS : DEFAULTS.integrationTimeoutMs[transferMode]);
  if (transferMode === 'buffered' && integrationTimeoutMs > GATEWAY_LIMITS_MS.bufferedTimeout && endpointType === 'EDGE') {
    throw new KitPropsError('integrationTimeout', `${integrationTimeoutMs} ms: a buffered integration may exceed ${GATEWAY_LIMITS_MS.bufferedTimeout} ms only through a quota increase, which AWS grants to Regional and private REST APIs`);
  }

  const proxyExtra = extraEnvironment('proxy', props.environment?.proxy);
  const idleGiven = proxyExtra[PROXY_ENV.streamIdleTimeoutMs];
  const limitMs = answerLimitMs({
    transferMode, gatewayTimeoutMs: integrationTimeoutMs,
    streamIdleTimeoutMs: idleGiven !== undefined && /^\d+$/.test(idleGiven) ? Number(idleGiven) : GATEWAY_LIMITS_MS.streamIdle[endpointType],
  });
  const timeouts = {
    proxy: seconds('timeouts.proxy', props.timeouts?.proxy, defaultProxyTimeoutSeconds(limitMs)),
    talker: seconds('timeouts.talker', props.timeouts?.talker, DEFAULTS.timeouts.talker),
    mainExample: seconds('timeouts.mainExample', props.timeouts?.mainExample, DEFAULTS.timeouts.main),
  };
  const memorySize = props.memorySize ?? DEFAULTS.memory;
  if (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10240) throw new KitPropsError('memorySize', `must be a whole number of MB from 128 to 10240, got ${memorySize}`);

  const { waitSeconds, corsOrigin, resultsPath } = props;
  if (waitSeconds !== undefined && !(waitSeconds > 0)) throw new KitPropsError('waitSeconds', `must be above 0, got ${waitSeconds}`);
  if (waitSeconds !== undefined && waitSeconds >= timeouts.proxy) throw new KitPropsError('waitSeconds', `(${waitSeconds}) must be under the Proxy's timeout (${timeouts.proxy} s)`);
  const directRoute = props.directRoute ?? false;
  if (resultsPath !== undefined && directRoute && (resultsPath === '/direct' || resultsPath.startsWith('/direct/'))) {
    throw new KitPropsError('resultsPath', `${resultsPath} would fall under directRoute's /direct`);
  }
  if (props.main && props.mainDelaySeconds !== undefined) throw new KitPropsError('mainDelaySeconds', 'applies to main-example only; it cannot be used with main');
  if (props.main && props.environment?.mainExample) throw new KitPropsError('environment.mainExample', 'applies to main-example only; it cannot be used with main');
  const mainDelaySeconds = props.mainDelaySeconds ?? DEFAULTS.mainDelay;
  if (!(mainDelaySeconds >= 0)) throw new KitPropsError('mainDelaySeconds', `must be 0 or more, got ${mainDelaySeconds}`);

  const proxyEnvironment: Record<string, string> = {};
  if (waitSeconds !== undefined) proxyEnvironment[PROXY_ENV.waitSeconds] = String(waitSeconds);
  if (corsOrigin !== undefined) proxyEnvironment[PROXY_ENV.corsAllowOrigin] = corsOrigin;
  if (resultsPath !== undefined) proxyEnvironment[PROXY_ENV.resultsPath] = resultsPath;
  if (integrationTimeoutMs !== GATEWAY_LIMITS_MS.bufferedTimeout) proxyEnvironment[PROXY_ENV.gatewayTimeoutMs] = String(integrationTimeoutMs);
  if (endpointType !== DEFAULTS.endpointType) proxyEnvironment[PROXY_ENV.endpointType] = endpointType;
  Object.assign(proxyEnvironment, proxyExtra);
  // The Proxy's own checks, at synth time instead of at its first cold start.
  try {
    loadProxyConfig({
      [PROXY_ENV.tableName]: 'table', [PROXY_ENV.talkerName]: 'talker', ...proxyEnvironment,
      ...(props.apiKey && { [PROXY_ENV.apiKey]: SECRET_PLACEHOLDERS[PROXY_ENV.apiKey] }),
      ...(props.signingSecret && { [PROXY_ENV.signingSecret]: SECRET_PLACEHOLDERS[PROXY_ENV.signingSecret] }),
    }, { transferMode });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const property = PROXY_ENV_PROPS[err.variable] ?? `environment.proxy.${err.variable}`;
    throw new KitPropsError(property, `(the Proxy's ${err.variable}) ${err.message.replace(`Invalid configuration: ${err.variable} `, '')}`);
  }

  return {
    apiType, createsApi, stageName, stageNameGiven: props.stageName !== undefined, endpointType, transferMode, integrationTimeoutMs, timeouts, memorySize,
    proxyEnvironment,
    talkerEnvironment: extraEnvironment('talker', props.environment?.talker),
    mainExampleEnvironment: { ...extraEnvironment('mainExample', props.environment?.mainExample), [MAIN_EXAMPLE_ENV.delaySeconds]: String(mainDelaySeconds) },
    resultsPath, directRoute, binaryMediaTypes: [...(props.binaryMediaTypes ?? [])],
  };
}
