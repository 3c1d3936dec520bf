// PLACEHOLDER: the `gate` command is not written yet (see the issue that owns it).
import type { Command } from "../cli";
export const command: Command = {
  name: "gate",
  summary: "not implemented yet",
  usage: "mirror-pipeline gate (not implemented yet)\n",
  async run(_argv, io) {
    io.stderr("gate: not implemented yet\n");
    return 2;
  },
};
