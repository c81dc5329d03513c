import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { unzipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { deterministicZip, FILE_ATTRIBUTES, sha256Base64, sha256Hex } from '../../scripts/lib/zip';
import { collectLicenses, FUNCTIONS, functionPaths, LICENSES_FILE, MAX_ZIP_BYTES, packageDirOf } from '../../scripts/lib/build-lib';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..', '..');
const tsx = path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');

async function build(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [tsx, 'scripts/build.ts', ...args], { cwd: root, env: { ...process.env, FORCE_COLOR: '0' } });
}

function sha256OfFile(file: string): string {
  return sha256Hex(readFileSync(file));
}

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

describe('deterministicZip', () => {
  it('gives the same bytes for the same files, whatever order they are given in', () => {
    const a = deterministicZip({ 'index.js': 'exports.handler = 1;', 'b/notes.txt': 'hello' });
    const b = deterministicZip([
      { name: 'b/notes.txt', data: new TextEncoder().encode('hello') },
      { name: 'index.js', data: 'exports.handler = 1;' },
    ]);
    expect(sha256Hex(a)).toBe(sha256Hex(b));
  });

  it('gives different bytes when a file changes', () => {
    expect(sha256Hex(deterministicZip({ 'index.js': 'a' }))).not.toBe(sha256Hex(deterministicZip({ 'index.js': 'b' })));
  });

  it('writes the entries sorted by name, with the contents intact', () => {
    const zip = deterministicZip({ 'z.txt': 'last', 'a.txt': 'first', 'index.js': 'code' });
    const files = unzipSync(zip);
    expect(Object.keys(files)).toEqual(['a.txt', 'index.js', 'z.txt']);
    expect(new TextDecoder().decode(files['index.js'])).toBe('code');
  });

  it('stamps every entry 1980-01-01 00:00:00 with Unix mode 0644', () => {
    const zip = deterministicZip({ 'index.js': 'x' });
    const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
    // local file header: signature, then version(2) flags(2) method(2) time(2) date(2)
    expect(view.getUint32(0, true)).toBe(0x04034b50);
    expect(view.getUint16(10, true)).toBe(0); // 00:00:00
    expect(view.getUint16(12, true)).toBe((0 << 9) | (1 << 5) | 1); // 1980-01-01
    // central directory header: external attributes at offset 38
    let cd = zip.length - 22;
    cd = view.getUint32(cd + 16, true);
    expect(view.getUint32(cd, true)).toBe(0x02014b50);
    expect(view.getUint8(cd + 5)).toBe(3); // made by Unix
    expect(view.getUint32(cd + 38, true)).toBe(FILE_ATTRIBUTES);
    expect(FILE_ATTRIBUTES >>> 16).toBe(0o100644);
  });

  it('refuses duplicate and escaping entry names', () => {
    expect(() => deterministicZip([{ name: 'a', data: '1' }, { name: 'a', data: '2' }])).toThrow(/duplicate/);
    expect(() => deterministicZip({ '../evil': 'x' })).toThrow(/invalid/);
    expect(() => deterministicZip({ '/abs': 'x' })).toThrow(/invalid/);
  });

  it('gives the base64 sha256 that Lambda reports as CodeSha256', () => {
    expect(sha256Base64(new TextEncoder().encode('abc'))).toBe('ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=');
  });
});

describe('license notices', () => {
  it('finds the package folder of a bundled file, scoped or not', () => {
    expect(packageDirOf('node_modules/@aws-sdk/client-lambda/dist-es/index.js')).toBe('node_modules/@aws-sdk/client-lambda');
    expect(packageDirOf('node_modules/a/node_modules/tslib/tslib.es6.mjs')).toBe('node_modules/a/node_modules/tslib');
    expect(packageDirOf('core/config.ts')).toBeNull();
  });

  it('writes nothing when only the project\'s own files were bundled', () => {
    expect(collectLicenses(root, ['main-example/index.ts', 'main-example/main.ts'])).toBeNull();
  });

  it('writes each license text once with the packages that share it', () => {
    const text = collectLicenses(root, [
      'node_modules/fflate/lib/index.cjs',
      'node_modules/esbuild/lib/main.js',
    ]);
    expect(text).toMatch(/fflate@\d/);
    expect(text).toMatch(/esbuild@\d/);
    expect(text).toMatch(/MIT License|Permission is hereby granted/);
  });
});

describe('npm run build', () => {
  it('prints each zip with its path, size in KB and sha256', async () => {
    const { stdout } = await build('--only', 'main-example');
    expect(stdout).toMatch(/^main-example\/dist\/deploy\.zip {2}\d+\.\d KB {2}sha256 [0-9a-f]{64}$/m);
  });

  it('gives byte-identical zips when run twice on the same source', async () => {
    const zipPath = functionPaths(root, 'main-example').zipPath;
    await build('--only', 'main-example');
    const first = sha256OfFile(zipPath);
    await build('--only', 'main-example');
    expect(sha256OfFile(zipPath)).toBe(first);
  });

  it('builds every function present, each twice to the same sha256 and under 1 MB', async () => {
    const present = FUNCTIONS.filter((fn) => existsSync(functionPaths(root, fn).entry));
    const first = await build();
    const hashes = Object.fromEntries(present.map((fn) => [fn, sha256OfFile(functionPaths(root, fn).zipPath)]));
    await build();
    for (const fn of present) {
      const zipPath = functionPaths(root, fn).zipPath;
      expect(sha256OfFile(zipPath), fn).toBe(hashes[fn]);
      expect(readFileSync(zipPath).length, fn).toBeLessThan(MAX_ZIP_BYTES);
      expect(first.stdout).toContain(`${fn}/dist/deploy.zip`);
    }
    for (const fn of FUNCTIONS.filter((f) => !present.includes(f))) {
      expect(first.stderr).toContain(`skipped ${fn}`);
    }
  }, 120_000);

  it('writes a zip whose index.js loads on this Node and exports the handler (index.handler)', async () => {
    await build('--only', 'main-example');
    const files = unzipSync(readFileSync(functionPaths(root, 'main-example').zipPath));
    expect(Object.keys(files)).toContain('index.js');
    expect(Object.keys(files)).not.toContain(LICENSES_FILE); // main-example bundles no third-party code
    const dir = mkdtempSync(path.join(tmpdir(), 'main-example-zip-'));
    scratch.push(dir);
    writeFileSync(path.join(dir, 'index.js'), files['index.js']!);
    const mod = createRequire(path.join(dir, 'x.js'))(path.join(dir, 'index.js')) as {
      handler: (event: unknown, context: unknown) => Promise<{ statusCode: number; body: string }>;
    };
    expect(typeof mod.handler).toBe('function');
    const response = await mod.handler(
      { httpMethod: 'GET', path: '/zip', queryStringParameters: { seconds: '0' }, headers: {}, body: null, isBase64Encoded: false },
      { awsRequestId: 'from-zip', getRemainingTimeInMillis: () => 30_000 },
    );
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ path: '/zip', awsRequestId: 'from-zip' });
  });

  it('refuses an unknown function and an unknown flag with one line and exit code 1', async () => {
    for (const args of [['--only', 'nope'], ['--bogus']]) {
      const err = (await build(...args).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      ));
      expect(err.code).toBe(1);
      expect(err.stderr.trim().split('\n')).toHaveLength(1);
      expect(err.stderr).not.toMatch(/at .*\.[mc]?[jt]s:\d+/);
    }
  });
});
