// Types of prebuilds.mjs, for the tests that import it.
export interface PrebuildTarget {
  platform: 'linux' | 'darwin';
  arch: 'x64' | 'arm64';
  libc: 'glibc' | 'musl';
  /** The path under the package root that src/native/binding.ts looks for. */
  file: string;
  summary: string;
  here(): boolean;
}
export const prebuildTargets: PrebuildTarget[];
export function checkPrebuild(root: string, target: PrebuildTarget): string | undefined;
export function libcHere(): 'glibc' | 'musl';
