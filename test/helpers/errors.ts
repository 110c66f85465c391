import { BootforgeError } from '../../src/errors/index.js';

/** The BootforgeError `fn` throws, for checking its code and message; anything else fails the test. */
export function thrown(fn: () => unknown): BootforgeError {
  try {
    fn();
  } catch (e) {
    if (e instanceof BootforgeError) return e;
    throw e;
  }
  throw new Error('expected a BootforgeError');
}

/** The BootforgeError a promise rejects with; a fulfilled promise or another error fails the test. */
export async function rejection(p: Promise<unknown>): Promise<BootforgeError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (e instanceof BootforgeError) return e;
  throw new Error(`expected a BootforgeError, got ${String(e)}`);
}
