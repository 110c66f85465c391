/**
 * Kernel version gates on hardware quirks: "<6.8", ">=6.5", ">=6.1 <6.8".
 * A quirk applies only when the installed kernel satisfies every comparison;
 * this is how a workaround that upstream has since fixed drops away.
 */
export type GateOp = '<' | '<=' | '>' | '>=' | '=';
export interface GateClause {
  readonly op: GateOp;
  readonly version: readonly number[];
}

const CLAUSE_RE = /^(<=|>=|<|>|=)(\d+(?:\.\d+){0,2})$/;
export const GATE_PATTERN = '^(<=|>=|<|>|=)\\d+(\\.\\d+){0,2}( +(<=|>=|<|>|=)\\d+(\\.\\d+){0,2})*$';

export function parseGate(text: string): GateClause[] | undefined {
  const parts = text.trim().split(/\s+/);
  const out: GateClause[] = [];
  for (const p of parts) {
    const m = CLAUSE_RE.exec(p);
    if (!m) return undefined;
    out.push({ op: m[1] as GateOp, version: (m[2] ?? '').split('.').map(Number) });
  }
  return out.length > 0 ? out : undefined;
}

/** Numeric release of a kernel version string: "6.1.0-28-amd64" and "6.1.119-1" give [6, 1, ...]. */
export function kernelRelease(version: string): number[] {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : [];
}

function compare(a: readonly number[], b: readonly number[]): number {
  // Compare only as deep as the gate was written: "<6.8" compares major.minor.
  for (let i = 0; i < b.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function gateAllows(clauses: readonly GateClause[], kernel: readonly number[]): boolean {
  return clauses.every(({ op, version }) => {
    const c = compare(kernel, version);
    switch (op) {
      case '<':
        return c < 0;
      case '<=':
        return c <= 0;
      case '>':
        return c > 0;
      case '>=':
        return c >= 0;
      case '=':
        return c === 0;
    }
  });
}
