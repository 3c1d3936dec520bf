// PLACEHOLDER: the `publish` command is not written yet (see the issue that owns it).
import type { Command } from "../cli";
export const command: Command = {
  name: "publish",
  summary: "not implemented yet",
  usage: "mirror-pipeline publish (not implemented yet)\n",
  async run(_argv, io) {
    io.stderr("publish: not implemented yet\n");
    return 2;
  },
};
