// PLACEHOLDER: the `review` command is not written yet (see the issue that owns it).
import type { Command } from "../cli";
export const command: Command = {
  name: "review",
  summary: "not implemented yet",
  usage: "mirror-pipeline review (not implemented yet)\n",
  async run(_argv, io) {
    io.stderr("review: not implemented yet\n");
    return 2;
  },
};
