/**
 * The `Prefer` request header (RFC 7240): `respond-async` and `wait=N`.
 *
 * @module
 */
import { headerValue, type IncomingRequest } from './events';

/** The preferences the Proxy understands. */
export interface Preferences {
  /** The client wants `202 Accepted` at once instead of waiting. */
  respondAsync: boolean;
  /** The client wants to wait at most this many seconds. */
  waitSeconds?: number;
}

/**
 * Reads the `Prefer` header(s). Unknown preferences and malformed values are ignored, as the
 * RFC asks.
 *
 * @param request - the request
 */
export function readPreferences(request: IncomingRequest): Preferences {
  const values = request.headers.get('prefer') ?? (headerValue(request, 'prefer') ? [headerValue(request, 'prefer') as string] : []);
  const prefs: Preferences = { respondAsync: false };
  for (const token of values.join(',').split(',')) {
    const [pair = ''] = token.split(';');
    const [rawName = '', rawValue] = pair.split('=');
    const name = rawName.trim().toLowerCase();
    const value = rawValue?.trim().replace(/^"|"$/g, '');
    if (name === 'respond-async') prefs.respondAsync = true;
    else if (name === 'wait' && value !== undefined && /^\d{1,6}$/.test(value)) prefs.waitSeconds = Number(value);
  }
  return prefs;
}
