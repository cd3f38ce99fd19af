/** The error `f` throws, for tests that inspect its fields; fails when `f` throws nothing. */
export function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error, got none');
}
