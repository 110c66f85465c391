/**
 * `systemctl enable` without systemd: the [Install] section of a unit file
 * (WantedBy=, RequiredBy=, UpheldBy=, Alias=, Also=, DefaultInstance=) turned
 * into the symlinks systemctl creates under /etc/systemd/system (or
 * /etc/systemd/user), pointing at the unit file by the path systemctl finds
 * it under: the first directory of its search path that has it.
 */

export interface InstallInfo {
  readonly wantedBy: readonly string[];
  readonly requiredBy: readonly string[];
  readonly upheldBy: readonly string[];
  readonly alias: readonly string[];
  readonly also: readonly string[];
  readonly defaultInstance?: string;
}

/** A unit file as found in the search path. */
export interface FoundUnit {
  /** The path systemctl names it by ("/lib/systemd/system/ssh.service"). */
  readonly path: string;
  /** Its text; undefined for a unit masked or linked to /dev/null. */
  readonly text: string | undefined;
  /** When the file is a symlink to another unit of the search path (an alias shipped by a package). */
  readonly aliasOf?: string;
}

export type UnitLookup = (name: string) => FoundUnit | undefined;

const UNIT_SUFFIX = /\.(service|socket|timer|target|path|mount|automount|swap|slice|scope|device)$/;

export function isUnitName(name: string): boolean {
  return UNIT_SUFFIX.test(name);
}

/** The [Install] section, with continuation lines, comments and repeated keys as systemd reads them. */
export function parseInstall(text: string): InstallInfo {
  const info = { wantedBy: [], requiredBy: [], upheldBy: [], alias: [], also: [] } as {
    wantedBy: string[];
    requiredBy: string[];
    upheldBy: string[];
    alias: string[];
    also: string[];
    defaultInstance?: string;
  };
  let section = '';
  let pending = '';
  for (const raw of text.split('\n')) {
    let line = pending + raw.trim();
    pending = '';
    if (line.endsWith('\\')) {
      pending = `${line.slice(0, -1)} `;
      continue;
    }
    line = line.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s?.[1] !== undefined) {
      section = s[1];
      continue;
    }
    if (section !== 'Install') continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    const words = line
      .slice(eq + 1)
      .trim()
      .split(/\s+/)
      .filter((w) => w !== '');
    const list =
      key === 'WantedBy'
        ? info.wantedBy
        : key === 'RequiredBy'
          ? info.requiredBy
          : key === 'UpheldBy'
            ? info.upheldBy
            : key === 'Alias'
              ? info.alias
              : key === 'Also'
                ? info.also
                : undefined;
    if (list !== undefined) {
      // An empty assignment resets the list.
      if (words.length === 0) list.length = 0;
      else list.push(...words);
    } else if (key === 'DefaultInstance') {
      const v = line.slice(eq + 1).trim();
      if (v === '') delete info.defaultInstance;
      else info.defaultInstance = v;
    }
  }
  return info;
}

export interface EnableResult {
  readonly links: { path: string; target: string }[];
  /** Units that were enabled through Also= or the name itself. */
  readonly units: string[];
  readonly warnings: string[];
}

/** The symlinks `systemctl enable NAME` creates, for a system (or user) unit. */
export function enableLinks(name: string, lookup: UnitLookup, configDir = '/etc/systemd/system'): EnableResult {
  const links: { path: string; target: string }[] = [];
  const warnings: string[] = [];
  const units: string[] = [];
  const done = new Set<string>();
  const visit = (unit: string) => {
    if (done.has(unit)) return;
    done.add(unit);
    const parsed = splitName(unit);
    if (parsed === undefined) {
      warnings.push(`${unit} is not a unit name`);
      return;
    }
    let found = lookup(unit) ?? (parsed.instance !== undefined ? lookup(parsed.template) : undefined);
    if (found?.aliasOf !== undefined) {
      const target = found.aliasOf;
      found = lookup(target);
      if (found === undefined) {
        warnings.push(`${unit} is an alias of ${target}, which does not exist`);
        return;
      }
      visit(target);
      return;
    }
    if (found === undefined) {
      warnings.push(`no unit file for ${unit}`);
      return;
    }
    if (found.text === undefined) {
      warnings.push(`${unit} is masked`);
      return;
    }
    units.push(unit);
    const info = parseInstall(found.text);
    let instanceName = unit;
    if (parsed.instance === undefined && parsed.template.includes('@')) {
      if (info.defaultInstance === undefined) instanceName = '';
      else instanceName = parsed.template.replace('@.', `@${info.defaultInstance}.`);
    }
    const spec = specifiers(instanceName === '' ? unit : instanceName);
    const add = (path: string) => {
      if (!links.some((l) => l.path === path)) links.push({ path, target: found.path });
    };
    if (instanceName !== '') {
      for (const t of info.wantedBy) add(`${configDir}/${spec(t)}.wants/${instanceName}`);
      for (const t of info.requiredBy) add(`${configDir}/${spec(t)}.requires/${instanceName}`);
      for (const t of info.upheldBy) add(`${configDir}/${spec(t)}.upholds/${instanceName}`);
    } else if (info.wantedBy.length + info.requiredBy.length + info.upheldBy.length > 0) {
      warnings.push(`${unit} is a template without DefaultInstance=: its WantedBy= links need an instance`);
    }
    for (const a of info.alias) {
      const alias = spec(a);
      const aliasParsed = splitName(alias);
      // A template alias of an instance gets the instance: Alias=foo@.service for bar@x.service is foo@x.service.
      const aliasName =
        aliasParsed !== undefined &&
        aliasParsed.instance === undefined &&
        alias.includes('@.') &&
        parsed.instance !== undefined
          ? alias.replace('@.', `@${parsed.instance}.`)
          : alias;
      add(`${configDir}/${aliasName}`);
    }
    for (const u of info.also) visit(spec(u));
  };
  visit(name);
  return { links, units, warnings };
}

/** "getty@tty1.service" → template "getty@.service", instance "tty1". */
export function splitName(
  name: string,
): { template: string; instance?: string; prefix: string; suffix: string } | undefined {
  const m = /^([^@/]+)(@([^/]*))?(\.[a-z]+)$/.exec(name);
  if (m === null || !UNIT_SUFFIX.test(name)) return undefined;
  const prefix = m[1] ?? '';
  const suffix = m[4] ?? '';
  if (m[2] === undefined) return { template: name, prefix, suffix };
  const instance = m[3] ?? '';
  return instance === ''
    ? { template: `${prefix}@${suffix}`, prefix, suffix }
    : { template: `${prefix}@${suffix}`, instance, prefix, suffix };
}

/** The unit-name specifiers systemctl expands in [Install] (%n %N %p %i %I %j %J %%). */
function specifiers(unit: string): (value: string) => string {
  const parsed = splitName(unit);
  const full = unit;
  const noSuffix = unit.replace(UNIT_SUFFIX, '');
  const prefix = parsed?.prefix ?? noSuffix;
  const instance = parsed?.instance ?? '';
  const last = prefix.includes('-') ? prefix.slice(prefix.lastIndexOf('-') + 1) : prefix;
  return (value) =>
    value.replace(/%([nNpPiIjJ%])/g, (_m, c: string) => {
      switch (c) {
        case 'n':
          return full;
        case 'N':
          return noSuffix;
        case 'p':
        case 'P':
          return prefix;
        case 'i':
        case 'I':
          return instance;
        case 'j':
        case 'J':
          return last;
        default:
          return '%';
      }
    });
}
