import { CATALOGUE, type ErrorCode } from './codes.js';

/** Where in a user's file a problem sits (1-based line and column). */
export interface SourceLoc {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Length of the offending text on that line, for the code frame's underline. */
  readonly length?: number;
  /** The text there is a secret (a password): the code frame must not show it. */
  readonly redact?: boolean;
}

export interface ErrorDetails {
  readonly hint?: string;
  readonly loc?: SourceLoc;
  /** A second place involved (the other side of a merge conflict, the first definition of a duplicate). */
  readonly related?: SourceLoc;
  readonly stage?: string;
  readonly cause?: unknown;
  /** Further independent errors found in the same pass, printed after this one. */
  readonly also?: readonly BootforgeError[];
}

/**
 * The one error type bootforge throws on purpose. `src/cli` is the only place
 * that catches it, prints it and turns its code into an exit status.
 */
export class BootforgeError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly loc: SourceLoc | undefined;
  readonly related: SourceLoc | undefined;
  readonly stage: string | undefined;
  readonly also: readonly BootforgeError[];

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'BootforgeError';
    this.code = code;
    this.hint = details.hint ?? CATALOGUE[code].hint;
    this.loc = details.loc;
    this.related = details.related;
    this.stage = details.stage;
    this.also = details.also ?? [];
  }

  /** Throws the first of several errors, carrying the rest. */
  static throwAll(errors: readonly BootforgeError[]): void {
    const [first, ...rest] = errors;
    if (!first) return;
    throw new BootforgeError(first.code, first.message, {
      ...(first.hint !== undefined ? { hint: first.hint } : {}),
      ...(first.loc ? { loc: first.loc } : {}),
      ...(first.related ? { related: first.related } : {}),
      also: rest,
    });
  }

  /** 2 for bad input (the user can fix it), 1 for failures of the build itself. */
  get exitCode(): 1 | 2 {
    return CATALOGUE[this.code].kind === 'input' ? 2 : 1;
  }
}

export function isBootforgeError(e: unknown): e is BootforgeError {
  return e instanceof BootforgeError;
}
