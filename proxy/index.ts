/**
 * The Proxy's Lambda entry point (`index.handler`).
 *
 * @module
 */
import { createProxyHandler } from './proxy';

/** The Proxy's Lambda handler, configured from the environment. */
export const handler = createProxyHandler();
