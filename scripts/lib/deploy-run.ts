// The deploy and destroy flows, step by step, on top of the small AWS functions of aws/ (one
// module per resource: clients, table, roles, functions, API).
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildFunction } from './build-lib';
import { ExpectedError } from './cli';
import { checkApiEndpointType, deleteRestApi, ensureApi, findRestApis, removePermission } from './aws/api';
import { isAwsError, isServiceAnswer, makeClients, resolveIdentity, resolveRegion, type Clients, type Log } from './aws/clients';
import { deleteFunction, ensureFunction, existingFunctionArn, putEventInvokeConfig } from './aws/functions';
import { deleteRole, ensureRole } from './aws/roles';
import { deleteHttpApi, ensureHttpApi, findHttpApis } from './aws/http-api';
import { deleteTable, ensureTable } from './aws/table';
import { SOURCE_FOLDER, type ApiType, type DeployOptions, type DestroyOptions, type FunctionKey } from './deploy-options';
import { invokeUrl, permissionStatementId, planDeploy } from './deploy-plan';
import { deployCommands, destroyCommands } from './dry-run';
import { sha256Base64 } from './zip';

/** Version of the state file's layout. */
export const STATE_VERSION = 1;

/** What deploy writes to the state file, and destroy, the tests and `npm run demo` read. */
export interface DeployState {
  /** {@link STATE_VERSION}. */
  version: number;
  /** When it was written (ISO 8601). */
  updatedAt: string;
  /** `--name-prefix`. */
  namePrefix: string;
  /** `--endpoint`, or null for AWS. */
  endpoint: string | null;
  /** The region. */
  region: string;
  /** The account. */
  account: string;
  /** The API's type: `rest` or `http` (a state file written before HTTP APIs has none: rest). */
  apiType: ApiType;
  /** The API's id. */
  apiId: string;
  /** The API's name. */
  apiName: string;
  /** The stage. */
  stage: string;
  /** The URL clients call. */
  invokeUrl: string;
  /** Main behind API Gateway alone, with `--direct-route`. */
  directUrl: string | null;
  /** `--results-path` of this deploy: continuations go to GET `<invokeUrl><path without its slash>/{id}`. */
  resultsPath?: string | null;
  /** The tasks table. */
  table: string;
  /** Its ARN. */
  tableArn: string;
  /** The functions by key. */
  functions: Partial<Record<FunctionKey, { name: string; arn: string }>>;
  /** The roles' names by key. */
  roles: Partial<Record<FunctionKey, string>>;
  /** What deploy created, and destroy may delete. */
  managed: { functions: FunctionKey[]; roles: FunctionKey[] };
  /** The permissions that let the API invoke functions. */
  permissions: Array<{ functionName: string; statementId: string }>;
}

/** A function's zip, read for deploy. */
export interface LoadedZip {
  /** Its bytes. */
  bytes: Uint8Array;
  /** Its SHA-256, base64 (Lambda's CodeSha256). */
  codeSha256: string;
  /** Its path, relative to the repository. */
  path: string;
}

/** How the log and the errors name an API type. */
const API_TYPE_LABEL: Readonly<Record<ApiType, string>> = Object.freeze({ rest: 'a REST API', http: 'an HTTP API' });

/**
 * Reads the state file a previous deploy wrote; null when there is none or it cannot be read.
 * A state file without `apiType` (written before HTTP APIs) describes a REST API.
 */
export function readState(file: string, warn: Log = () => {}): DeployState | null {
  if (!existsSync(file)) return null;
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (!state || typeof state !== 'object') return null;
    const read = state as DeployState;
    return read.apiType === 'http' ? read : { ...read, apiType: 'rest' };
  } catch (err) {
    warn(`warning: ignoring unreadable state file ${file} (${(err as Error).message})`);
    return null;
  }
}

/**
 * Whether a state file describes the same deployment target (name prefix and endpoint).
 */
export function stateMatches(state: Pick<DeployState, 'namePrefix' | 'endpoint'> | null, options: { namePrefix: string; endpoint?: string | undefined }): boolean {
  return Boolean(state) && state?.namePrefix === options.namePrefix && (state?.endpoint ?? null) === (options.endpoint ?? null);
}

