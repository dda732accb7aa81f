import { describe, expect, test } from "bun:test";
import { JsonSyntaxError, locateSyntaxError, parseJson } from "../../src/spec/json";
import { defaultSpec, renderSpec } from "../../src/spec/default";

function syntaxError(text: string): string {
  try {
    parseJson(text);
  } catch (err) {
    expect(err).toBeInstanceOf(JsonSyntaxError);
    return (err as Error).message;
  }
  throw new Error("expected a syntax error");
}

describe("parseJson syntax errors", () => {
  const cases: [string, string][] = [
    ["{", "invalid JSON at line 1 column 2: expected a string key, found end of input"],
    ['{"a": 1,}', "invalid JSON at line 1 column 9: trailing comma in object"],
    ["[1,]", "invalid JSON at line 1 column 4: trailing comma in array"],
    ["{'a': 1}", "invalid JSON at line 1 column 2: expected a string key, found \"'\""],
    ["'a'", "invalid JSON at line 1 column 1: strings must use double quotes"],
    ['{"a": tru}', 'invalid JSON at line 1 column 10: unexpected character "}"'],
    ['{"a": 01}', "invalid JSON at line 1 column 8: expected ',' or '}', found \"1\""],
    ['{"a": 1.}', "invalid JSON at line 1 column 9: invalid number: digits expected after '.'"],
    ['{"a": -}', 'invalid JSON at line 1 column 7: invalid number "-}"'],
    ['{"a": 1e}', "invalid JSON at line 1 column 9: invalid number: digits expected in exponent"],
    ['{"a": "x\ty"}', "invalid JSON at line 1 column 9: control character in string (must be escaped)"],
    ['{"a": "\\q"}', 'invalid JSON at line 1 column 8: invalid escape "\\\\q" in string'],
    ['{"a": "\\u12G4"}', "invalid JSON at line 1 column 8: invalid \\u escape in string"],
    ['{"a": "abc', "invalid JSON at line 1 column 11: unterminated string"],
    ['{"a": 1} {}', "invalid JSON at line 1 column 10: unexpected text after the JSON value"],
    ['\n\n  {"a" 1}', "invalid JSON at line 3 column 8: expected ':' after key, found \"1\""],
    ["\r\n[\r\n  nul\r\n]", "invalid JSON at line 3 column 6: unexpected character \"\\r\""],
  ];
  for (const [text, message] of cases) {
    test(JSON.stringify(text), () => {
      expect(syntaxError(text)).toBe(message);
    });
  }
});

// A cheap generator of near-JSON: mutate valid text and check that the scanner
// agrees with JSON.parse about what is valid.
function* mutations(text: string, count: number): Generator<string> {
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = ' \t\n{}[]":,.-+eE0123456789truefalsnl\\/ux';
  for (let i = 0; i < count; i++) {
    const at = rand(text.length);
    const kind = rand(3);
    const c = alphabet[rand(alphabet.length)]!;
    if (kind === 0) yield text.slice(0, at) + text.slice(at + 1);
    else if (kind === 1) yield text.slice(0, at) + c + text.slice(at);
    else yield text.slice(0, at) + c + text.slice(at + 1);
  }
}

test("the error scanner agrees with JSON.parse on mutated documents", () => {
  const source = renderSpec(defaultSpec());
  let invalid = 0;
  for (const text of mutations(source, 3000)) {
    let parses = true;
    try {
      JSON.parse(text);
    } catch {
      parses = false;
    }
    const found = locateSyntaxError(text);
    if (parses !== (found === null)) throw new Error(`disagreement on ${JSON.stringify(text)}: ${JSON.stringify(found)}`);
    if (!parses) invalid++;
  }
  expect(invalid).toBeGreaterThan(500);
});

test("valid documents parse as JSON.parse would", () => {
  const text = '{"a": [1, -2.5e3, "x\\u00e9\\n", true, false, null, {}], "b": {"c": []}}';
  expect(parseJson(text)).toEqual(JSON.parse(text));
  expect(locateSyntaxError(text)).toBeNull();
});
