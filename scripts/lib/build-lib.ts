// Bundling and zipping of the Lambda functions, as plain functions that the
// build and deploy scripts (and the tests) call.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { ExpectedError } from './cli';
import { deterministicZip, sha256Base64, sha256Hex } from './zip';

/** The functions of the kit, each a folder with an `index.ts` that exports `handler`. */
export const FUNCTIONS = Object.freeze(['proxy', 'talker', 'main-example']);

/** Largest zip the build accepts (1 MiB). */
export const MAX_ZIP_BYTES = 1024 * 1024;

/** Name of the notices file added to a zip when third-party code was bundled. */
export const LICENSES_FILE = 'THIRD-PARTY-LICENSES.txt';

/** An error the build expects (missing entry, zip too large): printed as one line, no stack. */
export class BuildError extends ExpectedError {
  constructor(message: string) {
    super(message);
    this.name = 'BuildError';
  }
}

/**
 * Where a function's entry and zip live.
 *
 * @param root - repository root
 * @param name - function folder name
 */
export function functionPaths(root: string, name: string): { entry: string; zipPath: string } {
  return {
    entry: path.join(root, name, 'index.ts'),
    zipPath: path.join(root, name, 'dist', 'deploy.zip'),
  };
}

/**
 * The package directory (relative path ending in the package name) of a bundled input path, or null
 * for the project's own files.
 *
 * @param input - an input path as esbuild's metafile names it
 */
export function packageDirOf(input: string): string | null {
  const norm = input.split(path.sep).join('/');
  const at = norm.lastIndexOf('node_modules/');
  if (at < 0) return null;
  const rest = norm.slice(at + 'node_modules/'.length).split('/');
  const nameParts = rest[0]?.startsWith('@') ? rest.slice(0, 2) : rest.slice(0, 1);
  if (nameParts.length === 0 || nameParts.some((p) => !p)) return null;
  return norm.slice(0, at + 'node_modules/'.length) + nameParts.join('/');
}

/**
 * Third-party notices for the packages in a bundle: packages grouped by identical license text,
 * each text written once. Returns null when no third-party package was bundled.
 *
 * @param root - directory the metafile paths are relative to
 * @param inputs - input paths from esbuild's metafile
 */
export function collectLicenses(root: string, inputs: string[]): string | null {
  const dirs = [...new Set(inputs.map(packageDirOf).filter((d) => d !== null))].sort();
  if (dirs.length === 0) return null;
  /** @type {Map<string, string[]>} license text -> package labels */
  const byText: Map<string, string[]> = new Map();
  for (const dir of dirs) {
    const abs = path.resolve(root, dir);
    let label = dir.slice(dir.lastIndexOf('node_modules/') + 'node_modules/'.length);
    let declared = 'UNKNOWN';
    try {
      const pkg = JSON.parse(readFileSync(path.join(abs, 'package.json'), 'utf8'));
      label = `${pkg.name}@${pkg.version}`;
      if (typeof pkg.license === 'string') declared = pkg.license;
    } catch {
      // a package without a readable package.json keeps its folder name
    }
    let text = `(no license file shipped; package.json declares: ${declared})`;
    const file = readdirSync(abs).filter((f) => /^(licen[cs]e|copying|notice)(\.|$)/i.test(f)).sort()[0];
    if (file) text = readFileSync(path.join(abs, file), 'utf8').replace(/\r\n/g, '\n').trim();
    const labels = byText.get(text) ?? [];
    labels.push(label);
    byText.set(text, labels);
  }
  const sections = [...byText.entries()]
    .map(([text, labels]) => ({ text, labels: [...new Set(labels)].sort() }))
    .sort((a, b) => ((a.labels[0] ?? '') < (b.labels[0] ?? '') ? -1 : 1))
    .map(({ text, labels }) => `${labels.join('\n')}\n\n${text}\n`);
  return `This bundle contains code from the following packages.\n\n${sections.join(`\n${'-'.repeat(72)}\n\n`)}`;
}

/**
 * The esbuild options of one function's bundle: CommonJS for Node 20+ (Lambda nodejs22.x and local
 * Node 20), minified, every dependency (AWS SDK v3 included) inside, `exports.handler` at `index.handler`.
 */
