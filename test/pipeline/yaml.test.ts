import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse } from "yaml";
import { toYaml } from "../../components/yaml";
import { parseYaml } from "../../pipeline/lib/yaml";

/** A small deterministic generator, so a failure names a seed that reproduces it. */
function generator(seed: number) {
  let s = seed;
  const rnd = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  const pick = <T>(a: readonly T[]) => a[Math.floor(rnd() * a.length)];
  const atoms = [
    "", " ", "a", "true", "False", "null", "~", "1", "-1", "1.5", "1e3", "0x1F", "0o17", ".inf", "2027-01-01", "a: b", "a #b", "#x",
    "- x", "-x", "x:", "'q'", '"d"', "a\nb", "a\n\nb\n", "\n", "  lead", "trail  ", " both ", "a\tb", "ü ñ 日本", "@x", "`x", "&a", "*a",
    "!t", "%p", "[x]", "{y}", "a, b", "|", ">", "?", "?x", ":x", ":", "-", "a\\b", "line1\n  indented\nline3", "x\n", "x\n\n", "\u0007bell",
    "https://github.com/a/b", "pkg:golang/github.com/go-jose/go-jose/v4@v4.1.3", "CVE-2026-1", "yes", "no", "on", "1_000", "+1", "01",
    "1.", ".5", "NaN", ".nan", "0b1", "a # b", "a#b", "'", '"', "x'y", 'x"y', "__proto__",
  ];
  const gen = (d: number): unknown => {
    const r = rnd();
    if (d > 3 || r < 0.45) {
      const k = rnd();
      if (k < 0.6) return rnd() < 0.7 ? pick(atoms) : pick(atoms) + pick(atoms);
      if (k < 0.75) return Math.floor(rnd() * 1000) - 500;
      if (k < 0.8) return Math.round(rnd() * 1000) / 100;
      if (k < 0.9) return rnd() < 0.5;
      return null;
    }
    const n = Math.floor(rnd() * 4);
    if (r < 0.7) return Array.from({ length: n }, () => gen(d + 1));
    const o: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) o[rnd() < 0.7 ? `${pick(["a", "b", "name", "id", "x y", "k-1", "paths"])}${i}` : `${pick(atoms)}${i}`] = gen(d + 1);
    return o;
  };
  return gen;
}

describe("yaml: the pipeline's reader agrees with the yaml package", () => {
  it("GIVEN 4000 generated documents written by toYaml (as the renderers write) WHEN read THEN the same data as yaml.parse", () => {
    let compared = 0;
    for (let seed = 1; seed <= 4; seed++) {
      const gen = generator(seed);
      for (let i = 0; i < 1000; i++) {
        const text = toYaml(gen(0));
        const want = parse(text);
        assert.deepEqual(parseYaml(text, "doc.yaml"), want, `seed ${seed}, document ${i}:\n${text}`);
        compared++;
      }
    }
    assert.equal(compared, 4000);
  });

  const handWritten: Array<[string, string]> = [
    ["a list at its key's indentation", "vulnerabilities:\n- id: CVE-1\n  paths:\n  - a/b\n- id: CVE-2\n"],
    ["comments everywhere", "# head\na: 1 # one\n\n# mid\nb:\n  # inside\n  - x # item\n"],
    ["flow collections", 'a: [x, "y z", 1, true, null]\nb: {k: v, "q": [1, 2]}\nc: []\nd: {}\n'],
    ["quoted keys and values", "\"a b\": 'it''s'\n'c': \"tab\\there \\u00e9\"\n"],
    ["a literal block", "s: |\n  line 1\n\n  line 3\nt: done\n"],
    ["a kept literal block", "s: |+\n  x\n\n\nt: 1\n"],
    ["a stripped literal block", "s: |-\n  x\n  y\n"],
    ["a folded block", "s: >\n  one\n  two\n\n  three\n    more\n  four\n"],
    ["a folded stripped block", "s: >-\n  one\n  two\n"],
    ["an indentation indicator", "s: |2\n    indented\n  not\n"],
    ["a document marker", "---\na: 1\n"],
    ["nested lists", "- - a\n  - b\n- - c\n"],
    ["a list item holding a block", "- |\n  text\n- x\n"],
    ["empty values", "a:\nb: ~\nc: ''\n"],
    ["a CRLF file", "a: 1\r\nb:\r\n  - x\r\n"],
    ["the Trivy ignore file of the docs", "vulnerabilities:\n  - id: CVE-2022-40897\n    paths:\n      - \"usr/local/lib/python3.9/site-packages/setuptools-58.1.0.dist-info/METADATA\"\n    statement: Accept the risk\n  - id: CVE-2023-2650\n"],
    ["an empty document", "# only a comment\n"],
  ];
  for (const [name, text] of handWritten) {
    it(`GIVEN ${name} WHEN read THEN the same data as yaml.parse`, () => {
      assert.deepEqual(parseYaml(text, "doc.yaml"), parse(text));
    });
  }
});

describe("yaml: what the reader refuses, naming the line", () => {
  const refused: Array<[string, string, string]> = [
    ["an anchor", "a: &x 1\nb: *x\n", "doc.yaml:1: anchors, aliases and tags are not supported"],
    ["a tag", "a: !!str 1\n", "doc.yaml:1: anchors, aliases and tags are not supported"],
    ["a multi-line plain scalar", "a: one\n  two\n", "doc.yaml:2: a continuation line (multi-line plain or quoted scalars are not supported; use a block scalar '|')"],
    ["a multi-line quoted scalar", 'a: "one\n  two"\n', "doc.yaml:1: an unterminated quoted string (multi-line quoted scalars are not supported)"],
    ["a duplicate key", "a: 1\na: 2\n", 'doc.yaml:2: duplicate key "a"'],
    ["a tab in indentation", "a:\n\t- x\n", "doc.yaml:2: a tab in indentation (allowed: spaces)"],
    ["two documents", "a: 1\n---\nb: 2\n", "doc.yaml:2: more than one document (allowed: one)"],
    ["a value with ': '", "a: b: c\n", "doc.yaml:1: a value contains ': ' (quote it): \"b: c\""],
    ["bad indentation", "a:\n    b: 1\n  c: 2\n", 'doc.yaml:3: unexpected content "c: 2" (bad indentation?)'],
    ["a complex key", "? a\n: b\n", "doc.yaml:1: complex mapping keys are not supported"],
    ["a flow list left open", "a: [x, y\n", "doc.yaml:1: a flow sequence that does not close on its line (allowed: [a, b] on one line)"],
  ];
  for (const [name, text, message] of refused) {
    it(`GIVEN ${name} WHEN read THEN an error: ${message}`, () => {
      assert.throws(() => parseYaml(text, "doc.yaml"), { name: "YamlError", message });
    });
  }

  it("GIVEN a __proto__ key WHEN read THEN a plain own property, no prototype change", () => {
    const v = parseYaml("__proto__:\n  polluted: true\n", "doc.yaml") as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.deepEqual(Object.keys(v), ["__proto__"]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
