/**
 * `kctl dashboard`: where the web dashboard is (the apiserver's `/ui/`) and the bearer token of the
 * current config to log in with. It checks that the server serves the dashboard before printing.
 */

import type { Command } from "../command.js";
import { CliError } from "../errors.js";

export const dashboardCommand: Command = {
  usage:
    "kctl dashboard\n\nOpen the URL in a browser and paste the token; the dashboard can do what its user may.",
  flags: [],
  async run(ctx) {
    const { client, access } = await ctx.connect();
    if (!access.token) {
      throw new CliError(
        `${access.path}: this config has no bearer token (it uses a client certificate); the dashboard logs in with a token: mint one with \`kctl kubeconfig create-user NAME --token\``,
      );
    }
    const res = await client.stream("HEAD", "/ui/").catch((err: unknown) => {
      throw new CliError(
        `${client.server} does not serve the dashboard at /ui/ (${err instanceof Error ? err.message : String(err)}); \`npm run build\` builds it into dist/ui`,
      );
    });
    res.resume();
    ctx.io.stdout.write(`Dashboard: ${client.server}/ui/\nToken:     ${access.token}\n`);
    if (access.caPem) {
      ctx.io.stdout.write(
        "The server's certificate is signed by the cluster's own CA: import it in the browser, or accept the warning.\n",
      );
    }
    return 0;
  },
};
