/** One dependency alternative: `libc6 (>= 2.36)`, `awk`, `python3:any`. */
export interface Relation {
  readonly name: string;
  /** The qualifier after ":" (any, native, amd64), if any. */
  readonly arch?: string;
  readonly op?: VersionOp;
  readonly version?: string;
}
export type VersionOp = '<<' | '<=' | '=' | '>=' | '>>';

/** A relation field in conjunctive normal form: every group must be met by one of its alternatives. */
export type RelationGroups = readonly (readonly Relation[])[];

/**
 * One stanza of a Packages index, reduced to what bootforge uses. Relation
 * fields stay as written; the resolver parses the few it visits (a full index
 * has 64 000 stanzas, most never looked at).
 */
export interface PackageRecord {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  readonly depends?: string;
  readonly preDepends?: string;
  readonly provides?: string;
  readonly conflicts?: string;
  readonly breaks?: string;
  readonly essential: boolean;
  readonly priority?: string;
  readonly multiArch?: string;
  readonly section?: string;
  readonly source?: string;
  readonly installedSize?: number;
  readonly filename: string;
  readonly size: number;
  readonly sha256: string;
  /** Where the record was read: suite and component, and the repository's base URI. */
  readonly suite: string;
  readonly component: string;
  readonly uri: string;
}
