// dx-runtime: runc's command line over the OCI runtime-spec operations.
import { parseGlobals, parseFlags } from "./cli/parse";
import { Logger, debug, debugOn, useLogger } from "./log";
import { Store } from "./state/store";
import { defaultStateRoot } from "./rootless/root";
import { RuntimeError } from "./errors";
import { COMMANDS, commandHelp } from "./cli/commands";
import pkg from "../package.json" with { type: "json" };
import { exit, out } from "./output";

async function main(argv: string[]): Promise<number> {
  let log = new Logger({ format: "text", debug: false });
  try {
    const { g, cmd, rest } = parseGlobals(argv, "");
    log = new Logger({ file: g.log, format: g.logFormat, debug: g.debug });
    useLogger(log);
    if (g.version) {
      out(`dx-runtime version ${pkg.version}\nspec: 1.2.0\n`);
      return 0;
    }
    if (g.help || !cmd || cmd === "help") {
      const topic = cmd === "help" ? rest[0] : undefined;
      // The help texts load only when asked for: every other command would pay for them.
      out(topic && COMMANDS[topic] ? commandHelp(topic) : (require("./cli/help") as typeof import("./cli/help")).USAGE);
      return 0;
    }
    const c = COMMANDS[cmd];
    // urfave/cli's answer to an unknown command, exit status and all.
    if (!c) throw new RuntimeError(`No help topic for '${cmd}'`, 3);
    const args = parseFlags(cmd, rest, c.flags);
    if (args.help) {
      out(commandHelp(cmd));
      return 0;
    }
    let store: Store;
    if (g.root) store = new Store(g.root);
    else {
      const d = defaultStateRoot();
      g.root = d.path;
      store = new Store(d.path, d.xdg ? 0o1700 : undefined);
    }
    const ctx = { options: g, log, store };
    if (debugOn) debug(`${cmd}: root ${ctx.store.root}, arguments ${JSON.stringify(rest)}`);
    const code = await c.run(ctx, args);
    if (debugOn) debug(`${cmd}: done, exit status ${code}`);
    return code;
  } catch (e: any) {
    const msg = e instanceof RuntimeError ? e.message : e?.message ? String(e.message) : String(e);
    log.error(msg.split("\n")[0]!);
    if (!(e instanceof RuntimeError)) log.debug(String(e?.stack ?? e));
    else if (e.cause) log.debug(String((e.cause as any)?.stack ?? e.cause));
    return e instanceof RuntimeError ? e.exitCode : 1;
  }
}

main(process.argv.slice(2)).then(exit);
