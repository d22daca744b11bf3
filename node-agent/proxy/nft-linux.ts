/**
 * Runs `nft` (and reads the proxy's table back) inside the network namespace the proxy serves: its
 * own when `netns` is undefined, else the namespace file given (through nsenter). A script is fed
 * on stdin to one `nft -f -`, which the kernel applies as one transaction or not at all.
 */
import { inNetns, runTool } from "../network/commands-linux.js";
import { ProxyError } from "./errors.js";

export class Nft {
  constructor(private readonly netns: string | undefined) {}

  /** Applies `script` atomically; on failure nothing of it is applied and the error carries nft's complaint. */
  async apply(script: string): Promise<void> {
    const res = await runTool([...inNetns(this.netns), "nft", "-f", "-"], script);
    if (res.code !== 0) {
      const lines = script.split("\n").length - 1;
      throw new ProxyError(
        "CommandFailed",
        `nft -f - (${lines} lines)${this.where()}: ${res.stderr.trim() || `exit code ${res.code}`}`,
      );
    }
  }

  /** `nft list table ip <table>` output, or undefined when the table does not exist. */
  async listTable(table: string): Promise<string | undefined> {
    const res = await runTool([...inNetns(this.netns), "nft", "list", "table", "ip", table]);
    if (res.code === 0) return res.stdout;
    if (/No such file or directory/.test(res.stderr)) return undefined;
    throw new ProxyError("CommandFailed", `nft list table ip ${table}${this.where()}: ${res.stderr.trim()}`);
  }

  private where(): string {
    return this.netns === undefined ? "" : ` in network namespace ${this.netns}`;
  }
}
