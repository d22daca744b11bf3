/**
 * kctl's entry point as a function: `main(argv, io)` parses the command line, loads and runs one
 * command from the table in commands/index.ts and returns the exit code. It is the only place that prints
 * errors: usage mistakes exit 2 with the usage text, everything else exits 1. Tests call it
 * in-process with captured output; kctl/main.ts wires it to the real process.
 */

import { type FlagSpec, formatFlagHelp, parseCommandLine } from "./args.js";
import type { CliIO, Command, CommandEntry, Connection } from "./command.js";
import { commands } from "./commands/index.js";
import { configPath, readConfig } from "./config.js";
import { errorLines, UsageError } from "./errors.js";

const globalFlags: readonly FlagSpec[] = [
  {
    name: "config",
    kind: "string",
    placeholder: "PATH",
    help: "the kctl config (a kubeconfig); default $KCTL_CONFIG, else ~/.kctl/config",
  },
  { name: "help", short: "h", kind: "boolean", help: "show help" },
];

function generalUsage(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    "kctl controls a kctl cluster, like kubectl.",
    "",
    "Usage: kctl COMMAND [ARGS] [flags]",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}   ${c.summary}`),
    "",
    "Global flags:",
    formatFlagHelp(globalFlags),
    "",
    'Run "kctl COMMAND --help" for a command\'s flags.',
    "",
  ].join("\n");
}

function commandUsage(entry: CommandEntry, cmd: Command): string {
  return [
    entry.summary,
    "",
    `Usage: ${cmd.usage}`,
    "",
    "Flags:",
    formatFlagHelp([...cmd.flags, ...globalFlags]),
    "",
  ].join("\n");
}

export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const table = new Map(commands.map((c) => [c.name, c]));
  // The usage of the command named on the line, once its module is loaded; the list until then.
  let usage = generalUsage;
  const load = async (entry: CommandEntry): Promise<Command> => {
    const command = await entry.load();
    usage = () => commandUsage(entry, command);
    return command;
  };
  let connection: Connection | undefined;
  try {
    if (argv[0] === "help") {
      const about = argv[1] === undefined ? undefined : table.get(argv[1]);
      if (argv[1] !== undefined && !about) throw new UsageError(`unknown command "${argv[1]}" for "kctl"`);
      if (about) await load(about);
      io.stdout.write(usage());
      return 0;
    }
    const parsed = await parseCommandLine(argv, table, globalFlags, async (c) => (await c.load()).flags);
    if (!parsed.command) {
      io.stdout.write(usage());
      return 0;
    }
    const command = await load(parsed.command);
    if (parsed.flags.bool("help")) {
      io.stdout.write(usage());
      return 0;
    }
    const path = configPath(parsed.flags.string("config"), io.env, io.cwd);
    return await command.run({
      io,
      positionals: parsed.positionals,
      flags: parsed.flags,
      configPath: path,
      connect: async () => {
        if (!connection) {
          const access = await readConfig(path);
          // Imported here so that commands that never talk to a server (help, build, version
          // --client) do not load the HTTP and WebSocket modules.
          const { ApiClient } = await import("./client.js");
          connection = { access, client: new ApiClient(access, io.signal) };
        }
        return connection;
      },
    });
  } catch (err) {
    for (const line of errorLines(err)) io.stderr.write(`${line}\n`);
    if (err instanceof UsageError) {
      io.stderr.write(`\n${usage()}`);
      return 2;
    }
    if (io.env.KCTL_TRACE && err instanceof Error && err.stack) io.stderr.write(`${err.stack}\n`);
    return 1;
  } finally {
    connection?.client.close();
  }
}
