// User-facing dataset failures. The CLI prints `error: <message>` for these and exits non-zero, without a stack,
// so every message must stand on its own line and say what to do next.
export class DatasetError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DatasetError';
  }
}