function bundleOptions(root: string, name: string, sourcemap: boolean): esbuild.BuildOptions & { metafile: true; write: false } {
  return {
    absWorkingDir: root,
    entryPoints: [functionPaths(root, name).entry],
    outfile: path.join(root, name, 'dist', 'index.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: sourcemap ? 'inline' : false,
    legalComments: 'none',
    charset: 'utf8',
    metafile: true,
    write: false,
    logLevel: 'silent',
  };
}

/** A function's bundle: its `index.js`, its third-party notices (null when none) and esbuild's warnings. */
export interface Bundle {
  /** The bundled `index.js`. */
  code: Uint8Array;
  /** The notices of the bundled packages, or null. */
  licenses: string | null;
  /** esbuild's warnings, one line each. */
  warnings: string[];
}

/** esbuild's failure as one BuildError line (the first error, with the count of the others). */
function buildFailure(name: string, err: unknown): unknown {
  const errors = (err as { errors?: Array<{ text: string, location?: { file: string, line: number } | null }> }).errors;
  if (!errors?.length) return err;
  const first = errors[0];
  const where = first?.location ? `${first.location.file}:${first.location.line}: ` : '';
  return new BuildError(`esbuild failed for ${name}: ${where}${first?.text}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}`);
}

/** A bundle from esbuild's result. */
function bundleOf(root: string, name: string, result: esbuild.BuildResult<{ metafile: true; write: false }>): Bundle {
  const out = result.outputFiles.find((f) => f.path.endsWith('index.js'));
  if (!out) throw new BuildError(`esbuild wrote no index.js for ${name}`);
  const warnings = result.warnings.map((w) => `${w.location ? `${w.location.file}:${w.location.line}: ` : ''}${w.text}`);
  const licenses = collectLicenses(root, Object.keys(result.metafile.inputs));
  return { code: out.contents, licenses, warnings };
}

/**
 * Bundles one function with esbuild (see the options above).
 */
export async function bundleFunction({ root, name, sourcemap = false }: { root: string; name: string; sourcemap?: boolean }): Promise<Bundle> {
  const { entry } = functionPaths(root, name);
  if (!existsSync(entry)) throw new BuildError(`${path.relative(root, entry)} not found`);
  let result;
  try {
    result = await esbuild.build(bundleOptions(root, name, sourcemap));
  } catch (err) {
    throw buildFailure(name, err);
  }
  return bundleOf(root, name, result);
}

/**
 * The same bundle, built synchronously: for the CDK construct, whose asset bundling cannot wait.
 */
export function bundleFunctionSync({ root, name, sourcemap = false }: { root: string; name: string; sourcemap?: boolean }): Bundle {
  const { entry } = functionPaths(root, name);
  if (!existsSync(entry)) throw new BuildError(`${path.relative(root, entry)} not found`);
  let result;
  try {
    result = esbuild.buildSync(bundleOptions(root, name, sourcemap));
  } catch (err) {
    throw buildFailure(name, err);
  }
  return bundleOf(root, name, result);
}

/**
 * Builds one function into `<name>/dist/deploy.zip` and describes the zip.
 */
export async function buildFunction({ root, name, sourcemap = false, maxBytes = MAX_ZIP_BYTES }: { root: string; name: string; sourcemap?: boolean; maxBytes?: number }): Promise<{ name: string; zipPath: string; bytes: number; sha256: string; codeSha256: string; warnings: string[] }> {
  const { code, licenses, warnings } = await bundleFunction({ root, name, sourcemap });
  const files: Record<string, Uint8Array | string> = { 'index.js': code };
  if (licenses) files[LICENSES_FILE] = licenses;
  const zip = deterministicZip(files);
  if (zip.length > maxBytes) {
    throw new BuildError(`${name}: deploy.zip is ${formatKB(zip.length)}, over the ${formatKB(maxBytes)} limit`);
  }
  const { zipPath } = functionPaths(root, name);
  mkdirSync(path.dirname(zipPath), { recursive: true });
  // write then rename, so that a reader never sees a half-written zip
  const tmp = `${zipPath}.${process.pid}.tmp`;
  writeFileSync(tmp, zip);
  renameSync(tmp, zipPath);
  return { name, zipPath, bytes: zip.length, sha256: sha256Hex(zip), codeSha256: sha256Base64(zip), warnings };
}

/**
 * Which functions to build: `only` when given (each must exist), otherwise every function whose
 * entry exists; the others are reported as skipped.
 */
export function selectFunctions(root: string, only: string[]): { build: string[]; skipped: string[] } {
  if (only && only.length > 0) {
    for (const name of only) {
      if (!FUNCTIONS.includes(name)) throw new BuildError(`unknown function "${name}" (expected one of ${FUNCTIONS.join(', ')})`);
      if (!existsSync(functionPaths(root, name).entry)) throw new BuildError(`${name}/index.ts not found`);
    }
    return { build: [...new Set(only)], skipped: [] };
  }
  const build = FUNCTIONS.filter((n) => existsSync(functionPaths(root, n).entry));
  const skipped = FUNCTIONS.filter((n) => !build.includes(n));
  if (build.length === 0) throw new BuildError(`no function to build: none of ${FUNCTIONS.map((n) => `${n}/index.ts`).join(', ')} exists`);
  return { build, skipped };
}

/**
 * A byte count in KB with one decimal, e.g. "12.3 KB".
 */
export function formatKB(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

/**
 * Newest modification time of the files under a folder, ignoring dist and node_modules.
 */
function newestUnder(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newestUnder(full) : statSync(full).mtimeMs);
  }
  return latest;
}

/**
 * Whether a function's zip is missing or older than its sources (its own folder or core/),
 * so that `npm start` and the browser suite build only when needed.
 *
 * @param root - the repository root
 */
export function zipsAreStale(root: string): boolean {
  const sources = Math.max(newestUnder(path.join(root, 'core')), ...FUNCTIONS.map((fn) => newestUnder(path.join(root, fn))));
  return FUNCTIONS.some((fn) => {
    const zip = path.join(root, fn, 'dist', 'deploy.zip');
    return !existsSync(zip) || statSync(zip).mtimeMs < sources;
  });
}
