/**
 * Locates or builds the JavaScript file that execution environments run.
 *
 * The worker is written in TypeScript (`worker.ts`); a worker thread needs a
 * plain JavaScript entry, so it is bundled with esbuild when the stack
 * starts. A bundled copy of the stack can ship a prebuilt
 * `lambda-worker.cjs` next to itself instead (see {@link buildWorkerScript}).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** File name of a prebuilt worker next to the stack's code. */
export const PREBUILT_WORKER_NAME = 'lambda-worker.cjs';

/**
 * Bundles `worker.ts` into one CommonJS file.
 * @param outfile where to write it
 */
export async function buildWorkerScript(outfile: string): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const { build } = await import('esbuild');
  await build({
    entryPoints: [join(here, 'worker.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile,
    logLevel: 'silent',
  });
}

/**
 * The worker entry to use: a prebuilt one next to this module, or a fresh
 * bundle written under `scratchDir`.
 * @param scratchDir a directory the stack owns
 */
export async function workerScriptPath(scratchDir: string): Promise<string> {
  const here = dirname(fileURLToPath(import.meta.url));
  const prebuilt = join(here, PREBUILT_WORKER_NAME);
  if (existsSync(prebuilt)) return prebuilt;
  const out = join(scratchDir, PREBUILT_WORKER_NAME);
  await buildWorkerScript(out);
  return out;
}
