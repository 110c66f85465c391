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