/**
 * Refuses, before anything changes, a deploy of one API type where the kit is deployed behind
 * the other: by the state file, and by name (a REST API and an HTTP API would share one Proxy,
 * whose GATEWAY_TIMEOUT_MS and payload cannot suit both).
 *
 * @param known - the state file, when it describes this deployment
 * @param log - where a skipped check is noted (a REST deploy whose credentials cannot list HTTP APIs)
 */
export async function checkApiType(c: Pick<Clients, 'apigw' | 'apigw2'>, options: Pick<DeployOptions, 'apiType' | 'names' | 'namePrefix' | 'local' | 'stateFile'>, known: Pick<DeployState, 'apiType' | 'apiId'> | null, log: Log = () => {}): Promise<void> {
  const wanted = options.apiType;
  const refuse = (other: ApiType, where: string): never => {
    throw new ExpectedError(`${options.namePrefix} is deployed behind ${API_TYPE_LABEL[other]} (${where}): --api-type ${wanted} cannot replace it in place; run npm run destroy first, or use another --name-prefix`);
  };
  const knownType = known?.apiType ?? 'rest';
  if (known && knownType !== wanted) refuse(knownType, `${known.apiId}, says ${path.relative(process.cwd(), options.stateFile) || options.stateFile}`);
  if (wanted === 'http') {
    const rest = await findRestApis(c.apigw, options.names.api);
    if (rest.length > 0) refuse('rest', `${options.names.api}, ${rest.map((a) => a.id).join(', ')}`);
  } else {
    let http: Array<{ id: string }>;
    try {
      http = await findHttpApisIfServed(c.apigw2, options.names.api, options.local);
    } catch (err) {
      // A REST deploy with credentials limited to REST APIs: the check is skipped, not the deploy.
      if (!isAwsError(err, 'AccessDeniedException', 'AccessDenied', 'ForbiddenException')) throw err;
      log(`note: cannot list HTTP APIs (${(err as Error).name}): not checking for an HTTP API named ${options.names.api}`);
      return;
    }
    if (http.length > 0) refuse('http', `${options.names.api}, ${http.map((a) => a.id).join(', ')}`);
  }
}

/**
 * The HTTP APIs with this name; on a local endpoint that does not serve apigatewayv2 (LocalStack's
 * free edition), none.
 */
async function findHttpApisIfServed(apigw2: Clients['apigw2'], name: string, local: boolean, onUnserved: (err: Error) => void = () => {}): Promise<Array<{ id: string }>> {
  try {
    return await findHttpApis(apigw2, name);
  } catch (err) {
    if (!local || !isServiceAnswer(err)) throw err;
    onUnserved(err as Error);
    return [];
  }
}

/**
 * Writes a JSON file atomically, creating its folder.
 */
export function writeJson(file: string, value: unknown): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, file);
}

/**
 * Reads each function's zip, building the ones that are missing.
 *
 * @param root - repository root
 */
export async function loadZips(root: string, keys: readonly FunctionKey[], log: Log): Promise<Partial<Record<FunctionKey, LoadedZip>>> {
  const zips: Partial<Record<FunctionKey, LoadedZip>> = {};
  for (const key of keys) {
    const folder = SOURCE_FOLDER[key];
    const rel = `${folder}/dist/deploy.zip`;
    const file = path.join(root, rel);
    if (!existsSync(file)) {
      log(`${rel} is missing: building ${folder}`);
      try {
        await buildFunction({ root, name: folder });
      } catch (err) {
        throw new ExpectedError(`${rel} is missing and could not be built: ${(err as Error).message}`);
      }
    }
    const bytes = readFileSync(file);
    zips[key] = { bytes, codeSha256: sha256Base64(bytes), path: rel };
  }
  return zips;
}

/**
 * The whole deploy. With `dryRun`, prints the aws CLI commands and calls nothing.
 *
 * @returns the state written, or null for a dry run
 */
