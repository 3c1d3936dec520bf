import { defineMirror } from "../components/spec";

/**
 * root-gg/plik: temporary file upload, Go + a Vue front end, MIT.
 * Shaped differently from Gokapi on purpose: tags carry no `v` prefix and the
 * history mixes `1.0-RC1`, `1.2` and `1.3.8`; and it builds upstream's own
 * multi-stage Dockerfile (no override), so drift in it is reviewed, not
 * overridden.
 */
export default defineMirror({
  name: "plik",
  upstream: {
    repo: "root-gg/plik",
    tags: { range: ">=1.3.0", prerelease: false },
    license: "MIT",
  },
  override: null,
  watch: ["Dockerfile", "Makefile"],
});
