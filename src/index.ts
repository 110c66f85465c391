// bootforge as a library: what the CLI does, for scripts and test suites.
//   const { resolved } = resolve({ profile: 'profiles/minimal.yaml' });
//   const built = await build({ profile: resolved, source: openPackageSource(repoSettingsOf(resolved), {}, silentReporter) });
//   await bootTest({ image: built.image, profile: resolved, workDir: 'out/test' });
export { BootforgeError } from './errors/index.js';
export { silentReporter } from './log/events.js';
export { resolve } from './pipeline/resolve.js';
export { openPackageSource, repoSettingsOf } from './pipeline/packages.js';
export { build, type BuildManifest, type BuildOptions, type BuildResult } from './pipeline/build.js';
export {
  bootTest,
  BootTestError,
  installerKernel,
  readManifest,
  resolveAccel,
  type BootTestEvent,
  type BootTestOptions,
  type BootTestResult,
} from './pipeline/boot-test.js';
