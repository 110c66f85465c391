// bootforge as a library: what the CLI does, for scripts and test suites (docs/library.md).
//   const { resolved } = resolve({ profile: 'profiles/minimal.yaml' });
//   const built = await build({ profile: resolved, source: openPackageSource(repoSettingsOf(resolved), {}, silentReporter) });
//   await bootTest({ image: built.image, profile: resolved, workDir: 'out/test' });
//   await flash({ image: built.image, targets: ['/dev/sdb'] });   // the same safety checks as the CLI

// Errors: one type, a permanent code from the catalogue (docs/troubleshooting.md).
export { BootforgeError, CATALOGUE, type CatalogueEntry, type ErrorCode } from './errors/index.js';

// Progress: long calls take a Reporter and emit events; these are the CLI's own reporters.
export { RecordingReporter, silentReporter, type BuildEvent, type Reporter } from './log/events.js';
export { JsonReporter, PlainReporter, QuietReporter } from './log/reporters.js';
export { TtyReporter, type TtyOptions } from './log/tty-reporter.js';
export { startTask, tracked, type ProgressTask } from './log/progress.js';

// Profile and packages.
export type { ResolvedProfile } from './profile/resolve.js';
export { resolve, resolveForKernel, type ResolveOptions } from './pipeline/resolve.js';
export { openPackageSource, repoSettingsOf } from './pipeline/packages.js';

// Build, update bundles, SBOM, inspect.
export { build, type BuildManifest, type BuildOptions, type BuildResult } from './pipeline/build.js';
export { bundle, type BundleOptions, type BundleResult } from './pipeline/bundle.js';
export { makeSbom, debPurl, SBOM_FILE, type SbomInput } from './pipeline/sbom.js';
export { inspectFile, type InspectReport, type DiskImageReport } from './pipeline/inspect.js';

// Boot tests and interactive VMs.
export {
  bootTest,
  BootTestError,
  bootTestBuildEvents,
  installerKernel,
  installerLineEvents,
  parseInstallerLine,
  probeAccel,
  readManifest,
  resolveAccel,
  testCases,
  type BootTestEvent,
  type BootTestOptions,
  type BootTestResult,
  type BootTestTimeouts,
  type InstallerLine,
  type TestShell,
} from './pipeline/boot-test.js';
export {
  vm,
  planVm,
  targetInstalled,
  holdsInstalledSystem,
  DEFAULT_VM_DISK_SIZE,
  VM_QUIT_HELP,
  type DiskFormat,
  type VmOptions,
  type VmPlan,
  type VmResult,
} from './pipeline/vm.js';

// Writing images to sticks.
export {
  flash,
  type FlashOptions,
  type FlashResult,
  type FlashSystem,
  type FlashTarget,
  type FlashTargetResult,
  type VerifySource,
} from './pipeline/flash.js';
