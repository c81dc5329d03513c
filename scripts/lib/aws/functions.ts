// The functions: created or updated from their zips, or deleted.
import type { Architecture, LambdaClient, Runtime } from '@aws-sdk/client-lambda';
import { CreateFunctionCommand, DeleteFunctionCommand, DeleteFunctionEventInvokeConfigCommand, GetFunctionCommand,
  PutFunctionEventInvokeConfigCommand, UpdateFunctionCodeCommand, UpdateFunctionConfigurationCommand, waitUntilFunctionActiveV2,
  waitUntilFunctionUpdatedV2, type FunctionConfiguration,
} from '@aws-sdk/client-lambda';
import { ExpectedError } from '../cli';
import { sortKeys, type FunctionPlan } from '../deploy-plan';
import { DESCRIPTION, deleteIfPresent, isNotFound, type Log } from './clients';
import { withRolePropagation } from './roles';

/** Waiter settings for functions: first check at once, then every 1 to 5 s, for up to 5 minutes. */
const FUNCTION_WAIT = { maxWaitTime: 300, minDelay: 1, maxDelay: 5 };

function sameEnv(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  return JSON.stringify(sortKeys(a ?? {})) === JSON.stringify(sortKeys(b));
}

/**
 * What differs between a deployed function's configuration and the plan.
 *
 * @param current - GetFunction's Configuration
 * @returns names of the settings that differ
 */
export function configurationDiff(current: FunctionConfiguration, fn: FunctionPlan): string[] {
  const diff: string[] = [];
  if (current.Role !== fn.roleArn) diff.push('role');
  if (current.Runtime !== fn.runtime) diff.push('runtime');
  if (current.Handler !== fn.handler) diff.push('handler');
  if (current.Timeout !== fn.timeout) diff.push('timeout');
  if (current.MemorySize !== fn.memory) diff.push('memory');
  if (current.TracingConfig?.Mode !== 'Active') diff.push('tracing');
  if (!sameEnv(current.Environment?.Variables, fn.environment)) diff.push('environment');
  return diff;
}

/**
 * Creates a function from its zip, or updates an existing one: the code only when the zip's
 * sha256 differs from the deployed CodeSha256 (or the architecture changed), the configuration
 * only when it differs. Waits until the function is Active and its last update Successful.
 */
export async function ensureFunction(lambda: LambdaClient, fn: FunctionPlan, zip: { bytes: Uint8Array; codeSha256: string }, { local, log }: { local: boolean; log: Log }): Promise<{ arn: string; created: boolean; codeUpdated: boolean; configUpdated: boolean }> {
  let current;
  try {
    current = (await lambda.send(new GetFunctionCommand({ FunctionName: fn.name }))).Configuration;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const settings = {
    Role: fn.roleArn,
    Runtime: fn.runtime as Runtime,
    Handler: fn.handler,
    Timeout: fn.timeout,
    MemorySize: fn.memory,
    TracingConfig: { Mode: ('Active' as const) },
    Environment: { Variables: fn.environment },
  };
  if (!current) {
    const out = await withRolePropagation(() => lambda.send(new CreateFunctionCommand({
      FunctionName: fn.name,
      ...settings,
      Code: { ZipFile: zip.bytes },
      Architectures: [fn.architecture as Architecture],
      PackageType: 'Zip',
      Description: `${DESCRIPTION}: ${fn.key}`,
    })), { local, log });
    await waitUntilFunctionActiveV2({ client: lambda, ...FUNCTION_WAIT }, { FunctionName: fn.name });
    log(`function ${fn.name}: created`);
    return { arn: out.FunctionArn ?? fn.arn, created: true, codeUpdated: true, configUpdated: true };
  }

  const waitUpdated = () => waitUntilFunctionUpdatedV2({ client: lambda, ...FUNCTION_WAIT }, { FunctionName: fn.name });
  if (current.State === 'Pending' || current.LastUpdateStatus === 'InProgress') await waitUpdated();

  const deployedArch = current.Architectures?.[0] ?? 'x86_64';
  const codeUpdated = current.CodeSha256 !== zip.codeSha256 || deployedArch !== fn.architecture;
  if (codeUpdated) {
    await lambda.send(new UpdateFunctionCodeCommand({
      FunctionName: fn.name,
      ZipFile: zip.bytes,
      Architectures: [fn.architecture as Architecture],
    }));
    await waitUpdated();
  }
  const diff = configurationDiff(current, fn);
  if (diff.length > 0) {
    await withRolePropagation(() => lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: fn.name, ...settings })), { local, log });
    await waitUpdated();
  }
  log(`function ${fn.name}: code ${codeUpdated ? 'updated' : 'unchanged, skipped'}; configuration ${diff.length > 0 ? `updated (${diff.join(', ')})` : 'unchanged'}`);
  return { arn: current.FunctionArn ?? fn.arn, created: false, codeUpdated, configUpdated: diff.length > 0 };
}

/**
 * The ARN of an existing function (the `--main-name` Main); a clear error when it is not there.
 */
export async function existingFunctionArn(lambda: LambdaClient, name: string): Promise<string> {
  try {
    const out = await lambda.send(new GetFunctionCommand({ FunctionName: name }));
    return out.Configuration?.FunctionArn ?? name;
  } catch (err) {
    if (isNotFound(err)) throw new ExpectedError(`--main-name: no function named ${name} in this account and region`);
    throw err;
  }
}

/**
 * Sets a function's asynchronous invocation settings (Talker: 0 retries, so Main never runs twice).
 */
export async function putEventInvokeConfig(lambda: LambdaClient, name: string, config: { MaximumRetryAttempts: number }, log: Log): Promise<void> {
  await lambda.send(new PutFunctionEventInvokeConfigCommand({ FunctionName: name, ...config }));
  log(`function ${name}: async retries ${config.MaximumRetryAttempts}`);
}

/**
 * Deletes a function and its event invoke config.
 *
 * @returns false when it was already gone
 */
export async function deleteFunction(lambda: LambdaClient, name: string): Promise<boolean> {
  await deleteIfPresent(() => lambda.send(new DeleteFunctionEventInvokeConfigCommand({ FunctionName: name })));
  return deleteIfPresent(() => lambda.send(new DeleteFunctionCommand({ FunctionName: name })));
}
