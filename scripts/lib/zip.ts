// Deterministic zip archives: the same files always give the same bytes.
import { createHash } from 'node:crypto';
import { zipSync, type ZipOptions } from 'fflate';

/**
 * The modification time written for every entry: 1980-01-01 00:00:00, the
 * earliest time a zip (DOS) timestamp can hold. fflate encodes the local-time
 * fields of the Date, so building it from local fields gives the same bytes in
 * every time zone.
 */
export const FIXED_MTIME = new Date(1980, 0, 1, 0, 0, 0);

/** Unix regular file, mode 0644 (rw-r--r--), in the upper 16 bits of the external attributes. */
export const FILE_ATTRIBUTES = (0o100644 << 16) >>> 0;

/** "Made by" operating system code for Unix (PKZIP APPNOTE 4.4.2.2), so that the attributes are read as Unix modes. */
const OS_UNIX = 3;

/**
 * Builds a zip archive whose bytes depend only on the file names and contents:
 * entries sorted by name, a fixed timestamp, fixed attributes, fixed
 * compression level.
 *
 * @param files - file name (forward slashes, no leading slash) to content; strings are written as UTF-8
 * @returns the archive
 */
export function deterministicZip(files: Record<string, string | Uint8Array> | Array<{ name: string; data: string | Uint8Array }>): Uint8Array {
  const list: Array<[string, string | Uint8Array]> = Array.isArray(files)
    ? files.map((f) => [f.name, f.data])
    : Object.entries(files);
  const seen = new Set<string>();
  for (const [name] of list) {
    if (typeof name !== 'string' || name === '' || name.startsWith('/') || name.includes('\\') || name.split('/').includes('..')) {
      throw new Error(`invalid zip entry name: ${JSON.stringify(name)}`);
    }
    if (seen.has(name)) throw new Error(`duplicate zip entry: ${name}`);
    seen.add(name);
  }
  list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const input: Record<string, [Uint8Array, ZipOptions]> = {};
  for (const [name, data] of list) {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    input[name] = [bytes, { level: 9, mtime: FIXED_MTIME, os: OS_UNIX, attrs: FILE_ATTRIBUTES }];
  }
  return zipSync(input);
}

/**
 * SHA-256 of some bytes, as lower-case hex (what `sha256sum` prints).
 */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * SHA-256 of some bytes, base64-encoded: the form of Lambda's `CodeSha256`.
 */
export function sha256Base64(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64');
}
