/**
 * The Talker's Lambda entry point (`index.handler`).
 *
 * @module
 */
import { createTalkerHandler } from './talker';

/** The Talker's Lambda handler, configured from the environment. */
export const handler = createTalkerHandler();
