/** The modification time written for every entry (1980-01-01 00:00:00 local fields). */
export declare const FIXED_MTIME: Date;
/** Unix regular file, mode 0644, as zip external attributes. */
export declare const FILE_ATTRIBUTES: number;
/** Builds a zip archive whose bytes depend only on the file names and contents. */
export declare function deterministicZip(
  files: Record<string, string | Uint8Array> | Array<{ name: string; data: string | Uint8Array }>,
): Uint8Array;
/** SHA-256 as lower-case hex. */
export declare function sha256Hex(bytes: Uint8Array): string;
/** SHA-256 as base64 (Lambda's CodeSha256). */
export declare function sha256Base64(bytes: Uint8Array): string;
