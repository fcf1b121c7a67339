import { startStack } from "./stack";

/** Starts the emulators and `livedrop serve --backend firebase`; returns the teardown. */
export default async function globalSetup(): Promise<() => Promise<void>> {
  const stack = await startStack();
  return stack.stop;
}
