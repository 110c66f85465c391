// What the CLI may call for initrds: the build, and reading one back.
export { buildInitrd, type InitrdArtifact, type InitrdBuildOptions } from './initrd.js';
export { inspectInitrdFile, type InitrdInfo } from '../initrd/inspect.js';
