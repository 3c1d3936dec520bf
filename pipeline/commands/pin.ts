// PLACEHOLDER: the `pin` command is not written yet (see the issue that owns it).
import type { Command } from "../cli";
export const command: Command = {
  name: "pin",
  summary: "not implemented yet",
  usage: "mirror-pipeline pin (not implemented yet)\n",
  async run(_argv, io) {
    io.stderr("pin: not implemented yet\n");
    return 2;
  },
};
