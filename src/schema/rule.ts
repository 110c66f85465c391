import { type z } from 'zod';
import type { ErrorCode } from '../errors/index.js';

/**
 * Attaches a bootforge error code to a check, so that one schema serves as the
 * TypeScript type, the runtime validator and (through its `meta`) the JSON
 * Schema that editors use, while users still get a specific code and message.
 * `test` returns the message (or a code and message) when the value is bad, undefined when it is fine.
 */
export function rule<T extends z.ZodType>(
  schema: T,
  code: ErrorCode,
  test: (value: z.output<T>) => string | { code: ErrorCode; message: string } | undefined,
  options: { redact?: boolean } = {},
): T {
  return schema.superRefine((value, ctx) => {
    const problem = test(value);
    if (problem === undefined) return;
    // A check that can fail in several ways names the code of each; a plain message takes `code`.
    const { code: bf, message } = typeof problem === 'string' ? { code, message: problem } : problem;
    ctx.addIssue({ code: 'custom', message, params: { bf, redact: options.redact === true } });
  });
}

/** Quotes a user's value inside a message the same way everywhere. */
export function show(value: unknown): string {
  return JSON.stringify(value);
}
