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

/** One stanza of a Packages index, reduced to what bootforge uses. */
export interface PackageRecord {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  readonly depends: RelationGroups;
  readonly preDepends: RelationGroups;
  readonly provides: readonly Relation[];
  readonly conflicts: readonly Relation[];
  readonly breaks: readonly Relation[];
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