export async function runDeploy(options: DeployOptions, { root, log = console.log, clients }: { root: string; log?: Log; clients?: Clients }): Promise<DeployState | null> {
  if (options.dryRun) {
    for (const line of deployCommands(options)) log(line);
    return null;
  }
  const c = clients ?? makeClients(options);
  const region = options.region ?? (await resolveRegion(c.sts));
  // checks the credentials before anything else
  const identity = await resolveIdentity(c.sts, { local: options.local, region });
  const keys: FunctionKey[] = options.mainName ? ['proxy', 'talker'] : ['proxy', 'talker', 'main'];
  const zips = await loadZips(root, keys, log);
  const where = { ...identity, region };
  log(`deploying ${options.namePrefix} to ${options.endpoint ?? 'AWS'} (region ${region}, account ${identity.account})`);
  const previous = readState(options.stateFile, log);
  const known = stateMatches(previous, options) ? previous : null;

  const plan = planDeploy({ ...options, region }, identity);
  if (!plan.main.deployed) plan.main.arn = await existingFunctionArn(c.lambda, plan.main.name);

  // Before anything changes: the kit is not deployed behind the other API type, and an existing
  // REST API's endpoint type is the one the Proxy is told.
  await checkApiType(c, options, known, log);
  if (plan.api.type === 'rest') await checkApiEndpointType(c.apigw, plan.api.name, known?.apiId, plan.api.endpointType);

  const table = await ensureTable(c.ddb, plan.table, log);

  const roleArns: Partial<Record<FunctionKey, string>> = {};
  for (const role of plan.roles) {
    if (role.managed) roleArns[role.key] = (await ensureRole(c.iam, role, log)).arn;
    else {
      roleArns[role.key] = role.arn;
      log(`role for ${role.key}: given, ${role.arn}`);
    }
  }

  const functions: Partial<Record<FunctionKey, { name: string; arn: string }>> = {};
  // Main first and Proxy last: each function exists before the one that invokes it
  for (const fn of [...plan.functions].reverse()) {
    const zip = zips[fn.key];
    if (!zip) throw new Error(`no zip for ${fn.key}`);
    const out = await ensureFunction(c.lambda, { ...fn, roleArn: roleArns[fn.key] ?? fn.roleArn }, zip, { local: options.local, log });
    functions[fn.key] = { name: fn.name, arn: out.arn };
    if (fn.eventInvokeConfig) await putEventInvokeConfig(c.lambda, fn.name, fn.eventInvokeConfig, log);
  }
  if (!plan.main.deployed) functions.main = { name: plan.main.name, arn: plan.main.arn };
  const proxy = functions.proxy;
  const main = functions.main;
  if (!proxy || !main) throw new Error('proxy or main missing after deploy');

  const common = {
    name: plan.api.name, stage: plan.api.stage, directRoute: plan.api.directRoute, resultsPath: plan.api.resultsPath,
    previousResultsPath: known?.resultsPath ?? undefined, knownId: known?.apiId, proxy, main, where,
    integrationTimeoutMs: plan.api.integrationTimeoutMs,
  };
  const api = plan.api.type === 'http'
    ? await ensureHttpApi({ apigw2: c.apigw2, lambda: c.lambda }, { ...common, previousStage: known?.stage }, log)
    : await ensureApi({ apigw: c.apigw, lambda: c.lambda }, {
      ...common, endpointType: plan.api.endpointType, transferMode: plan.api.transferMode, binaryMediaTypes: plan.api.binaryMediaTypes,
    }, log);
  const url = invokeUrl({ endpoint: options.endpoint, region, apiId: api.apiId, stage: plan.api.stage });
  const directUrl = plan.api.directRoute ? `${url}direct` : null;

  const state: DeployState = {
    version: STATE_VERSION,
    updatedAt: new Date().toISOString(),
    namePrefix: options.namePrefix,
    endpoint: options.endpoint ?? null,
    region,
    account: identity.account,
    apiType: plan.api.type,
    apiId: api.apiId,
    apiName: plan.api.name,
    stage: plan.api.stage,
    invokeUrl: url,
    directUrl,
    resultsPath: plan.api.resultsPath ?? null,
    table: plan.table.name,
    tableArn: table.arn ?? plan.table.arn,
    functions,
    roles: Object.fromEntries(plan.roles.map((r) => [r.key, r.name])),
    managed: {
      functions: plan.functions.map((f) => f.key),
      roles: plan.roles.filter((r) => r.managed).map((r) => r.key),
    },
    permissions: api.permissions,
  };
  writeJson(options.stateFile, state);

  log('');
  log(`Invoke URL: ${url}`);
  if (directUrl) log(`Direct URL (Main without the kit): ${directUrl}`);
  if (plan.api.resultsPath) log(`Results route (open, signed links): ${url}${plan.api.resultsPath.slice(1)}/{id}`);
  log(`Try: curl -L "${url}?seconds=3"   (or open it in a browser)`);
  log(`State written to ${path.relative(process.cwd(), options.stateFile) || options.stateFile}`);
  return state;
}

