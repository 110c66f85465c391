import { quirkReports, type QuirkReport } from '../hardware/apply.js';
import { hardwareSearchPath, loadCatalog, pickHardware, type HardwareDescription } from '../hardware/catalog.js';
import { detect, type DetectReport } from '../hardware/detect.js';
import { readSysfs } from '../hardware/sysfs.js';
import { allowedSourceRoots, sourceRoots } from '../schema/host-files.js';

/** All hardware descriptions on the search path (user folders first, then the bundled ones). */
export function listHardware(dirs: readonly string[] = []): HardwareDescription[] {
  return loadCatalog(hardwareSearchPath(dirs), sourceRoots(undefined, allowedSourceRoots()));
}

/** One description and its quirks, gated against a kernel release when one is given. */
export function showHardware(
  id: string,
  dirs: readonly string[] = [],
  kernelVersion?: string,
): { description: HardwareDescription; quirks: QuirkReport[] } {
  const [description] = pickHardware(listHardware(dirs), [{ id }]);
  if (description === undefined) throw new Error(`pickHardware returned nothing for ${id}`);
  return { description, quirks: quirkReports([description], kernelVersion) };
}

/** `bootforge hardware detect`: a machine's sysfs (or a snapshot) against the descriptions on the search path. */
export function detectHardware(sysfs: string, dirs: readonly string[] = []): DetectReport {
  return detect(readSysfs(sysfs), listHardware(dirs));
}

/** The DMI fields descriptions match on (files of /sys/class/dmi/id). */
export { DMI_FIELDS } from '../hardware/match.js';
