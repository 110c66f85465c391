import { BootforgeError } from '../errors/index.js';
import { didYouMean } from '../schema/suggest.js';
import type { PackageRecord, Relation, RelationGroups, VersionOp } from './types.js';
import { relationText, type Provider, type Universe } from './universe.js';
import { parseRelationList, parseRelations, satisfies } from './version.js';

/** A package asked for by name, optionally with a version constraint. */
export interface PackageRequest {
  readonly name: string;
  readonly op?: VersionOp;
  readonly version?: string;
}

export interface ResolveOptions {
  /** Add every Essential: yes package, as dpkg assumes them present (a full system wants this). */
  readonly essential?: boolean;
  /** Add every package of these priorities (debootstrap's minbase takes "required"). */
  readonly priorities?: readonly string[];
  /** Providers to prefer for virtual packages, before the ranking by priority. */
  readonly prefer?: readonly string[];
  /** Target architecture, for ":arch" qualifiers. */
  readonly architecture?: string;
}

export interface ResolvedPackage {
  readonly record: PackageRecord;
  /** Why it is in the closure: "requested", "essential", or "<pkg> depends on <relation>". */
  readonly reason: string;
}

// Lower is better; apt ranks providers of a virtual package similarly (mawk, priority required, provides awk).
const PRIORITY_RANK: Record<string, number> = { required: 0, important: 1, standard: 2, optional: 3, extra: 4 };

const relationCache = new WeakMap<PackageRecord, { deps: RelationGroups; conflicts: Relation[]; breaks: Relation[] }>();
function relationsOf(r: PackageRecord) {
  let cached = relationCache.get(r);
  if (!cached) {
    cached = {
      deps: [...parseRelations(r.preDepends ?? ''), ...parseRelations(r.depends ?? '')],
      conflicts: parseRelationList(r.conflicts ?? ''),
      breaks: parseRelationList(r.breaks ?? ''),
    };
    relationCache.set(r, cached);
  }
  return cached;
}

/** "name", "name=1.2-3", "name (>= 1.2)" */
export function parsePackageRequest(spec: string): PackageRequest {
  const m = /^([a-z0-9][a-z0-9+.-]+)\s*(?:=\s*(\S+)|\(\s*(<<|<=|=|>=|>>)\s*([^\s)]+)\s*\))?$/.exec(spec.trim());
  if (!m || m[1] === undefined) {
    throw new BootforgeError(
      'BF_PACKAGE_NAME',
      `${JSON.stringify(spec)} is not a package name with an optional version constraint`,
    );
  }
  if (m[2] !== undefined) return { name: m[1], op: '=', version: m[2] };
  if (m[3] !== undefined && m[4] !== undefined) return { name: m[1], op: m[3] as VersionOp, version: m[4] };
  return { name: m[1] };
}

/**
 * The closure of the requested packages over Pre-Depends and Depends. Takes
 * the highest version across all suites that meets every constraint seen; an
 * alternative group is met by a package already chosen when possible, else by
 * its first alternative that exists; virtual packages go to the best-ranked
 * provider. Conflicts and Breaks inside the closure are errors. There is no
 * backtracking: when a later constraint rejects an earlier choice, the error
 * names both, and a version constraint in the request resolves it.
 */
