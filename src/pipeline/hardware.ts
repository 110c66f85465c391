import { quirkReports, type QuirkReport } from '../hardware/apply.js';
import { hardwareSearchPath, loadCatalog, pickHardware, type HardwareDescription } from '../hardware/catalog.js';

/** All hardware descriptions on the search path (user folders first, then the bundled ones). */
export function listHardware(dirs: readonly string[] = []): HardwareDescription[] {
  return loadCatalog(hardwareSearchPath(dirs));
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
