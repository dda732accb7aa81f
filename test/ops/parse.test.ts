// Command-line parsing without a container: the flagless shortcut must read argv exactly
// as the full parse does.
import { expect, test } from "bun:test";
import { parseFlags } from "../../src/cli/parse";
import { COMMANDS } from "../../src/cli/commands";

const ARGVS = [[], ["id"], ["007"], ["id", "9"], ["id", "KILL"], ["a", "b", "c"], ["id", "sh", "x"]];

test("argv without flags parses as the full parser reads it, for every command", () => {
  for (const [cmd, c] of Object.entries(COMMANDS)) {
    for (const argv of ARGVS) {
      const quick = parseFlags(cmd, argv, c.flags);
      // A flag that changes nothing forces the full parse.
      const full = parseFlags(cmd, ["--help=false", ...argv], c.flags);
      expect(quick._).toEqual(full._);
      expect(quick["--"] ?? []).toEqual(full["--"] ?? []);
      for (const k of Object.keys(c.flags.default ?? {})) expect(quick[k]).toEqual(full[k]);
      for (const k of [...(c.flags.boolean ?? []), "help"]) expect(!!quick[k]).toBe(!!full[k]);
      for (const k of c.flags.string ?? []) expect(quick[k]).toEqual(full[k]);
    }
  }
});

test("positional arguments stay strings: the id 007 is not the number 7", () => {
  expect(parseFlags("state", ["007"], {})._).toEqual(["007"]);
  expect(parseFlags("kill", ["--all", "007", "9"], { boolean: ["all"] })._).toEqual(["007", "9"]);
});
