import { describe, expect, it } from 'vitest';
import { readRequest } from '../../core/events';
import { readPreferences } from '../../core/prefer';
import { restEvent } from '../support/events';

const prefs = (...values: string[]) => readPreferences(readRequest(restEvent({ url: 'https://h/x', headers: values.length ? { Prefer: values } : {} })));

describe('readPreferences (RFC 7240)', () => {
  it('reads respond-async and wait=N, in any case and order, across repeated headers', () => {
    expect(prefs()).toEqual({ respondAsync: false });
    expect(prefs('respond-async')).toEqual({ respondAsync: true });
    expect(prefs('wait=5')).toEqual({ respondAsync: false, waitSeconds: 5 });
    expect(prefs('WAIT=7, Respond-Async')).toEqual({ respondAsync: true, waitSeconds: 7 });
    expect(prefs('respond-async', 'wait=3')).toEqual({ respondAsync: true, waitSeconds: 3 });
  });

  it('accepts a quoted value and ignores parameters after a semicolon', () => {
    expect(prefs('wait="9"')).toEqual({ respondAsync: false, waitSeconds: 9 });
    expect(prefs('wait=4; foo=bar')).toEqual({ respondAsync: false, waitSeconds: 4 });
  });

  it('ignores unknown preferences and malformed waits, as the RFC asks', () => {
    expect(prefs('return=minimal, handling=lenient')).toEqual({ respondAsync: false });
    for (const bad of ['wait', 'wait=', 'wait=-1', 'wait=1.5', 'wait=soon', 'wait=1234567']) expect(prefs(bad)).toEqual({ respondAsync: false });
  });

  it('takes the last wait when several are given', () => {
    expect(prefs('wait=1, wait=2')).toEqual({ respondAsync: false, waitSeconds: 2 });
  });
});
