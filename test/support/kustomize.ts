/**
 * kustomize, built by `npm run engine:build -- kustomize`, on the pin's
 * Component (deploy/kustomization.yaml): the unit test and the e2e build the
 * same small app with it.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { KUSTOMIZE_PATH } from "../../pipeline/lib/pin";
import { toolPath } from "./tools";

/** `kustomize build DIR` of an app whose manifests name the image by tag, with the pin's folder as a component. */
export function buildWithComponent(component: string, image: string): Array<{ kind: string; spec: { template: { spec: { containers: Array<{ name: string; image: string }> } } } }> {
  const kustomize = toolPath("kustomize");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pin-kustomize-"));
  try {
    fs.mkdirSync(path.join(dir, "deploy"));
    fs.writeFileSync(path.join(dir, KUSTOMIZE_PATH), component);
    fs.mkdirSync(path.join(dir, "app"));
    fs.writeFileSync(path.join(dir, "app", "kustomization.yaml"), "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [deployment.yaml]\ncomponents: [../deploy]\n");
    fs.writeFileSync(
      path.join(dir, "app", "deployment.yaml"),
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec:\n  selector: {matchLabels: {app: app}}\n  template:\n    metadata: {labels: {app: app}}\n    spec:\n      containers:\n        - {name: app, image: "${image}:v2.2.3"}\n        - {name: other, image: "docker.io/library/busybox:1.37"}\n`,
    );
    const out = execFileSync(kustomize, ["build", path.join(dir, "app")], { encoding: "utf8" });
    return parseAllDocuments(out).map((d) => d.toJS());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

