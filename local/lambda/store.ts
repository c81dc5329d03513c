/**
 * The Lambda function store: every function's configuration, code,
 * permissions, event invoke config, concurrency and tags. The operations
 * (`provider.ts`), Invoke, the async queue, API Gateway and the ops hooks
 * all read functions here; only the provider changes them.
 */
import { functionNotFound } from './errors';
import { functionArn, parseFunctionRef } from './functions';
import type { FunctionSpec } from './types';

/** Event invoke configuration (async retries and event age). */
export interface EventInvokeConfig {
  /** 0..2 */
  MaximumRetryAttempts?: number;
  /** 60..21600 */
  MaximumEventAgeInSeconds?: number;
  /** Recorded only. */
  DestinationConfig?: unknown;
  /** Epoch seconds. */
  LastModified: number;
}

/** One function as the store keeps it. */
export interface FunctionRecord {
  /** The configuration as GetFunctionConfiguration answers it. */
  config: Record<string, unknown> & {
    FunctionName: string;
    FunctionArn: string;
    Handler: string;
    Timeout: number;
    MemorySize: number;
    Runtime: string;
    Environment?: { Variables?: Record<string, string> };
    RevisionId: string;
  };
  /** Region of the function's ARN. */
  region: string;
  /** The zip as uploaded. */
  zip: Uint8Array;
  /** Directory holding the unpacked code. */
  codeDir: string;
  /** Changes whenever code or configuration changes: environments of an older revision are not reused. */
  revision: number;
  /** Resource policy statements. */
  policy: Record<string, unknown>[];
  /** Event invoke config, if any was put. */
  eventInvokeConfig?: EventInvokeConfig;
  /** Reserved concurrency, if set. */
  reservedConcurrency?: number;
  /** Tags. */
  tags: Record<string, string>;
  /** The timer that ends the function's creation or its last update, while one is under way. */
  settling?: NodeJS.Timeout;
  /** The credentials of a session of its execution role, which its environments get. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
}

/** The functions of the stack, by name. */
export class FunctionStore {
  private readonly byName = new Map<string, FunctionRecord>();

  /** How many functions exist. */
  get size(): number {
    return this.byName.size;
  }

  /**
   * A function by its exact name.
   * @param name the function name
   */
  get(name: string): FunctionRecord | undefined {
    return this.byName.get(name);
  }

  /**
   * Whether a function of this name exists.
   * @param name the function name
   */
  has(name: string): boolean {
    return this.byName.has(name);
  }

  /**
   * Adds a new function.
   * @param record the function
   */
  add(record: FunctionRecord): void {
    this.byName.set(record.config.FunctionName, record);
  }

  /**
   * Removes a function.
   * @param name the function name
   */
  delete(name: string): void {
    this.byName.delete(name);
  }

  /** Every function, sorted by name (ListFunctions' order). */
  list(): FunctionRecord[] {
    return [...this.byName.values()].sort((a, b) => a.config.FunctionName.localeCompare(b.config.FunctionName));
  }

  /** The size of every function's zip together (GetAccountSettings' TotalCodeSize). */
  totalCodeSize(): number {
    let total = 0;
    for (const fn of this.byName.values()) total += fn.zip.length;
    return total;
  }

  /**
   * Finds a function by name or ARN, as Lambda's operations do (only `$LATEST` exists);
   * throws ResourceNotFoundException otherwise.
   * @param ref name, ARN or partial ARN
   * @param qualifier optional qualifier
   * @param region region for the error message
   */
  find(ref: string, qualifier: string | undefined, region: string): FunctionRecord {
    const parsed = parseFunctionRef(ref);
    const q = qualifier ?? parsed.qualifier;
    const fn = this.byName.get(parsed.name);
    if (!fn || (q !== undefined && q !== '$LATEST')) {
      throw functionNotFound(functionArn(fn?.region ?? region, parsed.name) + (q ? `:${q}` : ''));
    }
    return fn;
  }

  /**
   * A snapshot of what an invocation needs, by function name.
   * @param name the function name
   */
  specOf(name: string): FunctionSpec | undefined {
    const fn = this.byName.get(name);
    return fn && functionSpec(fn);
  }
}

/**
 * A snapshot of what an invocation needs of a function.
 * @param fn the function
 */
export function functionSpec(fn: FunctionRecord): FunctionSpec {
  const spec: FunctionSpec = {
    functionName: fn.config.FunctionName,
    functionArn: fn.config.FunctionArn,
    revision: fn.revision,
    codeDir: fn.codeDir,
    handler: fn.config.Handler,
    timeoutSeconds: fn.config.Timeout,
    memoryMb: fn.config.MemorySize,
    region: fn.region,
    runtime: fn.config.Runtime,
    variables: fn.config.Environment?.Variables ?? {},
  };
  if (fn.reservedConcurrency !== undefined) spec.reservedConcurrency = fn.reservedConcurrency;
  if (fn.credentials !== undefined) spec.credentials = fn.credentials;
  return spec;
}
