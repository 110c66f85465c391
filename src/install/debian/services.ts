/**
 * The enabled units of a systemd system: what the maintainer scripts enable
 * (deb-systemd-helper enable, systemctl enable), then the profile's
 * services.enable and services.disable, applied like systemctl enable and
 * systemctl disable would be.
 */
import { BootforgeError } from '../../errors/index.js';
import { didYouMean } from '../../schema/suggest.js';
import type { UnitRequest } from './scripts/context.js';
import { enableLinks, isUnitName, splitName, type UnitLookup } from './units.js';

export const HELPER_STATE = '/var/lib/systemd/deb-systemd-helper-enabled';
const SYSTEM_CONFIG = '/etc/systemd/system';
const USER_CONFIG = '/etc/systemd/user';

export interface ServicesInput {
  readonly requests: readonly UnitRequest[];
  readonly enable: readonly string[];
  readonly disable: readonly string[];
  readonly system: UnitLookup;
  readonly user: UnitLookup;
  /** Every system unit name there is, for "did you mean". */
  readonly systemUnits: readonly string[];
}

export interface ServicesResult {
  readonly links: { path: string; target: string }[];
  /** deb-systemd-helper's state: <unit>.dsh-also and an empty file per link it made. */
  readonly helperState: Map<string, string>;
  readonly notes: { package: string; message: string }[];
}

/** A profile's service name as a unit name: "ssh" is "ssh.service". */
export function unitName(name: string): string {
  return isUnitName(name) ? name : `${name}.service`;
}

export function serviceLinks(input: ServicesInput): ServicesResult {
  const links = new Map<string, string>();
  const helperState = new Map<string, string>();
  const notes: { package: string; message: string }[] = [];
  for (const r of input.requests) {
    const result = enableLinks(r.unit, r.user ? input.user : input.system, r.user ? USER_CONFIG : SYSTEM_CONFIG);
    for (const w of result.warnings) notes.push({ package: r.package, message: `enable ${r.unit}: ${w}` });
    for (const l of result.links) links.set(l.path, l.target);
    if (r.viaHelper && !r.user && result.links.length > 0) {
      helperState.set(`${HELPER_STATE}/${r.unit}.dsh-also`, result.links.map((l) => `${l.path}\n`).join(''));
      for (const l of result.links) helperState.set(`${HELPER_STATE}/${l.path.slice(SYSTEM_CONFIG.length + 1)}`, '');
    }
  }

  const unknown: string[] = [];
  const exists = (unit: string) => {
    const parsed = splitName(unit);
    return parsed !== undefined && (input.system(unit) !== undefined || input.system(parsed.template) !== undefined);
  };
  for (const raw of input.enable) {
    const unit = unitName(raw);
    if (!exists(unit)) {
      unknown.push(raw);
      continue;
    }
    const result = enableLinks(unit, input.system, SYSTEM_CONFIG);
    if (result.links.length === 0) {
      notes.push({
        package: 'profile',
        message: `services.enable ${raw}: ${unit} has no [Install] section; it starts when another unit needs it`,
      });
    }
    for (const l of result.links) links.set(l.path, l.target);
  }
  for (const raw of input.disable) {
    const unit = unitName(raw);
    if (!exists(unit)) {
      unknown.push(raw);
      continue;
    }
    const result = enableLinks(unit, input.system, SYSTEM_CONFIG);
    const targets = new Set(result.links.map((l) => l.target));
    const names = new Set(result.units.map((u) => u.replace(/@\./, '@')));
    for (const [path, target] of links) {
      const base = path.slice(path.lastIndexOf('/') + 1);
      if (result.links.some((l) => l.path === path) || (targets.has(target) && names.has(base))) links.delete(path);
    }
    if (input.system(unit)?.text !== undefined && result.links.length === 0) {
      notes.push({
        package: 'profile',
        message: `services.disable ${raw}: ${unit} is static; disabling does not stop it from starting when needed`,
      });
    }
  }
  if (unknown.length > 0) {
    const errors = unknown.map((raw) => {
      const guess = didYouMean(unitName(raw), input.systemUnits);
      return new BootforgeError(
        'BF_INVALID_VALUE',
        `services: no unit ${unitName(raw)} in the system's packages${guess === undefined ? '' : ` (did you mean ${guess.replace(/\.service$/, '')}?)`}`,
        {
          hint: 'name a unit that one of the installed packages ships (see /usr/lib/systemd/system), or add the package that ships it to packages.install',
        },
      );
    });
    BootforgeError.throwAll(errors);
  }
  return { links: [...links].map(([path, target]) => ({ path, target })), helperState, notes };
}
