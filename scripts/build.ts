#!/usr/bin/env -S npx tsx
// npm run build: bundles proxy, talker and main-example with esbuild and writes one deterministic
// <fn>/dist/deploy.zip each (handler index.handler).
//
//   zx scripts/build.ts [--only name]... [--sourcemap]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildFunction, formatKB, FUNCTIONS, MAX_ZIP_BYTES, selectFunctions } from './lib/build-lib';
import { parseFlags, runMain, scriptArgs } from './lib/cli';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const USAGE = `Usage: npm run build -- [--only NAME]... [--sourcemap]

Bundles each function (${FUNCTIONS.join(', ')}) with esbuild into <fn>/dist/deploy.zip
(CommonJS, Node 20+, minified, AWS SDK included, handler index.handler).
Two builds of the same source give byte-identical zips; each must stay under ${formatKB(MAX_ZIP_BYTES)}.

  --only NAME    build only this function (repeatable)
  --sourcemap    inline a source map (bigger zips)
  --help         this text`;

await runMain('build', async () => {
  const flags = parseFlags(scriptArgs(import.meta.url), { string: ['only'], boolean: ['sourcemap', 'help'], alias: { h: 'help' } });
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  const only = flags.only === undefined ? [] : [flags.only].flat().flatMap((s) => String(s).split(',')).filter(Boolean);
  const { build, skipped } = selectFunctions(root, only);
  for (const name of skipped) console.warn(`skipped ${name}: ${name}/index.ts not found`);
  for (const name of build) {
    const r = await buildFunction({ root, name, sourcemap: Boolean(flags.sourcemap) });
    for (const w of r.warnings) console.warn(`${name}: warning: ${w}`);
    console.log(`${path.relative(process.cwd(), r.zipPath)}  ${formatKB(r.bytes)}  sha256 ${r.sha256}`);
  }
});
