// Lambda code of the kit's functions, bundled at synth time with the build script's own esbuild
// options (no Docker: esbuild runs in-process).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { bundleFunctionSync, LICENSES_FILE } from '../scripts/lib/build-lib';

/** The repository root: the folder that holds proxy/, talker/ and main-example/. */
export const KIT_ROOT: string = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The kit's function folders the construct bundles. */
export type KitFunctionFolder = 'proxy' | 'talker' | 'main-example';

/**
 * The code of one of the kit's functions: `index.js` (and the third-party notices) bundled from
 * `<folder>/index.ts` by esbuild, the same bundle `npm run build` zips. The asset's hash is the
 * bundle's, so a change in core/ gives a new asset too.
 *
 * @param folder - proxy, talker or main-example
 * @param root - the repository root (default: this checkout)
 */
export function kitFunctionCode(folder: KitFunctionFolder, root: string = KIT_ROOT): lambda.Code {
  return lambda.Code.fromAsset(path.join(root, folder), {
    assetHashType: AssetHashType.OUTPUT,
    exclude: ['dist', 'node_modules'],
    bundling: {
      // Only used if local bundling declined, which it never does; CDK requires an image.
      image: DockerImage.fromRegistry('public.ecr.aws/sam/build-nodejs22.x'),
      local: {
        tryBundle(outputDir: string): boolean {
          const { code, licenses } = bundleFunctionSync({ root, name: folder });
          mkdirSync(outputDir, { recursive: true });
          writeFileSync(path.join(outputDir, 'index.js'), code);
          if (licenses) writeFileSync(path.join(outputDir, LICENSES_FILE), licenses);
          return true;
        },
      },
    },
  });
}