export function resolveClosure(
  universe: Universe,
  requests: readonly PackageRequest[],
  options: ResolveOptions = {},
): ResolvedPackage[] {
  const arch = options.architecture ?? 'amd64';
  const chosen = new Map<string, ResolvedPackage>();
  const provided = new Map<string, Provider[]>();
  const queue: PackageRecord[] = [];

  const choose = (record: PackageRecord, reason: string): void => {
    if (chosen.has(record.name)) return;
    chosen.set(record.name, { record, reason });
    for (const rel of parseRelationList(record.provides ?? '')) {
      const list = provided.get(rel.name) ?? [];
      list.push(rel.version !== undefined ? { record, version: rel.version } : { record });
      provided.set(rel.name, list);
    }
    queue.push(record);
  };

  const versionOk = (version: string | undefined, rel: Relation): boolean =>
    rel.op === undefined || (version !== undefined && satisfies(version, rel.op, rel.version ?? ''));

  const metByChosen = (rel: Relation): boolean => {
    const real = chosen.get(rel.name);
    if (real && versionOk(real.record.version, rel)) return true;
    return (provided.get(rel.name) ?? []).some((p) => versionOk(p.version, rel));
  };

  const rank = (a: Provider, b: Provider): number => {
    const prefer = options.prefer ?? [];
    const pa = prefer.indexOf(a.record.name);
    const pb = prefer.indexOf(b.record.name);
    if (pa !== pb) return (pa < 0 ? Infinity : pa) - (pb < 0 ? Infinity : pb);
    const ra = PRIORITY_RANK[a.record.priority ?? 'optional'] ?? 5;
    const rb = PRIORITY_RANK[b.record.priority ?? 'optional'] ?? 5;
    return ra - rb || (a.record.name < b.record.name ? -1 : a.record.name > b.record.name ? 1 : 0);
  };

  /** The best package for a relation: a real package's highest fitting version, else the best provider. */
  const candidate = (rel: Relation): PackageRecord | undefined => {
    if (rel.arch !== undefined && rel.arch !== 'any' && rel.arch !== 'native' && rel.arch !== arch) return undefined;
    const real = universe
      .versions(rel.name)
      .find((r) => versionOk(r.version, rel) && (r.architecture === arch || r.architecture === 'all'));
    if (real) return real;
    const providers = universe.providers(rel.name).filter((p) => versionOk(p.version, rel));
    // A provider already chosen wins; then the ranking.
    const already = providers.find((p) => chosen.get(p.record.name)?.record === p.record);
    return (already ?? [...providers].sort(rank)[0])?.record;
  };

  const refuse = (rel: Relation, who: string): never => {
    const versions = universe.versions(rel.name).map((r) => `${r.version} (${r.suite})`);
    const existing = chosen.get(rel.name);
    if (existing) {
      throw new BootforgeError(
        'BF_PACKAGE_UNSATISFIABLE',
        `${who} needs ${relationText(rel)}, but ${rel.name} ${existing.record.version} was already chosen (${existing.reason})`,
        {
          hint: `request a version of ${rel.name} that satisfies both, e.g. "${rel.name} (${rel.op ?? '>='} ${rel.version ?? ''})"`,
        },
      );
    }
    if (versions.length > 0) {
      throw new BootforgeError(
        'BF_PACKAGE_UNSATISFIABLE',
        `${who} needs ${relationText(rel)}; available: ${versions.join(', ')}`,
        {
          hint: 'add the suite that has a fitting version (e.g. bookworm-backports), or relax the constraint',
        },
      );
    }
    const suggestion = didYouMean(rel.name, universe.names());
    throw new BootforgeError(
      'BF_PACKAGE_NOT_FOUND',
      who === 'the request'
        ? `package ${relationText(rel)} is in none of the configured suites`
        : `${who} needs ${relationText(rel)}, which none of the configured suites has`,
      {
        hint: suggestion
          ? `did you mean ${JSON.stringify(suggestion)}?`
          : 'check the name and packages.components (firmware is in non-free-firmware)',
      },
    );
  };

  for (const req of requests) {
    const rel: Relation = req.op ? { name: req.name, op: req.op, version: req.version ?? '' } : { name: req.name };
    if (metByChosen(rel)) continue;
    const pick = candidate(rel);
    if (!pick) refuse(rel, 'the request');
    else choose(pick, 'requested');
  }
  const implicit = [
    ...(options.essential ? universe.essential().map((r) => [r, 'essential'] as const) : []),
    ...universe.withPriority(options.priorities ?? []).map((r) => [r, `priority ${r.priority ?? ''}`] as const),
  ];
  for (const [record, reason] of implicit) choose(record, reason);

  for (let i = 0; i < queue.length; i++) {
    const record = queue[i];
    if (!record) continue;
    for (const group of relationsOf(record).deps) {
      if (group.some(metByChosen)) continue;
      let picked = false;
      for (const alt of group) {
        const pick = candidate(alt);
        if (!pick) continue;
        if (chosen.has(pick.name)) continue; // chosen at another version: try the next alternative
        choose(pick, `${record.name} depends on ${relationText(alt)}`);
        picked = true;
        break;
      }
      if (!picked) refuse(group[0] ?? { name: '?' }, `${record.name} ${record.version}`);
    }
  }

  checkConflicts(chosen, provided);
  return [...chosen.values()].sort((a, b) =>
    a.record.name < b.record.name ? -1 : a.record.name > b.record.name ? 1 : 0,
  );
}

function checkConflicts(chosen: ReadonlyMap<string, ResolvedPackage>, provided: ReadonlyMap<string, Provider[]>): void {
  const problems: string[] = [];
  for (const { record } of chosen.values()) {
    const { conflicts, breaks } = relationsOf(record);
    for (const [kind, list] of [
      ['conflicts with', conflicts],
      ['breaks', breaks],
    ] as const) {
      for (const rel of list) {
        const real = chosen.get(rel.name);
        if (
          real &&
          real.record !== record &&
          (rel.op === undefined || satisfies(real.record.version, rel.op, rel.version ?? ''))
        ) {
          problems.push(
            `${record.name} ${record.version} ${kind} ${real.record.name} ${real.record.version} (${real.reason})`,
          );
        }
        // Conflicts on a virtual name mean every other provider of it.
        if (kind === 'conflicts with' && rel.op === undefined) {
          for (const p of provided.get(rel.name) ?? []) {
            if (p.record !== record && p.record.name !== rel.name) {
              problems.push(
                `${record.name} ${record.version} conflicts with ${p.record.name}, which provides ${rel.name}`,
              );
            }
          }
        }
      }
    }
  }
  if (problems.length > 0) {
    throw new BootforgeError(
      'BF_PACKAGE_CONFLICT',
      `the package closure has conflicts: ${[...new Set(problems)].join('; ')}`,
      {
        hint: 'remove one of the conflicting packages from the profile, or pick the alternative explicitly',
      },
    );
  }
}
