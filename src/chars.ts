// Character classes checked by hand. Every command checks its flags and an id, and the
// first regular expression a process runs costs it ~0.1 ms.

export const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** [A-Za-z0-9_] */
export const isWordChar = (c: number): boolean => isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;

/** Whether every character code of s passes (true for ""). */
export function allChars(s: string, ok: (c: number) => boolean): boolean {
  for (let i = 0; i < s.length; i++) if (!ok(s.charCodeAt(i))) return false;
  return true;
}
