// Captures console.log / console.error for CLI tests: silences them and returns what was printed.
import { afterEach, vi } from 'vitest';

export function captureConsole() {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const error = vi.spyOn(console, 'error').mockImplementation(() => {});
  afterEach(() => {
    log.mockClear();
    error.mockClear();
  });
  const printed = (spy: typeof log) => spy.mock.calls.map((c) => c.join(' ')).join('\n');
  return { log, error, printed };
}
