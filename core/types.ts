/**
 * The types of the events and of the Talker's payload. The task's own types live with the store
 * (`task-store.ts`).
 *
 * @module
 */
import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';

/** An API Gateway proxy event in either payload format: REST (1.0) or HTTP API (2.0). */
export type ApiGatewayEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2;

/** The payload format version of an API Gateway event. */
export type PayloadFormat = '1.0' | '2.0';

/**
 * What the Proxy sends to the Talker, with a synchronous (`RequestResponse`) or an asynchronous
 * (`Event`) invoke.
 *
 * `event` is the original API Gateway event, unchanged: Main receives exactly it.
 */
export interface TalkerPayload {
  /** The task's RequestID (a random UUID). */
  requestId: string;
  /** The original API Gateway event. */
  event: ApiGatewayEvent;
  /**
   * Set by a Proxy that waits for the Talker's answer (a synchronous invoke): the Talker then
   * also returns Main's response in its answer, when it fits, besides storing it.
   */
  returnResult?: true;
  /**
   * Set by a Proxy that reads a result kept in the task's own row (`TaskStatusView.result`): the
   * Talker then keeps a small result there. Without it (a payload from an older Proxy, which
   * reads only a result stored apart) every result is stored apart.
   */
  inlineResult?: true;
}
