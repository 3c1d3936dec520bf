/**
 * Signing, as rendered: the publish job's cosign steps, the key's place in
 * the mirror repository, the README and the stack settings. (The signing
 * itself, with the real cosign and a registry, runs in `npm run e2e`.)
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MIRROR_PATHS } from "../../components/mirror-config";
import { ACTIONS } from "../../components/pins";
import { renderReadme } from "../../components/readme";
import { renderMirrorFiles } from "../../components/render";
import { renderEffectiveWorkflow } from "../../components/workflow";
import { COSIGN_SECRETS, COSIGN_SIGN_RELEASE } from "../../components/workflow/sign";
import { checkCosignKeys, settingsFrom } from "../../infra/settings";
import { COMMANDS } from "../../pipeline/main";
import { edgeMirrors, FLEET_PUBLIC_KEY, fixtureMirror, PIPELINE } from "./fixtures";
import { parseWorkflow, steps, type Obj } from "./steps";

const signed = edgeMirrors().find((e) => e.label.startsWith("signed with the fleet's cosign key"))!.mirror;
const unsigned = fixtureMirror("gokapi");

describe("signing in the rendered mirror", () => {
  test("GIVEN a stack with a cosign key WHEN the workflow is rendered THEN publish installs cosign v2.6.5 and runs sign right after the push, the only step holding the key", () => {
    const doc = parseWorkflow(renderEffectiveWorkflow(signed, PIPELINE));
    const publish = steps(doc, "publish");
    const names = publish.map((s) => String(s.id ?? s.uses ?? s.name));
    const push = names.indexOf("publish");
    assert.equal(publish[push + 1].uses, `${ACTIONS.cosignInstaller.uses}@${ACTIONS.cosignInstaller.sha}`);
    assert.deepEqual(publish[push + 1].with, { "cosign-release": COSIGN_SIGN_RELEASE });
    const sign = publish[push + 2];
    assert.equal(sign.id, "sign");
    const env = sign.env as Obj;
    assert.equal(env[COSIGN_SECRETS.privateKey], "${{ secrets.COSIGN_PRIVATE_KEY }}");
    assert.equal(env[COSIGN_SECRETS.password], "${{ secrets.COSIGN_PASSWORD }}");
    assert.equal(env.DIGEST, "${{ steps.publish.outputs.digest }}");
    // Every flag the step passes is one `sign` knows.
    const usage = COMMANDS.find((c) => c.name === "sign")!.usage;
    for (const flag of String(sign.run).match(/--[a-z][a-z-]*/g) ?? []) assert.ok(usage.includes(`  ${flag} `), `sign --help does not list ${flag}`);
    assert.match(String(sign.run), new RegExp(`--public-key ${MIRROR_PATHS.publicKey.replace(".", "\\.")} `));
    // Nothing else in the workflow sees the key but the re-attest step of a passing rescan,
    // and both jobs run in the key's environment (components/workflow/sign.ts).
    const text = renderEffectiveWorkflow(signed, PIPELINE);
    assert.equal(text.split("secrets.COSIGN_PRIVATE_KEY").length - 1, 2);
    assert.equal(text.split("secrets.COSIGN_PASSWORD").length - 1, 2);
    const holding = Object.entries(doc.jobs as Record<string, Obj>).filter(([, j]) => JSON.stringify(j).includes("secrets.COSIGN_PRIVATE_KEY")).map(([id, j]) => [id, j.environment]);
    assert.deepEqual(holding, [["publish", "mirror-signing"], ["reattest", "mirror-signing"]]);
    // The job asks for nothing more than the push did.
    assert.deepEqual((doc.jobs as Record<string, Obj>).publish.permissions, { attestations: "write", contents: "read", "id-token": "write", packages: "write" });
    const pin = steps(doc, "pin").find((s) => s.id === "pin")!;
    assert.match(String(pin.run), /--public-key cosign\.pub\n/);
  });

  test("GIVEN a stack without a key THEN no cosign step, no secret, no cosign.pub, and pin gives no verify commands", () => {
    const text = renderEffectiveWorkflow(unsigned, PIPELINE);
    assert.doesNotMatch(text, /COSIGN_|pipeline\.cjs sign|--public-key/);
    assert.equal(renderMirrorFiles(unsigned, PIPELINE).some((f) => f.path === MIRROR_PATHS.publicKey), false);
  });

  test("GIVEN a stack with a key THEN cosign.pub is committed verbatim before the workflow, and the README gives the verify commands", () => {
    const files = renderMirrorFiles(signed, PIPELINE);
    const key = files.find((f) => f.path === MIRROR_PATHS.publicKey);
    assert.equal(key?.content, FLEET_PUBLIC_KEY);
    assert.ok(files.findIndex((f) => f.path === MIRROR_PATHS.publicKey) < files.findIndex((f) => f.path === MIRROR_PATHS.workflow));
    const readme = renderReadme(signed);
    assert.ok(readme.includes(`cosign verify --key cosign.pub --insecure-ignore-tlog ${signed.image}@$digest\n`), readme);
    assert.ok(readme.includes(`cosign verify-attestation --key cosign.pub --insecure-ignore-tlog --type cyclonedx ${signed.image}@$digest\n`));
    assert.ok(readme.includes(`cosign verify-attestation --key cosign.pub --insecure-ignore-tlog --type https://mirror-fleet.dev/scan-gate/v1 ${signed.image}@$digest\n`));
    assert.match(renderReadme(unsigned), /Signatures are off for this mirror: the fleet's stack sets no cosign key pair/);
  });
});

describe("the fleet key in the stack", () => {
  const base: Record<string, unknown> = { githubOwner: "acme-corp", actionsCanCreatePullRequests: true };
  test("GIVEN cosignPublicKey WHEN read THEN it becomes the settings' key; a value that is not a PEM public key is an error naming the key", () => {
    assert.equal(settingsFrom((k) => ({ ...base, cosignPublicKey: FLEET_PUBLIC_KEY })[k], "Pulumi.t.yaml").cosignPublicKey, FLEET_PUBLIC_KEY);
    assert.throws(() => settingsFrom((k) => ({ ...base, cosignPublicKey: "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nx\n" })[k], "Pulumi.t.yaml"), {
      message: 'Pulumi.t.yaml:\n  - mirror-fleet:cosignPublicKey: not a PEM public key (allowed: the contents of the cosign.pub that cosign generate-key-pair wrote; pulumi config set mirror-fleet:cosignPublicKey < cosign.pub)',
    });
  });

  test("GIVEN some but not all of the three key settings THEN an error naming which are set", () => {
    checkCosignKeys(true, true, true, "x");
    checkCosignKeys(false, false, false, "x");
    assert.throws(() => checkCosignKeys(true, false, false, "Pulumi.prod.yaml"), {
      message:
        "Pulumi.prod.yaml:\n  - mirror-fleet:cosignPublicKey, mirror-fleet:cosignPrivateKey and mirror-fleet:cosignPassword go together (mirror-fleet:cosignPublicKey is set, mirror-fleet:cosignPrivateKey is not, mirror-fleet:cosignPassword is not; allowed: all three from one cosign generate-key-pair, or none: nothing is signed)",
    });
  });
});
