// JSON parsing for runtime-spec documents.
//
// JSON.parse is the fast path. Two things it does not give us are added here,
// each costing nothing unless needed:
//  - the line and column of a syntax error (JavaScriptCore's messages carry no
//    position), found by a small scanner that runs only after a failure;
//  - the exact value of integers beyond 2^53 (seccomp argument masks, int64
//    "unlimited" values), which a double cannot hold.

export class JsonSyntaxError extends Error {
  constructor(
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`invalid JSON at line ${line} column ${column}: ${reason}`);
  }
}

// holder object (or array) -> key -> exact value, for integers that did not fit a double.
const exact = new WeakMap<object, Map<string, bigint>>();

/**
 * The exact value of an integer in a parsed document when it is outside the
 * safe-integer range of a double, e.g. `exactInteger(arg, "value")` for a
 * seccomp argument. Undefined when the number was exact as parsed.
 */
export function exactInteger(holder: object, key: string | number): bigint | undefined {
  return exact.get(holder)?.get(String(key));
}

/** The value as a bigint, exact even beyond 2^53. */
export function integerOf(holder: object, key: string | number): bigint {
  const big = exactInteger(holder, key);
  if (big !== undefined) return big;
  return BigInt((holder as Record<string, number>)[key as string]);
}

// Sixteen digits in a row is the shortest text that can exceed 2^53.
const longDigits = /\d{16}/;
const integerText = /^-?\d+$/;

type SourceReviver = (this: object, key: string, value: unknown, context?: { source?: string }) => unknown;

const recordExact: SourceReviver = function (key, value, context) {
  if (typeof value === "number" && !Number.isSafeInteger(value) && context?.source && integerText.test(context.source)) {
    let byKey = exact.get(this);
    if (!byKey) exact.set(this, (byKey = new Map()));
    byKey.set(key, BigInt(context.source));
  }
  return value;
};

/** Parses JSON text; throws JsonSyntaxError with a position on bad input. */
export function parseJson(text: string): unknown {
  try {
    if (!longDigits.test(text)) return JSON.parse(text);
    return JSON.parse(text, recordExact as never);
  } catch (err) {
    const found = locateSyntaxError(text);
    if (found) {
      const { line, column } = lineColumn(text, found.offset);
      throw new JsonSyntaxError(line, column, found.reason);
    }
    const { line, column } = lineColumn(text, text.length);
    throw new JsonSyntaxError(line, column, (err as Error).message.replace(/^JSON Parse error: /, ""));
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

interface Found {
  offset: number;
  reason: string;
}

const MAX_DEPTH = 10000;

/** Finds the first syntax error in text per RFC 8259, or null if there is none. */
export function locateSyntaxError(text: string): Found | null {
  let pos = 0;

  const fail = (reason: string, at = pos): never => {
    throw { offset: at, reason } satisfies Found;
  };
  const what = (at: number): string => (at >= text.length ? "end of input" : JSON.stringify(text[at]));
  const describe = (at: number): string =>
    at >= text.length ? "unexpected end of input" : `unexpected character ${what(at)}`;

  const skipSpace = (): void => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) pos++;
      else return;
    }
  };

  const literal = (word: string): void => {
    for (let i = 0; i < word.length; i++) {
      if (text[pos + i] !== word[i]) fail(describe(pos + i), pos + i);
    }
    pos += word.length;
  };

  const digits = (): number => {
    const start = pos;
    while (pos < text.length && text.charCodeAt(pos) >= 0x30 && text.charCodeAt(pos) <= 0x39) pos++;
    return pos - start;
  };

  const number = (): void => {
    const start = pos;
    if (text[pos] === "-") pos++;
    if (text[pos] === "0") pos++;
    else if (digits() === 0) fail(`invalid number ${JSON.stringify(text.slice(start, pos + 1))}`, start);
    if (text[pos] === ".") {
      pos++;
      if (digits() === 0) fail("invalid number: digits expected after '.'");
    }
    if (text[pos] === "e" || text[pos] === "E") {
      pos++;
      if (text[pos] === "+" || text[pos] === "-") pos++;
      if (digits() === 0) fail("invalid number: digits expected in exponent");
    }
  };

  const string = (): void => {
    pos++; // opening quote
    for (;;) {
      if (pos >= text.length) fail("unterminated string");
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        pos++;
        return;
      }
      if (c < 0x20) fail("control character in string (must be escaped)");
      if (c === 0x5c) {
        const e = text[pos + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(pos + 2, pos + 6))) fail("invalid \\u escape in string");
          pos += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          pos += 2;
        } else {
          fail(`invalid escape ${JSON.stringify("\\" + (e ?? ""))} in string`);
        }
        continue;
      }
      pos++;
    }
  };

  const value = (depth: number): void => {
    if (depth > MAX_DEPTH) fail("nesting too deep");
    skipSpace();
    const c = text[pos];
    if (c === "{") return object(depth);
    if (c === "[") return array(depth);
    if (c === '"') return string();
    if (c === "t") return literal("true");
    if (c === "f") return literal("false");
    if (c === "n") return literal("null");
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return number();
    if (c === "'") fail("strings must use double quotes");
    fail(describe(pos));
  };

  const object = (depth: number): void => {
    pos++;
    skipSpace();
    if (text[pos] === "}") {
      pos++;
      return;
    }
    for (;;) {
      skipSpace();
      if (text[pos] !== '"') {
        fail(text[pos] === "}" ? "trailing comma in object" : `expected a string key, found ${what(pos)}`);
      }
      string();
      skipSpace();
      if (text[pos] !== ":") fail(`expected ':' after key, found ${what(pos)}`);
      pos++;
      value(depth + 1);
      skipSpace();
      if (text[pos] === ",") {
        pos++;
        continue;
      }
      if (text[pos] === "}") {
        pos++;
        return;
      }
      fail(`expected ',' or '}', found ${what(pos)}`);
    }
  };

  const array = (depth: number): void => {
    pos++;
    skipSpace();
    if (text[pos] === "]") {
      pos++;
      return;
    }
    for (;;) {
      skipSpace();
      if (text[pos] === "]") fail("trailing comma in array");
      value(depth + 1);
      skipSpace();
      if (text[pos] === ",") {
        pos++;
        continue;
      }
      if (text[pos] === "]") {
        pos++;
        return;
      }
      fail(`expected ',' or ']', found ${what(pos)}`);
    }
  };

  try {
    value(0);
    skipSpace();
    if (pos < text.length) fail(`unexpected text after the JSON value`);
    return null;
  } catch (e) {
    if (typeof e === "object" && e !== null && "offset" in e && "reason" in e) return e as Found;
    throw e;
  }
}
