/**
 * Waits for a condition that controllers reach asynchronously through real watches: retries
 * `check` until it stops throwing, then returns its result; after `timeoutMs` rethrows its last
 * error, so a failing test says what was still wrong.
 */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
