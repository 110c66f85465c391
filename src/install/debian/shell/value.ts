/**
 * Values in the evaluator: a string, or UNKNOWN when it depends on something
 * bootforge cannot know at build time (a command's output, a debconf answer
 * nobody gave, the state of a running machine).
 */
export const UNKNOWN: unique symbol = Symbol('unknown');
export type Unknown = typeof UNKNOWN;
export type Value = string | Unknown;
/** An exit status: 0 is success; UNKNOWN when it cannot be told. */
export type Status = number | Unknown;

export const isKnown = (v: Value): v is string => v !== UNKNOWN;

/** Every value known, or undefined. */
export function allKnown(values: readonly Value[]): readonly string[] | undefined {
  return values.every(isKnown) ? values : undefined;
}

/** For messages: the value, or "?" where it is unknown. */
export function show(v: Value): string {
  return v === UNKNOWN ? '?' : v;
}

/** Three-valued boolean of a status. */
export function truth(s: Status): boolean | Unknown {
  return s === UNKNOWN ? UNKNOWN : s === 0;
}

export function statusOf(b: boolean | Unknown): Status {
  return b === UNKNOWN ? UNKNOWN : b ? 0 : 1;
}

export function not(s: Status): Status {
  return s === UNKNOWN ? UNKNOWN : s === 0 ? 1 : 0;
}
