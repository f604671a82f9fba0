import { createRequire } from 'node:module';

export type Uws = typeof import('uWebSockets.js');

/** Path of the native binding for this platform, architecture and Node ABI, as the package names it. */
export const NATIVE_BINDING = `uWebSockets.js/binaries/uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;

let loaded: Uws | undefined;

/**
 * Loads uWebSockets.js's native binding directly. The package's own entry
 * point quietly swaps in a slow pure-JS emulation when the binding fails to
 * load; a stream server on that emulation would meet none of its numbers, so
 * we refuse to start instead.
 */
export function loadUws(): Uws {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  try {
    loaded = require(NATIVE_BINDING) as Uws;
  } catch (error) {
    throw new Error(
      `the uWebSockets.js native binding ${NATIVE_BINDING} did not load (${(error as Error).message}); ` +
        'the stream server needs it and will not run on a JS emulation. Reinstall dependencies on a supported ' +
        'platform (Linux/macOS/Windows, x64/arm64, Node 20) or check that glibc is recent enough.',
      { cause: error },
    );
  }
  return loaded;
}

/** The file the native binding was loaded from, for the test that proves we run native. */
export function nativeBindingPath(): string {
  return createRequire(import.meta.url).resolve(NATIVE_BINDING);
}
