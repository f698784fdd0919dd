/** "1 epoch", "3 epochs": a count and its noun, which takes an s unless the count is 1. */
export function plural(count: number, noun: string): string {
  return `${count} ${count === 1 ? noun : `${noun}s`}`;
}