/**
 * The whole destroy: removes what deploy created (found through the state file, or by name),
 * skipping what is already gone. With `dryRun`, prints the aws CLI commands and calls nothing.
 */
export async function runDestroy(options: DestroyOptions, { log = console.log, clients }: { log?: Log; clients?: Clients } = {}): Promise<void> {
  if (options.dryRun) {
    for (const line of destroyCommands(options)) log(line);
    return;
  }
  const raw = readState(options.stateFile, log);
  const state = stateMatches(raw, options) ? raw : null;
  if (raw && !state) log(`note: ${options.stateFile} describes another deployment (name prefix or endpoint differ); going by names`);

  const c = clients ?? makeClients({ ...options, region: options.region ?? state?.region });
  const region = options.region ?? state?.region ?? (await resolveRegion(c.sts));
  // checks the credentials before anything is deleted
  await resolveIdentity(c.sts, { local: options.local, region });
  const { names } = options;
  const gone = (deleted: boolean) => (deleted ? 'deleted' : 'already gone');

  // which parts deploy created: the state file knows; otherwise every name not given by flag
  const mainGiven = options.mainName !== undefined || (state !== null && !state.managed?.functions?.includes('main'));
  const allKeys: FunctionKey[] = ['proxy', 'talker', 'main'];
  const managedFunctions: FunctionKey[] = state?.managed?.functions ?? allKeys.filter((k) => k !== 'main' || !mainGiven);
  const managedRoles: FunctionKey[] = state?.managed?.roles ??
    allKeys.filter((k) => !options.givenRoles[k] && (k !== 'main' || !mainGiven));

  const restIds = new Set((await findRestApis(c.apigw, names.api)).map((a) => a.id));
  // An explicit --api-type http, or a state file that says http, needs apigatewayv2 to answer.
  const httpExpected = options.apiType === 'http' || state?.apiType === 'http';
  const httpIds = new Set((await findHttpApisIfServed(c.apigw2, names.api, options.local && !httpExpected,
    (err) => log(`note: ${options.endpoint ?? 'the endpoint'} does not serve HTTP APIs (${err.name}): none looked up`))).map((a) => a.id));
  if (state?.apiId) (state.apiType === 'http' ? httpIds : restIds).add(state.apiId);
  const apiIds = new Set([...restIds, ...httpIds]);
  if (mainGiven) {
    const mainName = options.mainName ?? state?.functions?.main?.name;
    if (mainName) {
      for (const apiId of apiIds) {
        if (await removePermission(c.lambda, mainName, permissionStatementId(apiId))) log(`permission ${permissionStatementId(apiId)} on ${mainName}: removed`);
      }
      log(`function ${mainName}: not created by deploy, kept`);
    }
  }
  if (apiIds.size === 0) log(`API ${names.api}: already gone`);
  for (const apiId of restIds) log(`API ${names.api} (${apiId}): ${gone(await deleteRestApi(c.apigw, apiId))}`);
  for (const apiId of httpIds) log(`HTTP API ${names.api} (${apiId}): ${gone(await deleteHttpApi(c.apigw2, apiId))}`);

  for (const key of managedFunctions) {
    const name = state?.functions?.[key]?.name ?? names.functions[key];
    log(`function ${name}: ${gone(await deleteFunction(c.lambda, name))}`);
  }
  for (const key of managedRoles) {
    const name = state?.roles?.[key] ?? names.roles[key];
    log(`role ${name}: ${gone(await deleteRole(c.iam, name))}`);
  }
  if (options.keepTable) log(`table ${names.table}: kept (--keep-table)`);
  else log(`table ${state?.table ?? names.table}: ${gone(await deleteTable(c.ddb, state?.table ?? names.table))}`);

  if (state) rmSync(options.stateFile, { force: true });
  log('destroyed');
}
