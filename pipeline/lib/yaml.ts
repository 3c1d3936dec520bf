/**
 * A strict reader for the YAML the pipeline meets: `.mirror/config.yml` and
 * `image-pin.yml` (written by `yaml.stringify`) and `.trivyignore.yaml`
 * (generated, or written by hand in Trivy's documented shape).
 *
 * Why not the `yaml` package: it adds about 260 KB of unminified code to the
 * bundle that every mirror repository commits and Pulumi keeps in state per
 * mirror. This reader covers block mappings and sequences, plain, quoted and
 * block scalars, single-line flow collections and comments, with the YAML 1.2
 * core schema (what `yaml.parse` does by default). Anything else (anchors,
 * aliases, tags, multi-line plain or quoted scalars, several documents) is an
 * error naming the line, never a guess: a waivers file the gate cannot read
 * blocks the build instead of being half read. test/pipeline/yaml.test.ts
 * checks it against `yaml.parse` on generated documents.
 */

export class YamlError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    what: string,
  ) {
    super(`${file}:${line}: ${what}`);
    this.name = "YamlError";
  }
}

interface Line {
  readonly no: number;
  indent: number;
  text: string;
}

/** Parses one YAML document; `file` names the source in error messages. */
export function parseYaml(text: string, file = "<yaml>"): unknown {
  const lines: Line[] = [];
  const raw = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  // The newline that ends the last line does not start another (blank) one: it matters to `|+`.
  if (raw.length > 1 && raw[raw.length - 1] === "") raw.pop();
  let started = false;
  for (let i = 0; i < raw.length; i++) {
    const l = raw[i];
    const m = /^( *)(.*)$/.exec(l)!;
    const body = m[2];
    if (/^\t/.test(body) && body.trim() !== "") throw new YamlError(file, i + 1, "a tab in indentation (allowed: spaces)");
    if (!started && (body === "---" || body.startsWith("--- ") || body.startsWith("%"))) {
      if (body.startsWith("%")) throw new YamlError(file, i + 1, "YAML directives are not supported");
      started = true;
      const rest = body.slice(3).trim();
      if (rest !== "" && !rest.startsWith("#")) throw new YamlError(file, i + 1, "content after '---' is not supported");
      continue;
    }
    if (body === "---" || body === "...") throw new YamlError(file, i + 1, "more than one document (allowed: one)");
    lines.push({ no: i + 1, indent: m[1].length, text: body });
    if (body.trim() !== "" && !body.trim().startsWith("#")) started = true;
  }
  const p = new Parser(lines, file);
  const value = p.node(0);
  p.expectEnd();
  return value === undefined ? null : value;
}

const isBlank = (l: Line) => l.text.trim() === "" || l.text.trimStart().startsWith("#");

class Parser {
  private i = 0;
  constructor(
    private readonly lines: Line[],
    readonly file: string,
  ) {}

  private fail(line: Line | undefined, what: string): never {
    throw new YamlError(this.file, line?.no ?? this.lines.length, what);
  }

  /** The next line with content, skipping blank and comment lines. */
  private peek(): Line | undefined {
    while (this.i < this.lines.length && isBlank(this.lines[this.i])) this.i++;
    return this.lines[this.i];
  }

  expectEnd(): void {
    const l = this.peek();
    if (l) this.fail(l, `unexpected content ${JSON.stringify(l.text.slice(0, 40))} (bad indentation?)`);
  }

  /** A node whose first line is indented at least `min`, or undefined when there is none. */
  node(min: number): unknown {
    const l = this.peek();
    if (!l || l.indent < min) return undefined;
    if (isSeqItem(l.text)) return this.sequence(l.indent);
    if (keyOf(l.text, l, this.file) !== undefined) return this.mapping(l.indent);
    return this.inlineValue(l.text, l, l.indent - 1);
  }

