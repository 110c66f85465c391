import { type z } from 'zod';
import type { ErrorCode } from '../errors/index.js';

/**
 * Attaches a bootforge error code to a check, so that one schema serves as the
 * TypeScript type, the runtime validator and (through its `meta`) the JSON
 * Schema that editors use, while users still get a specific code and message.
 * `test` returns the message when the value is bad, undefined when it is fine.
 */
export function rule<T extends z.ZodType>(
  schema: T,
  code: ErrorCode,
  test: (value: z.output<T>) => string | undefined,
  options: { redact?: boolean } = {},
): T {
  return schema.superRefine((value, ctx) => {
    const message = test(value);
    if (message !== undefined) {
      ctx.addIssue({ code: 'custom', message, params: { bf: code, redact: options.redact === true } });
    }
  });
}

/** Quotes a user's value inside a message the same way everywhere. */
export function show(value: unknown): string {
  return JSON.stringify(value);
}
