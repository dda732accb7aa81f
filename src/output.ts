// Output through console.log/console.error: in a compiled binary, the first use of
// process.stdout or process.stderr builds Node's stream machinery, ~13 ms per command.
// A lone string argument is printed as is (no format specifiers are applied).

export function out(text: string): void {
  console.log(text.endsWith("\n") ? text.slice(0, -1) : text);
}

export function err(text: string): void {
  console.error(text.endsWith("\n") ? text.slice(0, -1) : text);
}

/**
 * Leaves at once. Bun's natural exit drains the event loop and tears the VM down first,
 * ~0.5 ms a command; console.log has written synchronously by then, so nothing is lost.
 */
export function exit(code: number): void {
  process.exit(code);
}