  private sequence(indent: number): unknown[] {
    const out: unknown[] = [];
    for (;;) {
      const l = this.peek();
      if (!l || l.indent !== indent || !isSeqItem(l.text)) break;
      const rest = l.text.slice(1);
      const content = rest.trimStart();
      if (content === "" || content.startsWith("#")) {
        this.i++;
        out.push(this.childOf(indent, false) ?? null);
        continue;
      }
      // `- key: value` and `- - x`: the rest of the line is a node starting at its own column.
      l.indent = indent + 1 + (rest.length - content.length);
      l.text = content;
      if (isSeqItem(content)) out.push(this.sequence(l.indent));
      else if (keyOf(content, l, this.file) !== undefined) out.push(this.mapping(l.indent));
      else out.push(this.inlineValue(content, l, indent));
    }
    return out;
  }

  private mapping(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (;;) {
      const l = this.peek();
      if (!l || l.indent !== indent) break;
      if (isSeqItem(l.text)) this.fail(l, "a list item where a mapping key was expected (bad indentation?)");
      const k = keyOf(l.text, l, this.file);
      if (k === undefined) this.fail(l, `expected 'key: value', got ${JSON.stringify(l.text.slice(0, 40))}`);
      if (Object.prototype.hasOwnProperty.call(out, k.key)) this.fail(l, `duplicate key ${JSON.stringify(k.key)}`);
      const rest = l.text.slice(k.end).trim();
      let value: unknown;
      if (rest === "" || rest.startsWith("#")) {
        this.i++;
        value = this.childOf(indent, true) ?? null;
      } else {
        value = this.inlineValue(l.text.slice(k.end).trimStart(), l, indent);
      }
      // Own property even for "__proto__": the result is plain data, never a prototype.
      Object.defineProperty(out, k.key, { value, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  /** The block value under a key or `-` that had nothing after it on its line. */
  private childOf(indent: number, mappingValue: boolean): unknown {
    const l = this.peek();
    if (!l) return undefined;
    if (l.indent > indent) return this.node(indent + 1);
    // YAML lets a mapping's list value sit at the key's own indentation.
    if (mappingValue && l.indent === indent && isSeqItem(l.text)) return this.sequence(indent);
    return undefined;
  }

  /** A value that starts on line `l` (text `t`); `parent` is the indentation of its key or dash. */
  private inlineValue(t: string, l: Line, parent: number): unknown {
    const c = t[0];
    if (c === "|" || c === ">") return this.blockScalar(t, l, parent);
    this.i++;
    if (c === "&" || c === "*" || c === "!") this.fail(l, "anchors, aliases and tags are not supported");
    if (/^\?(\s|$)/.test(t)) this.fail(l, "complex mapping keys are not supported");
    if (c === "@" || c === "`") this.fail(l, `a plain value cannot start with ${c} (quote it)`);
    let value: unknown;
    let end: number;
    if (c === '"' || c === "'") {
      const q = quoted(t, 0, l, this.file);
      value = q.value;
      end = q.end;
    } else if (c === "[" || c === "{") {
      const f = new Flow(t, l, this.file);
      value = f.value();
      end = f.pos;
    } else {
      const s = /^(.*?)(?:\s+#.*)?$/.exec(t)![1].trimEnd();
      if (/:(\s|$)/.test(s)) this.fail(l, `a value contains ': ' (quote it): ${JSON.stringify(s.slice(0, 40))}`);
      value = resolvePlain(s);
      end = t.length;
    }
    const after = t.slice(end).trim();
    if (after !== "" && !after.startsWith("#")) this.fail(l, `unexpected text after the value: ${JSON.stringify(after.slice(0, 40))}`);
    // A more-indented line after a complete value would be a multi-line scalar: not supported, so say so.
    const next = this.peek();
    if (next && next.indent > parent) {
      this.fail(next, "a continuation line (multi-line plain or quoted scalars are not supported; use a block scalar '|')");
    }
    return value;
  }

  private blockScalar(header: string, l: Line, parent: number): string {
    const m = /^([|>])([1-9]?)([+-]?)([1-9]?)\s*(?:#.*)?$/.exec(header);
    if (!m || (m[2] && m[4])) this.fail(l, `bad block scalar header ${JSON.stringify(header)}`);
    const folded = m[1] === ">";
    const chomp = m[3];
    const explicit = Number(m[2] || m[4] || 0);
    this.i++;
    let indent = explicit ? Math.max(parent, 0) + explicit : -1;
    const lines: string[] = [];
    while (this.i < this.lines.length) {
      const x = this.lines[this.i];
      const blank = x.text.trim() === "";
      if (!blank && (x.indent <= parent || (indent >= 0 && x.indent < indent))) break;
      if (!blank && indent < 0) indent = x.indent;
      lines.push(blank ? "" : " ".repeat(x.indent - indent) + x.text);
      this.i++;
    }
    let trailing = 0;
    while (lines.length && lines[lines.length - 1] === "") {
      lines.pop();
      trailing++;
    }
    let text = "";
    if (!folded) text = lines.join("\n");
    else {
      // Folding: a single line break between two normal lines becomes a space; blank lines
      // stay line breaks; lines indented beyond the content keep their breaks.
      let prev: string | undefined;
      let blanks = 0;
      for (const s of lines) {
        if (s === "") {
          if (prev === undefined) text += "\n";
          else blanks++;
          continue;
        }
        if (prev === undefined) text += s;
        else {
          const keep = prev.startsWith(" ") || s.startsWith(" ");
          text += (keep ? "\n" : blanks ? "" : " ") + "\n".repeat(blanks) + s;
        }
        blanks = 0;
        prev = s;
      }
    }
    if (chomp === "-") return text;
    if (lines.length === 0) return chomp === "+" ? "\n".repeat(trailing) : "";
    return chomp === "+" ? text + "\n" + "\n".repeat(trailing) : text + "\n";
  }
}

function isSeqItem(t: string): boolean {
  return t === "-" || t.startsWith("- ") || t.startsWith("-\t");
}

/** The key of a `key: value` line and where its value starts, or undefined when the line is not one. */
function keyOf(t: string, l: Line, file: string): { key: string; end: number } | undefined {
  if (t[0] === '"' || t[0] === "'") {
    const q = quoted(t, 0, l, file);
    const m = /^\s*:(?=\s|$)/.exec(t.slice(q.end));
    return m ? { key: String(q.value), end: q.end + m[0].length } : undefined;
  }
  if (/^[\[\]{},#&*!|>%@`]/.test(t) || isSeqItem(t) || /^[?:](\s|$)/.test(t)) return undefined;
  const m = /^(.*?)\s*:(?=\s|$)/.exec(t);
  if (!m || /\s#/.test(m[1])) return undefined;
  return { key: m[1], end: m[0].length };
}

function quoted(t: string, start: number, l: Line, file: string): { value: string; end: number } {
  const q = t[start];
  let out = "";
  let i = start + 1;
  const fail = (what: string): never => {
    throw new YamlError(file, l.no, what);
  };
  for (;;) {
    if (i >= t.length) fail("an unterminated quoted string (multi-line quoted scalars are not supported)");
    const c = t[i];
    if (q === "'") {
      if (c === "'") {
        if (t[i + 1] === "'") {
          out += "'";
          i += 2;
          continue;
        }
        return { value: out, end: i + 1 };
      }
      out += c;
      i++;
      continue;
    }
    if (c === '"') return { value: out, end: i + 1 };
    if (c !== "\\") {
      out += c;
      i++;
      continue;
    }
    const e = t[i + 1];
    const simple: Record<string, string> = {
      "0": "\0", a: "\x07", b: "\b", t: "\t", "\t": "\t", n: "\n", v: "\v", f: "\f", r: "\r", e: "\x1b",
      " ": " ", '"': '"', "/": "/", "\\": "\\", N: "\x85", _: "\xa0", L: "\u2028", P: "\u2029",
    };
    if (e !== undefined && e in simple) {
      out += simple[e];
      i += 2;
      continue;
    }
    const width = e === "x" ? 2 : e === "u" ? 4 : e === "U" ? 8 : 0;
    const hex = t.slice(i + 2, i + 2 + width);
    if (!width || !new RegExp(`^[0-9a-fA-F]{${width}}$`).test(hex)) fail(`a bad escape sequence \\${e ?? ""} in a double-quoted string`);
    out += String.fromCodePoint(parseInt(hex, 16));
    i += 2 + width;
  }
}

/** Single-line flow collections: `[a, "b"]`, `{k: v}`, nested. */
class Flow {
  pos = 0;
  constructor(
    private readonly t: string,
    private readonly l: Line,
    private readonly file: string,
  ) {}
  private fail(what: string): never {
    throw new YamlError(this.file, this.l.no, what);
  }
  private ws(): void {
    while (this.t[this.pos] === " ") this.pos++;
  }
  value(): unknown {
    this.ws();
    const c = this.t[this.pos];
    if (c === "[") {
      this.pos++;
      const out: unknown[] = [];
      for (;;) {
        this.ws();
        if (this.t[this.pos] === "]") {
          this.pos++;
          return out;
        }
        out.push(this.value());
        this.ws();
        if (this.t[this.pos] === ",") this.pos++;
        else if (this.t[this.pos] !== "]") this.fail("a flow sequence that does not close on its line (allowed: [a, b] on one line)");
      }
    }
    if (c === "{") {
      this.pos++;
      const out: Record<string, unknown> = {};
      for (;;) {
        this.ws();
        if (this.t[this.pos] === "}") {
          this.pos++;
          return out;
        }
        const k = this.scalar(true);
        this.ws();
        if (this.t[this.pos] !== ":") this.fail("a flow mapping entry without ':'");
        this.pos++;
        const v = this.value();
        const key = String(k);
        if (Object.prototype.hasOwnProperty.call(out, key)) this.fail(`duplicate key ${JSON.stringify(key)}`);
        Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
        this.ws();
        if (this.t[this.pos] === ",") this.pos++;
        else if (this.t[this.pos] !== "}") this.fail("a flow mapping that does not close on its line");
      }
    }
    return this.scalar(false);
  }
  private scalar(key: boolean): unknown {
    const c = this.t[this.pos];
    if (c === '"' || c === "'") {
      const q = quoted(this.t, this.pos, this.l, this.file);
      this.pos = q.end;
      return q.value;
    }
    if (c === undefined || /[&*!|>%@`#]/.test(c)) this.fail("an unsupported value in a flow collection");
    const start = this.pos;
    while (this.pos < this.t.length && !/[,\[\]{}]/.test(this.t[this.pos]) && !(this.t[this.pos] === ":" && (key || /[\s,\]}]/.test(this.t[this.pos + 1] ?? " ")))) {
      if (this.t[this.pos] === " " && this.t[this.pos + 1] === "#") break;
      this.pos++;
    }
    return resolvePlain(this.t.slice(start, this.pos).trim());
  }
}

/** YAML 1.2 core schema resolution of a plain scalar. */
export function resolvePlain(s: string): unknown {
  if (s === "" || s === "~" || /^(null|Null|NULL)$/.test(s)) return null;
  if (/^(true|True|TRUE)$/.test(s)) return true;
  if (/^(false|False|FALSE)$/.test(s)) return false;
  if (/^[-+]?[0-9]+$/.test(s)) return Number(s);
  if (/^0o[0-7]+$/.test(s)) return parseInt(s.slice(2), 8);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.slice(2), 16);
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(s)) return Number(s);
  if (/^[-+]?\.(inf|Inf|INF)$/.test(s)) return s.startsWith("-") ? -Infinity : Infinity;
  if (/^\.(nan|NaN|NAN)$/.test(s)) return NaN;
  return s;
}
