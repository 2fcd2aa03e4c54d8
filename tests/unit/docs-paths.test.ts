import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

// The manual names files of the repository and links its own pages; a rename must not leave it
// pointing at nothing. Checked: README.md and docs/*.md.
const root = resolve(import.meta.dir, "../..");
const documents = ["README.md", ...readdirSync(join(root, "docs")).filter((name) => name.endsWith(".md")).map((name) => `docs/${name}`)];
const text = (document: string) => readFileSync(join(root, document), "utf8");

/** `src/...`, `scripts/...`, `tests/...`, `patches/...`, `bench/...` named in the text (placeholders and globs aside). */
function repositoryPaths(markdown: string): string[] {
  const found = new Set<string>();
  for (const match of markdown.matchAll(/(?<![\w./-])(?:src|scripts|tests|patches|bench)\/[\w.@+\/-]*/g)) {
    const next = markdown[match.index! + match[0].length];
    if (next === "<" || next === "*" || next === "{") continue; // src/commands/<name>.ts, tests/e2e/faults-*.test.ts
    found.add(match[0].replace(/[.,-]+$/, ""));
  }
  return [...found];
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

function anchorsOf(markdown: string): Set<string> {
  const withoutCode = markdown.replace(/^```[\s\S]*?^```/gm, "");
  return new Set([...withoutCode.matchAll(/^#{1,6} (.+)$/gm)].map((match) => anchorOf(match[1]!)));
}

/** Relative links [text](target) and where they point, outside code blocks. */
function relativeLinks(markdown: string): string[] {
  const withoutCode = markdown.replace(/^```[\s\S]*?^```/gm, "");
  return [...withoutCode.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1]!).filter((target) => !/^[a-z]+:/.test(target));
}

describe("the manual's references", () => {
  test("the anchor of a heading is GitHub's", () => {
    expect(anchorOf("Users: `--password-file` and `passwd`")).toBe("users---password-file-and-passwd");
    expect(anchorOf("The cluster's retained index (`55271fa`)")).toBe("the-clusters-retained-index-55271fa");
  });

  test("the path finder skips placeholders and globs", () => {
    expect(repositoryPaths("see `src/commands/<name>.ts`, tests/e2e/faults-*.test.ts and src/log.ts.")).toEqual(["src/log.ts"]);
  });

  test("the README links every document in docs/ and every generated bench/*.md", () => {
    const linked = new Set(relativeLinks(text("README.md")).map((link) => link.split("#")[0]));
    const pages = [...documents.filter((document) => document.startsWith("docs/")), ...readdirSync(join(root, "bench")).filter((name) => name.endsWith(".md")).map((name) => `bench/${name}`)];
    expect(pages.filter((page) => !linked.has(page))).toEqual([]);
  });

  for (const document of documents) {
    test(`every repository path ${document} names exists`, () => {
      // A patch may be named without its extension: patches/aedes/01-deliver-at-once.
      const exists = (path: string) => existsSync(join(root, path)) || existsSync(join(root, `${path}.patch`));
      const missing = repositoryPaths(text(document)).filter((path) => !exists(path));
      expect(missing).toEqual([]);
    });

    test(`every relative link in ${document} reaches its file and heading`, () => {
      const broken: string[] = [];
      for (const link of relativeLinks(text(document))) {
        const [file, anchor] = link.split("#", 2) as [string, string | undefined];
        const target = file === "" ? join(root, document) : resolve(root, dirname(document), file);
        if (!existsSync(target)) broken.push(link);
        else if (anchor && target.endsWith(".md") && !anchorsOf(readFileSync(target, "utf8")).has(anchor)) broken.push(link);
      }
      expect(broken).toEqual([]);
    });
  }
});
