/**
 * The fleet's labels in a mirror repository, made by the pipeline where it
 * uses them. Before it opens an issue or labels a pin pull request, each
 * label it is about to put on that the repository lacks is created with the
 * colour and description of contract/index.ts FLEET_LABELS. A label the
 * repository has is used as it is: GitHub compares label names without case,
 * so an organisation's default `Security` serves as the fleet's `security`,
 * and whoever made a label, the pipeline never writes to it, renames or
 * deletes it (DESIGN invariant 11: a fleet name the fleet did not make is not
 * written to; GitHub does not say who made a label).
 *
 * With the job's own token: listing and creating a repository's labels needs
 * Issues or Pull requests, write to create (GitHub's REST reference, labels),
 * which every job that opens an issue or a pull request holds.
 */
import { FLEET_LABELS, type Label } from "../../contract";
import { createOnce, type GitHub, type Repo } from "../github";

/** What ensureLabels did to each label it was given, by the fleet's name. */
export type LabelAction = "present" | "created";

/** The fleet label of this name; any other name is the caller's mistake. */
function fleetLabel(name: string): Label {
  const label = FLEET_LABELS.find((l) => l.name === name);
  if (!label) throw new Error(`${JSON.stringify(name)} is not one of the fleet's labels (contract/index.ts FLEET_LABELS: ${FLEET_LABELS.map((l) => l.name).join(", ")})`);
  return label;
}

/** GitHub's 422 for a label name the repository already has (two runs at once, or an answer lost after the create). */
function alreadyExists(e: unknown): boolean {
  const err = e as { status?: number; response?: { data?: { errors?: Array<{ code?: string }> } } };
  return err.status === 422 && (err.response?.data?.errors ?? []).some((x) => x.code === "already_exists");
}

/** The repository's label names, lower-cased: GitHub compares them without case. */
async function labelNames(gh: GitHub, repo: Repo): Promise<Set<string>> {
  return new Set((await gh.paginate("GET /repos/{owner}/{repo}/labels", { ...repo, per_page: 100 })).map((l) => l.name.toLowerCase()));
}

/** Makes each of `names` (fleet labels) present in the repository: one read, and a create for each one it lacks. */
export async function ensureLabels(gh: GitHub, repo: Repo, names: readonly string[]): Promise<Record<string, LabelAction>> {
  const wanted = names.map(fleetLabel);
  const have = await labelNames(gh, repo);
  const done: Record<string, LabelAction> = {};
  for (const label of wanted) {
    if (!have.has(label.name.toLowerCase())) {
      await createOnce(
        async () => {
          try {
            await gh.request("POST /repos/{owner}/{repo}/labels", { ...repo, name: label.name, color: label.color, description: label.description });
          } catch (e) {
            if (!alreadyExists(e)) throw e;
          }
          return true;
        },
        async () => (await labelNames(gh, repo)).has(label.name.toLowerCase()) || undefined,
      );
      done[label.name] = "created";
    } else {
      done[label.name] = "present";
    }
  }
  return done;
}
