// Conformance tests are named by the runtime-spec sentence they check, so a failure
// reads as the requirement that is broken.
import { test } from "bun:test";
import { IS_RUNC } from "./runtime";

export type SpecFile = "runtime.md" | "config.md" | "config-linux.md";

export interface MustOptions {
  /** Short description put before the quote. */
  title?: string;
  /**
   * runc 1.1 does not meet this requirement: with DX_RUNTIME=runc the test is expected
   * to fail (and says why); against any other runtime it must pass.
   */
  runcDeviates?: string;
  timeout?: number;
}

export function must(
  file: SpecFile,
  quote: string,
  fn: () => Promise<void> | void,
  opts: MustOptions = {},
): void {
  const deviates = opts.runcDeviates !== undefined && IS_RUNC;
  const title =
    `${opts.title ? opts.title + " — " : ""}${file}: "${quote}"` +
    (deviates ? ` [expected to fail on runc: ${opts.runcDeviates}]` : "");
  (deviates ? test.failing : test)(title, fn, opts.timeout);
}

/** A behaviour runc has and engines rely on, though no MUST asks for it. */
export function runcCompat(title: string, fn: () => Promise<void> | void, timeout?: number): void {
  test(`${title} (runc compatibility)`, fn, timeout);
}

/** A test of our own that runc is known to fail, with the reason. */
export function testRuncDeviates(title: string, why: string, fn: () => Promise<void> | void, timeout?: number): void {
  if (IS_RUNC) test.failing(`${title} [expected to fail on runc: ${why}]`, fn, timeout);
  else test(title, fn, timeout);
}

/** Same as must(), for spec sentences that define a field without the word MUST. */
export const cite = must;
