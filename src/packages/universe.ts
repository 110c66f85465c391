import type { PackageRecord, Relation } from './types.js';
import { compareVersions, parseRelationList } from './version.js';

export interface Provider {
  readonly record: PackageRecord;
  /** The version the provider declares for the virtual name ("Provides: awk (= 1.0)"), if any. */
  readonly version?: string;
}

/**
 * All packages of the configured suites, by name with the highest version
 * first, and every virtual name with the packages that provide it.
 */
export class Universe {
  private readonly byName = new Map<string, PackageRecord[]>();
  private providersByName?: Map<string, Provider[]>;

  constructor(records: readonly PackageRecord[]) {
    for (const r of records) {
      const list = this.byName.get(r.name);
      if (!list) this.byName.set(r.name, [r]);
      // The same version in two suites is one package: keep the suite listed first.
      else if (!list.some((x) => x.version === r.version && x.architecture === r.architecture)) list.push(r);
    }
    for (const list of this.byName.values()) list.sort((a, b) => compareVersions(b.version, a.version));
  }

  /** Every version of a real package, highest first. */
  versions(name: string): readonly PackageRecord[] {
    return this.byName.get(name) ?? [];
  }

  providers(name: string): readonly Provider[] {
    if (!this.providersByName) {
      const map = new Map<string, Provider[]>();
      for (const list of this.byName.values()) {
        for (const record of list) {
          if (record.provides === undefined) continue;
          for (const rel of parseRelationList(record.provides)) {
            const entry: Provider = rel.version !== undefined ? { record, version: rel.version } : { record };
            const existing = map.get(rel.name);
            if (existing) existing.push(entry);
            else map.set(rel.name, [entry]);
          }
        }
      }
      this.providersByName = map;
    }
    return this.providersByName.get(name) ?? [];
  }

  names(): IterableIterator<string> {
    return this.byName.keys();
  }

  /** The highest version of every Essential: yes package. */
  essential(): PackageRecord[] {
    return [...this.byName.values()].flatMap((list) => (list[0]?.essential ? [list[0]] : []));
  }

  withPriority(priorities: readonly string[]): PackageRecord[] {
    return [...this.byName.values()].flatMap((list) =>
      list[0] && priorities.includes(list[0].priority ?? '') ? [list[0]] : [],
    );
  }
}

export function relationText(rel: Relation): string {
  return `${rel.name}${rel.arch ? `:${rel.arch}` : ''}${rel.op ? ` (${rel.op} ${rel.version ?? ''})` : ''}`;
}
