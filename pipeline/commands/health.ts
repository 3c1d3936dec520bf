// PLACEHOLDER: the `health` command is not written yet (see the issue that owns it).
import type { Command } from "../cli";
export const command: Command = {
  name: "health",
  summary: "not implemented yet",
  usage: "mirror-pipeline health (not implemented yet)\n",
  async run(_argv, io) {
    io.stderr("health: not implemented yet\n");
    return 2;
  },
};
