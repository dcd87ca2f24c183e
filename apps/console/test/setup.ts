import '@testing-library/jest-dom';

// jsdom has no ResizeObserver (Radix measures with it); nothing is laid out there anyway.
class NoResizeObserver {
  observe(): void {
    // nothing to observe without layout
  }
  unobserve(): void {
    // idem
  }
  disconnect(): void {
    // idem
  }
}
globalThis.ResizeObserver ??= NoResizeObserver as unknown as typeof ResizeObserver;
