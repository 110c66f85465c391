import { execFileSync } from 'node:child_process';

/** Whether a host tool runs (`<tool> --version` exits 0); tests that cross-check with it skip otherwise. */
export function toolRuns(tool: string, args: readonly string[] = ['--version']): boolean {
  try {
    execFileSync(tool, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
