/**
 * Path patterns exactly as Trivy matches a waiver's `paths`: Trivy 0.74.0
 * (pkg/result/ignore.go) validates each pattern with
 * `doublestar.ValidatePattern` when it reads the ignore file and matches with
 * `doublestar.Match(pattern, path)`, from github.com/bmatcuk/doublestar/v4
 * v4.10.0 (the version in Trivy's go.sum). This is a line-by-line port of
 * that version's match.go (doMatchWithSeparator, isZeroLengthPattern),
 * validate.go and the two index helpers of utils.go, with '/' as the
 * separator, case-sensitive, as Match calls them. A translation to one
 * regular expression cannot be exact: `**` inside a segment acts as `*`,
 * `a/**` matches `a`, and `**` backtracks segment by segment.
 *
 * Go indexes bytes and decodes runes; here a string is an array of code
 * points. Every byte the Go code compares is an ASCII metacharacter, which
 * in UTF-8 is never part of a longer rune, so the two walk the same way.
 * test/adversarial/pipeline-glob.test.ts runs doublestar's own Match table.
 */

type Chars = readonly string[];
const SEP = "/";

/** doublestar.ValidatePattern. */
export function validatePattern(pattern: string): boolean {
  return doValidate(Array.from(pattern));
}

/**
 * doublestar.Match: whether `name` matches `pattern`, or "bad" where Go
 * returns ErrBadPattern (Trivy then treats the entry as not matching, and it
 * never gets here: the pattern failed ValidatePattern when the file was read).
 */
export function doublestarMatch(pattern: string, name: string): boolean | "bad" {
  return doMatch(Array.from(pattern), Array.from(name), -1, -1, -1, -1, 0, 0);
}

function doMatch(
  pattern: Chars,
  name: Chars,
  doublestarPatternBacktrack: number,
  doublestarNameBacktrack: number,
  starPatternBacktrack: number,
  starNameBacktrack: number,
  patIdx: number,
  nameIdx: number,
): boolean | "bad" {
  const patLen = pattern.length;
  const nameLen = name.length;
  let startOfSegment = true;
  MATCH: while (nameIdx < nameLen) {
    if (patIdx < patLen) {
      const c = pattern[patIdx];
      if (c === "*") {
        patIdx++;
        let single = true;
        if (patIdx < patLen && pattern[patIdx] === "*") {
          // `**` counts only as a whole segment; elsewhere it is one `*`, as in bash.
          patIdx++;
          if (startOfSegment) {
            if (patIdx >= patLen) return true; // pattern ends in `/**`
            if (pattern[patIdx] === SEP) {
              patIdx++;
              doublestarPatternBacktrack = patIdx;
              doublestarNameBacktrack = nameIdx;
              starPatternBacktrack = -1;
              starNameBacktrack = -1;
              single = false;
            }
          }
        }
        if (single) {
          startOfSegment = false;
          starPatternBacktrack = patIdx;
          starNameBacktrack = nameIdx;
        }
        continue;
      }
      // A branch that does not `continue` is a mismatch: backtrack below.
      if (c === "?") {
        startOfSegment = false;
        if (name[nameIdx] !== SEP) {
          patIdx++;
          nameIdx++;
          continue;
        }
      } else if (c === "[") {
        startOfSegment = false;
        if (++patIdx >= patLen) return "bad";
        const nameRune = name[nameIdx];
        let matched = false;
        const negate = pattern[patIdx] === "!" || pattern[patIdx] === "^";
        if (negate) patIdx++;
        if (patIdx >= patLen || pattern[patIdx] === "]") return "bad";
        // Go's utf8.DecodeRuneInString past the end gives RuneError and moves by 0.
        const next = (): string => (patIdx < patLen ? pattern[patIdx++] : "\uFFFD");
        let last: string | undefined;
        while (patIdx < patLen && pattern[patIdx] !== "]") {
          let patRune = next();
          if (last !== undefined && patRune === "-" && patIdx < patLen && pattern[patIdx] !== "]") {
            if (pattern[patIdx] === "\\") patIdx++;
            patRune = next();
            if (cp(last) <= cp(nameRune) && cp(nameRune) <= cp(patRune)) {
              matched = true;
              break;
            }
            last = undefined;
            continue;
          }
          if (patRune === "\\") patRune = next();
          if (patRune === nameRune) {
            matched = true;
            break;
          }
          last = patRune;
        }
        if (matched === negate) {
          if (patIdx >= patLen) return "bad";
        } else {
          const closing = indexUnescaped(pattern, patIdx, "]");
          if (closing === -1) return "bad";
          patIdx = closing + 1;
          nameIdx++;
          continue;
        }
      } else if (c === "{") {
        startOfSegment = false;
        const beforeIdx = patIdx;
        patIdx++;
        const closing = indexMatchedClosingAlt(pattern, patIdx);
        if (closing === -1) return "bad";
        for (;;) {
          const comma = indexNextAlt(pattern, patIdx, closing);
          if (comma === -1) break;
          const r = doMatch(
            [...pattern.slice(0, beforeIdx), ...pattern.slice(patIdx, comma), ...pattern.slice(closing + 1)],
            name, doublestarPatternBacktrack, doublestarNameBacktrack, starPatternBacktrack, starNameBacktrack, beforeIdx, nameIdx,
          );
          if (r !== false) return r;
          patIdx = comma + 1;
        }
        return doMatch(
          [...pattern.slice(0, beforeIdx), ...pattern.slice(patIdx, closing), ...pattern.slice(closing + 1)],
          name, doublestarPatternBacktrack, doublestarNameBacktrack, starPatternBacktrack, starNameBacktrack, beforeIdx, nameIdx,
        );
      } else {
        if (c === "\\") {
          // The next rune is matched literally.
          if (++patIdx >= patLen) return "bad";
        }
        const patRune = pattern[patIdx];
        if (patRune === name[nameIdx]) {
          patIdx++;
          nameIdx++;
          startOfSegment = patRune === SEP;
          continue;
        }
        // An escaped rune that did not match: back to its backslash before backtracking or validating.
        if (patIdx > 0 && pattern[patIdx - 1] === "\\") patIdx--;
      }
    }

    if (starPatternBacktrack >= 0 && name[starNameBacktrack] !== SEP) {
      // `*` takes one more rune, never a separator.
      starNameBacktrack++;
      patIdx = starPatternBacktrack;
      nameIdx = starNameBacktrack;
      startOfSegment = false;
      continue;
    }
    if (doublestarPatternBacktrack >= 0) {
      // `**` takes one more whole segment.
      nameIdx = doublestarNameBacktrack;
      while (nameIdx < nameLen) {
        const r = name[nameIdx++];
        if (r === SEP) {
          doublestarNameBacktrack = nameIdx;
          patIdx = doublestarPatternBacktrack;
          startOfSegment = true;
          continue MATCH;
        }
      }
    }
    if (patIdx < patLen && !doValidate(pattern.slice(patIdx))) return "bad";
    return false;
  }
  // The end of `name`: a match when the rest of the pattern can match nothing.
  return isZeroLength(pattern.slice(patIdx));
}

