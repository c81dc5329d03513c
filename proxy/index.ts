/**
 * The Proxy's Lambda entry points: `index.handler` for buffered integrations, and
 * `index.streamHandler` for REST integrations with `responseTransferMode: STREAM`. One zip holds
 * both; only the one Lambda was told to call (`_HANDLER`) is built, so that its configuration is
 * read, and checked at cold start, for its own mode.
 *
 * @module
 */
import { createProxyHandler, type ProxyHandler } from './proxy';
import { createProxyStreamHandler, type AwsLambdaGlobal, type StreamingProxyHandler } from './stream';

declare const awslambda: AwsLambdaGlobal | undefined;

const streaming = (process.env._HANDLER ?? '').endsWith('.streamHandler');

function buildStreamHandler(): StreamingProxyHandler {
  if (typeof awslambda === 'undefined') {
    throw new Error('index.streamHandler needs the awslambda global of Lambda\'s Node.js runtime (response streaming); use index.handler for a buffered integration');
  }
  return awslambda.streamifyResponse(createProxyStreamHandler(awslambda.HttpResponseStream));
}

/** The Proxy's buffered handler, configured from the environment (undefined in a streaming deployment). */
export const handler: ProxyHandler | undefined = streaming ? undefined : createProxyHandler();

/** The Proxy's streaming handler (undefined in a buffered deployment). */
export const streamHandler: StreamingProxyHandler | undefined = streaming ? buildStreamHandler() : undefined;
