// PLACEHOLDER: the `resolve` command is not written yet (see the issue that owns it).
import type { Command } from "../cli";
export const command: Command = {
  name: "resolve",
  summary: "not implemented yet",
  usage: "mirror-pipeline resolve (not implemented yet)\n",
  async run(_argv, io) {
    io.stderr("resolve: not implemented yet\n");
    return 2;
  },
};