function cp(c: string): number {
  return c.codePointAt(0)!;
}

function isZeroLength(pattern: Chars): boolean | "bad" {
  const s = pattern.join("");
  // `a/**`, `a/**/` and `a/**/` match `a`: it may be a directory.
  if (s === "" || s === "*" || s === "**" || s === "/**" || s === "**/" || s === "/**/") return true;
  if (pattern[0] === "{") {
    const closing = indexMatchedClosingAlt(pattern, 1);
    if (closing === -1) return "bad";
    let patIdx = 1;
    for (;;) {
      const comma = indexNextAlt(pattern, patIdx, closing);
      if (comma === -1) break;
      const r = isZeroLength([...pattern.slice(patIdx, comma), ...pattern.slice(closing + 1)]);
      if (r !== false) return r;
      patIdx = comma + 1;
    }
    return isZeroLength([...pattern.slice(patIdx, closing), ...pattern.slice(closing + 1)]);
  }
  return doValidate(pattern) ? false : "bad";
}

/** utils.go indexUnescapedByte, from `from`: the index of the first unescaped `c`, or -1. */
function indexUnescaped(s: Chars, from: number, c: string): number {
  for (let i = from; i < s.length; i++) {
    if (s[i] === "\\") i++;
    else if (s[i] === c) return i;
  }
  return -1;
}

/** match.go indexMatchedClosingAlt: with `{` just before `from`, the index of its `}`, nested pairs skipped; or -1. */
function indexMatchedClosingAlt(s: Chars, from: number): number {
  let alts = 1;
  for (let i = from; i < s.length; i++) {
    if (s[i] === "\\") i++;
    else if (s[i] === "{") alts++;
    else if (s[i] === "}" && --alts === 0) return i;
  }
  return -1;
}

/** utils.go indexNextAlt over s[from:end]: the index of the next top-level `,`, or -1. */
function indexNextAlt(s: Chars, from: number, end: number): number {
  let alts = 1;
  for (let i = from; i < end; i++) {
    if (s[i] === "\\") i++;
    else if (s[i] === "{") alts++;
    else if (s[i] === "}") alts--;
    else if (s[i] === "," && alts === 1) return i;
  }
  return -1;
}

/** validate.go doValidatePattern with '/' as the separator. */
function doValidate(s: Chars): boolean {
  let altDepth = 0;
  const l = s.length;
  VALIDATE: for (let i = 0; i < l; i++) {
    switch (s[i]) {
      case "\\":
        if (++i >= l) return false;
        continue;
      case "[":
        if (++i >= l) return false;
        if (s[i] === "^" || s[i] === "!") i++;
        if (i >= l || s[i] === "]") return false;
        for (; i < l; i++) {
          if (s[i] === "\\") i++;
          else if (s[i] === "]") continue VALIDATE;
        }
        return false;
      case "{":
        altDepth++;
        continue;
      case "}":
        if (altDepth === 0) return false;
        altDepth--;
        continue;
    }
  }
  return altDepth === 0;
}
