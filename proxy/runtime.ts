/**
 * What every step of the Proxy shares: its parts (the {@link ProxyRuntime}, one per handler) and
 * the request being answered (the {@link ProxyCall}, one per invocation).
 *
 * @module
 */
import type { Clock } from '../core/clock';
import type { ProxyConfig } from '../core/config';
import { continuationLocation, type ContinuationMode } from '../core/continuation';
import type { IncomingRequest } from '../core/events';
import type { FunctionInvoker } from '../core/invoker';
import type { KitLogger } from '../core/logger';
import type { Preferences } from '../core/prefer';
import type { AnswerStyle, ProxyResponse } from '../core/responses';
import type { TaskStore } from '../core/task-store';
import type { Deadline } from './deadline';

/** The Proxy's parts, shared by every invocation of one handler. */
export interface ProxyRuntime {
  /** The validated configuration. */
  config: ProxyConfig;
  /** The task table. */
  store: TaskStore;
  /** Starts the Talker. */
  invoker: FunctionInvoker;
  /** Time. */
  clock: Clock;
  /** Logs (never a link's token). */
  logger: KitLogger;
  /** Makes RequestIDs. */
  newRequestId: () => string;
  /** Makes link tokens. */
  newToken: () => string;
}

/** The request being answered, and how. */
export interface ProxyCall {
  /** The request, read. */
  request: IncomingRequest;
  /** Its `Prefer` header. */
  prefs: Preferences;
  /** When the answer is due. */
  deadline: Deadline;
  /** Whether to answer with HTML (a browser navigating). */
  html: boolean;
}

/** A task as one caller may read it: its RequestID and the token of that caller's link. */
export interface TaskLink {
  /** The task's RequestID. */
  requestId: string;
  /** The link token this caller holds. */
  token: string;
}

/** Where the caller is in its chain: the hop count (for the browsers' redirect cap) and how it waits. */
export interface ChainPosition {
  /** How many 303s led here. */
  hop: number;
  /** `redirect` (303s) or `async` (202 polls). */
  mode: ContinuationMode;
}

/** Main's answer, passed on exactly as Main returned it: any JSON value. */
export type MainPayload = string | number | boolean | null | readonly MainPayload[] | { readonly [key: string]: MainPayload };

/**
 * What the Proxy answers: its own response (a 303, 202, page or error), or Main's payload, which
 * is passed on exactly as Main returned it.
 */
export type Answer = { own: ProxyResponse } | { main: MainPayload };

/**
 * How the Proxy's own answers to this call are dressed (content type, CORS, the RequestID).
 *
 * @param rt - the runtime
 * @param call - the call
 * @param requestId - the task the answer is about, if any
 */
export function answerStyle(rt: ProxyRuntime, call: ProxyCall, requestId?: string): AnswerStyle {
  const style: AnswerStyle = { html: call.html };
  if (requestId !== undefined) style.requestId = requestId;
  if (rt.config.corsAllowOrigin !== undefined) style.corsAllowOrigin = rt.config.corsAllowOrigin;
  return style;
}

/**
 * The relative Location of a continuation of `task` (signed when `SIGNING_SECRET` is set, on the
 * results path when `RESULTS_PATH` is).
 *
 * @param rt - the runtime
 * @param call - the call (its URL is what the Location is relative to)
 * @param task - the task and the caller's token
 * @param position - the next hop and the mode
 */
export function linkTo(rt: ProxyRuntime, call: ProxyCall, task: TaskLink, position: ChainPosition): string {
  const { config } = rt;
  const signing = config.signingKey
    ? { key: config.signingKey, expires: Math.floor(rt.clock.now() / 1000) + config.taskTtlSeconds }
    : undefined;
  const route = config.resultsPath !== undefined ? { resultsPath: config.resultsPath, from: call.request } : undefined;
  return continuationLocation({ requestId: task.requestId, token: task.token, hop: position.hop, mode: position.mode }, signing, route);
}
