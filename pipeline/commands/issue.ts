// PLACEHOLDER: the `issue` command is not written yet (see the issue that owns it).
import type { Command } from "../cli";
export const command: Command = {
  name: "issue",
  summary: "not implemented yet",
  usage: "mirror-pipeline issue (not implemented yet)\n",
  async run(_argv, io) {
    io.stderr("issue: not implemented yet\n");
    return 2;
  },
};
