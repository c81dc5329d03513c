/**
 * What the Lambda service's parts say to each other about functions and
 * invocations: the snapshot of a function an invocation runs, an
 * invocation's request and result, and the counters of the ops hooks.
 */

/** What an invocation needs to know about its function (a snapshot). */
export interface FunctionSpec {
  /** Function name. */
  functionName: string;
  /** Unqualified ARN. */
  functionArn: string;
  /** Code/configuration revision; environments of another revision are not reused. */
  revision: number;
  /** Unpacked code directory. */
  codeDir: string;
  /** Handler string. */
  handler: string;
  /** Timeout in seconds. */
  timeoutSeconds: number;
  /** Memory in MB. */
  memoryMb: number;
  /** Region. */
  region: string;
  /** Runtime name, e.g. nodejs20.x. */
  runtime: string;
  /** The function's own environment variables. */
  variables: Record<string, string>;
  /** Reserved concurrency, if set. */
  reservedConcurrency?: number;
  /** The credentials of a session of the function's execution role (dummy ones when absent). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken: string };
}

/** Invocations counted per function since the stack started (see `LambdaRuntime.counters()`). */
export interface FunctionCounters {
  /** Invocations that got an environment (synchronous and asynchronous attempts). */
  invocations: number;
  /** Of those, how many started a new environment. */
  coldStarts: number;
  /** Environments stopped through `LambdaRuntime.killEnvironments()`. */
  killed: number;
}

/** Which environments `LambdaRuntime.killEnvironments()` stops. */
export type KillWhich = 'busy' | 'idle' | 'all';

/** Where a streaming handler's response goes as it is written (InvokeWithResponseStream). */
export interface ResponseSink {
  /** The content type the handler set (before its first write). */
  contentType(type: string): void;
  /** One piece of the response, as the handler wrote it. */
  chunk(data: Buffer): void;
}

/** One invocation's request. */
export interface InvocationRequest {
  /** The awsRequestId. */
  requestId: string;
  /** Event JSON text. */
  payload: string;
  /** Decoded X-Amz-Client-Context, if any. */
  clientContext?: unknown;
  /**
   * Receives a streaming handler's response as it is written. Without one (a plain Invoke), the
   * response is buffered into {@link InvocationResult.body}.
   */
  sink?: ResponseSink;
}

/** What an invocation produced. */
export interface InvocationResult {
  /** The awsRequestId. */
  requestId: string;
  /** True when the handler returned a result. */
  ok: boolean;
  /** Result JSON text, or the error payload JSON text. */
  payload: string;
  /** The error type when not ok. */
  errorType?: string;
  /** True when the run was killed at its timeout. */
  timedOut: boolean;
  /** The invocation's log (its last part when long). */
  log: string;
  /** Run time in ms. */
  durationMs: number;
  /** True when a new environment was started for it. */
  coldStart: boolean;
  /** True when the handler is a streaming one (`awslambda.streamifyResponse`). */
  streamed?: boolean;
  /** The content type a streaming handler set. */
  contentType?: string;
  /** A streaming handler's response when there was no sink (a plain Invoke): the bytes it wrote. */
  body?: Buffer;
}

/** Execution environments alive now. */
export interface EnvironmentCounts {
  /** Waiting for an invocation. */
  idle: number;
  /** Starting or running an invocation. */
  busy: number;
}

/** What `LambdaRuntime.prewarm()` did. */
export interface PrewarmResult {
  /** Environments started and now idle. */
  started: number;
  /** Environments that failed to load the handler (stopped again). */
  failed: number;
  /** The first load failure, if any. */
  firstError?: string;
}
